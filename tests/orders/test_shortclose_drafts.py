"""Short-close of open quantities (credit and invoicing follow), editable drafts, revision PDFs."""
from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.credit.models import CreditReservation
from portal.db import db
from portal.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from portal.orders import changes, drafts, revisions, shortclose
from portal.orders.models import OrderRevision, PurchaseOrder
from portal.orders.states import OrderStatus as S
from tests import factories
from tests.accounts.helpers import fresh
from tests.invoices.conftest import IBAN, issued_for, ship


def _v(o):
    return fresh(o).lock_version


def _reservation(o):
    db.session.expire_all()
    return db.session.scalar(sa.select(CreditReservation).where(CreditReservation.order_id == o.id))


def _reserve(o):
    db.session.add(CreditReservation(order_id=o.id, supplier_company_id=o.supplier_company_id,
                                     buyer_company_id=o.buyer_company_id, amount=o.total_net, currency=o.currency))
    db.session.commit()


# --------------------------------------------------------------------------------------------- short-close

@pytest.fixture
def iw(world):
    """The world with the supplier's IBAN and both VAT numbers, so invoices can be issued."""
    world.supplier_a.iban = IBAN
    world.supplier_a.vat_number = "DE136695976"
    world.buyer.vat_number = "DE129273398"
    db.session.commit()
    return world


@pytest.fixture
def part_shipped(iw):
    """100 x 2.50 + 40 x 12.00 = 730.00, reserved; 70 of line 1 and all of line 2 shipped."""
    o = factories.order(iw.buyer, iw.supplier_a, iw.procurement, status="acknowledged")
    _reserve(o)
    sh = ship(o, {1: "70", 2: "40"}, creator=iw.sales_a)
    return o, sh


def test_short_close_shrinks_the_reservation_and_completes_the_order(iw, part_shipped):
    o, _ = part_shipped
    assert fresh(o).status == S.partially_shipped
    shortclose.short_close(fresh(o), iw.procurement, _v(o), "Supplier cannot deliver the rest")
    o = fresh(o)
    assert o.lines[0].short_closed_quantity == Decimal("30") and o.lines[0].short_close_reason
    assert o.total_net == Decimal("655.00") and o.status == S.shipped and o.revision == 2
    assert _reservation(o).amount == Decimal("655.00")
    revs = list(db.session.scalars(sa.select(OrderRevision).where(OrderRevision.order_id == o.id)))
    assert [r.number for r in revs] == [1, 2] and "30 pcs closed" in revs[1].summary


def test_after_short_close_the_invoice_bills_what_shipped_and_converts_the_reservation(iw, part_shipped):
    o, sh = part_shipped
    shortclose.short_close(fresh(o), iw.procurement, _v(o), "Rest not needed")
    inv = issued_for(iw, shipment=sh)
    assert inv.total_net == Decimal("655.00")
    res = _reservation(o)
    assert res.status.value == "converted"


def test_short_close_after_everything_shipped_was_invoiced_converts_at_once(iw, part_shipped):
    o, sh = part_shipped
    issued_for(iw, shipment=sh)  # 655 invoiced while 30 are still open: the reservation keeps 75
    assert _reservation(o).amount == Decimal("75.00")
    shortclose.short_close(fresh(o), iw.procurement, _v(o), "Rest not needed")
    res = _reservation(o)
    assert res.status.value == "converted"


def test_short_close_of_single_lines(iw):
    o = factories.order(iw.buyer, iw.supplier_a, iw.procurement, status="acknowledged")
    _reserve(o)
    ship(o, {1: "50"}, creator=iw.sales_a)
    l1, l2 = [ln.id for ln in fresh(o).lines]
    shortclose.short_close(fresh(o), iw.procurement, _v(o), "Discontinued", [l2])
    o = fresh(o)
    assert o.lines[1].short_closed_quantity == Decimal("40") and o.lines[0].short_closed_quantity == 0
    assert o.status == S.partially_shipped and o.total_net == Decimal("250.00")
    # the supplier can still ship line 1, not line 2
    from portal.orders import shipping

    with pytest.raises(ValidationFailed, match="remain to ship"):
        shipping.record_shipment(fresh(o), iw.sales_a, _v(o), {l2: "1"})
    shipping.record_shipment(fresh(o), iw.sales_a, _v(o), {l1: "50"})
    assert fresh(o).status == S.shipped


@pytest.mark.parametrize("reason,lines,message", [
    ("", None, "Give a reason"),
    ("x" * 501, None, "too long"),
])
def test_short_close_bad_input(iw, part_shipped, reason, lines, message):
    o, _ = part_shipped
    with pytest.raises(ValidationFailed, match=message):
        shortclose.short_close(fresh(o), iw.procurement, _v(o), reason, lines)
    assert fresh(o).lines[0].short_closed_quantity == 0 and _reservation(o).amount == Decimal("730.00")


