"""Concurrent delivery attempts on PostgreSQL: the claim under the endpoint and delivery locks lets exactly one
worker send; a double enqueue, a sweep racing the first job or two workers never send a message twice."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.db import db
from portal.webhooks import services as hooks
from portal.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from tests.concurrency.conftest import race
from tests.webhooks.conftest import issue_invoice

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("allow_private")]


def test_six_workers_on_one_delivery_send_it_once(app, client, shipped, receiver, token_for):
    r = client.post("/api/v1/webhook-endpoints", headers=token_for(shipped.world.admin_a),
                    json={"url": receiver.url, "event_types": ["invoice.issued"]})
    receiver.use_secret(r.get_json()["secret"])
    issue_invoice(shipped)
    d_id = db.session.scalar(sa.select(WebhookDelivery.id))
    results = race(app, 6, lambda i: hooks.attempt(d_id))
    outcomes = sorted(v for ok_, v in results if ok_)
    assert len(outcomes) == 6, results
    assert outcomes.count("sent") == 1 and set(outcomes) <= {"sent", "not due", "done already"}, outcomes
    assert len(receiver.requests()) == 1 and receiver.requests()[0]["verified"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookAttempt)) == 1
    assert db.session.get(WebhookDelivery, d_id).status == DeliveryStatus.succeeded


def test_disabling_while_workers_send_never_deadlocks(app, client, shipped, receiver, token_for):
    admin = token_for(shipped.world.admin_a)
    ep = client.post("/api/v1/webhook-endpoints", headers=admin,
                     json={"url": receiver.url, "event_types": ["*"]}).get_json()
    receiver.use_secret(ep["secret"])
    issue_invoice(shipped)
    ids = list(db.session.scalars(sa.select(WebhookDelivery.id)))
    from portal.locking import CURRENT

    admin_user = shipped.world.admin_a

    def work(i):
        if i == 0:
            return hooks.update_endpoint(db.session.merge(admin_user), ep["id"], CURRENT, enabled=False).enabled
        return hooks.attempt(ids[(i - 1) % len(ids)])

    results = race(app, 4, work)
    assert all(ok_ for ok_, _ in results), results
