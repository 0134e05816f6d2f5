"""What may be invoiced: the one rule, and everything that asks it (the "shipments to invoice" list, the prefill of
a new invoice, the check at draft and issue time, the API).

The buyer may be charged for what was shipped, minus what they rejected at receipt, minus what is already
invoiced. A credit note for returned or rejected goods (or any other credit) closes its goods for good: they
were invoiced once and are never invoiced again. Only a credit note that corrects an invoicing mistake
(CreditReason.invoicing_error) gives its quantity back to be invoiced again.

Per shipment line:
    own_open  = max(0, shipped − rejected at receipt − net invoiced against this shipment line)
Invoices made per order (lines without a shipment line) cover the order line's shipments oldest first, so
    open      = the part of own_open not covered by the order line's per-order invoices
    invoiced  = net invoiced against the line + the per-order invoices' share of it
Per order line, the figures are the sums over its shipment lines. ``invoiceable_lines`` is that rule in SQL
(one statement, a window function for the oldest-first cover); everything else reads it.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from babel.numbers import format_decimal

from portal.db import db
from portal.errors import ValidationFailed
from portal.invoices.models import REOPENING_REASONS, DocumentKind, Invoice, InvoiceLine
from portal.invoices.states import InvoiceStatus
from portal.money import ZERO, quantize
from portal.orders.models import OrderLine, PurchaseOrder, Shipment, ShipmentLine

SHIPPING = "shipping"  # InvoiceLine.charge of the order's shipping line
FOUR = Decimal("0.0001")


def qty_text(q: Decimal) -> str:
    d = Decimal(q).normalize()
    if d == d.to_integral():
        d = d.quantize(Decimal(1))
    return format_decimal(d, locale="en_GB", decimal_quantization=False)


def _dec(v) -> Decimal:
    """A quantity from SQL (SQLite hands back floats for arithmetic on NUMERIC): exact to the column's scale."""
    return Decimal(str(v or 0)).quantize(FOUR)


def charged_sign():
    """How an issued document's line counts against what may be invoiced: +1 for an invoice, −1 for a credit
    note that corrects an invoicing mistake, 0 for any other credit note (returned, rejected, other)."""
    return sa.case((Invoice.kind == DocumentKind.invoice, 1),
                   (Invoice.credit_reason.in_([r.value for r in REOPENING_REASONS]), -1), else_=0)


def _pos(expr):
    return sa.case((expr > 0, expr), else_=0)


