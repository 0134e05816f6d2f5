"""Idempotency under a race (PostgreSQL): the same key sent by eight threads at once creates one RFQ; every other
answer is the replay of its 201 or a 409 "still being processed" (which stores nothing, so a retry replays)."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.db import db, utcnow
from tests.concurrency.conftest import race

N = 8


@pytest.mark.postgres
def test_one_key_sent_eight_times_at_once_creates_one_rfq(app, world, token_for):
    from portal.rfq.models import Rfq

    headers = {**token_for(world.procurement), "Idempotency-Key": "race-1"}
    body = {"title": "Race", "deadline": (utcnow() + timedelta(days=3)).replace(microsecond=0).isoformat(),
            "lines": [{"description": "Bolt", "quantity": "10", "unit": "pcs"}]}

    def work(i):
        r = app.test_client().post("/api/v1/rfqs", json=body, headers=headers)
        return r.status_code, r.get_json(), r.headers.get("Idempotent-Replayed")

    results = race(app, N, work)
    assert all(ok for ok, _ in results), [v for ok, v in results if not ok][:2]
    codes = [v[0] for _, v in results]
    assert set(codes) <= {201, 409} and codes.count(201) >= 1, codes
    created = {v[1]["id"] for _, v in results if v[0] == 201}
    assert len(created) == 1
    assert db.session.scalar(sa.select(sa.func.count(Rfq.id))) == 1
    # a late retry of a 409 replays the one answer
    late = app.test_client().post("/api/v1/rfqs", json=body, headers=headers)
    assert late.status_code == 201 and late.get_json()["id"] in created
    assert late.headers["Idempotent-Replayed"] == "true"
