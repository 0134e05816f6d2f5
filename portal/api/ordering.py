"""Ordering over the API: supplier catalogs, bulk orders, the order lifecycle (submit, approve, acknowledge,
cancel, reject, change decisions, close), shipments, goods receipt, credit accounts and credit holds.

State-changing order calls accept an optional ``lock_version``: the one you last read (stale -> 409); without
it the call acts on the current state (the caller opted out of optimistic locking)."""
from __future__ import annotations

import sqlalchemy as sa
from marshmallow import Schema, fields, validate
from sqlalchemy.orm import selectinload

from portal.accounts.models import Role
from portal.api.auth import idempotent
from portal.api.common import ListArgs, ListPlan, actor, list_documents, created, links, make_blueprint, money, page_envelope, paged_schema, problems
from portal.api.schemas import exact_money
from portal.api.schemas import (BoundedInt, CommentArgs, DecimalString, LockArgs, MoneyField, MoneyIn, MoneyOut,
                                 ReasonArgs, VersionedMoneyOut, amount_in, versioned_money,
                                RenamedFields, lock_or_current, plain, ts)
from portal.catalog import services as catalog_services
from portal.credit import services as credit_services
from portal.db import db
from portal.errors import Forbidden
from portal.i18n import _l
from portal.orders import approvals, shipping
from portal.orders import services as order_services
from portal.orders.models import LineAck, OrderSource, PurchaseOrder, Shipment
from portal.orders.states import OrderStatus
from portal.tenancy import get_for_company, scoped

bp = make_blueprint("api_ordering", "Catalogs, purchase orders, shipments, goods receipt and credit.")


# --------------------------------------------------------------------------------------------- schemas

class OrderLineOut(Schema):
    id = fields.Integer()
    position = fields.Integer()
    sku = fields.String(allow_none=True)
    part_number = fields.String(allow_none=True)
    description = fields.String()
    unit = fields.String()
    quantity = DecimalString()
    unit_price = fields.Nested(MoneyOut)
    line_total = fields.Nested(MoneyOut)
    delivery_date = fields.Date(allow_none=True)
    ack = fields.String(validate=validate.OneOf([a.value for a in LineAck]))
    proposed_quantity = DecimalString(allow_none=True)
    proposed_date = fields.Date(allow_none=True)
    proposed_unit_price = fields.Nested(MoneyOut, allow_none=True)
    ack_note = fields.String(allow_none=True)
    shipped_quantity = DecimalString()
    short_closed_quantity = DecimalString(metadata={"description": "Open quantity the buyer closed"})
    cost_reference = fields.String(allow_none=True, metadata={"description": "The buyer's cost reference (null for "
                                                                             "the supplier, who never sees it)"})
    accepted_quantity = DecimalString()
    rejected_quantity = DecimalString()


class ShipmentLineOut(Schema):
    id = fields.Integer()
    order_line_id = fields.Integer()
    quantity = DecimalString()
    accepted_quantity = DecimalString(allow_none=True)
    rejected_quantity = DecimalString(allow_none=True)
    rejection_reason = fields.String(allow_none=True)


class ShipmentOut(Schema):
    id = fields.Integer()
    order_id = fields.Integer()
    number = fields.String()
    carrier = fields.String()
    tracking = fields.String()
    shipped_at = fields.DateTime()
    received_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime(metadata={"description": "When it was recorded (= shipped_at)."})
    updated_at = fields.DateTime(metadata={"description": "The last change: the goods receipt, else shipped_at."})
    lines = fields.List(fields.Nested(ShipmentLineOut))


