"""Issue 16, fault 1: Redis down at commit time. The action is saved and the person told so (no 500); the job
record or the waiting business state is the outbox; when Redis is back, reconcile enqueues each piece of work
once, and running it does it exactly once. Also: the rate limiter keeps answering with Redis down."""
from __future__ import annotations

import logging
import socket

import pytest
import sqlalchemy as sa
from redis import Redis

from portal.db import db
from portal.jobs.models import JobRecord, JobStatus
QUEUE_DOWN_MESSAGE = "Saved. The background work will run as soon as the job queue is back."
from tests import factories
from tests.accounts.helpers import fresh, text


def reconcile(**kw):
    from portal.jobs.reconcile import reconcile as _reconcile

    return _reconcile(**kw)


def _dead_redis() -> Redis:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    from portal.jobs.queue import connect

    return connect(f"redis://127.0.0.1:{port}/0")  # the portal's own client settings, pointed at nothing


@pytest.fixture
def redis_down(app):
    """Redis stops answering (for the web app's job dispatch); `back()` brings it back."""
    real = app.extensions["portal_redis"]
    app.extensions["portal_redis"] = _dead_redis()

    def back():
        app.extensions["portal_redis"] = real
        return real

    yield back
    app.extensions["portal_redis"] = real


def _queued_jobs(conn) -> int:
    from rq import Queue

    from portal.jobs.queue import QUEUES

    return sum(len(Queue(q, connection=conn)) for q in QUEUES)


def test_issue_invoice_with_redis_down_is_saved_and_its_pdf_made_once_when_back(world, login, redis_down,
                                                                                 run_jobs):
    from portal.invoices.models import Invoice
    from tests.invoices.conftest import draft_for, ship

    world.supplier_a.iban = "DE89370400440532013000"
    db.session.commit()
    order = factories.order(world.buyer, world.supplier_a, world.procurement, status="acknowledged",
                            lines=[("10", "2.50")])
    sh = ship(order, {1: "10"}, creator=world.sales_a)
    inv = draft_for(world, shipment=sh)
    c = login(world.accounts_a)
    resp = c.post(f"/invoices/{inv.id}/issue", data={"lock_version": inv.lock_version}, follow_redirects=True)
    assert resp.status_code == 200
    assert QUEUE_DOWN_MESSAGE in text(resp) and "Issued as INV-" in text(resp)
    inv = fresh(inv)
    rec = db.session.get(JobRecord, inv.pdf_job_id)
    assert inv.number and rec.status == JobStatus.queued and inv.pdf_file_id is None

    conn = redis_down()
    assert _queued_jobs(conn) == 0  # the work was never enqueued...
    assert reconcile(grace=0)["records"] == 1  # ...the record is the outbox
    assert reconcile(grace=0)["records"] == 0  # a second sweep finds it waiting in Redis: not enqueued twice
    run_jobs()
    db.session.expire_all()
    inv = db.session.get(Invoice, inv.id)
    assert inv.pdf_file_id is not None and db.session.get(JobRecord, rec.id).status == JobStatus.succeeded
    from portal.documents.models import StoredFile

    assert db.session.scalar(sa.select(sa.func.count(StoredFile.id)).where(
        StoredFile.content_type == "application/pdf")) == 1


def test_submit_order_with_redis_down_is_saved_and_credit_checked_once_when_back(world, login, redis_down,
                                                                                  run_jobs):
    from portal.credit.models import CreditCheck
    from portal.orders.states import OrderStatus

    o = factories.order(world.buyer, world.supplier_a, world.procurement, status="draft")
    c = login(world.procurement)
    resp = c.post(f"/orders/{o.id}/submit", data={"lock_version": fresh(o).lock_version}, follow_redirects=True)
    assert resp.status_code == 200 and QUEUE_DOWN_MESSAGE in text(resp)
    assert fresh(o).status == OrderStatus.submitted

    redis_down()
    assert reconcile(grace=0)["credit_checks"] == 1
    assert reconcile(grace=0)["credit_checks"] == 0
    run_jobs()
    db.session.expire_all()
    assert fresh(o).status != OrderStatus.submitted  # placed or on hold: the check ran
    assert db.session.scalar(sa.select(sa.func.count(CreditCheck.id)).where(CreditCheck.order_id == o.id)) == 1
    assert reconcile(grace=0)["credit_checks"] == 0


