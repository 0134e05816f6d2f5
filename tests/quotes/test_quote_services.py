"""Quote services: draft, save, submit, revise, withdraw, confirm, discard; deadline lock, stale forms, roles."""
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.db import db, utcnow
from portal.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from portal.notifications.models import Notification, OutboxMail
from portal.quotes import services
from portal.quotes.models import Quote, QuoteLine, QuoteVersion
from portal.quotes.states import QuoteStatus
from portal.rfq.models import RfqLine
from tests import factories
from tests.quotes.helpers import count, draft_with, fresh, header, lines, move_deadline_to_past, submitted

pytestmark = pytest.mark.usefixtures("isolated_requests")


# --------------------------------------------------------------------------------------------- drafts

def test_get_or_create_draft_creates_a_quote_with_an_empty_version_1(world, open_rfq):
    q = services.get_or_create_draft(open_rfq, world.sales_a)
    assert q.status == QuoteStatus.draft and q.current_version_id is None
    assert q.draft_version.number == 1 and q.draft_version.lines == []
    again = services.get_or_create_draft(open_rfq, world.sales_a)
    assert again.id == q.id and count(Quote) == 1 and count(QuoteVersion) == 1


def test_save_draft_stores_header_and_lines_then_replaces_the_lines(world, open_rfq):
    q = draft_with(open_rfq, world.sales_a, ["1.50", None, "3.2500"], moq={0: "50"}, pack_size={0: "10"},
                   lead_time_days={0: "14"}, price_breaks={0: "500:1.40; 1000:1.30"})
    v = fresh(q).draft_version
    assert v.shipping_cost == Decimal("25") and v.delivery_terms == "DAP Berlin"
    by_line = {ql.rfq_line_id: ql for ql in v.lines}
    first = by_line[open_rfq.lines[0].id]
    assert first.unit_price == Decimal("1.5") and first.moq == Decimal("50") and first.pack_size == Decimal("10")
    assert first.lead_time_days == 14
    assert first.price_breaks == [{"min_quantity": "500", "unit_price": "1.4"},
                                  {"min_quantity": "1000", "unit_price": "1.3"}]
    assert open_rfq.lines[1].id not in by_line  # left open in the draft
    q = fresh(q)
    services.save_draft(q, world.sales_a, {}, lines(open_rfq, ["2", "2", None]), q.lock_version)
    v = fresh(q).draft_version
    assert sorted(ql.unit_price for ql in v.lines) == [Decimal("2"), Decimal("2")]
    assert v.shipping_cost == Decimal("25")  # header fields not given are kept


@pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")
def test_resaving_with_the_old_lines_loaded_in_the_session_is_clean(world, open_rfq):
    q = draft_with(open_rfq, world.sales_a, ["1", "2", "3"])
    q = db.session.get(Quote, q.id)
    held = list(q.draft_version.lines)  # still referenced: they stay in the session's identity map
    for prices in (["4", "5", "6"], ["7", "8", "9"]):
        services.save_draft(q, world.sales_a, {}, lines(open_rfq, prices), q.lock_version)
        assert sorted(ql.unit_price for ql in q.draft_version.lines) == [Decimal(p) for p in prices]
    assert len(held) == 3


def test_save_draft_with_one_bad_cell_saves_nothing(world, open_rfq):
    q = draft_with(open_rfq, world.sales_a, ["1", "2", "3"])
    q = fresh(q)
    with pytest.raises(ValidationFailed) as exc:
        services.save_draft(q, world.sales_a, header(shipping="99"), lines(open_rfq, ["5", "-1", "5"]),
                            q.lock_version)
    assert "line 2" in exc.value.message
    assert exc.value.errors == {f"lines.{open_rfq.lines[1].id}.unit_price": "Must be 0 or more."}
    v = fresh(q).draft_version
    assert sorted(ql.unit_price for ql in v.lines) == [Decimal("1"), Decimal("2"), Decimal("3")]
    assert v.shipping_cost == Decimal("25")