def invoiceable_lines(supplier_id: int | None, *, order_id: int | None = None,
                      exclude_invoice_id: int | None = None):
    """THE rule, as a subquery with one row per shipment line of the supplier (of one order, if given; of every
    supplier if ``supplier_id`` is None): shipment_id, shipment_line_id, order_line_id, shipped, rejected,
    invoiced, open. Drafts never count."""
    sign = charged_sign()
    issued = [Invoice.status != InvoiceStatus.draft]
    if supplier_id is not None:
        issued.append(Invoice.supplier_company_id == supplier_id)
    if order_id is not None:
        issued.append(Invoice.order_id == order_id)
    if exclude_invoice_id is not None:
        issued.append(Invoice.id != exclude_invoice_id)
    by_sl = (sa.select(InvoiceLine.shipment_line_id.label("slid"), sa.func.sum(InvoiceLine.quantity * sign).label("q"))
             .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
             .where(*issued, InvoiceLine.shipment_line_id.is_not(None))
             .group_by(InvoiceLine.shipment_line_id).subquery("by_sl"))
    by_order = (sa.select(InvoiceLine.order_line_id.label("olid"), sa.func.sum(InvoiceLine.quantity * sign).label("q"))
                .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
                .where(*issued, InvoiceLine.shipment_line_id.is_(None), InvoiceLine.order_line_id.is_not(None))
                .group_by(InvoiceLine.order_line_id).subquery("by_order"))
    mine = [] if supplier_id is None else [Shipment.supplier_company_id == supplier_id]
    if order_id is not None:
        mine.append(Shipment.order_id == order_id)
    rejected = sa.func.coalesce(ShipmentLine.rejected_quantity, 0)
    own_invoiced = sa.func.coalesce(by_sl.c.q, 0)
    own_open = _pos(ShipmentLine.quantity - rejected - own_invoiced)
    base = (sa.select(ShipmentLine.shipment_id.label("shipment_id"), ShipmentLine.id.label("shipment_line_id"),
                      ShipmentLine.order_line_id.label("order_line_id"), ShipmentLine.quantity.label("shipped"),
                      rejected.label("rejected"), own_invoiced.label("own_invoiced"), own_open.label("own_open"),
                      sa.func.coalesce(by_order.c.q, 0).label("by_order"),
                      sa.func.sum(own_open).over(partition_by=ShipmentLine.order_line_id,
                                                 order_by=(ShipmentLine.shipment_id, ShipmentLine.id))
                      .label("upto"))
            .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
            .outerjoin(by_sl, by_sl.c.slid == ShipmentLine.id)
            .outerjoin(by_order, by_order.c.olid == ShipmentLine.order_line_id)
            .where(*mine).subquery("base"))
    left = base.c.upto - base.c.by_order  # what the per-order invoices leave open up to and including this line
    open_ = sa.case((left <= 0, 0), (left >= base.c.own_open, base.c.own_open), else_=left)
    return (sa.select(base.c.shipment_id, base.c.shipment_line_id, base.c.order_line_id, base.c.shipped,
                      base.c.rejected, (base.c.own_invoiced + base.c.own_open - open_).label("invoiced"),
                      open_.label("open"))
            .subquery("invoiceable"))


@dataclass
class Figures:
    """Shipped, rejected at receipt, already invoiced (net) and open, for one shipment line or order line."""
    shipped: Decimal = ZERO
    rejected: Decimal = ZERO
    invoiced: Decimal = ZERO
    open: Decimal = ZERO
    shipment_lines: list = field(default_factory=list)

    def add(self, other: "Figures") -> None:
        self.shipped += other.shipped
        self.rejected += other.rejected
        self.invoiced += other.invoiced
        self.open += other.open


def figures(order: PurchaseOrder, *, exclude_invoice_id: int | None = None) -> tuple[dict, dict]:
    """(per shipment line id, per order line id) Figures of ``order`` — one statement."""
    q = invoiceable_lines(order.supplier_company_id, order_id=order.id, exclude_invoice_id=exclude_invoice_id)
    per_sl: dict[int, Figures] = {}
    per_ol: dict[int, Figures] = defaultdict(Figures)
    for sid, slid, olid, shipped, rejected, invoiced, open_ in db.session.execute(sa.select(q)):
        f = Figures(_dec(shipped), _dec(rejected), _dec(invoiced), _dec(open_))
        per_sl[slid] = f
        per_ol[olid].add(f)
        per_ol[olid].shipment_lines.append(slid)
    return per_sl, per_ol


def proposal(order: PurchaseOrder, shipment: Shipment | None = None) -> list[dict]:
    """The lines that can be invoiced, with their figures: per shipment line of ``shipment``, or per order line
    for the whole order. ``quantity`` is the open quantity (the prefill)."""
    per_sl, per_ol = figures(order)
    lines = {ln.id: ln for ln in order.lines}
    out = []
    if shipment is not None:
        for sl in shipment.lines:
            f = per_sl.get(sl.id)
            if f is not None and f.open > 0:
                out.append({"order_line": lines[sl.order_line_id], "shipment_line_id": sl.id, "quantity": f.open,
                            "shipped": f.shipped, "rejected": f.rejected, "invoiced": f.invoiced, "open": f.open})
        return out
    for ol in order.lines:
        f = per_ol.get(ol.id)
        if f is not None and f.open > 0:
            out.append({"order_line": ol, "shipment_line_id": None, "quantity": f.open, "shipped": f.shipped,
                        "rejected": f.rejected, "invoiced": f.invoiced, "open": f.open})
    return out


