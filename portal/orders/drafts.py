"""Editing a draft order (from an award, a quick order, a reorder or a catalog) before it is submitted.

The buyer may add and remove lines, change quantities, the requested delivery date per line and per order, the
delivery address, the notes to the supplier, the internal notes and the cost reference per line. Catalog lines
are priced again by the supplier's catalog and the buyer's price list, on the total quantity per SKU (quantity
breaks, MOQ and pack size apply to the total: two lines of one SKU become one line). An awarded line keeps its
quoted price: a price on it is refused. Other lines (API orders without a catalog item) keep their price too.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from portal.accounts.models import User
from portal.audit.services import record
from portal.db import db
from portal.errors import InvalidTransition, ValidationFailed
from portal.i18n import _l
from portal.locking import retry_on_conflict
from portal.money import format_money, to_decimal
from portal.notifications import messages as words
from portal.orders.core import (_rollback_on_error, check_fresh, commit, lock_order, recompute_totals,
                                require_buyer)
from portal.orders.guards import check_draft_lines
from portal.orders.models import OrderLine, PurchaseOrder
from portal.orders.states import OrderStatus

S = OrderStatus
MAX_LINES = 500
TRUE = ("1", "true", "on", "yes", "y")


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


def _text(value, limit: int) -> str:
    return (str(value) if value is not None else "").strip()[:limit]


def reorder_price_changes(order: PurchaseOrder) -> list[str]:
    """For a draft made by reordering: the lines whose price today differs from the order it copies."""
    if order.status != S.draft or not order.reorder_of_id:
        return []
    original = db.session.get(PurchaseOrder, order.reorder_of_id)
    if original is None or original.buyer_company_id != order.buyer_company_id:
        return []
    before = {}
    for ln in original.lines:
        key = (ln.catalog_item_id, (ln.sku or "").lower())
        before.setdefault(key, ln.unit_price)
    out = []
    for ln in order.lines:
        old = before.get((ln.catalog_item_id, (ln.sku or "").lower()))
        if old is not None and old != ln.unit_price:
            out.append(f"SKU {ln.sku}: {format_money(ln.unit_price, order.currency)} today "
                       f"(was {format_money(old, order.currency)} on {original.po_number}).")
    return out


@retry_on_conflict
@_rollback_on_error
def update_draft(order: PurchaseOrder, actor: User, expected_lock_version, data: dict) -> tuple[PurchaseOrder, list]:
    """Apply the edit form (or API body) to a draft. ``data``: "delivery_date", "delivery_address", "notes",
    "internal_notes" (each optional: absent keeps the value), "lines": {line id: {"quantity", "delivery_date",
    "cost_reference", "unit_price", "remove"}}, "new_lines": [{"sku", "quantity", "delivery_date",
    "cost_reference"}]. Returns (order, notes: sentences about merged SKUs and changed prices). All or nothing."""
    from portal.catalog.services import price_order_rows

    order = lock_order(order, actor, )
    require_buyer(order, actor)
    check_fresh(order, expected_lock_version)
    if order.status != S.draft:
        raise InvalidTransition(f"Only a draft can be edited; this order is {order.status.label.lower()}. "
                                "Propose a change order instead." if order.status in (S.acknowledged,
                                                                                      S.partially_shipped)
                                else f"Only a draft can be edited; this order is {order.status.label.lower()}.")
    errors: dict[str, str] = {}
    if "delivery_date" in data:
        try:
            order.delivery_date = _parse_date(data.get("delivery_date"), "Delivery date")
        except ValidationFailed as exc:
            errors["delivery_date"] = exc.message
    if "delivery_address" in data:
        address = _text(data.get("delivery_address"), 2000)
        if not address:
            errors["delivery_address"] = "Enter a delivery address."
        order.delivery_address = address
    if "notes" in data:
        order.notes = _text(data.get("notes"), 4000)
    if "internal_notes" in data:
        order.internal_notes = _text(data.get("internal_notes"), 4000)

    edits = data.get("lines") or {}
    known = {str(ln.id) for ln in order.lines}
    for key in edits:
        if str(key) not in known:
            errors[f"line-{key}"] = "A line of another order was sent; reload the page."
    kept: list[tuple[OrderLine, Decimal, date | None, str]] = []
    for line in order.lines:
        d = edits.get(line.id) or edits.get(str(line.id)) or {}
        label = f"Line {line.position}"
        if _text(d.get("remove"), 10).lower() in TRUE:
            continue
        try:
            qty_text = _text(d.get("quantity"), 40)
            qty = to_decimal(qty_text, f"{label} quantity") if qty_text else line.quantity
            when = _parse_date(d["delivery_date"], f"{label} date") if "delivery_date" in d else line.delivery_date
            price_text = _text(d.get("unit_price"), 40)
            price = to_decimal(price_text, f"{label} unit price") if price_text else None
        except ValidationFailed as exc:
            errors[f"line-{line.id}"] = exc.message
            continue
        if qty <= 0:
            errors[f"line-{line.id}"] = f"{label}: the quantity must be more than 0 (remove the line instead)."
            continue
        if price is not None and price != line.unit_price:
            if line.award_line_id is not None:
                errors[f"line-{line.id}"] = (f"{label} was awarded at the quoted price; its price cannot be "
                                             "changed on the order.")
            else:
                errors[f"line-{line.id}"] = (f"{label}: prices come from the catalog or the quote; they cannot be "
                                             "typed on the order.")
            continue
        cost_ref = _text(d["cost_reference"], 100) if "cost_reference" in d else line.cost_reference
        kept.append((line, qty, when, cost_ref))
    new_specs = [n for n in (data.get("new_lines") or [])
                 if _text(n.get("sku"), 64) or _text(n.get("quantity"), 40)]
    if errors:
        raise ValidationFailed(" ".join(errors.values()), errors=errors)

    # Catalog lines (kept and new) are priced together, on the total per SKU.
    rows, new_meta = [], {}
    row_line: dict[int, OrderLine] = {}
    n = 0
    for line, qty, _, _ in kept:
        if line.catalog_item_id is not None and line.sku:
            n += 1
            rows.append((line.sku, str(qty), n))
            row_line[n] = line
    for i, spec in enumerate(new_specs, 1):
        n += 1
        try:
            new_meta[n] = (_parse_date(spec.get("delivery_date"), f"New line {i} date"),
                           _text(spec.get("cost_reference"), 100), i)
        except ValidationFailed as exc:
            errors[f"new-{i}"] = exc.message
            continue
        rows.append((_text(spec.get("sku"), 64), _text(spec.get("quantity"), 40), n))
    priced_by_sku: dict[str, dict] = {}
    notes: list[str] = []
    if rows:
        priced = price_order_rows(order.buyer_company_id, order.supplier_company_id, rows)
        for rn, msg in sorted(priced.errors.items()):
            if rn in row_line:
                errors[f"line-{row_line[rn].id}"] = msg.replace(f"Row {rn}:", f"Line {row_line[rn].position}:", 1)
            else:
                i = new_meta.get(rn, (None, None, rn))[2]
                errors[f"new-{i}"] = msg.replace(f"Row {rn}:", f"New line {i}:", 1)
        for spec in priced.lines:
            if spec["currency"] != order.currency:
                errors[f"sku-{spec['sku']}"] = (f"SKU {spec['sku']} is priced in {spec['currency']}; this order is in "
                                                f"{order.currency}.")
            priced_by_sku[spec["sku"].lower()] = spec
        notes.extend(nt.replace("(rows ", "(lines ").replace("rows ", "lines ") for nt in priced.notes)
    if errors:
        raise ValidationFailed(" ".join(errors.values()), errors=errors)
    if not kept and not new_specs:
        raise ValidationFailed(_l("An order needs at least one line; cancel the draft instead of removing every "
                                  "line."),
                               errors={"lines": _l("At least one line.")})

    # Apply: kept lines in their order, then new ones; a SKU appears once (the first line carries the total).
    final: list[OrderLine] = []
    seen_sku: set[str] = set()
    for line, qty, when, cost_ref in kept:
        if line.catalog_item_id is not None and line.sku:
            key = line.sku.lower()
            if key in seen_sku:
                continue
            seen_sku.add(key)
            spec = priced_by_sku[key]
            if spec["unit_price"] != line.unit_price:
                notes.append(f"SKU {line.sku}: the price is now {format_money(spec['unit_price'], order.currency)} "
                             f"(was {format_money(line.unit_price, order.currency)}).")
            line.quantity, line.unit_price = spec["quantity"], spec["unit_price"]
        else:
            line.quantity = qty
        line.delivery_date, line.cost_reference = when, cost_ref
        final.append(line)
    additions = []
    for rn, (when, cost_ref, i) in new_meta.items():
        sku = next((s for s, _, r in rows if r == rn), "")
        key = sku.lower()
        spec = priced_by_sku.get(key) or next((v for k, v in priced_by_sku.items() if k == key), None)
        if spec is None or key in seen_sku:
            continue
        seen_sku.add(key)
        additions.append(OrderLine(position=0, catalog_item_id=spec["catalog_item_id"], sku=spec["sku"],
                                   description=spec["description"][:500], unit=spec["unit"] or "pcs",
                                   quantity=spec["quantity"], unit_price=spec["unit_price"], line_total=Decimal(0),
                                   moq=spec["moq"], pack_size=spec["pack_size"], delivery_date=when,
                                   cost_reference=cost_ref))
    if len(final) + len(additions) > MAX_LINES:
        raise ValidationFailed(_l("An order takes at most %(max_lines)s lines; split it."), max_lines=MAX_LINES)
    removed = [ln for ln in order.lines if ln not in final]
    check_draft_lines(order, {ln.id: ln.quantity for ln in final}, {ln.id for ln in removed}, bool(additions))
    # Positions are unique per order: park the kept lines out of the way, then number everything 1..n.
    for i, line in enumerate(final, 1):
        line.position = 100000 + i
    for line in removed:
        order.lines.remove(line)
    db.session.flush()
    for i, line in enumerate(final, 1):
        line.position = i
    db.session.flush()
    for j, line in enumerate(additions, len(final) + 1):
        line.position = j
        order.lines.append(line)
    recompute_totals(order)
    db.session.flush()
    record("order", order.id, "draft_edited", actor=actor, company_id=actor.company_id,
           detail=words.msg(_l("%(n)s line(s), total %(total)s%(more)s"), n=len(order.lines),
                            total=words.money(order.total_net, order.currency, symbol=True),
                            more=words.joined(
                                ([words.msg(_l("; %(n)s removed"), n=len(removed))] if removed else [])
                                + ([words.msg(_l("; %(n)s added"), n=len(additions))] if additions else []), "")),
           visible_to_company_id=order.buyer_company_id)
    commit()
    return order, notes