def test_a_supplier_that_was_not_invited_gets_not_found(world):
    rfq = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a])
    with pytest.raises(NotFound):
        services.get_or_create_draft(rfq, world.sales_b)
    assert count(Quote) == 0


def test_a_draft_rfq_is_not_quotable(world):
    rfq = factories.rfq(world.buyer, world.procurement, status="draft", suppliers=[world.supplier_a])
    with pytest.raises(NotFound):
        services.get_or_create_draft(rfq, world.sales_a)


@pytest.mark.parametrize("who", ["procurement", "admin_a", "accounts_a"])
def test_only_sales_staff_of_a_supplier_may_quote(world, open_rfq, who):
    with pytest.raises(Forbidden):
        services.get_or_create_draft(open_rfq, getattr(world, who))


def test_someone_elses_quote_cannot_be_saved_or_submitted(world, open_rfq):
    q = draft_with(open_rfq, world.sales_a, ["1", "2", "3"])
    q = fresh(q)
    with pytest.raises(NotFound):
        services.save_draft(q, world.sales_b, header(), lines(open_rfq, ["0", "0", "0"]), q.lock_version)
    with pytest.raises(NotFound):
        services.submit(q, world.sales_b, q.lock_version)
    with pytest.raises(NotFound):
        services.withdraw(q, world.sales_b, "because")


# --------------------------------------------------------------------------------------------- submit

def test_submit_makes_the_draft_current_and_notifies_the_buyer_without_prices(world, open_rfq):
    q = draft_with(open_rfq, world.sales_a, ["12.34", "2", "3"])
    q = fresh(q)
    services.submit(q, world.sales_a, q.lock_version)
    q = fresh(q)
    v = q.current_version
    assert q.status == QuoteStatus.submitted and q.draft_version_id is None and v.number == 1
    assert v.submitted_at is not None and v.submitted_by_id == world.sales_a.id
    assert q.submitted_at == v.submitted_at and q.needs_reconfirmation is False
    assert v.rfq_amendment_no == open_rfq.amendment_no
    notes = list(db.session.scalars(sa.select(Notification).where(Notification.company_id == world.buyer.id)))
    assert {n.user_id for n in notes} == {world.procurement.id, world.procurement2.id}
    assert all(n.title.startswith(f"New quote from {world.supplier_a.display_name}") for n in notes)
    mails = list(db.session.scalars(sa.select(OutboxMail)))
    assert mails and all("12.34" not in (m.subject + m.body) for m in mails)
    assert all("12.34" not in (n.title + n.body) for n in notes)
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.entity_type == "quote",
                                                         AuditEvent.action == "submitted")) is not None


def test_submit_with_unpriced_lines_names_the_positions(world):
    rfq = factories.rfq(world.buyer, world.procurement, lines=5, suppliers=[world.supplier_a])
    q = draft_with(rfq, world.sales_a, ["1", None, "3", None, "5"])
    q = fresh(q)
    with pytest.raises(ValidationFailed) as exc:
        services.submit(q, world.sales_a, q.lock_version)
    assert exc.value.message.startswith("Lines 2, 4 have no price")
    assert set(exc.value.errors) == {f"lines.{rfq.lines[1].id}.unit_price", f"lines.{rfq.lines[3].id}.unit_price"}
    assert fresh(q).status == QuoteStatus.draft


def test_submit_accepts_declined_lines_but_not_a_quote_that_declines_everything(world, open_rfq):
    q = draft_with(open_rfq, world.sales_a, [None, None, None], declined={0: True, 1: True, 2: True},
                   decline_reason={0: "n/a", 1: "n/a", 2: "n/a"})
    q = fresh(q)
    with pytest.raises(ValidationFailed, match="Every line is declined"):
        services.submit(q, world.sales_a, q.lock_version)
    services.save_draft(q, world.sales_a, {}, lines(open_rfq, ["4", None, None], declined={1: True, 2: "yes"},
                                                    decline_reason={1: "Not our range", 2: "Discontinued"}),
                        q.lock_version)
    q = fresh(q)
    services.submit(q, world.sales_a, q.lock_version)
    assert fresh(q).status == QuoteStatus.submitted