def fully_invoiced(order: PurchaseOrder) -> bool:
    """Everything shipped is shipped, and nothing of it is left to invoice."""
    from portal.orders.states import OrderStatus

    if order.status not in (OrderStatus.shipped, OrderStatus.received, OrderStatus.closed):
        return False
    _, per_ol = figures(order)
    return all(f.open <= 0 for f in per_ol.values())


def shipping_billed(order_id: int, *, exclude_invoice_id: int | None = None) -> Decimal:
    """How much of the order's shipping charge issued documents bill: 1 = all of it (only a credit note for an
    invoicing mistake gives it back)."""
    stmt = (sa.select(sa.func.sum(InvoiceLine.quantity * charged_sign()))
            .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
            .where(Invoice.order_id == order_id, Invoice.status != InvoiceStatus.draft,
                   InvoiceLine.charge == SHIPPING))
    if exclude_invoice_id is not None:
        stmt = stmt.where(Invoice.id != exclude_invoice_id)
    return _dec(db.session.scalar(stmt))


def shipping_to_bill(order: PurchaseOrder) -> Decimal:
    """The order's shipping charge while no issued invoice bills it yet, else 0."""
    amount = quantize(order.shipping_amount or ZERO, order.currency)
    if amount <= 0 or shipping_billed(order.id) >= 1:
        return ZERO
    return amount


def _limit_text(what: str, ol: OrderLine, f: Figures) -> str:
    rejected = f"{qty_text(f.rejected)} rejected at receipt, " if f.rejected else ""
    return (f"You can invoice at most {qty_text(max(f.open, ZERO))} {ol.unit} of {what} "
            f"({qty_text(f.shipped)} shipped, {rejected}{qty_text(f.invoiced)} already invoiced).")


def check_quantities(inv: Invoice, order: PurchaseOrder) -> None:
    """Refuse lines that would invoice more than is open (shipped − rejected − invoiced), per shipment line for
    lines made from a shipment and per order line for all of them. Called at draft time and again at issue,
    under the order's row lock."""
    per_sl, per_ol = figures(order, exclude_invoice_id=inv.id)
    ols = {ol.id: ol for ol in order.lines}
    want_sl: dict[int, Decimal] = defaultdict(lambda: ZERO)
    want_ol: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for ln in inv.lines:
        if ln.order_line_id:
            want_ol[ln.order_line_id] += Decimal(ln.quantity)
            if ln.shipment_line_id:
                want_sl[ln.shipment_line_id] += Decimal(ln.quantity)
    errors = {}
    shipping = sum((Decimal(ln.quantity) for ln in inv.lines if ln.charge == SHIPPING), ZERO)
    if shipping and shipping + shipping_billed(order.id, exclude_invoice_id=inv.id) > 1:
        errors[SHIPPING] = (f"The shipping charge of order {order.po_number} is already invoiced; "
                            "remove it from this invoice.")
    sl_owner = {slid: olid for olid, f in per_ol.items() for slid in f.shipment_lines}
    for slid, qty in want_sl.items():
        f = per_sl.get(slid, Figures())
        ol = ols.get(sl_owner.get(slid))
        if ol is not None and qty > f.open:
            errors[f"line-{ol.id}"] = _limit_text(f"line {ol.position}", ol, f)
    for olid, qty in want_ol.items():
        ol = ols.get(olid)
        if ol is None or f"line-{olid}" in errors:
            continue
        f = per_ol.get(olid, Figures())
        if qty > f.open:
            errors[f"line-{olid}"] = _limit_text(f"line {ol.position}", ol, f)
    if errors:
        raise ValidationFailed(" ".join(errors.values()), errors=errors)


# --------------------------------------------------------------------------------------------- the kept figures