def test_short_close_of_a_fully_shipped_line_is_refused(iw, part_shipped):
    o, _ = part_shipped
    l2 = fresh(o).lines[1].id
    with pytest.raises(ValidationFailed, match="nothing is open"):
        shortclose.short_close(fresh(o), iw.procurement, _v(o), "x", [l2])


def test_short_close_with_nothing_shipped_says_cancel(iw):
    o = factories.order(iw.buyer, iw.supplier_a, iw.procurement, status="acknowledged")
    with pytest.raises(InvalidTransition, match="cancel the order instead"):
        shortclose.short_close(fresh(o), iw.procurement, _v(o), "x")


@pytest.mark.parametrize("status", ["placed", "cancelled", "closed", "draft"])
def test_short_close_in_other_states_is_refused(iw, status):
    o = factories.order(iw.buyer, iw.supplier_a, iw.procurement, status=status, sent=status != "draft")
    with pytest.raises(InvalidTransition):
        shortclose.short_close(fresh(o), iw.procurement, _v(o), "x")


def test_short_close_waits_for_an_open_change(iw, part_shipped):
    o, _ = part_shipped
    l1 = fresh(o).lines[0].id
    changes.propose(fresh(o), iw.procurement, _v(o), {l1: {"quantity": "90"}})
    with pytest.raises(Conflict, match="still open"):
        shortclose.short_close(fresh(o), iw.procurement, _v(o), "x")


def test_only_the_buyer_short_closes(iw, part_shipped):
    from portal.errors import Forbidden

    o, _ = part_shipped
    with pytest.raises(Forbidden):
        shortclose.short_close(fresh(o), iw.sales_a, _v(o), "x")
    with pytest.raises(NotFound):
        shortclose.short_close(fresh(o), iw.sales_b, _v(o), "x")


# --------------------------------------------------------------------------------------------- drafts

@pytest.fixture
def catalog(world):
    a = factories.catalog_item(world.supplier_a, sku="NUT-1", price="1.00",
                               breaks=[{"min_quantity": "500", "unit_price": "0.80"}])
    b = factories.catalog_item(world.supplier_a, sku="WASHER-2", price="0.50", pack_size="10")
    return a, b


def _catalog_draft(world, catalog):
    from portal.catalog.services import order_from_rows

    order, _ = order_from_rows(world.procurement, world.supplier_a.id, [("NUT-1", "100", 1)])
    return order


def test_a_draft_is_edited_line_added_quantity_changed_dates_set(world, catalog):
    o = _catalog_draft(world, catalog)
    assert o.total_net == Decimal("100.00")
    line = fresh(o).lines[0]
    _, notes = drafts.update_draft(fresh(o), world.procurement, _v(o), {
        "delivery_date": "2031-03-01", "notes": "Deliver to gate 4", "internal_notes": "Budget Q1",
        "delivery_address": "Acme, Hall 2\nBerlin",
        "lines": {line.id: {"quantity": "600", "delivery_date": "2031-03-15", "cost_reference": "CC-4711"}},
        "new_lines": [{"sku": "WASHER-2", "quantity": "20", "cost_reference": "CC-4712"}]})
    o = fresh(o)
    assert [ln.sku for ln in o.lines] == ["NUT-1", "WASHER-2"]
    assert o.lines[0].quantity == Decimal("600") and o.lines[0].unit_price == Decimal("0.8")  # the 500+ break
    assert o.lines[0].delivery_date == date(2031, 3, 15) and o.lines[0].cost_reference == "CC-4711"
    assert o.total_net == Decimal("490.00")  # 480 + 10
    assert o.delivery_date == date(2031, 3, 1) and o.internal_notes == "Budget Q1" and o.notes == "Deliver to gate 4"
    assert any("NUT-1" in n and "0.80" in n for n in notes)


def test_a_repeated_sku_is_one_line_priced_on_the_total(world, catalog):
    o = _catalog_draft(world, catalog)
    drafts.update_draft(fresh(o), world.procurement, _v(o), {"new_lines": [{"sku": "NUT-1", "quantity": "450"}]})
    o = fresh(o)
    assert len(o.lines) == 1 and o.lines[0].quantity == Decimal("550") and o.total_net == Decimal("440.00")


def test_removing_a_line_renumbers(world, catalog):
    o = _catalog_draft(world, catalog)
    drafts.update_draft(fresh(o), world.procurement, _v(o), {"new_lines": [{"sku": "WASHER-2", "quantity": "10"}]})
    first = fresh(o).lines[0].id
    drafts.update_draft(fresh(o), world.procurement, _v(o), {"lines": {first: {"remove": "1"}}})
    o = fresh(o)
    assert [(ln.position, ln.sku) for ln in o.lines] == [(1, "WASHER-2")] and o.total_net == Decimal("5.00")


