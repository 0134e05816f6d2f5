"""Publish, extend, close (early and by the deadline sweep), cancel."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.db import db, utcnow
from portal.errors import Forbidden, InvalidTransition, ValidationFailed
from portal.rfq import services
from portal.rfq.models import Rfq, RfqAmendment, RfqInvitation
from portal.rfq.states import RfqStatus
from tests import factories
from tests.rfq.conftest import events, fresh, local_input, mails_to, notifications, text


def due(world, n=1, **kw):
    """Open RFQs whose deadline has just passed."""
    out = []
    for _ in range(n):
        r = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a, world.supplier_b],
                          **kw)
        r.deadline = utcnow() - timedelta(seconds=30)
        out.append(r)
    db.session.commit()
    return out


# --------------------------------------------------------------------------------------------- publish

def test_publish_notifies_invited_suppliers_in_app_and_by_mail(world, login, draft, run_jobs):
    c = login(world.procurement)
    resp = c.post(f"/rfqs/{draft.id}/publish", data={"version": draft.version}, follow_redirects=True)
    assert "is published" in text(resp)
    r = fresh(draft)
    assert r.status == RfqStatus.open and r.published_at is not None
    [n] = notifications(world.sales_a, "rfq_invited")
    assert r.reference in n.title and "Responses are due by" in n.body and n.link == f"/rfqs/{r.id}"
    assert mails_to(world.sales_a) and not mails_to(world.sales_b) and not notifications(world.admin_a)
    [ev] = events(r.id, "published")
    assert (ev.from_state, ev.to_state, ev.actor_id) == ("draft", "open", world.procurement.id)


@pytest.mark.parametrize("setup, message", [
    ("no_lines", "add at least one line"),
    ("no_suppliers", "invite at least one supplier"),
    ("past_deadline", "set a response deadline in the future"),
])
def test_publish_needs_lines_suppliers_and_a_future_deadline(world, login, setup, message):
    kw = {"lines": 0} if setup == "no_lines" else {}
    suppliers = [] if setup == "no_suppliers" else [world.supplier_a]
    r = factories.rfq(world.buyer, world.procurement, status="draft", suppliers=suppliers,
                      quantities=None, **kw)
    if setup == "no_lines":
        for ln in list(r.lines):
            db.session.delete(ln)
    if setup == "past_deadline":
        r.deadline = utcnow() - timedelta(minutes=1)
    db.session.commit()
    c = login(world.procurement)
    assert message in text(c.get(f"/rfqs/{r.id}"))  # the page says what is missing
    resp = c.post(f"/rfqs/{r.id}/publish", data={"version": fresh(r).version}, follow_redirects=True)
    assert "The RFQ cannot be published yet" in text(resp) and message in text(resp)
    assert fresh(r).status == RfqStatus.draft
    assert not notifications(world.sales_a)


# --------------------------------------------------------------------------------------------- extend

def test_extend_deadline_is_an_amendment(world, login, open_rfq):
    q = factories.quote(open_rfq, world.supplier_a, world.sales_a)
    new = open_rfq.deadline + timedelta(days=3)
    c = login(world.procurement)
    resp = c.post(f"/rfqs/{open_rfq.id}/extend",
                  data={"deadline": local_input(new), "version": open_rfq.version})
    assert resp.status_code == 302, text(resp)[:1500]
    r = fresh(open_rfq)
    assert abs((r.deadline - new).total_seconds()) < 60
    [a] = db.session.scalars(sa.select(RfqAmendment).where(RfqAmendment.rfq_id == r.id))
    assert a.summary.startswith("Deadline extended from ") and " UTC to " in a.summary
    assert events(r.id, "deadline_extended") and r.amendment_no == 1
    assert fresh(q).needs_reconfirmation is True
    assert notifications(world.sales_b, "rfq_amended")


@pytest.mark.parametrize("delta, message", [
    (timedelta(days=-1), "A deadline can only be extended"),
    (timedelta(0), "A deadline can only be extended"),
])
def test_extend_only_later(world, login, open_rfq, delta, message):
    c = login(world.procurement)
    resp = c.post(f"/rfqs/{open_rfq.id}/extend",
                  data={"deadline": local_input(open_rfq.deadline + delta), "version": open_rfq.version})
    assert message in text(resp)
    assert fresh(open_rfq).amendment_no == 0


def test_extend_never_into_the_past(world):
    r = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a])
    with pytest.raises(ValidationFailed) as exc:
        services.extend_deadline(world.procurement, r.id, deadline=utcnow() - timedelta(hours=1))
    assert "in the past" in exc.value.message


def test_extend_only_open(world, draft):
    with pytest.raises(InvalidTransition):
        services.extend_deadline(world.procurement, draft.id, deadline=utcnow() + timedelta(days=30))


# --------------------------------------------------------------------------------------------- close

def test_close_early_opens_quotes_in_the_same_transaction(world, login, open_rfq):
    factories.quote(open_rfq, world.supplier_a, world.sales_a)
    factories.quote(open_rfq, world.supplier_b, world.sales_b, submitted=False)
    c = login(world.procurement)
    resp = c.post(f"/rfqs/{open_rfq.id}/close", data={"version": open_rfq.version}, follow_redirects=True)
    assert "is closed; 1 quote opened." in text(resp)
    r = fresh(open_rfq)
    assert r.status == RfqStatus.closed and r.closed_at and r.opened_at == r.closed_at
    [closed] = events(r.id, "closed")
    assert closed.actor_id == world.procurement.id and closed.detail.startswith("closed early by")
    [opened] = events(r.id, "quotes_opened")
    assert opened.detail == "1 quote opened" and opened.visible_to_company_id == world.buyer.id
    for person in (world.procurement, world.procurement2):
        [n] = notifications(person, "rfq_closed")
        assert n.title.startswith("RFQ closed, 1 quote to compare")
    assert [n.title for n in notifications(world.sales_a, "rfq_closed")] == [f"RFQ closed: {r.reference}"]
    assert notifications(world.sales_b, "rfq_closed")


def test_close_due_rfqs_closes_once(world):
    a, b = due(world, 2)
    not_yet = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a])
    factories.quote(a, world.supplier_a, world.sales_a)
    assert services.close_due_rfqs() == 2
    assert services.close_due_rfqs() == 0  # idempotent
    for r in (a, b):
        r = fresh(r)
        assert r.status == RfqStatus.closed and r.opened_at is not None
        [ev] = events(r.id, "closed")
        assert ev.actor_id is None and ev.detail == "deadline passed"
        assert len(events(r.id, "quotes_opened")) == 1
    assert events(a.id, "quotes_opened")[0].detail == "1 quote opened"
    assert fresh(not_yet).status == RfqStatus.open
    [n] = notifications(world.procurement, "rfq_closed")[:1]
    assert n.title.startswith("RFQ closed, 1 quote to compare")


def test_the_periodic_tick_runs_the_sweep(world):
    [r] = due(world)
    from portal.jobs.periodic import tick

    result = tick()
    assert result["portal.rfq.services.close_due_rfqs"] == 1
    assert fresh(r).status == RfqStatus.closed


@pytest.mark.postgres
def test_two_sweeps_at_once_close_each_rfq_exactly_once(app, world):
    rfqs = due(world, 12)
    ids = [r.id for r in rfqs]
    barrier = threading.Barrier(2)
    results, errors = [], []

    def sweep():
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                results.append(services.close_due_rfqs())
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors and sum(results) == 12
    db.session.expire_all()
    for rid in ids:
        assert db.session.get(Rfq, rid).status == RfqStatus.closed
        assert len(events(rid, "closed")) == 1 and len(events(rid, "quotes_opened")) == 1


@pytest.mark.postgres
@pytest.mark.parametrize("attempt", range(3))
def test_sweep_and_buyer_closing_at_once_close_once(app, world, attempt):
    [r] = due(world)
    rid, version = r.id, r.version
    barrier = threading.Barrier(2)
    outcomes = {}

    def sweep():
        with app.app_context():
            barrier.wait(timeout=10)
            outcomes["sweep"] = services.close_due_rfqs()

    def buyer():
        with app.app_context():
            from portal.accounts.models import User
            from portal.errors import DomainError

            actor = db.session.get(User, world.procurement.id)
            barrier.wait(timeout=10)
            try:
                services.close_early(actor, rid, version=version)
                outcomes["buyer"] = "closed"
            except DomainError as exc:
                outcomes["buyer"] = exc.message

    threads = [threading.Thread(target=sweep), threading.Thread(target=buyer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    db.session.expire_all()
    assert db.session.get(Rfq, rid).status == RfqStatus.closed
    assert len(events(rid, "closed")) == 1 and len(events(rid, "quotes_opened")) == 1
    if outcomes["buyer"] == "closed":
        assert outcomes["sweep"] == 0
    else:  # the sweep won; the buyer got a sentence, not a 500
        assert outcomes["sweep"] == 1
        assert outcomes["buyer"] in (services.STALE_MESSAGE, "An RFQ that is closed cannot be closed.")


# --------------------------------------------------------------------------------------------- cancel

def test_cancel_needs_a_reason_and_notifies_suppliers(world, login, open_rfq):
    c = login(world.procurement)
    resp = c.post(f"/rfqs/{open_rfq.id}/cancel", data={"reason": "  ", "version": open_rfq.version})
    assert "Give a reason for cancelling" in text(resp)
    assert fresh(open_rfq).status == RfqStatus.open
    resp = c.post(f"/rfqs/{open_rfq.id}/cancel", data={"reason": "Project postponed to 2028",
                                                       "version": open_rfq.version})
    assert resp.status_code == 302
    r = fresh(open_rfq)
    assert r.status == RfqStatus.cancelled and r.cancel_reason == "Project postponed to 2028"
    [ev] = events(r.id, "cancelled")
    assert (ev.from_state, ev.to_state, ev.detail) == ("open", "cancelled", "Project postponed to 2028")
    [n] = notifications(world.sales_a, "rfq_cancelled")
    assert "Project postponed to 2028" in n.body
    assert "Project postponed to 2028" in text(login(world.sales_b).get(f"/rfqs/{r.id}"))


def test_cancelling_a_draft_tells_nobody_and_drops_its_invitations(world, login, draft):
    services.cancel(world.procurement, draft.id, reason="Duplicate")
    assert not notifications(world.sales_a)
    assert db.session.scalar(sa.select(sa.func.count(RfqInvitation.id))
                             .where(RfqInvitation.rfq_id == draft.id)) == 0
    assert login(world.sales_a).get(f"/rfqs/{draft.id}").status_code == 404


def test_closed_rfq_can_be_cancelled(world):
    r = factories.rfq(world.buyer, world.procurement, status="closed", suppliers=[world.supplier_a])
    services.cancel(world.procurement, r.id, reason="No acceptable offer")
    assert fresh(r).status == RfqStatus.cancelled


@pytest.mark.parametrize("action", ["publish", "close", "extend", "cancel", "line", "invite"])
def test_acting_on_a_cancelled_rfq_is_an_invalid_transition(world, login, action):
    r = factories.rfq(world.buyer, world.procurement, status="cancelled", suppliers=[world.supplier_a])
    p = world.procurement
    calls = {
        "publish": lambda: services.publish(p, r.id),
        "close": lambda: services.close_early(p, r.id),
        "extend": lambda: services.extend_deadline(p, r.id, deadline=utcnow() + timedelta(days=9)),
        "cancel": lambda: services.cancel(p, r.id, reason="again"),
        "line": lambda: services.add_line(p, r.id, description="x", quantity="1"),
        "invite": lambda: services.invite_suppliers(p, r.id, [world.supplier_b.id]),
    }
    with pytest.raises(InvalidTransition) as exc:
        calls[action]()
    assert "cancelled" in exc.value.message
    if action in ("publish", "close"):
        resp = login(p).post(f"/rfqs/{r.id}/{action}", data={"version": r.version}, follow_redirects=True)
        assert "An RFQ that is cancelled cannot be" in text(resp)


def test_a_supplier_cannot_run_buyer_operations(world, open_rfq):
    for call in (lambda: services.publish(world.sales_a, open_rfq.id),
                 lambda: services.close_early(world.sales_a, open_rfq.id),
                 lambda: services.cancel(world.sales_a, open_rfq.id, reason="x"),
                 lambda: services.update_rfq(world.sales_a, open_rfq.id, title="x")):
        with pytest.raises(Forbidden):
            call()
    # a "both" company with procurement people, invited as supplier, is still not the buyer
    both = factories.company("both", name="Both Ways GmbH")
    person = factories.user(both, "procurement", "sales")
    services.invite_suppliers(world.procurement, open_rfq.id, [both.id])
    with pytest.raises(Forbidden):
        services.close_early(person, open_rfq.id)
    assert fresh(open_rfq).status == RfqStatus.open