class OrderOut(Schema):
    id = fields.Integer()
    po_number = fields.String(metadata={"example": "PO-2026-00077"})
    supplier_order_number = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf([s.value for s in OrderStatus]))
    source = fields.String(validate=validate.OneOf([s.value for s in OrderSource]))
    buyer_company_id = fields.Integer()
    supplier_company_id = fields.Integer()
    rfq_id = fields.Integer(allow_none=True)
    award_id = fields.Integer(allow_none=True)
    currency = fields.String()
    total_net = fields.Nested(MoneyOut, metadata={"description": "Lines plus shipping, before VAT"})
    shipping_amount = fields.Nested(MoneyOut, metadata={"description": "Freight as quoted (orders from awards)"})
    payment_terms_days = fields.Integer()
    delivery_address = fields.String()
    delivery_date = fields.Date(allow_none=True)
    notes = fields.String()
    internal_notes = fields.String(allow_none=True, metadata={"description": "The buyer's internal notes (null for "
                                                                             "the supplier, who never sees them)"})
    revision = fields.Integer(metadata={"description": "The current revision (1 as placed)"})
    lock_version = fields.Integer()
    submitted_at = fields.DateTime(allow_none=True)
    placed_at = fields.DateTime(allow_none=True)
    acknowledged_at = fields.DateTime(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    reject_reason = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    lines = fields.List(fields.Nested(OrderLineOut))
    shipments = fields.List(fields.Nested(ShipmentOut))


class OrderQuery(ListArgs):
    status = fields.String(load_default=None, validate=validate.OneOf([s.value for s in OrderStatus]))


class OrderRowIn(Schema):
    sku = fields.String(required=True, validate=validate.Length(min=1, max=64))
    quantity = DecimalString(required=True)


class OrderCreatedOut(OrderOut):
    pricing_notes = fields.List(fields.String(), metadata={
        "description": "Sentences about rows merged into one line: a SKU on several rows is ordered as one "
                       "line of the total quantity, priced at the break that total reaches"})


class OrderIn(RenamedFields, Schema):
    ALIASES = {"supplier_id": "supplier_company_id"}

    supplier_id = BoundedInt(required=True, data_key="supplier_company_id")
    lines = fields.List(fields.Nested(OrderRowIn), required=True, validate=validate.Length(min=1, max=1000))


class DecisionIn(LockArgs):
    decision = fields.String(required=True, validate=validate.OneOf(["approved", "rejected"]))
    comment = fields.String(load_default="", validate=validate.Length(max=2000))
    over_budget = fields.Boolean(load_default=False, metadata={
        "description": "The owner of a cost centre whose blocking budget the order exceeds approves it over budget "
                       "(see `GET /orders/{id}/budget-impact`)."})


class AckLineIn(Schema):
    order_line_id = BoundedInt(required=True)
    decision = fields.String(required=True, validate=validate.OneOf(["accept", "change", "reject"]))
    quantity = DecimalString(allow_none=True)
    date = fields.Date(allow_none=True)
    price = MoneyField(allow_none=True, metadata={"description": "A proposed unit price (decision change), in the "
                                                                  "order's currency."})
    note = fields.String(allow_none=True, validate=validate.Length(max=500))


class AckIn(LockArgs):
    lines = fields.List(fields.Nested(AckLineIn), load_default=list, validate=validate.Length(max=2000))


class ShipLineIn(Schema):
    order_line_id = BoundedInt(required=True)
    quantity = DecimalString(required=True)


class ShipmentIn(LockArgs):
    carrier = fields.String(load_default="", validate=validate.Length(max=100))
    tracking = fields.String(load_default="", validate=validate.Length(max=100))
    lines = fields.List(fields.Nested(ShipLineIn), required=True, validate=validate.Length(min=1, max=2000))


class ReceiptLineIn(Schema):
    shipment_line_id = BoundedInt(required=True)
    accepted = DecimalString(allow_none=True)
    rejected = DecimalString(allow_none=True)
    reason = fields.String(allow_none=True, validate=validate.Length(max=500))


class ReceiptIn(LockArgs):
    lines = fields.List(fields.Nested(ReceiptLineIn), load_default=list, validate=validate.Length(max=2000))


class CatalogQuery(RenamedFields, Schema):
    ALIASES = {"supplier_id": "supplier_company_id"}

    supplier_id = BoundedInt(required=True, strict=False, data_key="supplier_company_id")
    q = fields.String(load_default=None, validate=validate.Length(max=100))
    category = fields.String(load_default=None, validate=validate.Length(max=100))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))


class BreakOut(Schema):
    min_quantity = DecimalString()
    unit_price = VersionedMoneyOut(metadata={"description": "A decimal string in API version 2026-11-01."})


class CatalogItemOut(Schema):
    id = fields.Integer()
    sku = fields.String()
    name = fields.String()
    description = fields.String()
    category = fields.String()
    unit = fields.String()
    moq = DecimalString(allow_none=True)
    pack_size = DecimalString(allow_none=True)
    unit_price = fields.Nested(MoneyOut)
    price_breaks = fields.List(fields.Nested(BreakOut))
    special_price = fields.Boolean()