def test_submit_needs_a_validity_date(world, open_rfq):
    q = draft_with(open_rfq, world.sales_a, ["1", "2", "3"], hdr={"valid_until": ""})
    q = fresh(q)
    with pytest.raises(ValidationFailed) as exc:
        services.submit(q, world.sales_a, q.lock_version)
    assert "valid_until" in exc.value.errors


def test_submit_refuses_a_validity_date_that_has_passed_since_saving(world, open_rfq):
    q = draft_with(open_rfq, world.sales_a, ["1", "2", "3"])
    q = fresh(q)
    q.draft_version.valid_until = utcnow().date() - timedelta(days=1)
    db.session.commit()
    with pytest.raises(ValidationFailed, match="validity date is in the past"):
        services.submit(q, world.sales_a, q.lock_version)


# --------------------------------------------------------------------------------------------- revisions

def test_revisions_are_kept_as_versions_and_the_latest_counts(world, open_rfq):
    q = submitted(open_rfq, world.sales_a, ["1", "2", "3"])
    q = services.get_or_create_draft(fresh(open_rfq), world.sales_a)
    q = fresh(q)
    draft = q.draft_version
    assert draft.number == 2 and q.current_version.number == 1
    # the revision starts as a copy of the current version (lines and header)
    assert sorted(ql.unit_price for ql in draft.lines) == [Decimal(1), Decimal(2), Decimal(3)]
    assert draft.valid_until == q.current_version.valid_until and draft.shipping_cost == Decimal("25")
    services.save_draft(q, world.sales_a, {}, lines(open_rfq, ["0.9", "2", "3"]), q.lock_version)
    q = fresh(q)
    assert q.current_version.number == 1  # the buyer still sees version 1
    services.submit(q, world.sales_a, q.lock_version)
    q = fresh(q)
    assert q.current_version.number == 2 and q.draft_version_id is None
    vs = sorted(q.versions, key=lambda v: v.number)
    assert [v.number for v in vs] == [1, 2] and all(v.submitted_at and v.submitted_by_id for v in vs)
    assert {ql.unit_price for ql in vs[0].lines} == {Decimal(1), Decimal(2), Decimal(3)}
    assert fresh(q).status == QuoteStatus.submitted
    titles = [n.title for n in db.session.scalars(sa.select(Notification).where(
        Notification.user_id == world.procurement.id).order_by(Notification.id))]
    assert titles[-1].startswith("Revised quote from")


def test_discard_a_revision_keeps_the_current_version(world, open_rfq):
    q = submitted(open_rfq, world.sales_a, ["1", "2", "3"])
    q = services.get_or_create_draft(fresh(open_rfq), world.sales_a)
    q = fresh(q)
    assert services.discard_draft(q, world.sales_a, q.lock_version) is not None
    q = fresh(q)
    assert q.draft_version_id is None and q.current_version.number == 1 and count(QuoteVersion) == 1


def test_discard_a_never_submitted_draft_removes_the_quote(world, open_rfq):
    q = draft_with(open_rfq, world.sales_a, ["1", "2", None])
    q = fresh(q)
    assert services.discard_draft(q, world.sales_a, q.lock_version) is None
    assert count(Quote) == 0 and count(QuoteVersion) == 0 and count(QuoteLine) == 0


# --------------------------------------------------------------------------------------------- withdraw