def keep(order: PurchaseOrder) -> None:
    """Write the rule's figures of ``order`` onto its shipment lines (``invoiced_quantity``) and shipments
    (``to_invoice``): called in the same transaction by everything that changes them (issuing an invoice or a
    credit note, importing an e-invoice, recording a shipment or a goods receipt), under the order's row lock
    those paths already hold. Two statements plus one UPDATE per changed row; flush-only."""
    q = invoiceable_lines(order.supplier_company_id, order_id=order.id)
    rows = {slid: (_dec(invoiced), _dec(open_) > 0)
            for slid, invoiced, open_ in db.session.execute(sa.select(q.c.shipment_line_id, q.c.invoiced, q.c.open))}
    open_shipments: dict[int, bool] = defaultdict(bool)
    lines = db.session.scalars(sa.select(ShipmentLine).join(Shipment, Shipment.id == ShipmentLine.shipment_id)
                               .where(Shipment.order_id == order.id))
    for sl in lines:
        invoiced, is_open = rows.get(sl.id, (ZERO, False))
        if sl.invoiced_quantity is None or _dec(sl.invoiced_quantity) != invoiced:
            sl.invoiced_quantity = invoiced
        open_shipments[sl.shipment_id] |= is_open
    if open_shipments:
        for sh in db.session.scalars(sa.select(Shipment).where(Shipment.id.in_(list(open_shipments)))):
            if bool(sh.to_invoice) != open_shipments[sh.id]:
                sh.to_invoice = open_shipments[sh.id]
    db.session.flush()


def rebuild(supplier_id: int | None = None) -> int:
    """Recompute the kept figures from scratch for every shipment line (of one supplier): after bulk loads that
    bypass the services (bench/), or to repair. Two UPDATE statements; returns the shipment lines changed."""
    q = invoiceable_lines(supplier_id)
    fresh = sa.func.coalesce(q.c.invoiced, 0)
    stmt = (sa.update(ShipmentLine).values(invoiced_quantity=fresh)  # UPDATE ... FROM: the window runs once
            .where(ShipmentLine.id == q.c.shipment_line_id, ShipmentLine.invoiced_quantity != fresh))
    changed = db.session.execute(stmt.execution_options(synchronize_session=False)).rowcount
    open_line = sa.exists().where(ShipmentLine.shipment_id == Shipment.id, kept_open(ShipmentLine) > 0)
    ship = sa.update(Shipment).values(to_invoice=open_line).where(Shipment.to_invoice != open_line)
    if supplier_id is not None:
        ship = ship.where(Shipment.supplier_company_id == supplier_id)
    db.session.execute(ship.execution_options(synchronize_session=False))
    return changed


def kept_open(sl=ShipmentLine):
    """The open quantity from the kept figure: shipped − rejected − invoiced (≤ 0 means nothing open)."""
    return sl.quantity - sa.func.coalesce(sl.rejected_quantity, 0) - sl.invoiced_quantity


# --------------------------------------------------------------------------------------------- the list

def _uninvoiced_shipments_where(supplier_id: int) -> list:
    """Shipments with something left to invoice (the kept ``Shipment.to_invoice``: ix_shipments_to_invoice)."""
    return [Shipment.supplier_company_id == supplier_id, Shipment.to_invoice == sa.true()]


def uninvoiced_shipments(supplier_id: int, limit: int = 50) -> list[Shipment]:
    """The newest shipments with quantities left to invoice, with their orders (and buyers) loaded in the same
    query."""
    from sqlalchemy.orm import joinedload

    return list(db.session.scalars(sa.select(Shipment).where(*_uninvoiced_shipments_where(supplier_id))
                                   .options(joinedload(Shipment.order))
                                   .order_by(Shipment.id.desc()).limit(limit)).unique())


def uninvoiced_shipment_ids(order: PurchaseOrder) -> set[int]:
    """The order's shipments that still have something to invoice (one query, the kept flag)."""
    return set(db.session.scalars(sa.select(Shipment.id).where(Shipment.order_id == order.id,
                                                               Shipment.to_invoice == sa.true())))


def uninvoiced_shipments_count(supplier_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count(Shipment.id))
                             .where(*_uninvoiced_shipments_where(supplier_id))) or 0
