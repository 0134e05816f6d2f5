"""Two call-offs that each fit but together exceed the agreed quantity: one is refused (PostgreSQL, threads).
The agreement row is locked and the consumption re-read under the lock."""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from portal.accounts.models import User
from portal.db import db
from portal.errors import ValidationFailed
from portal.frameworks import services as fa
from portal.frameworks.models import CallOff, FrameworkAgreement
from tests.frameworks.helpers import agreement

THREADS = 2


@pytest.mark.postgres
@pytest.mark.parametrize("cap", ["quantity", "value"])
def test_two_call_offs_that_together_exceed_the_cap_one_is_refused(app, world, cap):
    a = agreement(world, max_value="200" if cap == "value" else None, cap_quantities=cap == "quantity")
    agreement_id, line_id = a.id, a.lines[0].id  # 100 pcs at 1.00
    people = [world.procurement.id, world.procurement2.id]
    barrier = threading.Barrier(THREADS)
    results: list = [None] * THREADS

    def attempt(i):
        with app.app_context():
            try:
                actor = db.session.get(User, people[i])
                ag = db.session.get(FrameworkAgreement, agreement_id)
                fa.usage(ag)  # both see nothing called off yet
                barrier.wait(timeout=20)
                fa.call_off(ag, actor, {line_id: "60" if cap == "quantity" else "120"})
                results[i] = "ok"
            except BaseException as exc:  # noqa: BLE001 - checked below
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results.count("ok") == 1, results
    refused = next(x for x in results if x != "ok")
    assert isinstance(refused, ValidationFailed), refused
    assert "would exceed" in refused.message
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(CallOff.id))) == 1


@pytest.mark.postgres
def test_the_call_off_locks_the_agreement_row(app, world, count_queries):
    a = agreement(world)
    with count_queries() as seen:
        fa.call_off(a, world.procurement, {a.lines[0].id: "1"})
    assert any("FOR UPDATE OF framework_agreements" in s for s in seen.statements), seen.statements
