"""Award service: whole and split awards, the rules that refuse them, and "at most once"."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.db import db, utcnow
from portal.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from portal.notifications.models import Notification
from portal.quotes import award as award_service
from portal.quotes.models import Award, AwardLine, QuoteLine, QuoteVersion
from portal.rfq.models import Rfq
from portal.rfq.states import RfqStatus
from tests import factories
from tests.accounts.helpers import _isolated_requests  # noqa: F401  (one app context per request)


@pytest.fixture
def setup(world):
    """Closed, opened RFQ (3 lines: 100/200/300 pcs) with quotes from A (complete) and B (declines line 3)."""
    r = factories.closed_rfq(world.buyer, world.procurement, suppliers=[world.supplier_a, world.supplier_b])
    qa = factories.quote(r, world.supplier_a, world.sales_a, prices=["1.00", "2.00", "3.00"], shipping="40")
    qb = factories.quote(r, world.supplier_b, world.sales_b, prices=["0.90", "2.10", "9"], declined=(2,))
    return r, qa, qb


def count(model, *where):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def fresh_rfq(r):
    db.session.expire_all()
    return db.session.get(Rfq, r.id)


def assert_nothing_saved(r):
    r = fresh_rfq(r)
    assert count(Award) == 0 and count(AwardLine) == 0
    assert r.status == RfqStatus.closed and r.awarded_at is None
    assert count(AuditEvent, AuditEvent.action == "awarded") == 0
    assert count(Notification) == 0


def titles(user):
    return [
        n.title for n in db.session.scalars(sa.select(Notification).where(Notification.user_id == user.id))
    ]


# ------------------------------------------------------------------------------------------ whole


def test_award_whole_creates_the_award_and_closes_the_rfq(world, setup):
    r, qa, _ = setup
    award = award_service.award_whole(r, world.procurement, qa.id, note="Best complete offer")
    r = fresh_rfq(r)
    assert r.status == RfqStatus.awarded and r.awarded_at is not None
    award = db.session.get(Award, award.id)
    assert (award.mode, award.note, award.awarded_by_id, award.buyer_company_id) == (
        "whole",
        "Best complete offer",
        world.procurement.id,
        world.buyer.id,
    )
    assert award.orders_created_at is None
    assert [
        (al.rfq_line_id, al.quote_id, al.supplier_company_id, al.quantity, al.unit_price, al.line_total)
        for al in award.lines
    ] == [
        (r.lines[0].id, qa.id, world.supplier_a.id, D("100"), D("1.00"), D("100.00")),
        (r.lines[1].id, qa.id, world.supplier_a.id, D("200"), D("2.00"), D("400.00")),
        (r.lines[2].id, qa.id, world.supplier_a.id, D("300"), D("3.00"), D("900.00")),
    ]
    assert {al.quote_line_id for al in award.lines} == {ln.id for ln in qa.current_version.lines}


def test_award_lines_carry_the_ordered_quantity_and_its_tier_price(world):
    r = factories.closed_rfq(world.buyer, world.procurement, quantities=[D("480")])
    q = factories.quote(
        r,
        world.supplier_a,
        world.sales_a,
        prices=["1.00"],
        moq=D("490"),
        pack_size=D("25"),
        breaks={0: [{"min_quantity": "500", "unit_price": "0.8125"}]},
    )
    award = award_service.award_whole(r, world.procurement, q.id)
    (al,) = award.lines
    assert (al.quantity, al.unit_price, al.line_total) == (D("500"), D("0.8125"), D("406.25"))


def test_award_uses_the_current_version(world, setup):
    r, qa, _ = setup
    v2 = QuoteVersion(
        quote_id=qa.id,
        number=2,
        created_by_id=world.sales_a.id,
        submitted_at=utcnow(),
        submitted_by_id=world.sales_a.id,
        valid_until=(utcnow() + timedelta(days=9)).date(),
    )
    for line in r.lines:
        v2.lines.append(QuoteLine(rfq_line_id=line.id, unit_price=D("0.5")))
    db.session.add(v2)
    db.session.flush()
    qa.current_version = v2
    db.session.commit()
    award = award_service.award_whole(r, world.procurement, qa.id)
    assert {al.quote_line_id for al in award.lines} == {ln.id for ln in v2.lines}
    assert {al.unit_price for al in award.lines} == {D("0.5")}


def test_award_records_audit_and_notifies_everyone(world, setup):
    r, qa, _ = setup
    award_service.award_whole(r, world.procurement, qa.id)
    ev = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "awarded"))
    assert (ev.entity_type, ev.entity_id, ev.actor_id, ev.from_state, ev.to_state) == (
        "rfq",
        r.id,
        world.procurement.id,
        "closed",
        "awarded",
    )
    assert (
        "Supplier Alpha GmbH: 3 lines, €1,400.00" in ev.detail and ev.visible_to_company_id == world.buyer.id
    )
    assert titles(world.sales_a) == [f"You won 3 lines of {r.reference}"]
    assert titles(world.admin_a) == [f"You won 3 lines of {r.reference}"]
    assert titles(world.sales_b) == [f"Not awarded: {r.reference}"]
    assert titles(world.accounts_a) == []  # suppliers' sales and admins only
    assert titles(world.procurement) == [f"{r.reference} awarded"]
    assert titles(world.procurement2) == [f"{r.reference} awarded"]
    assert titles(world.approver) == []
    links = {n.kind: n.link for n in db.session.scalars(sa.select(Notification))}
    assert links["rfq_not_awarded"] == f"/rfqs/{r.id}"
    buyer_note = db.session.scalar(
        sa.select(Notification).where(Notification.user_id == world.procurement.id)
    )
    assert buyer_note.link == f"/rfqs/{r.id}/comparison" and "Supplier Alpha GmbH: 3 lines" in buyer_note.body


def test_suppliers_who_withdrew_or_never_submitted_are_not_notified(world, setup):
    r, qa, qb = setup
    factories.withdraw_quote(qb)
    award_service.award_whole(r, world.procurement, qa.id)
    assert titles(world.sales_b) == []


# ------------------------------------------------------------------------------------------ split


def test_award_split_line_by_line_may_leave_lines_open(world, setup):
    r, qa, qb = setup
    award = award_service.award_split(r, world.procurement, {r.lines[0].id: qb.id, r.lines[1].id: qa.id})
    assert award.mode == "split"
    assert [(al.rfq_line_id, al.quote_id, al.line_total) for al in award.lines] == [
        (r.lines[0].id, qb.id, D("90.00")),
        (r.lines[1].id, qa.id, D("400.00")),
    ]
    assert fresh_rfq(r).status == RfqStatus.awarded
    assert titles(world.sales_a) == [f"You won 1 line of {r.reference}"]
    assert titles(world.sales_b) == [f"You won 1 line of {r.reference}"]


def test_award_split_accepts_ids_as_form_strings(world, setup):
    r, qa, qb = setup
    award = award_service.award_split(r, world.procurement, {str(r.lines[2].id): str(qa.id)})
    assert [al.rfq_line_id for al in award.lines] == [r.lines[2].id]


# ------------------------------------------------------------------------------------------ refusals


def test_an_open_rfq_must_be_closed_first(world):
    r = factories.rfq(world.buyer, world.procurement, sealed=False, status="open")
    q = factories.quote(r, world.supplier_a, world.sales_a)
    with pytest.raises(InvalidTransition, match="close it first"):
        award_service.award_whole(r, world.procurement, q.id)
    assert count(Award) == 0 and fresh_rfq(r).status == RfqStatus.open


@pytest.mark.parametrize(
    "status, message",
    [
        ("draft", "An RFQ that is draft cannot be awarded."),
        ("cancelled", "An RFQ that is cancelled cannot be awarded."),
    ],
)
def test_drafts_and_cancelled_rfqs_cannot_be_awarded(world, setup, status, message):
    r, qa, _ = setup
    r.status = RfqStatus(status)
    db.session.commit()
    with pytest.raises(InvalidTransition, match=message):
        award_service.award_whole(r, world.procurement, qa.id)
    assert count(Award) == 0


def test_sealed_bids_must_have_been_opened(world, setup):
    r, qa, _ = setup
    r.opened_at = None
    db.session.commit()
    with pytest.raises(InvalidTransition, match="sealed bids have not been opened"):
        award_service.award_whole(r, world.procurement, qa.id)
    assert count(Award) == 0


def test_an_rfq_cannot_be_awarded_twice(world, setup):
    r, qa, qb = setup
    award_service.award_whole(r, world.procurement, qa.id)
    with pytest.raises(Conflict, match="This RFQ has already been awarded."):
        award_service.award_split(r, world.procurement2, {r.lines[0].id: qb.id})
    assert count(Award) == 1 and count(AwardLine) == 3


def test_the_unique_constraint_is_the_backstop(world, setup):
    """Even if the status check were passed (a race the lock normally prevents), the second award fails."""
    r, qa, _ = setup
    db.session.add(
        Award(rfq_id=r.id, buyer_company_id=world.buyer.id, mode="whole", awarded_by_id=world.procurement.id)
    )
    db.session.commit()  # the RFQ is still "closed"
    with pytest.raises(Conflict, match="This RFQ has already been awarded."):
        award_service.award_whole(r, world.procurement, qa.id)
    assert count(Award) == 1 and count(AwardLine) == 0 and fresh_rfq(r).status == RfqStatus.closed


def test_a_stale_page_is_refused(world, setup):
    r, qa, _ = setup
    seen = r.version
    r.title = "Amended title"  # someone changed the RFQ after the page was opened
    db.session.commit()
    assert r.version == seen + 1
    with pytest.raises(Conflict, match="changed after you opened this page"):
        award_service.award_whole(r, world.procurement, qa.id, expected_version=seen)
    assert_nothing_saved(r)
    award_service.award_whole(r, world.procurement, qa.id, expected_version=str(seen + 1))


def test_a_quote_of_another_rfq_is_refused(world, setup):
    r, qa, _ = setup
    other = factories.closed_rfq(world.buyer, world.procurement)
    foreign = factories.quote(other, world.supplier_b, world.sales_b)
    with pytest.raises(ValidationFailed, match=f"Quote {foreign.id} is not a quote for {r.reference}"):
        award_service.award_whole(r, world.procurement, foreign.id)
    with pytest.raises(ValidationFailed, match="is not a quote for"):
        award_service.award_split(r, world.procurement, {r.lines[0].id: foreign.id})
    assert_nothing_saved(r)


def test_a_declined_line_cannot_be_awarded_to_that_supplier(world, setup):
    r, qa, qb = setup
    with pytest.raises(ValidationFailed, match=r"line 3: Supplier Beta SAS declined it \(Not in our range\)"):
        award_service.award_split(r, world.procurement, {r.lines[0].id: qa.id, r.lines[2].id: qb.id})
    assert_nothing_saved(r)


def test_an_incomplete_quote_cannot_be_awarded_whole(world, setup):
    r, _, qb = setup
    with pytest.raises(
        ValidationFailed, match="does not cover every line .*line 3: Supplier Beta SAS declined it"
    ):
        award_service.award_whole(r, world.procurement, qb.id)
    assert_nothing_saved(r)


def test_a_withdrawn_quote_cannot_be_awarded(world, setup):
    r, qa, qb = setup
    factories.withdraw_quote(qa)
    with pytest.raises(ValidationFailed, match="Supplier Alpha GmbH withdrew its quote"):
        award_service.award_whole(r, world.procurement, qa.id)
    with pytest.raises(ValidationFailed, match="withdrew its quote"):
        award_service.award_split(r, world.procurement, {r.lines[0].id: qb.id, r.lines[1].id: qa.id})
    assert_nothing_saved(r)


def test_a_draft_quote_cannot_be_awarded(world, setup):
    r, _, _ = setup
    c = factories.company("supplier", name="Drafty GmbH")
    q = factories.quote(r, c, factories.user(c, "sales"), submitted=False)
    with pytest.raises(ValidationFailed, match="has not submitted its quote"):
        award_service.award_whole(r, world.procurement, q.id)
    assert_nothing_saved(r)


def test_an_expired_quote_cannot_be_awarded(world, setup):
    r, qa, _ = setup
    qa.current_version.valid_until = utcnow().date() - timedelta(days=1)
    db.session.commit()
    with pytest.raises(ValidationFailed, match="The quote of Supplier Alpha GmbH expired on .*renew it"):
        award_service.award_whole(r, world.procurement, qa.id)
    assert_nothing_saved(r)


def test_an_unknown_line_id_is_refused(world, setup):
    r, qa, _ = setup
    other = factories.closed_rfq(world.buyer, world.procurement)
    for bad in (999999, other.lines[0].id):
        with pytest.raises(ValidationFailed, match=f"Line id {bad} is not a line of {r.reference}"):
            award_service.award_split(r, world.procurement, {r.lines[0].id: qa.id, bad: qa.id})
    assert_nothing_saved(r)


@pytest.mark.parametrize(
    "choices, message",
    [
        ({}, "Choose a supplier for at least one line"),
        ({"abc": "1"}, "Line 'abc' is not a valid id"),
        ({"1": "x"}, "Quote 'x' is not a valid id"),
    ],
)
def test_malformed_split_input_is_refused(world, setup, choices, message):
    r, _, _ = setup
    with pytest.raises(ValidationFailed, match=message):
        award_service.award_split(r, world.procurement, choices)
    assert_nothing_saved(r)


def test_only_procurement_of_the_buyer_may_award(world, setup):
    r, qa, _ = setup
    with pytest.raises(Forbidden, match="Only procurement"):
        award_service.award_whole(r, world.approver, qa.id)
    with pytest.raises(NotFound):
        award_service.award_whole(r, world.sales_a, qa.id)
    other_buyer = factories.company("buyer", name="Other Buyer AG")
    with pytest.raises(NotFound):
        award_service.award_whole(r, factories.user(other_buyer, "procurement"), qa.id)
    assert_nothing_saved(r)


def test_a_too_long_note_is_refused(world, setup):
    r, qa, _ = setup
    with pytest.raises(ValidationFailed, match="note is too long"):
        award_service.award_whole(r, world.procurement, qa.id, note="x" * 2001)
    assert_nothing_saved(r)