@pytest.mark.parametrize("edit,message", [
    ({"lines": "remove-all"}, "at least one line"),
    ({"quantity": "0"}, "more than 0"),
    ({"quantity": "abc"}, "not a number"),
    ({"quantity": "7"}, None),  # WASHER pack of 10 on the new line below
    ({"unit_price": "0.10"}, "cannot be typed"),
    ({"delivery_date": "tomorrow"}, "not a date"),
])
def test_bad_draft_edits_are_refused_nothing_saved(world, catalog, edit, message):
    o = _catalog_draft(world, catalog)
    line = fresh(o).lines[0]
    if edit.get("lines") == "remove-all":
        data = {"lines": {line.id: {"remove": "on"}}}
    elif message is None:
        data = {"new_lines": [{"sku": "WASHER-2", "quantity": "7"}]}
        message = "pack"
    else:
        data = {"lines": {line.id: edit}}
    with pytest.raises(ValidationFailed, match=message):
        drafts.update_draft(fresh(o), world.procurement, _v(o), {"notes": "changed", **data})
    o = fresh(o)
    assert len(o.lines) == 1 and o.lines[0].quantity == Decimal("100") and o.notes == ""


def test_an_awarded_line_keeps_its_quoted_price(world):
    o = factories.order(world.buyer, world.supplier_a, world.procurement, source="award")
    r = factories.closed_rfq(world.buyer, world.procurement, lines=1)
    q = factories.quote(r, world.supplier_a, world.sales_a)
    a = factories.award(r, world.procurement, [(0, q, "100", "2.50")])
    line = fresh(o).lines[0]
    line.award_line_id = a.lines[0].id
    db.session.commit()
    with pytest.raises(ValidationFailed, match="awarded at the quoted price"):
        drafts.update_draft(fresh(o), world.procurement, _v(o), {"lines": {line.id: {"unit_price": "2.00"}}})
    drafts.update_draft(fresh(o), world.procurement, _v(o), {"lines": {line.id: {"quantity": "80"}}})
    o = fresh(o)
    assert o.lines[0].quantity == Decimal("80") and o.lines[0].unit_price == Decimal("2.5")


def test_only_drafts_are_edited(world, order_in):
    o = order_in("acknowledged")
    with pytest.raises(InvalidTransition, match="change order"):
        drafts.update_draft(fresh(o), world.procurement, _v(o), {"notes": "x"})


def test_a_stale_draft_form_is_a_conflict(world, catalog):
    o = _catalog_draft(world, catalog)
    old = _v(o)
    drafts.update_draft(fresh(o), world.procurement, old, {"notes": "first"})
    with pytest.raises(Conflict):
        drafts.update_draft(fresh(o), world.procurement, old, {"notes": "second"})
    assert fresh(o).notes == "first"


def test_another_company_cannot_edit_the_draft(world, catalog):
    o = _catalog_draft(world, catalog)
    other = factories.company("buyer", name="Other Buyer")
    intruder = factories.user(other, "procurement", email="x@other.test")
    with pytest.raises(NotFound):
        drafts.update_draft(fresh(o), intruder, _v(o), {"notes": "x"})


# --------------------------------------------------------------------------------------------- revision PDFs

def test_every_revision_gets_its_pdf_from_its_snapshot(world, order_in, run_jobs):
    from portal.documents.models import StoredFile
    from portal.documents.store import read_bytes
    from portal.orders import services

    o = order_in("placed")
    # as the placing does: revision 1 and the PO PDF job
    revisions.first_revision(fresh(o))
    db.session.commit()
    l1, l2 = [ln.id for ln in fresh(o).lines]
    services.acknowledge(fresh(o), world.sales_a, _v(o), {l1: {"action": "change", "quantity": "80", "note": "x"}})
    services.accept_changes(fresh(o), world.procurement, _v(o))
    change = changes.propose(fresh(o), world.procurement, _v(o), {l2: {"quantity": "30"}})
    change = db.session.get(type(change), change.id)
    changes.decide(fresh(o), change.id, world.sales_a, change.lock_version,
                   {change.lines[0].id: {"decision": "accept"}})
    run_jobs()  # the revision PDFs enqueued after each commit
    from portal.orders.jobs import po_pdf_job

    po_pdf_job(o.id)  # the order's PDF job (as on placing): the current revision's, rendered once
    db.session.expire_all()
    revs = list(db.session.scalars(sa.select(OrderRevision).where(OrderRevision.order_id == o.id)
                                   .order_by(OrderRevision.number)))
    assert [r.number for r in revs] == [1, 2, 3]
    assert all(r.pdf_file_id for r in revs) and len({r.pdf_file_id for r in revs}) == 3
    for r in revs:
        data = read_bytes(db.session.get(StoredFile, r.pdf_file_id))
        assert data.startswith(b"%PDF") and hashlib.sha256(data).hexdigest() == r.pdf_sha256
    assert revs[2].snapshot["revision"] == 3 and revs[2].snapshot["lines"][1]["quantity"] == "30.0000"
    assert revs[0].snapshot["lines"][0]["quantity"] == "100.0000"
    o = db.session.get(PurchaseOrder, o.id)
    assert o.revision == 3 and o.po_pdf_file_id == revs[2].pdf_file_id