def test_withdraw_then_submit_again(world, open_rfq):
    q = submitted(open_rfq, world.sales_a, ["1", "2", "3"])
    q = fresh(q)
    with pytest.raises(ValidationFailed):
        services.withdraw(q, world.sales_a, "  ")
    services.withdraw(q, world.sales_a, "Our supplier raised prices", q.lock_version)
    q = fresh(q)
    assert q.status == QuoteStatus.withdrawn and q.withdrawn_at is not None
    assert q.current_version.number == 1  # history stays
    assert db.session.scalar(sa.select(Notification).where(
        Notification.user_id == world.procurement.id, Notification.kind == "quote_withdrawn")) is not None
    q = services.get_or_create_draft(fresh(open_rfq), world.sales_a)
    q = fresh(q)
    services.submit(q, world.sales_a, q.lock_version)
    q = fresh(q)
    assert q.status == QuoteStatus.submitted and q.current_version.number == 2 and q.withdrawn_at is None


def test_withdraw_is_refused_after_the_deadline(world, open_rfq):
    q = submitted(open_rfq, world.sales_a, ["1", "2", "3"])
    move_deadline_to_past(open_rfq)
    with pytest.raises(InvalidTransition, match="quotes are locked"):
        services.withdraw(fresh(q), world.sales_a, "late")
    assert fresh(q).status == QuoteStatus.submitted


# --------------------------------------------------------------------------------------------- confirm

def _amend(rfq, quote):
    rfq = fresh(rfq)
    rfq.amendment_no += 1
    db.session.execute(sa.update(Quote).where(Quote.id == quote.id).values(
        needs_reconfirmation=True, lock_version=Quote.lock_version + 1))
    db.session.commit()
    return rfq


def test_confirm_after_an_amendment_creates_an_identical_version(world, open_rfq):
    q = submitted(open_rfq, world.sales_a, ["1", "2", "3"], price_breaks={0: "500:0.9"})
    rfq = _amend(open_rfq, q)
    q = fresh(q)
    services.confirm(q, world.sales_a, q.lock_version)
    q = fresh(q)
    v1, v2 = sorted(q.versions, key=lambda v: v.number)
    assert q.current_version_id == v2.id and v2.rfq_amendment_no == rfq.amendment_no == 1
    assert v1.rfq_amendment_no == 0 and q.needs_reconfirmation is False
    strip = lambda v: sorted((ql.rfq_line_id, ql.unit_price, ql.price_breaks, ql.moq, ql.pack_size,  # noqa: E731
                              ql.lead_time_days, ql.declined) for ql in v.lines)
    assert strip(v1) == strip(v2)
    assert (v1.valid_until, v1.shipping_cost, v1.delivery_terms) == (v2.valid_until, v2.shipping_cost,
                                                                    v2.delivery_terms)
    with pytest.raises(InvalidTransition, match="nothing to confirm"):
        services.confirm(fresh(q), world.sales_a)


def test_confirm_keeps_a_pending_revision_and_renumbers_it(world, open_rfq):
    q = submitted(open_rfq, world.sales_a, ["1", "2", "3"])
    services.get_or_create_draft(fresh(open_rfq), world.sales_a)
    _amend(open_rfq, q)
    q = fresh(q)
    services.confirm(q, world.sales_a, q.lock_version)
    q = fresh(q)
    assert q.current_version.number == 2 and q.draft_version.number == 3


def test_confirm_is_refused_when_the_amendment_added_lines(world, open_rfq):
    q = submitted(open_rfq, world.sales_a, ["1", "2", "3"])
    rfq = fresh(open_rfq)
    db.session.add(RfqLine(rfq_id=rfq.id, position=4, description="New item", quantity=Decimal(5), unit="pcs"))
    db.session.commit()
    _amend(rfq, q)
    with pytest.raises(ValidationFailed, match="Line 4 has no price"):
        services.confirm(fresh(q), world.sales_a)


def test_confirm_is_refused_for_an_expired_quote(world, open_rfq):
    q = submitted(open_rfq, world.sales_a, ["1", "2", "3"])
    _amend(open_rfq, q)
    q = fresh(q)
    q.current_version.valid_until = utcnow().date() - timedelta(days=1)
    db.session.commit()
    with pytest.raises(ValidationFailed, match="revise it with a new validity date"):
        services.confirm(fresh(q), world.sales_a)


# --------------------------------------------------------------------------------------------- locks