class CreditAccountOut(Schema):
    buyer_company_id = fields.Integer(allow_none=True)
    buyer_name = fields.String(allow_none=True)
    supplier_company_id = fields.Integer()
    own_account = fields.Boolean(metadata={"description": "False when the supplier's default account applies."})
    limit = fields.Nested(MoneyOut, allow_none=True)
    payment_terms_days = fields.Integer(allow_none=True)
    block_on_overdue = fields.Boolean(allow_none=True)
    unpaid = fields.Nested(MoneyOut, allow_none=True)
    reserved = fields.Nested(MoneyOut, allow_none=True)
    available = fields.Nested(MoneyOut, allow_none=True)


class CreditAccountIn(Schema):
    limit = fields.Nested(MoneyIn, required=True)
    payment_terms_days = BoundedInt(required=True, validate=validate.Range(min=0, max=365))
    block_on_overdue = fields.Boolean(load_default=True)


class HoldOut(Schema):
    order = fields.Nested(OrderOut)
    reason = fields.String(allow_none=True)
    checked_at = fields.DateTime(allow_none=True)


# --------------------------------------------------------------------------------------------- serialisers

def shipment_dict(s: Shipment) -> dict:
    return {"id": s.id, "order_id": s.order_id, "number": s.number, "carrier": s.carrier or "",
            "tracking": s.tracking or "", "shipped_at": ts(s.shipped_at), "received_at": ts(s.received_at),
            "created_at": ts(s.shipped_at), "updated_at": ts(s.received_at or s.shipped_at),
            "lines": [{"id": sl.id, "order_line_id": sl.order_line_id, "quantity": plain(sl.quantity),
                       "accepted_quantity": plain(sl.accepted_quantity),
                       "rejected_quantity": plain(sl.rejected_quantity), "rejection_reason": sl.rejection_reason}
                      for sl in s.lines]}


def order_dict(o: PurchaseOrder, viewer=None) -> dict:
    cur = o.currency
    out = _order_dict(o, cur)
    buyer = viewer is not None and viewer.company_id == o.buyer_company_id  # the buyer's own notes and references
    out["internal_notes"] = (o.internal_notes or "") if buyer else None
    for row, ln in zip(out["lines"], o.lines):
        row["cost_reference"] = (ln.cost_reference or "") if buyer else None
    return out


def _order_dict(o: PurchaseOrder, cur: str) -> dict:
    return {
        "id": o.id, "po_number": o.po_number, "supplier_order_number": o.supplier_order_number,
        "status": o.status.value, "source": o.source.value, "buyer_company_id": o.buyer_company_id,
        "supplier_company_id": o.supplier_company_id, "rfq_id": o.rfq_id, "award_id": o.award_id,
        "currency": cur, "total_net": money(o.total_net, cur),
        "shipping_amount": money(o.shipping_amount or 0, cur), "payment_terms_days": o.payment_terms_days,
        "delivery_address": o.delivery_address or "", "delivery_date": o.delivery_date, "notes": o.notes or "",
        "lock_version": o.lock_version, "revision": o.revision or 1,
        "submitted_at": ts(o.submitted_at), "placed_at": ts(o.placed_at),
        "acknowledged_at": ts(o.acknowledged_at), "cancel_reason": o.cancel_reason,
        "reject_reason": o.reject_reason, "created_at": ts(o.created_at), "updated_at": ts(o.updated_at),
        "lines": [{"id": ln.id, "position": ln.position, "sku": ln.sku, "part_number": ln.part_number,
                   "description": ln.description, "unit": ln.unit, "quantity": plain(ln.quantity),
                   "unit_price": exact_money(ln.unit_price, cur), "line_total": money(ln.line_total, cur),
                   "delivery_date": ln.delivery_date, "ack": ln.ack.value,
                   "proposed_quantity": plain(ln.proposed_quantity), "proposed_date": ln.proposed_date,
                   "proposed_unit_price": exact_money(ln.proposed_unit_price, cur)
                   if ln.proposed_unit_price is not None else None,
                   "ack_note": ln.ack_note, "shipped_quantity": plain(ln.shipped_quantity),
                   "short_closed_quantity": plain(ln.short_closed_quantity or 0),
                   "accepted_quantity": plain(ln.accepted_quantity),
                   "rejected_quantity": plain(ln.rejected_quantity)} for ln in o.lines],
        "shipments": [shipment_dict(s) for s in o.shipments],
    }


