"""Webhook delivery against a real receiver process that verifies every request with `standardwebhooks`."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.db import db, utcnow
from portal.webhooks import services as hooks
from portal.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.webhooks.conftest import issue_invoice

pytestmark = pytest.mark.usefixtures("allow_private")


def ok(r, status=200):
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:2000])
    return r.get_json()


def _endpoint(client, headers, url, types=("invoice.issued",)):
    return ok(client.post("/api/v1/webhook-endpoints", headers=headers,
                          json={"url": url, "event_types": list(types), "description": "ERP"}), 201)


def _deliveries():
    db.session.expire_all()
    return list(db.session.scalars(sa.select(WebhookDelivery).order_by(WebhookDelivery.id)))


def test_an_issued_invoice_reaches_the_receiver_signed_and_is_logged(client, shipped, receiver, token_for,
                                                                     run_jobs):
    w = shipped.world
    admin = token_for(w.admin_a)
    ep = _endpoint(client, admin, receiver.url)
    assert ep["secret"].startswith("whsec_") and ep["enabled"] is True
    receiver.use_secret(ep["secret"])
    # the secret is shown once: never again in a read
    assert "secret" not in ok(client.get(f"/api/v1/webhook-endpoints/{ep['id']}", headers=admin))

    from flask import current_app

    from portal.ops.metrics import COUNTERS_KEY

    redis = current_app.extensions["portal_redis"]
    before = int(redis.hget(COUNTERS_KEY, "webhook_deliveries|delivered") or 0)
    inv = issue_invoice(shipped)
    run_jobs(queues=["webhooks"])

    seen = receiver.requests()
    assert len(seen) == 1, seen
    # /metrics counts the delivery (portal_webhook_deliveries_total{outcome="delivered"})
    assert int(redis.hget(COUNTERS_KEY, "webhook_deliveries|delivered") or 0) == before + 1
    req = seen[0]
    assert req["verified"] is True, req
    assert req["path"] == "/hooks/portal"
    assert req["headers"]["content-type"] == "application/json"
    body = req["json"]
    assert body["type"] == "invoice.issued"
    assert req["headers"]["webhook-id"] == body["id"]
    assert body["data"]["id"] == inv.id and body["data"]["number"] == inv.number
    assert body["data"]["total_gross"] == {"amount": str(inv.total_gross.quantize(__import__("decimal").Decimal("0.01"))),
                                           "currency": "EUR"}
    # the log says what happened
    log = ok(client.get(f"/api/v1/webhook-endpoints/{ep['id']}/deliveries", headers=admin))["items"]
    assert len(log) == 1
    d = log[0]
    assert d["status"] == "succeeded" and d["response_status"] == 204 and d["attempts"] == 1
    assert d["duration_ms"] is not None and d["next_attempt_at"] is None and d["event_type"] == "invoice.issued"
    detail = ok(client.get(f"/api/v1/webhook-endpoints/{ep['id']}/deliveries/{d['id']}", headers=admin))
    assert [a["ok"] for a in detail["attempts_log"]] == [True]


def test_only_chosen_event_types_are_sent(client, shipped, receiver, token_for, run_jobs):
    w = shipped.world
    ep = _endpoint(client, token_for(w.admin_a), receiver.url, types=["order.placed"])
    receiver.use_secret(ep["secret"])
    issue_invoice(shipped)
    run_jobs(queues=["webhooks"])
    assert receiver.requests() == [] and _deliveries() == []


def test_a_tampered_or_wrong_secret_fails_verification_at_the_receiver(client, shipped, receiver, token_for,
                                                                       run_jobs):
    """Guard for the tests above: the receiver really refuses what is not signed with its secret."""
    from portal.webhooks.signing import new_secret

    ep = _endpoint(client, token_for(shipped.world.admin_a), receiver.url)
    receiver.use_secret(new_secret())
    issue_invoice(shipped)
    run_jobs(queues=["webhooks"])
    (req,) = receiver.requests()
    assert req["verified"] is False and ep["secret"] not in req["body"]


def test_rotation_signs_with_both_secrets_for_a_day_then_only_the_new_one(client, shipped, receiver, token_for,
                                                                          run_jobs):
    w = shipped.world
    admin = token_for(w.admin_a)
    ep = _endpoint(client, admin, receiver.url, types=["*"])
    old = ep["secret"]
    rotated = ok(client.post(f"/api/v1/webhook-endpoints/{ep['id']}/rotate-secret", headers=admin, json={}))
    new = rotated["secret"]
    assert new != old and new.startswith("whsec_") and rotated["previous_secret_expires_at"]
    receiver.use_secret(old)  # a receiver that has not switched yet still verifies
    inv = issue_invoice(shipped)
    run_jobs(queues=["webhooks"])
    (req,) = receiver.requests()
    assert req["verified"] is True and len(req["headers"]["webhook-signature"].split(" ")) == 2

    # revoke the old one at once: a receiver still on it refuses, one on the new secret verifies
    ok(client.post(f"/api/v1/webhook-endpoints/{ep['id']}/rotate-secret", headers=admin,
                   json={"keep_previous": False}))
    newest = db.session.scalar(sa.select(WebhookEndpoint.secret).where(WebhookEndpoint.id == ep["id"]))
    from portal.invoices import services as invoice_services

    invoice_services.record_payment(inv, w.accounts_a, inv.lock_version, amount=str(inv.total_gross),
                                    paid_on=utcnow().date().isoformat())
    run_jobs(queues=["webhooks"])
    last = receiver.requests()[-1]
    assert last["json"]["type"] == "invoice.paid" and last["verified"] is False
    assert len(last["headers"]["webhook-signature"].split(" ")) == 1
    receiver.use_secret(newest)
    d = _deliveries()[-1]
    hooks.redeliver(w.admin_a, ep["id"], d.id)
    run_jobs(queues=["webhooks"])
    again = receiver.requests()[-1]
    assert again["verified"] is True and again["headers"]["webhook-id"] == last["headers"]["webhook-id"]


def test_failures_back_off_for_more_than_a_day_then_the_endpoint_is_disabled_and_admins_told(
        client, shipped, receiver, token_for, run_jobs):
    from portal.notifications.models import Notification

    w = shipped.world
    ep = _endpoint(client, token_for(w.admin_a), receiver.url)
    receiver.use_secret(ep["secret"])
    receiver.mode("fail")
    issue_invoice(shipped)
    run_jobs(queues=["webhooks"])
    (d,) = _deliveries()
    assert d.status == DeliveryStatus.pending and d.attempts == 1 and d.response_status == 500
    assert "500" in d.error
    assert timedelta(seconds=4) <= d.next_attempt_at - d.last_attempt_at <= timedelta(seconds=6)
    # walk the clock through the schedule: each attempt happens when due, never before
    clock = d.next_attempt_at
    assert hooks.attempt(d.id, now=clock - timedelta(seconds=3)) == "not due"
    gaps = []
    while True:
        assert hooks.attempt(d.id, now=clock) == "failed"
        d = _deliveries()[0]
        if d.status != DeliveryStatus.pending:
            break
        gaps.append(d.next_attempt_at - clock)
        clock = d.next_attempt_at
    assert d.status == DeliveryStatus.failed and d.attempts == hooks.MAX_ATTEMPTS
    assert gaps == sorted(gaps)  # growing back-off
    first = db.session.scalar(sa.select(sa.func.min(WebhookAttempt.attempted_at)))
    assert clock - first >= timedelta(hours=24)
    assert len(receiver.requests()) == hooks.MAX_ATTEMPTS and all(r["verified"] for r in receiver.requests())
    endpoint = db.session.get(WebhookEndpoint, ep["id"])
    assert endpoint.enabled is False and "Disabled automatically" in endpoint.disabled_reason
    notes = list(db.session.scalars(sa.select(Notification).where(Notification.kind == "webhook_disabled")))
    assert [n.user_id for n in notes] == [w.admin_a.id]
    # the sweep leaves a disabled endpoint alone
    assert hooks.sweep(now=clock + timedelta(days=2)) == 0


def test_one_success_in_between_keeps_the_endpoint_enabled(client, shipped, receiver, token_for, run_jobs):
    w = shipped.world
    ep = _endpoint(client, token_for(w.admin_a), receiver.url, types=["*"])
    receiver.use_secret(ep["secret"])
    receiver.mode("fail")
    inv = issue_invoice(shipped)
    run_jobs(queues=["webhooks"])
    (d,) = _deliveries()
    # another event goes through meanwhile
    receiver.mode("ok")
    from portal.invoices import services as invoice_services

    invoice_services.record_payment(inv, w.accounts_a, inv.lock_version, amount="1.00",
                                    paid_on=utcnow().date().isoformat())
    run_jobs(queues=["webhooks"])
    receiver.mode("fail")
    clock = d.next_attempt_at
    while hooks.attempt(d.id, now=clock) == "failed":
        db.session.expire_all()
        d = db.session.get(WebhookDelivery, d.id)
        if d.status != DeliveryStatus.pending:
            break
        clock = d.next_attempt_at
    assert d.status == DeliveryStatus.failed
    assert db.session.get(WebhookEndpoint, ep["id"]).enabled is True


def test_redirects_are_not_followed(client, shipped, receiver, token_for, run_jobs):
    ep = _endpoint(client, token_for(shipped.world.admin_a), receiver.url)
    receiver.use_secret(ep["secret"])
    receiver.mode("redirect")
    issue_invoice(shipped)
    run_jobs(queues=["webhooks"])
    assert [r["path"] for r in receiver.requests()] == ["/hooks/portal"]
    (d,) = _deliveries()
    assert d.status == DeliveryStatus.pending and d.response_status == 302 and "redirect" in d.error


def test_a_slow_receiver_times_out(app, client, shipped, receiver, token_for, run_jobs, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_READ_TIMEOUT", 1)
    ep = _endpoint(client, token_for(shipped.world.admin_a), receiver.url)
    receiver.use_secret(ep["secret"])
    receiver.mode("slow")
    issue_invoice(shipped)
    run_jobs(queues=["webhooks"])
    (d,) = _deliveries()
    assert d.status == DeliveryStatus.pending and d.response_status is None
    assert "did not answer in time" in d.error and d.duration_ms < 4000


def test_manual_redelivery_sends_the_same_message_again(client, shipped, receiver, token_for, run_jobs):
    w = shipped.world
    admin = token_for(w.admin_a)
    ep = _endpoint(client, admin, receiver.url)
    receiver.use_secret(ep["secret"])
    issue_invoice(shipped)
    run_jobs(queues=["webhooks"])
    (d,) = _deliveries()
    again = ok(client.post(f"/api/v1/webhook-endpoints/{ep['id']}/deliveries/{d.id}/redeliver", headers=admin,
                           json={}), 202)
    assert again["status"] == "pending"
    run_jobs(queues=["webhooks"])
    first, second = receiver.requests()
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"] and second["verified"]
    detail = ok(client.get(f"/api/v1/webhook-endpoints/{ep['id']}/deliveries/{d.id}", headers=admin))
    assert [a["manual"] for a in detail["attempts_log"]] == [True, False]
    assert detail["status"] == "succeeded"


def test_the_sweep_sends_what_is_due(client, shipped, receiver, token_for, run_jobs):
    """A retry that is due (or a first attempt whose enqueue Redis lost) is enqueued by the periodic sweep."""
    from portal.extensions import db as _db  # noqa: F401

    ep = _endpoint(client, token_for(shipped.world.admin_a), receiver.url)
    receiver.use_secret(ep["secret"])
    issue_invoice(shipped)
    # Redis lost the job: flush it
    from rq import Queue

    from portal.jobs.queue import redis_connection

    Queue("webhooks", connection=redis_connection()).empty()
    run_jobs(queues=["webhooks"])
    assert receiver.requests() == []
    assert hooks.sweep() == 1
    run_jobs(queues=["webhooks"])
    assert len(receiver.requests()) == 1
    assert _deliveries()[0].status == DeliveryStatus.succeeded
    assert hooks.sweep() == 0


def test_a_change_that_rolls_back_emits_nothing(client, shipped, receiver, token_for):
    from portal.events.models import Event
    from portal.events.services import emit

    _endpoint(client, token_for(shipped.world.admin_a), receiver.url, types=["*"])
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Event))
    emit([shipped.world.supplier_a.id], "order.changed", shipped.order)
    db.session.rollback()
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == before
    assert _deliveries() == []


def test_a_receiver_that_is_not_listening_is_a_refused_connection_not_a_timeout(app, client, shipped, token_for,
                                                                                 run_jobs):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    _endpoint(client, token_for(shipped.world.admin_a), f"http://127.0.0.1:{port}/hook")
    issue_invoice(shipped)
    run_jobs(queues=["webhooks"])
    (d,) = _deliveries()
    assert d.error == "Could not connect to the receiver (connection refused)." and d.response_status is None