WRITES = {
    "get_or_create_draft": lambda q, u: services.get_or_create_draft(q.rfq, u),
    "save_draft": lambda q, u: services.save_draft(q, u, {}, [], q.lock_version),
    "submit": lambda q, u: services.submit(q, u, q.lock_version),
    "withdraw": lambda q, u: services.withdraw(q, u, "reason", q.lock_version),
    "confirm": lambda q, u: services.confirm(q, u, q.lock_version),
    "discard_draft": lambda q, u: services.discard_draft(q, u, q.lock_version),
    "add_attachment": lambda q, u: services.add_attachment(q, u, filename="a.pdf", data=b"%PDF-1.4 x"),
}


def test_every_write_is_refused_after_the_deadline(world, open_rfq):
    q = draft_with(open_rfq, world.sales_a, ["1", "2", "3"])
    move_deadline_to_past(open_rfq, minutes=5)
    for name, call in WRITES.items():
        q = fresh(q)
        before = (q.lock_version, q.status, len(q.versions))
        with pytest.raises(InvalidTransition) as exc:
            call(q, world.sales_a)
        assert exc.value.message.startswith("The deadline for this RFQ passed at "), name
        assert exc.value.message.endswith("; quotes are locked."), name
        q = fresh(q)
        assert (q.lock_version, q.status, len(q.versions)) == before, name


@pytest.mark.parametrize("status", ["closed", "cancelled"])
def test_writes_are_refused_when_the_rfq_is_no_longer_open(world, open_rfq, status):
    from portal.rfq.states import RfqStatus

    q = draft_with(open_rfq, world.sales_a, ["1", "2", "3"])
    rfq = fresh(open_rfq)
    rfq.status = RfqStatus(status)
    db.session.commit()
    with pytest.raises(InvalidTransition, match="quotes are locked"):
        services.submit(fresh(q), world.sales_a, fresh(q).lock_version)


@pytest.mark.parametrize("name", ["save_draft", "submit", "discard_draft"])
def test_a_stale_lock_version_is_a_conflict(world, open_rfq, name):
    q = draft_with(open_rfq, world.sales_a, ["1", "2", "3"])
    q = fresh(q)
    stale = q.lock_version - 1
    call = {"save_draft": lambda: services.save_draft(q, world.sales_a, {}, [], stale),
            "submit": lambda: services.submit(q, world.sales_a, stale),
            "discard_draft": lambda: services.discard_draft(q, world.sales_a, stale)}[name]
    with pytest.raises(Conflict) as exc:
        call()
    assert exc.value.message == ("This quote was changed in another tab or by a colleague; reload to see the "
                                 "latest version.")
    assert len(fresh(q).draft_version.lines) == 3


def test_starting_a_quote_from_a_form_loaded_before_a_colleague_started_one_is_a_conflict(world, open_rfq):
    other = factories.user(world.supplier_a, "sales")
    services.get_or_create_draft(open_rfq, other)
    with pytest.raises(Conflict):
        services.get_or_create_draft(fresh(open_rfq), world.sales_a, expected_lock_version=0)


def test_every_save_moves_the_lock_version_on(world, open_rfq):
    q = draft_with(open_rfq, world.sales_a, ["1", "2", "3"])
    q = fresh(q)
    before = q.lock_version
    services.save_draft(q, world.sales_a, {}, lines(open_rfq, ["1", "2", "4"]), before)
    assert fresh(q).lock_version > before


# --------------------------------------------------------------------------------------------- transitions

ALL = list(QuoteStatus)
ALLOWED = {("draft", "submitted"), ("submitted", "submitted"), ("submitted", "withdrawn"),
           ("withdrawn", "submitted")}


def test_transition_table():
    from portal.quotes.states import check

    for src in ALL:
        for dst in ALL:
            if (src.value, dst.value) in ALLOWED:
                check(src, dst)
            else:
                with pytest.raises(InvalidTransition):
                    check(src, dst)