def _fresh(order_id: int) -> dict:
    db.session.expire_all()
    return order_dict(db.session.get(PurchaseOrder, order_id), actor())


def _order(order_id) -> PurchaseOrder:
    return get_for_company(PurchaseOrder, order_id, actor().company_id)


# --------------------------------------------------------------------------------------------- catalog

@bp.route("/catalog", methods=["GET"])
@problems(404)
@bp.arguments(CatalogQuery, location="query", as_kwargs=True)
@bp.response(200, paged_schema(CatalogItemOut, "CatalogPage"))
def list_catalog_items(supplier_id, page, q=None, category=None):
    """A supplier's active catalog items at your prices (buyer procurement; pages of the catalog's size)."""
    user = actor()
    if not catalog_services.can_order(user):
        raise Forbidden(_l("Only a buyer's procurement people can order from a catalog."))
    supplier = catalog_services.catalog_supplier(supplier_id, user.company_id)
    pg = catalog_services.buyer_catalog(user.company_id, supplier.id, q=q, category=category, page=page)
    items = [{"id": r.item.id, "sku": r.item.sku, "name": r.item.name, "description": r.item.description or "",
              "category": r.item.category or "", "unit": r.item.unit, "moq": plain(r.item.moq),
              "pack_size": plain(r.item.pack_size), "unit_price": exact_money(r.unit_price, r.item.currency),
              "price_breaks": [{"min_quantity": str(b["min_quantity"]),
                                "unit_price": versioned_money(b["unit_price"], r.item.currency)}
                               for b in (r.price_breaks or [])], "special_price": r.special} for r in pg.items]
    return page_envelope(items, pg.total, pg.page, pg.per_page, "api_ordering.list_catalog_items")


# --------------------------------------------------------------------------------------------- orders

@bp.route("/orders", methods=["GET"])
@bp.arguments(OrderQuery, location="query")
@bp.response(200, paged_schema(OrderOut, "OrderPage"))
def list_orders(args):
    """Orders your company is party to (a supplier sees an order once the buyer has sent it: from the credit check
    on), in id order.

    Filters: status, `updated_since`, creation dates, `counterparty_id`, `reference` (PO number or the supplier's
    order number); `sort`; pages or the `starting_after` cursor."""
    user = actor()
    stmt = scoped(PurchaseOrder, user.company_id)
    if args.get("status"):
        stmt = stmt.where(PurchaseOrder.status == OrderStatus(args["status"]))
    return list_documents(stmt, ORDER_LIST, args, user.company_id, "api_ordering.list_orders",
                          lambda o: order_dict(o, user),
                          options=(selectinload(PurchaseOrder.lines),
                                   selectinload(PurchaseOrder.shipments).selectinload(Shipment.lines)))


ORDER_LIST = ListPlan(
    PurchaseOrder, reference=(PurchaseOrder.po_number, PurchaseOrder.supplier_order_number),
    counterparty=lambda me, other: sa.or_(
        sa.and_(PurchaseOrder.buyer_company_id == me, PurchaseOrder.supplier_company_id == other),
        sa.and_(PurchaseOrder.supplier_company_id == me, PurchaseOrder.buyer_company_id == other)))


@bp.route("/orders", methods=["POST"])
@created("api_ordering.get_order", order_id="id")
@idempotent
@bp.arguments(OrderIn)
@bp.response(201, OrderCreatedOut)
def create_order(data):
    """A bulk order from a supplier's catalog: every row is checked (SKU, MOQ, pack size) and priced at your
    prices; rows naming the same SKU become one line of the total quantity, priced at the break that total
    reaches (told in `pricing_notes`); one draft order is created, or nothing (422 naming each bad row)."""
    user = actor()
    rows = [(ln["sku"], str(ln["quantity"]), i + 1) for i, ln in enumerate(data["lines"])]
    order, notes = catalog_services.order_from_rows(user, data["supplier_id"], rows, source="api")
    return {**_fresh(order.id), "pricing_notes": notes}


