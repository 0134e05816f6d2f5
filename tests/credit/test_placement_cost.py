"""Issue 20: a passing credit check places the order in one flush — and still leaves every trace it left before.

The notices' mails are no longer flushed one by one: they are inserted with the decision and their send jobs are
scheduled just before the commit (portal.notifications.services._schedule_mails). These tests pin what that must
keep: each mail is enqueued exactly once and only after the commit, nothing is enqueued or kept when the
transaction (or the savepoint it was added in) rolls back, and the placement's statement count does not grow with
the number of people told.
"""
from __future__ import annotations

import sqlalchemy as sa
from rq import Queue

from portal.audit.models import AuditEvent
from portal.credit import services
from portal.credit.models import CreditCheck, CreditReservation, ReservationStatus
from portal.db import db
from portal.events.models import Event
from portal.jobs.queue import rq_id
from portal.notifications.models import MailStatus, Notification, OutboxMail
from portal.notifications.services import notify
from portal.orders.models import OrderRevision
from portal.orders.states import OrderStatus
from tests import factories
from tests.credit.helpers import fresh


def _queue(app, name):
    return Queue(name, connection=app.extensions["portal_redis"])


def _count(model, *where):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _mail_job_ids(app):
    return sorted(_queue(app, "mail").job_ids)


def test_notify_enqueues_each_mail_once_and_only_after_the_commit(world, app, run_jobs):
    notify([world.procurement, world.procurement2], kind="order", title="Hello", body="Body", link="/orders/1")
    notify([world.procurement], kind="order", title="Again", body="Body")
    assert _mail_job_ids(app) == []  # nothing reaches Redis before the commit
    db.session.commit()
    mails = db.session.scalars(sa.select(OutboxMail).order_by(OutboxMail.id)).all()
    assert len(mails) == 3 and all(m.id for m in mails)
    assert _mail_job_ids(app) == sorted(rq_id(f"mail-{m.id}") for m in mails)
    run_jobs(("mail",))
    db.session.expire_all()
    assert [m.status for m in db.session.scalars(sa.select(OutboxMail))] == [MailStatus.kept] * 3
    # a later commit does not schedule them again
    factories.company("buyer")
    assert _mail_job_ids(app) == []


def test_a_rolled_back_notice_leaves_no_mail_and_no_job(world, app):
    notify([world.procurement], kind="order", title="Never", body="Rolled back")
    db.session.flush()  # even once inserted
    db.session.rollback()
    assert _count(OutboxMail) == 0 and _count(Notification) == 0
    factories.company("buyer")  # the next commit does not resurrect it
    assert _mail_job_ids(app) == [] and _count(OutboxMail) == 0


def test_a_mail_of_a_rolled_back_savepoint_gets_no_job(world, app):
    notify([world.procurement], kind="order", title="Kept", body="Outside the savepoint")
    savepoint = db.session.begin_nested()
    notify([world.procurement2], kind="order", title="Dropped", body="Inside the savepoint")
    db.session.flush()
    savepoint.rollback()
    db.session.commit()
    mails = db.session.scalars(sa.select(OutboxMail)).all()
    assert [m.subject for m in mails] == ["Kept"]
    assert _mail_job_ids(app) == [rq_id(f"mail-{mails[0].id}")]


def test_a_passing_check_leaves_every_trace_in_its_one_commit(world, app, account, submitted, run_jobs):
    account(world.supplier_a, world.buyer, "10000")
    order = submitted("600")
    services.check_order(order.id)
    order = fresh(order)
    assert order.status == OrderStatus.placed and order.supplier_order_number and order.placed_at
    assert _count(CreditCheck, CreditCheck.order_id == order.id, CreditCheck.outcome == "passed") == 1
    res = db.session.scalar(sa.select(CreditReservation).where(CreditReservation.order_id == order.id))
    assert res.status == ReservationStatus.reserved and res.amount == order.total_net
    rev = db.session.scalar(sa.select(OrderRevision).where(OrderRevision.order_id == order.id))
    assert rev.number == 1 and rev.snapshot["supplier_order_number"] == order.supplier_order_number
    assert rev.snapshot["created_by"] == world.procurement.name and len(rev.snapshot["lines"]) == 1
    actions = [a for a, in db.session.execute(sa.select(AuditEvent.action).where(
        AuditEvent.entity_type == "order", AuditEvent.entity_id == order.id).order_by(AuditEvent.id))]
    assert actions[-2:] == ["placed", "credit_check_passed"]  # the history's order is kept
    told = {(n.user_id, n.title) for n in db.session.scalars(sa.select(Notification))}
    buyer_side = {u.id for u in (world.procurement, world.procurement2)}
    supplier_side = {u.id for u in factories_users(world.supplier_a, "sales")}
    assert {uid for uid, t in told if t.startswith("Order ") and "placed" in t} == buyer_side
    assert {uid for uid, t in told if t.startswith("New order")} == supplier_side
    mails = db.session.scalars(sa.select(OutboxMail)).all()
    assert len(mails) == len(buyer_side | supplier_side)
    assert _mail_job_ids(app) == sorted(rq_id(f"mail-{m.id}") for m in mails)
    assert _queue(app, "documents").job_ids == [rq_id(f"po-pdf-{order.id}")]
    assert {e.company_id for e in db.session.scalars(sa.select(Event).where(Event.type == "order.placed"))} == {
        world.buyer.id, world.supplier_a.id}
    run_jobs(("mail",))
    db.session.expire_all()
    assert all(m.status == MailStatus.kept for m in db.session.scalars(sa.select(OutboxMail)))


def factories_users(company, role):
    from portal.accounts.models import Role, User, UserRole

    return db.session.scalars(sa.select(User).where(User.company_id == company.id, User.active.is_(True),
                                                    User.id.in_(sa.select(UserRole.user_id).where(
                                                        UserRole.role == Role(role))))).all()


def _statements_of_a_passing_check(account_fixture, submitted, count_queries, world):
    order = submitted("600")
    with count_queries() as q:
        services.check_order(order.id)
    assert fresh(order).status == OrderStatus.placed
    return q.count


def test_a_passing_check_costs_the_same_statements_however_many_people_are_told(
        world, account, submitted, count_queries):
    account(world.supplier_a, world.buyer, "100000")
    _statements_of_a_passing_check(account, submitted, count_queries, world)  # first of the year: counters made
    few = _statements_of_a_passing_check(account, submitted, count_queries, world)
    for i in range(4):
        factories.user(world.buyer, "procurement", email=f"more-buyers-{i}@acme.test")
        factories.user(world.supplier_a, "sales", email=f"more-sales-{i}@alpha.test")
    many = _statements_of_a_passing_check(account, submitted, count_queries, world)
    assert _count(Notification) > 0
    if db.engine.dialect.name == "postgresql":
        # PostgreSQL: the new notices (and the mails) go out as one INSERT each, whatever their number
        assert many == few
        assert few <= 17  # 27-28 before issue 20's third pass (each notice and mail flushed on its own)
    else:
        # SQLite inserts the rows one by one (no ordered RETURNING for a batch), but no more than that
        assert many - few == 2 * 8
