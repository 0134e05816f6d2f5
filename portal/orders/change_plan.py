"""A change as it would be sent: validation of the buyer's change order, old → new per line and the totals it would
lead to. Nothing here writes: portal/orders/changes.py saves and decides changes."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from portal.errors import ValidationFailed
from portal.i18n import _l
from portal.money import ZERO, format_quantity, quantize, to_decimal
from portal.orders.core import open_quantity
from portal.orders.models import ChangeKind, LineAck, OrderChangeLine, OrderLine, PurchaseOrder

MAX_NEW_LINES = 50


def _q(d) -> str:
    return format_quantity(Decimal(d))


def _d(value) -> str:
    return value.isoformat() if value else "as ordered"


def _parse_date(text, label) -> date | None:
    if isinstance(text, date):
        return text
    text = (str(text) if text is not None else "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(_l("%(label)s: %(text)s is not a date (use YYYY-MM-DD)."),
                               label=label, text=repr(text[:20]))


def _reason(text, limit=500) -> str:
    return (str(text) if text is not None else "").strip()[:limit]


def line_message(cl: OrderChangeLine, currency: str):
    """A change line as a message with its figures (worded for the reader: history, change pages)."""
    from portal.notifications.messages import day, joined, money, msg, quantity

    def when(value):
        return day(value) if value else msg(_l("as ordered"))

    if cl.kind == ChangeKind.add:
        figures = {"position": cl.position, "item": cl.sku or cl.description, "quantity": quantity(cl.new_quantity),
                   "unit": cl.unit, "price": money(cl.new_unit_price, currency, symbol=True)}
        if cl.new_date:
            text = msg(_l("new line %(position)s: %(item)s × %(quantity)s %(unit)s at %(price)s, date %(date)s"),
                       date=day(cl.new_date), **figures)
        else:
            text = msg(_l("new line %(position)s: %(item)s × %(quantity)s %(unit)s at %(price)s"), **figures)
    elif cl.kind == ChangeKind.cancel:
        text = (msg(_l("line %(position)s: cancel the open %(quantity)s %(unit)s"), position=cl.position,
                    quantity=quantity(cl.new_quantity), unit=cl.unit) if cl.new_quantity
                else msg(_l("line %(position)s: cancelled"), position=cl.position))
    else:
        parts = []
        if cl.new_quantity is not None:
            parts.append(msg(_l("quantity %(old)s → %(new)s"), old=quantity(cl.old_quantity),
                             new=quantity(cl.new_quantity)))
        if cl.new_date is not None:
            parts.append(msg(_l("date %(old)s → %(new)s"), old=when(cl.old_date), new=when(cl.new_date)))
        if cl.new_unit_price is not None:
            parts.append(msg(_l("price %(old)s → %(new)s"), old=money(cl.old_unit_price, currency, symbol=True),
                             new=money(cl.new_unit_price, currency, symbol=True)))
        text = msg(_l("line %(position)s: %(changes)s"), position=cl.position, changes=joined(parts, ", "))
    if cl.reason:
        return msg("%(text)s (%(reason)s)", text=text, reason=cl.reason)
    return text


def line_text(cl: OrderChangeLine, currency: str) -> str:
    """"line 2: quantity 100 → 80, date 2027-01-10 → 2027-01-20" (old → new, what changed only), in English (the
    API, notifications); pages word ``line_message`` for the reader."""
    from portal.audit.services import english

    return english(line_message(cl, currency))


# --------------------------------------------------------------------------------------------- the plan

@dataclass
class Plan:
    """A change as it would be sent: its lines (old → new) and the order's total if every line is accepted."""
    lines: list[OrderChangeLine] = field(default_factory=list)
    old_total: Decimal = ZERO
    new_total: Decimal = ZERO
    errors: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def difference(self) -> Decimal:
        return self.new_total - self.old_total


def _effective(line: OrderLine, cl: OrderChangeLine | None) -> tuple[Decimal, Decimal]:
    """(quantity that counts for the total, unit price) of ``line`` if ``cl`` is accepted."""
    qty = line.quantity
    price = line.unit_price
    closed = line.short_closed_quantity or ZERO
    if line.ack == LineAck.rejected:
        return ZERO, price
    if cl is not None:
        if cl.kind == ChangeKind.cancel:
            return line.shipped_quantity or ZERO, price
        if cl.new_quantity is not None:
            qty = cl.new_quantity
        if cl.new_unit_price is not None:
            price = cl.new_unit_price
    return qty - closed, price