def test_publish_rfq_with_redis_down_is_saved_and_mails_leave_once_when_back(world, login, redis_down, run_jobs):
    from portal.notifications.models import MailStatus, OutboxMail
    from portal.rfq.states import RfqStatus

    r = factories.rfq(world.buyer, world.procurement, status="draft", suppliers=[world.supplier_a])
    c = login(world.procurement)
    resp = c.post(f"/rfqs/{r.id}/publish", data={"version": r.version}, follow_redirects=True)
    assert resp.status_code == 200 and QUEUE_DOWN_MESSAGE in text(resp)
    assert fresh(r).status == RfqStatus.open
    mails = db.session.scalars(sa.select(OutboxMail)).all()
    assert mails and all(m.status == MailStatus.queued for m in mails)

    redis_down()
    assert reconcile(grace=0)["mails"] == len(mails)
    assert reconcile(grace=0)["mails"] == 0
    run_jobs()
    db.session.expire_all()
    assert all(m.status == MailStatus.kept and m.sent_at for m in db.session.scalars(sa.select(OutboxMail)))


def test_api_call_with_redis_down_answers_and_saves(world, redis_down, app):
    """The API's after-commit enqueue does not turn a saved change into a 500 either."""
    from portal.jobs.queue import _dispatch

    with app.test_request_context("/api/v1/orders/1/submit", method="POST"):
        _dispatch(app, {"func": "portal.credit.jobs.credit_check_job", "args": [1], "queue": "credit",
                        "job_id": "credit-check-1", "timeout": 60})  # logs, does not raise


def test_an_enqueue_with_redis_down_gives_up_at_once(world, redis_down, app, monkeypatch):
    """With Redis down the after-commit enqueue fails at once and the outbox takes over: no retry back-off inside
    the web request (a client made as `Redis(host=...)` retries three times with up to 10 s each; this test's
    dead Redis was made that way and slept ~9 s per enqueue). The back-off asked for is counted, not timed."""
    import redis.retry

    from portal.jobs.queue import _dispatch

    asked = []
    monkeypatch.setattr(redis.retry, "sleep", asked.append)
    with app.test_request_context("/api/v1/orders/1/submit", method="POST"):
        _dispatch(app, {"func": "portal.credit.jobs.credit_check_job", "args": [1], "queue": "credit",
                        "job_id": "credit-check-1", "timeout": 60})
    assert sum(asked) == 0, asked
    real = redis_down()  # the app's own client is made by the same `connect`
    assert real.get_retry() is None or real.get_retry().get_retries() == 0


def test_reconcile_with_redis_still_down_raises_for_the_caller_and_loses_nothing(world, redis_down, app):
    from redis.exceptions import ConnectionError as RedisConnectionError

    o = factories.order(world.buyer, world.supplier_a, world.procurement, status="submitted")
    with pytest.raises(RedisConnectionError):
        reconcile(grace=0)
    assert fresh(o).status.value == "submitted"


def test_reconcile_command_says_redis_is_still_down(world, redis_down, app):
    from portal.jobs.cli import jobs_cli

    result = app.test_cli_runner().invoke(jobs_cli, ["reconcile"])
    assert result.exit_code != 0 and "still unreachable" in result.output


