"""The invoiced quantity kept on shipment lines (and the shipments' "to invoice" flag) always equals the rule
recomputed from scratch (portal.invoices.quantities.invoiceable_lines): after shipments, goods receipts with
rejections, invoices per shipment and per order, credit notes of every kind (by quantity and by amount), and
e-invoice-free paths alike. The supplier's "shipments to invoice" read only the kept figures."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from portal.db import db
from portal.invoices import quantities, services
from portal.orders.models import Shipment, ShipmentLine
from tests import factories
from tests.invoices.conftest import issued_for, ship
from tests.invoices.test_invoiceable import credit, fresh, receive_rejecting

D = Decimal


def from_scratch() -> dict[int, tuple[Decimal, bool]]:
    """Per shipment line id: (invoiced, open > 0) by the rule, over every supplier."""
    q = quantities.invoiceable_lines(None)
    return {slid: (quantities._dec(inv), quantities._dec(open_) > 0)
            for slid, inv, open_ in db.session.execute(sa.select(q.c.shipment_line_id, q.c.invoiced, q.c.open))}


def kept() -> dict[int, tuple[Decimal, bool]]:
    db.session.expire_all()
    out = {}
    for sl in db.session.scalars(sa.select(ShipmentLine)):
        out[sl.id] = (quantities._dec(sl.invoiced_quantity), quantities._dec(quantities_open(sl)) > 0)
    return out


def quantities_open(sl) -> Decimal:
    return D(sl.quantity) - D(sl.rejected_quantity or 0) - D(sl.invoiced_quantity)


def kept_shipments() -> dict[int, bool]:
    return {s.id: bool(s.to_invoice) for s in db.session.scalars(sa.select(Shipment))}


def assert_kept_is_fresh(note: str = "") -> None:
    fresh_rows, kept_rows = from_scratch(), kept()
    assert kept_rows == fresh_rows, note
    per_shipment: dict[int, bool] = {}
    for sl in db.session.scalars(sa.select(ShipmentLine)):
        per_shipment[sl.shipment_id] = per_shipment.get(sl.shipment_id, False) or fresh_rows[sl.id][1]
    assert kept_shipments() == per_shipment, note


def test_kept_equals_from_scratch_through_every_kind_of_document(iw):
    o = factories.order(iw.buyer, iw.supplier_a, iw.procurement, status="acknowledged",
                        lines=[("100", "2.50"), ("60", "12.00")])
    sh1 = ship(o, {1: "40", 2: "20"}, creator=iw.sales_a)
    assert_kept_is_fresh("after the first shipment")
    assert kept_shipments() == {sh1.id: True}
    sh2 = ship(fresh(o), {1: "60", 2: "40"}, creator=iw.sales_a)
    assert_kept_is_fresh("after the second shipment")
    receive_rejecting(iw, o, fresh(sh1), "5")
    assert_kept_is_fresh("after a receipt rejecting 5")
    # an invoice per shipment, then one per order covering the rest oldest first
    inv1 = issued_for(iw, shipment=fresh(sh1))
    assert_kept_is_fresh("after the shipment invoice")
    assert kept_shipments()[sh1.id] is False
    inv2 = issued_for(iw, order=fresh(o), edits={fresh(o).lines[0].id: {"quantity": "30"}})
    assert_kept_is_fresh("after a partial per-order invoice")
    assert quantities._dec(fresh(sh2).lines[0].invoiced_quantity) == D(30)  # the per-order share, oldest first
    # credit notes of every kind
    for kind, invoice, qty in (("returned", inv1, "5"), ("rejected_at_receipt", inv1, "3"),
                               ("invoicing_error", inv2, "10"), ("other", inv2, "2"),
                               ("invoicing_error", inv1, "4")):
        credit(iw, invoice, qty, kind)
        assert_kept_is_fresh(f"after a {kind} credit note of {qty}")
    inv1 = fresh(inv1)
    services.create_credit_note(inv1, iw.accounts_a, inv1.lock_version, amount="10.00", reason="goodwill",
                                reason_kind="other")
    assert_kept_is_fresh("after a credit note by amount")
    # the list reads the kept flag: the second shipment still has quantities to invoice
    assert {s.id for s in services.uninvoiced_shipments(iw.supplier_a.id)} == {
        sid for sid, to_invoice in kept_shipments().items() if to_invoice}
    assert sh2.id in {s.id for s in services.uninvoiced_shipments(iw.supplier_a.id)}
    # invoice everything that is open: nothing left to list
    issued_for(iw, order=fresh(o))
    assert_kept_is_fresh("after invoicing the rest per order")
    assert services.uninvoiced_shipments_count(iw.supplier_a.id) == 0


def test_a_rejection_after_a_per_order_invoice_moves_its_cover_to_the_next_shipment(iw):
    o = factories.order(iw.buyer, iw.supplier_a, iw.procurement, status="acknowledged", lines=[("100", "1.00")])
    sh1 = ship(o, {1: "50"}, creator=iw.sales_a)
    sh2 = ship(fresh(o), {1: "50"}, creator=iw.sales_a)
    issued_for(iw, order=fresh(o), edits={fresh(o).lines[0].id: {"quantity": "50"}})
    assert_kept_is_fresh()
    assert kept_shipments() == {sh1.id: False, sh2.id: True}
    receive_rejecting(iw, o, fresh(sh1), "20")  # 20 of the first shipment go back: the cover moves on
    assert_kept_is_fresh("after the rejection")
    assert quantities._dec(fresh(sh2).lines[0].invoiced_quantity) == D(20)


def test_rebuild_repairs_figures_changed_behind_the_services_back(iw):
    o = factories.order(iw.buyer, iw.supplier_a, iw.procurement, status="acknowledged", lines=[("10", "1.00")])
    sh = ship(o, {1: "10"}, creator=iw.sales_a)
    issued_for(iw, shipment=fresh(sh))
    db.session.execute(sa.text("UPDATE shipment_lines SET invoiced_quantity = 0"))
    db.session.execute(sa.update(Shipment).values(to_invoice=True))
    db.session.commit()
    assert kept() != from_scratch()
    assert quantities.rebuild(iw.supplier_a.id) == 1
    db.session.commit()
    assert_kept_is_fresh("after rebuild")
    assert quantities.rebuild() == 0


def test_shipments_to_invoice_are_read_through_the_index(iw):
    """The list and its count filter on the kept flag only: no aggregate over invoice lines."""
    stmt = sa.select(sa.func.count(Shipment.id)).where(*quantities._uninvoiced_shipments_where(iw.supplier_a.id))
    sql = str(stmt.compile(db.engine))
    assert "invoice_lines" not in sql and "to_invoice" in sql


def test_the_migration_backfill_computes_the_rule(iw):
    """perf2_0001 fills the new columns of existing databases with the rule frozen in SQL: same figures."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[2] / "migrations/versions/perf2_0001_kept_invoiced_quantities.py"
    spec = importlib.util.spec_from_file_location("perf2_0001", path)
    mig = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mig)
    o = factories.order(iw.buyer, iw.supplier_a, iw.procurement, status="acknowledged",
                        lines=[("100", "2.50"), ("60", "12.00")])
    sh1 = ship(o, {1: "40", 2: "20"}, creator=iw.sales_a)
    ship(fresh(o), {1: "60", 2: "40"}, creator=iw.sales_a)
    receive_rejecting(iw, o, fresh(sh1), "5")
    inv1 = issued_for(iw, shipment=fresh(sh1))
    inv2 = issued_for(iw, order=fresh(o), edits={fresh(o).lines[0].id: {"quantity": "30"}})
    credit(iw, inv2, "10", "invoicing_error")
    credit(iw, inv1, "3", "returned")
    want = kept()
    assert want == from_scratch()
    db.session.execute(sa.text("UPDATE shipment_lines SET invoiced_quantity = 0"))
    db.session.execute(sa.update(Shipment).values(to_invoice=False))
    db.session.execute(sa.text(mig.BACKFILL))
    db.session.execute(sa.text(mig.FLAG))
    db.session.commit()
    assert kept() == want
    assert_kept_is_fresh("after the migration's backfill")
