"""Demo orders (after the sourcing, catalog and credit demos): Hartmann buys from Nordstahl.

- approval rules for Hartmann: above 10,000 EUR one approval, above 100,000 EUR two;
- one placed order (through the real credit check) waiting for Nordstahl's acknowledgement;
- one acknowledged order with one partial shipment (delivery note produced by the documents job);
- one draft above the approval limit, ready for Jonas to submit (Petra approves).
Awarded RFQs of the sourcing demo are left alone: creating their orders is part of the demo flow.
"""
from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

import sqlalchemy as sa

from portal.db import db, utcnow
from portal.orders import services, shipping
from portal.orders.models import ApprovalRule, PurchaseOrder
from portal.orders.states import OrderStatus

MARK = "Demo order"

FALLBACK = [  # sku, description, unit, price
    ("NS-M8-25", "Hex bolt M8x25, 8.8, zinc plated", "pcs", "0.12"),
    ("NS-M10-40", "Hex bolt M10x40, 8.8, zinc plated", "pcs", "0.21"),
    ("NS-NUT-M8", "Hex nut M8, class 8, zinc plated", "pcs", "0.04"),
    ("NS-WASH-8", "Washer DIN 125 8.4 mm", "pcs", "0.02"),
    ("NS-ROD-M12", "Threaded rod M12 x 1 m, 4.8", "pcs", "2.90"),
    ("NS-ANCH-10", "Anchor bolt 10x90 mm", "pcs", "0.85"),
]


def _catalog_specs(supplier_id: int, buyer_id: int) -> list[dict]:
    try:
        from portal.catalog.models import CatalogItem
    except ImportError:
        return []
    items = db.session.scalars(sa.select(CatalogItem).where(CatalogItem.supplier_company_id == supplier_id,
                                                           CatalogItem.active.is_(True))
                               .order_by(CatalogItem.sku)).all()
    specs = []
    for it in items:
        specs.append({"catalog_item_id": it.id, "sku": it.sku, "description": it.name, "unit": it.unit,
                      "unit_price": it.unit_price, "moq": it.moq, "pack_size": it.pack_size})
    return specs


def _lines(specs: list[dict], picks: list[tuple[int, int]], buyer_id: int) -> list[dict]:
    """picks: (index into specs, wanted quantity) -> valid quantities (MOQ, pack size) and buyer prices."""
    out = []
    for idx, wanted in picks:
        s = dict(specs[idx % len(specs)])
        q = Decimal(wanted)
        if s.get("moq"):
            q = max(q, Decimal(s["moq"]))
        if s.get("pack_size"):
            pack = Decimal(s["pack_size"])
            q = (q / pack).to_integral_value(rounding=ROUND_CEILING) * pack
        s["quantity"] = q
        if s.get("catalog_item_id"):
            try:
                from portal.catalog.models import CatalogItem
                from portal.catalog.services import price_for

                s["unit_price"] = price_for(db.session.get(CatalogItem, s["catalog_item_id"]), buyer_id, q)
            except Exception:  # noqa: BLE001 - list price is fine for a demo
                pass
        out.append(s)
    return out


def seed(companies, users) -> None:
    hartmann, nordstahl = companies.get("hartmann"), companies.get("nordstahl")
    if hartmann is None or nordstahl is None:
        return
    if db.session.scalar(sa.select(PurchaseOrder.id).where(PurchaseOrder.buyer_company_id == hartmann.id,
                                                           PurchaseOrder.notes.like(f"{MARK}%"))):
        return
    jonas = users["jonas.weber@hartmann.example"]
    mia = users["mia.schulz@nordstahl.example"]
    for threshold, count in (("10000", 1), ("100000", 2)):
        if not db.session.scalar(sa.select(ApprovalRule.id).where(ApprovalRule.buyer_company_id == hartmann.id,
                                                                  ApprovalRule.threshold == Decimal(threshold))):
            db.session.add(ApprovalRule(buyer_company_id=hartmann.id, threshold=Decimal(threshold), currency="EUR",
                                        approvals_required=count))
    db.session.commit()

    specs = _catalog_specs(nordstahl.id, hartmann.id) or [
        {"sku": s, "description": d, "unit": u, "unit_price": Decimal(p)} for s, d, u, p in FALLBACK]

    # 1. Placed, waiting for Nordstahl's acknowledgement.
    placed = services.create_draft_order(jonas, nordstahl.id, _lines(specs, [(0, 2000), (1, 1500), (2, 5000)], hartmann.id),
                                         notes=f"{MARK}: fasteners for line 4 maintenance")
    _place(placed, jonas)

    # 2. Acknowledged, partly shipped.
    shipped = services.create_draft_order(jonas, nordstahl.id, _lines(specs, [(3, 4000), (4, 300), (5, 1200)], hartmann.id),
                                          notes=f"{MARK}: anchors and threaded rod, hall B")
    shipped = _place(shipped, jonas)
    if shipped.status == OrderStatus.placed:
        shipped = services.acknowledge(shipped, mia, shipped.lock_version, {})
        first = shipped.lines[0]
        half = (first.quantity / 2).to_integral_value()
        shipping.record_shipment(shipped, mia, shipped.lock_version,
                                 {first.id: str(half), shipped.lines[1].id: str(shipped.lines[1].quantity)},
                                 carrier="DB Schenker", tracking="DBS-4471-2290")

    # 3. A draft above the approval limit (10,000 EUR): Jonas submits, Petra approves.
    picks, big = [(6, 6000), (7, 4000), (8, 8000), (9, 2500)], None
    for factor in (1, 2, 4, 8, 16, 32):
        lines = _lines(specs, [(i, q * factor) for i, q in picks], hartmann.id)
        if sum(ln["quantity"] * ln["unit_price"] for ln in lines) > Decimal("12000"):
            big = lines
            break
    services.create_draft_order(jonas, nordstahl.id, big or lines, notes=f"{MARK}: yearly stock of fixings")

    from portal.jobs.queue import wait_for_inline_jobs

    wait_for_inline_jobs()


def _place(order: PurchaseOrder, actor) -> PurchaseOrder:
    """Submit (below 10,000 EUR: no approval) and run the supplier's credit check right here, not in a job."""
    order = services.lock_order(order)
    order.submitted_by_id, order.submitted_at = actor.id, utcnow()
    services.move(order, OrderStatus.submitted, actor, "submitted")
    services.commit()
    try:
        from portal.credit.services import check_order
    except ImportError:
        order = services.lock_order(order)
        services.on_placed(order)
        services.commit()
    else:
        check_order(order.id)
    return db.session.get(PurchaseOrder, order.id)