def total_if(order: PurchaseOrder, change_lines, accepted_ids=None) -> Decimal:
    """The order's net total with the change lines in ``accepted_ids`` (all, if None) taking effect."""
    by_line = {cl.order_line_id: cl for cl in change_lines if cl.order_line_id is not None
               and (accepted_ids is None or cl.id in accepted_ids)}
    total = ZERO
    for line in order.lines:
        qty, price = _effective(line, by_line.get(line.id))
        total += quantize(qty * price, order.currency)
    for cl in change_lines:
        if cl.kind == ChangeKind.add and (accepted_ids is None or cl.id in accepted_ids):
            total += quantize(cl.new_quantity * cl.new_unit_price, order.currency)
    return total + quantize(order.shipping_amount or ZERO, order.currency)


def _price_new_lines(order: PurchaseOrder, rows: list[tuple[str, str, int]], errors: dict) -> list[dict]:
    """New catalog lines priced by the supplier's catalog and the buyer's price list (quantity breaks on each
    new line's quantity)."""
    if not rows:
        return []
    from portal.catalog.services import price_order_rows

    priced = price_order_rows(order.buyer_company_id, order.supplier_company_id, rows)
    for n, msg in sorted(priced.errors.items()):
        errors[f"new-{n}"] = msg.replace(f"Row {n}:", f"New line {n}:", 1)
    for ln in priced.lines:
        if ln["currency"] != order.currency:
            errors[f"new-{ln['sku']}"] = (f"SKU {ln['sku']} is priced in {ln['currency']}; this order is in "
                                          f"{order.currency}.")
    return priced.lines