@bp.route("/orders/<int(max=2147483647):order_id>", methods=["GET"])
@bp.response(200, OrderOut)
def get_order(order_id):
    """One order with its lines and shipments."""
    return order_dict(_order(order_id), actor())


@bp.route("/orders/<int(max=2147483647):order_id>/submit", methods=["POST"])
@bp.arguments(LockArgs)
@bp.response(200, OrderOut)
def submit_order(data, order_id):
    """Submit a draft: to the approvers when the rules require, else to the supplier's credit check (a job)."""
    order = _order(order_id)
    order_services.submit(order, actor(), lock_or_current(order, data.get("lock_version")))
    return _fresh(order.id)


@bp.route("/orders/<int(max=2147483647):order_id>/approve", methods=["POST"])
@bp.arguments(DecisionIn)
@bp.response(200, OrderOut)
def approve_order(data, order_id):
    """An approver decides the next approval step (`approved` or `rejected` with a comment)."""
    order = _order(order_id)
    approvals.decide(order, actor(), lock_or_current(order, data.get("lock_version")), data["decision"],
                     data.get("comment") or "", over_budget=data.get("over_budget", False))
    return _fresh(order.id)


@bp.route("/orders/<int(max=2147483647):order_id>/acknowledge", methods=["POST"])
@bp.arguments(AckIn)
@bp.response(200, OrderOut)
def acknowledge_order(data, order_id):
    """The supplier acknowledges a placed order: per line accept, change (quantity and/or date, with a note)
    or reject (with a note). No lines = accept every line."""
    order = _order(order_id)
    decisions = {}
    for i, ln in enumerate(data.get("lines") or []):
        price = amount_in(ln.get("price"), order.currency, f"lines.{i}.price", f"Line {i + 1}: the price")
        decisions[ln["order_line_id"]] = {
            "action": ln["decision"], "quantity": "" if ln.get("quantity") is None else str(ln["quantity"]),
            "date": ln["date"].isoformat() if ln.get("date") else "", "note": ln.get("note") or "",
            "price": "" if price is None else str(price)}
    order_services.acknowledge(order, actor(), lock_or_current(order, data.get("lock_version")), decisions)
    return _fresh(order.id)


@bp.route("/orders/<int(max=2147483647):order_id>/cancel", methods=["POST"])
@bp.arguments(ReasonArgs)
@bp.response(200, OrderOut)
def cancel_order(data, order_id):
    """The buyer cancels an order before anything shipped, with a reason."""
    order = _order(order_id)
    order_services.cancel(order, actor(), lock_or_current(order, data.get("lock_version")), data["reason"])
    return _fresh(order.id)


@bp.route("/orders/<int(max=2147483647):order_id>/reject", methods=["POST"])
@bp.arguments(ReasonArgs)
@bp.response(200, OrderOut)
def reject_order(data, order_id):
    """The supplier rejects a placed order, with a reason."""
    order = _order(order_id)
    order_services.reject(order, actor(), lock_or_current(order, data.get("lock_version")), data["reason"])
    return _fresh(order.id)


@bp.route("/orders/<int(max=2147483647):order_id>/accept-changes", methods=["POST"])
@bp.arguments(LockArgs)
@bp.response(200, OrderOut)
def accept_order_changes(data, order_id):
    """The buyer accepts the supplier's proposed changes."""
    order = _order(order_id)
    order_services.accept_changes(order, actor(), lock_or_current(order, data.get("lock_version")))
    return _fresh(order.id)


@bp.route("/orders/<int(max=2147483647):order_id>/reject-changes", methods=["POST"])
@bp.arguments(LockArgs)
@bp.response(200, OrderOut)
def reject_order_changes(data, order_id):
    """The buyer rejects the supplier's proposed changes: the lines stay as ordered and the order is acknowledged
    (it is never cancelled by this; per line: /orders/{id}/changes/{change_id}/decision)."""
    order = _order(order_id)
    order_services.reject_changes(order, actor(), lock_or_current(order, data.get("lock_version")))
    return _fresh(order.id)


@bp.route("/orders/<int(max=2147483647):order_id>/close", methods=["POST"])
@bp.arguments(LockArgs)
@bp.response(200, OrderOut)
def close_order(data, order_id):
    """Close a received order."""
    order = _order(order_id)
    shipping.close(order, actor(), lock_or_current(order, data.get("lock_version")))
    return _fresh(order.id)