def test_rate_limiter_falls_back_to_memory_and_logs_it(world, login, app, caplog, monkeypatch):
    """With the limiter's Redis gone, sign-in (the throttle's counters) and API calls (the per-token budget and
    the failed-authentication counter) still answer, counted in memory, and the log says so."""
    from limits.storage import RedisStorage
    from limits.strategies import STRATEGIES

    from portal import ratelimit
    from portal.api.auth import create_token
    from portal.extensions import limiter

    # (the test run's `flask db upgrade` ran Alembic's fileConfig, which disables loggers that existed before)
    monkeypatch.setattr(logging.getLogger("flask-limiter"), "disabled", False)
    monkeypatch.setattr(logging.getLogger("portal.ratelimit"), "disabled", False)
    monkeypatch.setattr(ratelimit, "_warned_at", 0.0)
    dead = _dead_redis().connection_pool.connection_kwargs["port"]
    real = limiter._limiter
    limiter._limiter = STRATEGIES["fixed-window"](RedisStorage(f"redis://127.0.0.1:{dead}/0",
                                                               socket_connect_timeout=0.2))
    try:
        with caplog.at_level(logging.INFO):
            wrong = app.test_client().post("/signin", data={"email": world.procurement.email,
                                                            "password": "not-the-password"})
            resp = app.test_client().post("/signin", data={"email": world.procurement.email,
                                                           "password": factories.PASSWORD})
            _, secret = create_token(world.procurement, "fallback test")
            api = app.test_client().get("/api/v1/orders", headers={"Authorization": f"Bearer {secret}"})
            bad = app.test_client().get("/api/v1/orders", headers={"Authorization": "Bearer ppt_wrong"})
        assert wrong.status_code in (200, 422) and resp.status_code == 302
        assert api.status_code == 200 and bad.status_code == 401
        assert "in memory" in caplog.text or "in-memory" in caplog.text
    finally:
        limiter._limiter = real
        limiter._storage_dead = False


def test_placed_order_whose_po_pdf_job_was_lost_gets_it_once(world, app, run_jobs):
    from datetime import timedelta

    from portal.db import utcnow
    from portal.orders.models import PurchaseOrder

    o = factories.order(world.buyer, world.supplier_a, world.procurement, status="placed")
    o.supplier_order_number = o.supplier_order_number or "SO-LOST-1"
    o.placed_at = utcnow() - timedelta(minutes=5)
    db.session.commit()  # placed while Redis was down: no po-pdf job in Redis
    assert reconcile()["po_pdfs"] == 1
    assert reconcile()["po_pdfs"] == 0
    run_jobs()
    db.session.expire_all()
    assert db.session.get(PurchaseOrder, o.id).po_pdf_file_id is not None
    assert reconcile()["po_pdfs"] == 0


def test_a_shipment_recorded_with_redis_down_is_invoiced_automatically_once_when_back(world, redis_down, run_jobs):
    """A supplier that invoices every shipment automatically: the shipment is recorded while Redis is down, the
    automatic-invoice job never reaches Redis; reconcile finds the shipment still open and enqueues it once."""
    from portal.invoices.models import Invoice, InvoiceSettings, InvoicingMode
    from portal.orders import shipping
    from portal.orders.models import PurchaseOrder

    world.supplier_a.iban = "DE89370400440532013000"
    db.session.add(InvoiceSettings(supplier_company_id=world.supplier_a.id, mode=InvoicingMode.per_shipment,
                                   auto_issue=True))
    db.session.commit()
    order = factories.order(world.buyer, world.supplier_a, world.procurement, status="acknowledged",
                            lines=[("10", "2.50")])
    sh = shipping.record_shipment(order, world.sales_a, order.lock_version, {order.lines[0].id: "4"})
    assert db.session.scalar(sa.select(sa.func.count(Invoice.id))) == 0

    conn = redis_down()
    assert _queued_jobs(conn) == 0
    assert reconcile(grace=0)["auto_invoices"] == 1
    assert reconcile(grace=0)["auto_invoices"] == 0  # waiting in Redis: not enqueued twice
    run_jobs()
    db.session.expire_all()
    invoices = db.session.scalars(sa.select(Invoice).where(Invoice.order_id == sh.order_id)).all()
    assert len(invoices) == 1 and invoices[0].number and invoices[0].shipment_id == sh.id
    goods = [ln for ln in invoices[0].lines if ln.charge is None]
    assert [ln.quantity for ln in goods] == [4]
    assert goods[0].net_amount == db.session.get(PurchaseOrder, order.id).lines[0].unit_price * 4
    assert reconcile(grace=0)["auto_invoices"] == 0  # nothing left to invoice: nothing enqueued