def plan_buyer_change(order: PurchaseOrder, lines: dict, new_lines: list | None = None,
                      reason: str = "") -> Plan:
    """Validate the buyer's change (``lines``: order line id -> {"quantity", "date", "unit_price", "cancel",
    "reason"} as typed; ``new_lines``: [{"sku", "quantity", "date", "reason"}]) and compute old → new per line and
    the new total. Nothing is saved. Raises ValidationFailed with every problem (one sentence each)."""
    plan = Plan(old_total=order.total_net)
    errors = plan.errors
    lines = lines or {}
    known = {str(ln.id) for ln in order.lines}
    for key in lines:
        if str(key) not in known:
            errors[f"line-{key}"] = "A line of another order was sent; reload the page."
    for line in order.lines:
        d = lines.get(line.id) or lines.get(str(line.id)) or {}
        label = f"Line {line.position}"
        cancel = str(d.get("cancel") or "").strip().lower() in ("1", "true", "on", "yes", "y")
        line_reason = _reason(d.get("reason"))
        if line.ack == LineAck.rejected:
            if cancel or any(str(d.get(k) or "").strip() for k in ("quantity", "date", "unit_price")):
                errors[f"line-{line.id}"] = f"{label} was rejected by the supplier; it cannot be changed."
            continue
        shipped = line.shipped_quantity or ZERO
        closed = line.short_closed_quantity or ZERO
        if cancel:
            left = open_quantity(line)
            if left <= 0:
                errors[f"line-{line.id}"] = f"{label}: nothing is open on this line; there is nothing to cancel."
                continue
            plan.lines.append(OrderChangeLine(
                order_line_id=line.id, kind=ChangeKind.cancel, position=line.position, sku=line.sku,
                description=line.description, unit=line.unit, old_quantity=line.quantity, new_quantity=left,
                old_date=line.delivery_date or order.delivery_date, old_unit_price=line.unit_price,
                reason=line_reason))
            continue
        try:
            qty_text = str(d.get("quantity") or "").strip()
            qty = to_decimal(qty_text, f"{label} quantity") if qty_text else None
            new_date = _parse_date(d.get("date"), f"{label} date")
            price_text = str(d.get("unit_price") or "").strip()
            price = to_decimal(price_text, f"{label} unit price") if price_text else None
        except ValidationFailed as exc:
            errors[f"line-{line.id}"] = exc.message
            continue
        if qty is not None and qty == line.quantity:
            qty = None
        if new_date is not None and new_date == (line.delivery_date or order.delivery_date):
            new_date = None
        if price is not None and price == line.unit_price:
            price = None
        if qty is not None:
            if qty <= 0:
                errors[f"line-{line.id}"] = f"{label}: the quantity must be more than 0 (cancel the line instead)."
                continue
            if qty < shipped + closed:
                errors[f"line-{line.id}"] = (
                    f"{label}: {_q(shipped)} {line.unit} already shipped"
                    + (f" and {_q(closed)} closed" if closed else "")
                    + f"; the quantity cannot go below {_q(shipped + closed)}.")
                continue
            if (line.moq or line.pack_size) and qty != shipped + closed:
                # the supplier's MOQ and pack size as ordered (cutting to what already shipped is always fine)
                from portal.catalog.services import quantity_problem

                problem = quantity_problem(line.sku or line.description[:40], qty, line.moq, line.pack_size, line.unit)
                if problem:
                    errors[f"line-{line.id}"] = f"{label}: {problem}"
                    continue
        if price is not None:
            if line.award_line_id is not None:
                errors[f"line-{line.id}"] = (f"{label} was awarded at the quoted price; its price cannot be "
                                             "changed on the order.")
                continue
            if price < 0:
                errors[f"line-{line.id}"] = f"{label}: the unit price cannot be negative."
                continue
        if qty is None and new_date is None and price is None:
            continue
        plan.lines.append(OrderChangeLine(
            order_line_id=line.id, kind=ChangeKind.update, position=line.position, sku=line.sku,
            description=line.description, unit=line.unit, old_quantity=line.quantity, new_quantity=qty,
            old_date=line.delivery_date or order.delivery_date, new_date=new_date,
            old_unit_price=line.unit_price,
            new_unit_price=price,
            reason=line_reason))
    new_lines = [n for n in (new_lines or [])
                 if str(n.get("sku") or "").strip() or str(n.get("quantity") or "").strip()]
    if len(new_lines) > MAX_NEW_LINES:
        errors["new"] = f"A change adds at most {MAX_NEW_LINES} lines."
        new_lines = []
    dates: dict[int, date | None] = {}
    reasons: dict[int, str] = {}
    rows = []
    for i, n in enumerate(new_lines, 1):
        try:
            dates[i] = _parse_date(n.get("date"), f"New line {i} date")
        except ValidationFailed as exc:
            errors[f"new-{i}"] = exc.message
            continue
        reasons[i] = _reason(n.get("reason"))
        rows.append((str(n.get("sku") or ""), str(n.get("quantity") or ""), i))
    priced = _price_new_lines(order, rows, errors)
    position = max((ln.position for ln in order.lines), default=0)
    for i, spec in enumerate(priced, 1):
        position += 1
        plan.lines.append(OrderChangeLine(
            kind=ChangeKind.add, position=position, catalog_item_id=spec["catalog_item_id"], sku=spec["sku"],
            description=spec["description"][:500], unit=spec["unit"] or "pcs", new_quantity=spec["quantity"],
            new_unit_price=spec["unit_price"], new_date=dates.get(i), reason=reasons.get(i, "")))
    if errors:
        raise ValidationFailed(" ".join(errors.values()), errors=errors)
    if not plan.lines:
        raise ValidationFailed(_l("The change is empty: change a quantity, a date or a price, add a line or cancel "
                                  "one."), errors={"change": _l("Nothing to change.")})
    for i, cl in enumerate(plan.lines):
        cl.id = -(i + 1)  # provisional ids so total_if can tell the lines apart before they are saved
    plan.new_total = total_if(order, plan.lines)
    for cl in plan.lines:
        cl.id = None
    if plan.new_total - quantize(order.shipping_amount or ZERO, order.currency) <= 0 \
            and not any((ln.shipped_quantity or ZERO) > 0 for ln in order.lines):
        raise ValidationFailed(_l("This change would leave nothing on the order; cancel the order instead."),
                               errors={"change": _l("Nothing would be left.")})
    return plan