def _quote_in(state, world, rfq):
    if state == "draft":
        return draft_with(rfq, world.sales_a, ["1", "2", "3"])
    q = submitted(rfq, world.sales_a, ["1", "2", "3"])
    if state == "withdrawn":
        q = fresh(q)
        services.withdraw(q, world.sales_a, "reason", q.lock_version)
    return q


@pytest.mark.parametrize("state, action, ok", [
    ("draft", "submit", True), ("draft", "withdraw", False), ("draft", "confirm", False),
    ("submitted", "submit", True), ("submitted", "withdraw", True), ("submitted", "confirm", False),
    ("withdrawn", "submit", True), ("withdrawn", "withdraw", False), ("withdrawn", "confirm", False),
])
def test_walk_the_lifecycle_through_the_services(world, open_rfq, state, action, ok):
    q = fresh(_quote_in(state, world, open_rfq))
    if action == "submit" and q.draft_version_id is None:
        q = fresh(services.get_or_create_draft(fresh(open_rfq), world.sales_a))
    call = {"submit": lambda: services.submit(q, world.sales_a, q.lock_version),
            "withdraw": lambda: services.withdraw(q, world.sales_a, "why", q.lock_version),
            "confirm": lambda: services.confirm(q, world.sales_a, q.lock_version)}[action]
    if ok:
        call()
        assert fresh(q).status == {"submit": QuoteStatus.submitted, "withdraw": QuoteStatus.withdrawn}[action]
    else:
        with pytest.raises(InvalidTransition):
            call()
        assert fresh(q).status == QuoteStatus(state)


# --------------------------------------------------------------------------------------------- expiry sweep

def test_expire_due_quotes_notifies_sales_once(world, open_rfq):
    q = submitted(open_rfq, world.sales_a, ["1", "2", "3"])
    q2 = submitted(open_rfq, world.sales_b, ["1", "2", "3"])
    q = fresh(q)
    q.current_version.valid_until = utcnow().date() - timedelta(days=1)
    db.session.commit()
    assert fresh(q).expired and not fresh(q2).expired
    assert services.expire_due_quotes() == 1
    assert services.expire_due_quotes() == 0  # idempotent
    notes = list(db.session.scalars(sa.select(Notification).where(Notification.kind == "quote_expired")))
    assert [n.user_id for n in notes] == [world.sales_a.id]
    assert count(AuditEvent, AuditEvent.action == "quote_expired") == 1


def test_a_revised_quote_that_expires_again_is_told_again(world, open_rfq):
    q = submitted(open_rfq, world.sales_a, ["1", "2", "3"])
    q = fresh(q)
    q.current_version.valid_until = utcnow().date() - timedelta(days=1)
    db.session.commit()
    assert services.expire_due_quotes() == 1
    q = fresh(services.get_or_create_draft(fresh(open_rfq), world.sales_a))
    services.save_draft(q, world.sales_a, header(days=10), lines(open_rfq, ["1", "2", "3"]), q.lock_version)
    q = fresh(q)
    services.submit(q, world.sales_a, q.lock_version)
    assert services.expire_due_quotes() == 0
    q = fresh(q)
    q.current_version.valid_until = utcnow().date() - timedelta(days=1)
    db.session.commit()
    assert services.expire_due_quotes() == 1


@pytest.mark.parametrize("rfq_status, quote_state, expected", [
    ("open", "submitted", 1), ("closed", "submitted", 1), ("awarded", "submitted", 0),
    ("cancelled", "submitted", 0), ("open", "withdrawn", 0),
])
def test_expire_due_quotes_only_for_submitted_quotes_on_open_or_closed_rfqs(world, rfq_status, quote_state,
                                                                            expected):
    rfq = factories.rfq(world.buyer, world.procurement, status=rfq_status, suppliers=[world.supplier_a])
    q = factories.quote(rfq, world.supplier_a, world.sales_a, valid_days=-2)
    if quote_state == "withdrawn":
        q = fresh(q)
        q.status = QuoteStatus.withdrawn
        db.session.commit()
    assert services.expire_due_quotes() == expected