# --------------------------------------------------------------------------------------------- shipments

@bp.route("/orders/<int(max=2147483647):order_id>/shipments", methods=["POST"])
@created("api_ordering.get_order", order_id="order_id")
@links(receiveShipment={"shipment_id": "id"})
@idempotent
@bp.arguments(ShipmentIn)
@bp.response(201, ShipmentOut)
def create_shipment(data, order_id):
    """The supplier ships some or all open quantities; the delivery note PDF is produced in the background."""
    order = _order(order_id)
    order_services.require_supplier(order, actor())  # the role first: a buyer learns nothing about the body
    quantities = {}
    for ln in data["lines"]:
        quantities[ln["order_line_id"]] = str(ln["quantity"])
    known = {ln.id for ln in order.lines}
    unknown = [str(k) for k in quantities if k not in known]
    if unknown:
        from portal.errors import ValidationFailed

        raise ValidationFailed(_l("Unknown order line id(s): %(unknown)s."), unknown=', '.join(unknown[:10]),
                               errors={"lines": _l("Use the ids of this order's lines.")})
    shipment = shipping.record_shipment(order, actor(), lock_or_current(order, data.get("lock_version")),
                                        quantities, data.get("carrier") or "", data.get("tracking") or "")
    sid = shipment.id
    db.session.expire_all()
    return shipment_dict(db.session.get(Shipment, sid))


@bp.route("/shipments/<int(max=2147483647):shipment_id>/receipt", methods=["POST"])
@bp.arguments(ReceiptIn)
@bp.response(200, ShipmentOut)
def receive_shipment(data, shipment_id):
    """Goods receipt (buyer): per shipment line the accepted and rejected quantities (with a reason). No lines =
    everything shipped accepted."""
    user = actor()
    shipment = get_for_company(Shipment, shipment_id, user.company_id)
    order = _order(shipment.order_id)
    order_services.require_buyer(order, user)  # the role first, then the body
    entries = {}
    for ln in data.get("lines") or []:
        entries[ln["shipment_line_id"]] = {
            "accepted": "" if ln.get("accepted") is None else str(ln["accepted"]),
            "rejected": "" if ln.get("rejected") is None else str(ln["rejected"]), "reason": ln.get("reason") or ""}
    known = {sl.id for sl in shipment.lines}
    unknown = [str(k) for k in entries if k not in known]
    if unknown:
        from portal.errors import ValidationFailed

        raise ValidationFailed(_l("Unknown shipment line id(s): %(unknown)s."), unknown=', '.join(unknown[:10]),
                               errors={"lines": _l("Use the ids of this shipment's lines.")})
    shipping.receive(order, shipment.id, user, lock_or_current(order, data.get("lock_version")), entries)
    db.session.expire_all()
    return shipment_dict(db.session.get(Shipment, shipment_id))


# --------------------------------------------------------------------------------------------- credit

def _account_row(acc, buyer=None, unpaid=None, reserved=None, supplier_id=None) -> dict:
    cur = acc.currency if acc else None
    own = acc is not None and acc.buyer_company_id is not None and (buyer is None or acc.buyer_company_id == buyer.id)
    available = None
    if acc is not None and unpaid is not None and reserved is not None:
        available = money(acc.limit_amount - unpaid - reserved, cur)
    return {"buyer_company_id": buyer.id if buyer else None, "buyer_name": buyer.display_name if buyer else None,
            "supplier_company_id": acc.supplier_company_id if acc else supplier_id, "own_account": own,
            "limit": money(acc.limit_amount, cur) if acc else None,
            "payment_terms_days": acc.payment_terms_days if acc else None,
            "block_on_overdue": acc.block_on_overdue if acc else None,
            "unpaid": money(unpaid, cur) if (acc and unpaid is not None) else None,
            "reserved": money(reserved, cur) if (acc and reserved is not None) else None, "available": available}


def _require_supplier_accounts(user) -> None:
    if not (user.company.is_supplier and user.has_role(Role.accounts)):
        raise Forbidden(_l("Only a supplier's accounts team manages credit accounts."))


