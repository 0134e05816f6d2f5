"""Issue 16: pull plugs on a real stack (gunicorn, `flask jobs worker`, redis-server, PostgreSQL) and check that
nothing is lost and nothing happens twice. Figures printed here are the ones in README's operations section."""
from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from portal.db import db
from tests import factories
from tests.faults.conftest import Session, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.faults]

MESSAGE = "will run as soon as the job queue is back"


def _invoice_draft(world, lines=3):
    from tests.invoices.conftest import draft_for, ship

    world.supplier_a.iban = "DE89370400440532013000"
    db.session.commit()
    order = factories.order(world.buyer, world.supplier_a, world.procurement, status="acknowledged",
                            lines=[(str(10 + i), "2.50") for i in range(lines)])
    sh = ship(order, {i + 1: str(10 + i) for i in range(lines)}, creator=world.sales_a)
    return draft_for(world, shipment=sh)


def _fresh(model, id_):
    db.session.expire_all()
    return db.session.get(model, id_)


def test_redis_down_during_issue_submit_publish_then_reconcile_does_everything_once(world, stack):
    from portal.credit.models import CreditCheck
    from portal.documents.models import StoredFile
    from portal.invoices.models import Invoice
    from portal.notifications.models import MailStatus, OutboxMail
    from portal.orders.models import PurchaseOrder
    from portal.orders.states import OrderStatus
    from portal.rfq.states import RfqStatus
    from portal.rfq.models import Rfq

    inv = _invoice_draft(world)
    order = factories.order(world.buyer, world.supplier_a, world.procurement, status="draft")
    rfq = factories.rfq(world.buyer, world.procurement, status="draft", suppliers=[world.supplier_a])
    stack.worker()
    supplier = Session(stack.url).signin(world.accounts_a)
    buyer = Session(stack.url).signin(world.procurement)

    stack.redis.stop()
    for who, path, data in [
        (supplier, f"/invoices/{inv.id}/issue", {"lock_version": inv.lock_version}),
        (buyer, f"/orders/{order.id}/submit", {"lock_version": _fresh(PurchaseOrder, order.id).lock_version}),
        (buyer, f"/rfqs/{rfq.id}/publish", {"version": _fresh(Rfq, rfq.id).version}),
    ]:
        r = who.post(path, data)
        assert r.status_code == 302, (path, r.status_code, r.text[:300], stack.logs())
        assert MESSAGE in who.get(r.headers["Location"]).text.replace("&#39;", "'")
    # Sign-in and the API's rate limits answer from memory meanwhile
    assert Session(stack.url).signin(world.sales_a)
    assert _fresh(Invoice, inv.id).number and _fresh(PurchaseOrder, order.id).status == OrderStatus.submitted
    assert _fresh(Rfq, rfq.id).status == RfqStatus.open
    mails = {m.id: (m.to_address, m.subject) for m in db.session.scalars(sa.select(OutboxMail))}
    assert mails

    stack.redis.start()  # an empty Redis: the work was never enqueued
    back = time.monotonic()
    done = stack.flask("jobs", "reconcile", "--grace", "0")
    assert done.returncode == 0, done.stderr
    wait_for(lambda: _fresh(Invoice, inv.id).pdf_file_id
             and _fresh(PurchaseOrder, order.id).status != OrderStatus.submitted
             and all(m.status == MailStatus.sent for m in db.session.scalars(sa.select(OutboxMail))),
             60, 0.2, "the stranded jobs")
    print(f"\nRedis back -> all stranded jobs done: {time.monotonic() - back:.1f}s")
    # a second reconcile finds nothing to do; nothing ran twice
    assert "'records': 0, 'credit_checks': 0, 'mails': 0, 'po_pdfs': 0" in stack.flask("jobs", "reconcile", "--grace", "0").stdout
    wait_for(lambda: all(m.status == MailStatus.sent for m in db.session.scalars(sa.select(OutboxMail))),
             30, 0.2, "the mails the credit check itself sent")  # (a credit hold notifies both sides)
    time.sleep(1)
    assert db.session.scalar(sa.select(sa.func.count(StoredFile.id)).where(
        StoredFile.content_type == "application/pdf", StoredFile.owner_company_id == world.supplier_a.id)) == 1
    assert db.session.scalar(sa.select(sa.func.count(CreditCheck.id)).where(CreditCheck.order_id == order.id)) == 1
    sent = Counter(stack.smtp.messages)
    outbox = Counter((m.to_address, m.subject) for m in db.session.scalars(sa.select(OutboxMail)))
    assert set(mails.values()) <= set(sent)  # the invitations and order mails stranded by the outage left...
    assert sent == outbox and set(sent.values()) == {1}  # ...and every mail left exactly once


def test_worker_killed_mid_render_the_pdf_appears_once(world, stack):
    from portal.documents.models import StoredFile
    from portal.invoices.models import Invoice
    from portal.jobs.models import JobRecord, JobStatus

    inv = _invoice_draft(world, lines=60)  # a long invoice: rendering takes a moment
    doomed = stack.worker("documents")
    supplier = Session(stack.url).signin(world.accounts_a)
    assert supplier.post(f"/invoices/{inv.id}/issue", {"lock_version": inv.lock_version}).status_code == 302
    rec_id = _fresh(Invoice, inv.id).pdf_job_id
    wait_for(lambda: _fresh(JobRecord, rec_id).status == JobStatus.running, 30, 0.01, "the render to start")
    stack.kill9(doomed)
    killed = time.monotonic()
    assert _fresh(Invoice, inv.id).pdf_file_id is None, "the render finished before the kill; make it longer"
    assert _fresh(JobRecord, rec_id).status == JobStatus.running

    stack.worker("documents")

    def reconciled_and_done():  # what the scheduler's tick does every 30 seconds, run every second here
        stack.flask("jobs", "reconcile")
        return _fresh(Invoice, inv.id).pdf_file_id

    wait_for(reconciled_and_done, 120, 1, "the PDF after the worker was killed")
    print(f"\nworker killed -> PDF rendered by another worker: {time.monotonic() - killed:.1f}s")
    assert _fresh(JobRecord, rec_id).status == JobStatus.succeeded
    assert db.session.scalar(sa.select(sa.func.count(StoredFile.id)).where(
        StoredFile.content_type == "application/pdf", StoredFile.owner_company_id == world.supplier_a.id)) == 1


def test_database_connections_terminated_mid_request_then_next_requests_succeed(world, stack, app):
    buyer = Session(stack.url).signin(world.procurement)
    db.session.remove()
    db.engine.dispose()  # this test process keeps no pooled connection: only the server's are terminated
    stop = threading.Event()
    statuses = []

    def traffic():
        while not stop.is_set():
            statuses.append(buyer.get("/orders").status_code)

    t = threading.Thread(target=traffic)
    t.start()
    try:
        for _ in range(3):
            time.sleep(0.3)
            with db.engine.connect() as conn:  # (its own connection is excluded: pg_backend_pid)
                killed = conn.execute(sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND application_name NOT LIKE 'pg_%'")).scalar()
                conn.commit()
            db.engine.dispose()
            assert killed >= 1
    finally:
        time.sleep(0.3)
        stop.set()
        t.join(30)
    db.session.remove()
    assert statuses
    after = [buyer.get("/orders").status_code for _ in range(10)]
    assert after == [200] * 10, (after, stack.logs())