@bp.route("/credit-accounts", methods=["GET"])
@bp.response(200, Schema.from_dict({"default": fields.Nested(CreditAccountOut, allow_none=True),
                                    "items": fields.List(fields.Nested(CreditAccountOut))},
                                   name="CreditAccountList"))
def list_credit_accounts():
    """Supplier accounts team: the default account and one row per known buyer (limit, exposure, available)."""
    user = actor()
    _require_supplier_accounts(user)
    default, rows = credit_services.accounts_overview(user.company_id)
    return {"default": _account_row(default) if default else None,
            "items": [_account_row(r.effective, r.buyer, r.unpaid, r.reserved, supplier_id=user.company_id)
                      | {"own_account": r.account is not None} for r in rows]}


@bp.route("/credit-accounts/<int(max=2147483647):buyer_company_id>", methods=["PUT"])
@bp.arguments(CreditAccountIn)
@bp.response(200, CreditAccountOut)
def set_credit_account(data, buyer_company_id):
    """Set the credit limit and payment terms for one buyer (supplier accounts team; any buying company of the
    directory, also before its first order)."""
    user = actor()
    _require_supplier_accounts(user)
    acc = credit_services.save_account(
        user, buyer_company_id, limit_amount=str(data["limit"]["amount"]), currency=data["limit"]["currency"],
        payment_terms_days=data["payment_terms_days"], block_on_overdue=data.get("block_on_overdue", True))
    buyer = credit_services.buyer_for_supplier(user, buyer_company_id)
    return _account_row(acc, buyer)


@bp.route("/credit-holds", methods=["GET"])
@bp.response(200, Schema.from_dict({"items": fields.List(fields.Nested(HoldOut))}, name="CreditHoldList"))
def list_credit_holds():
    """Supplier accounts team: orders on credit hold, oldest first, with the check's reason."""
    user = actor()
    _require_supplier_accounts(user)
    held = credit_services.holds(user.company_id)
    if held:  # lines and shipments of every held order in two statements, not two per order (issue 20)
        db.session.scalars(sa.select(PurchaseOrder).where(PurchaseOrder.id.in_([o.id for o, _ in held]))
                           .options(selectinload(PurchaseOrder.lines),
                                    selectinload(PurchaseOrder.shipments).selectinload(Shipment.lines))
                           .execution_options(populate_existing=True)).all()
    return {"items": [{"order": order_dict(o, user), "reason": cc.reason if cc else None,
                       "checked_at": ts(cc.checked_at) if cc else None}
                      for o, cc in held]}


def _hold(order_id) -> PurchaseOrder:
    user = actor()
    order = credit_services.hold_for_supplier(user, order_id)
    return order


@bp.route("/orders/<int(max=2147483647):order_id>/release", methods=["POST"])
@bp.arguments(CommentArgs)
@bp.response(200, OrderOut)
def release_credit_hold(data, order_id):
    """Supplier accounts team: release an order from credit hold (it is placed and reserved)."""
    order = _hold(order_id)
    credit_services.release_hold(order, actor(), data["comment"], expected_lock_version=data.get("lock_version"))
    return _fresh(order.id)


@bp.route("/orders/<int(max=2147483647):order_id>/reject-hold", methods=["POST"])
@bp.arguments(CommentArgs)
@bp.response(200, OrderOut)
def reject_credit_hold(data, order_id):
    """Supplier accounts team: reject an order on credit hold (the comment is the reason the buyer sees)."""
    order = _hold(order_id)
    credit_services.reject_hold(order, actor(), data["comment"], expected_lock_version=data.get("lock_version"))
    return _fresh(order.id)



@bp.route("/shipments/<int(max=2147483647):shipment_id>", methods=["GET"])
@bp.response(200, ShipmentOut)
def get_shipment(shipment_id):
    """One shipment of an order your company is party to (its lines, receipt state and quantities)."""
    from portal.errors import NotFound
    from portal.tenancy import get_for_company as _load

    try:
        shipment = _load(Shipment, shipment_id, actor().company_id)
    except NotFound:
        raise NotFound(_l("No such shipment.")) from None
    return shipment_dict(shipment)


# Draft edits, change orders, revisions and short-close (issue 12) live in their own module, on this blueprint.
from portal.api import changes as _changes  # noqa: E402,F401
from portal.api import approval_rules as _approval_rules  # noqa: E402,F401
