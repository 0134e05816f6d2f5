"""Order changes over the API: editing a draft's lines, change orders (preview, propose, decide per line, approve,
credit hold, withdraw), the revisions of an order with their PDFs, and short-close.

Writes carry an optional ``lock_version`` (the order's for order calls, the change's for change calls): a stale
one is 409 with a sentence; without it the call acts on the current state. Creating a change accepts an
Idempotency-Key."""
from __future__ import annotations

from flask import Response, url_for
from marshmallow import Schema, fields, validate

from portal.api.auth import idempotent
from portal.api.common import actor, created, money
from portal.api.spec import RATE_LIMIT_HEADERS
from portal.api.ordering import OrderCreatedOut, OrderOut, _fresh, _order
from portal.api.schemas import exact_money
from portal.api.schemas import (BoundedInt, DecimalString, LockArgs, MoneyField, MoneyOut, amount_in, lock_or_current,
                                 plain, ts)
from portal.errors import NotFound
from portal.i18n import _l
from portal.orders import changes, drafts, revisions, shortclose
from portal.orders.models import OrderChange

# The routes join the Ordering section: this module is imported at the end of portal.api.ordering and adds its
# operations to that blueprint (endpoint names api_ordering.*).
from portal.api.ordering import bp  # noqa: E402


# --------------------------------------------------------------------------------------------- schemas

class DraftLineEditIn(Schema):
    order_line_id = BoundedInt(required=True)
    quantity = DecimalString(allow_none=True)
    delivery_date = fields.Date(allow_none=True)
    cost_reference = fields.String(allow_none=True, validate=validate.Length(max=100))
    unit_price = MoneyField(allow_none=True, metadata={
        "description": "Refused: prices come from the catalog, the buyer's price list or the quote"})
    remove = fields.Boolean(load_default=False)


class DraftNewLineIn(Schema):
    sku = fields.String(required=True, validate=validate.Length(min=1, max=64))
    quantity = DecimalString(required=True)
    delivery_date = fields.Date(allow_none=True)
    cost_reference = fields.String(allow_none=True, validate=validate.Length(max=100))


class DraftEditIn(LockArgs):
    delivery_date = fields.Date(allow_none=True)
    delivery_address = fields.String(validate=validate.Length(min=1, max=2000))
    notes = fields.String(validate=validate.Length(max=4000))
    internal_notes = fields.String(validate=validate.Length(max=4000))
    lines = fields.List(fields.Nested(DraftLineEditIn), load_default=list, validate=validate.Length(max=1000))
    new_lines = fields.List(fields.Nested(DraftNewLineIn), load_default=list, validate=validate.Length(max=500))


class ChangeLineIn(Schema):
    order_line_id = BoundedInt(required=True)
    quantity = DecimalString(allow_none=True)
    date = fields.Date(allow_none=True)
    unit_price = MoneyField(allow_none=True, metadata={"description": "Not on awarded lines; in the order's "
                                                                       "currency."})
    cancel = fields.Boolean(load_default=False, metadata={"description": "Cancel the open quantity of the line"})
    reason = fields.String(allow_none=True, validate=validate.Length(max=500))


class ChangeNewLineIn(Schema):
    sku = fields.String(required=True, validate=validate.Length(min=1, max=64))
    quantity = DecimalString(required=True)
    date = fields.Date(allow_none=True)
    reason = fields.String(allow_none=True, validate=validate.Length(max=500))


class ChangeIn(LockArgs):
    lines = fields.List(fields.Nested(ChangeLineIn), load_default=list, validate=validate.Length(max=1000))
    new_lines = fields.List(fields.Nested(ChangeNewLineIn), load_default=list, validate=validate.Length(max=50))
    reason = fields.String(load_default="", validate=validate.Length(max=2000))


class ChangeLineOut(Schema):
    id = fields.Integer(allow_none=True)
    kind = fields.String(metadata={"description": "update | add | cancel"})
    order_line_id = fields.Integer(allow_none=True)
    position = fields.Integer()
    sku = fields.String(allow_none=True)
    description = fields.String()
    unit = fields.String()
    old_quantity = DecimalString(allow_none=True)
    new_quantity = DecimalString(allow_none=True)
    old_date = fields.Date(allow_none=True)
    new_date = fields.Date(allow_none=True)
    old_unit_price = fields.Nested(MoneyOut, allow_none=True)
    new_unit_price = fields.Nested(MoneyOut, allow_none=True)
    reason = fields.String()
    decision = fields.String(metadata={"description": "pending | accepted | rejected"})
    decision_reason = fields.String(allow_none=True)
    text = fields.String(metadata={"description": "The change in words, old → new"})


class ChangePreviewOut(Schema):
    old_total = fields.Nested(MoneyOut)
    new_total = fields.Nested(MoneyOut)
    lines = fields.List(fields.Nested(ChangeLineOut))
    notes = fields.List(fields.String())


class ChangeOut(Schema):
    id = fields.Integer()
    order_id = fields.Integer()
    number = fields.Integer()
    origin = fields.String(metadata={"description": "buyer (a change order) | supplier (proposals at acknowledgement)"})
    status = fields.String()
    base_revision = fields.Integer()
    reason = fields.String()
    old_total = fields.Nested(MoneyOut)
    new_total = fields.Nested(MoneyOut, metadata={"description": "If every line is accepted"})
    approvals_required = fields.Integer()
    proposed_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    revision_number = fields.Integer(allow_none=True)
    lock_version = fields.Integer()
    lines = fields.List(fields.Nested(ChangeLineOut))


class DecisionLineIn(Schema):
    change_line_id = BoundedInt(required=True)
    decision = fields.String(required=True, validate=validate.OneOf(["accept", "reject"]))
    reason = fields.String(allow_none=True, validate=validate.Length(max=500))


class DecisionsIn(LockArgs):
    lines = fields.List(fields.Nested(DecisionLineIn), required=True, validate=validate.Length(min=1, max=1100))


class ApprovalIn(LockArgs):
    decision = fields.String(required=True, validate=validate.OneOf(["approved", "rejected"]))
    comment = fields.String(load_default="", validate=validate.Length(max=2000))


class HoldIn(LockArgs):
    release = fields.Boolean(required=True)
    comment = fields.String(load_default="", validate=validate.Length(max=2000))


class RevisionOut(Schema):
    number = fields.Integer()
    created_at = fields.DateTime()
    summary = fields.String()
    total_net = fields.Nested(MoneyOut)
    change_id = fields.Integer(allow_none=True)
    proposed_by = fields.String(allow_none=True)
    accepted_by = fields.String(allow_none=True)
    pdf = fields.String(allow_none=True, metadata={"description": "URL of the PDF once rendered"})
    pdf_sha256 = fields.String(allow_none=True)


class ShortCloseIn(LockArgs):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))
    order_line_ids = fields.List(BoundedInt(), load_default=None, allow_none=True, validate=validate.Length(max=1000),
                                 metadata={"description": "Omit to close every line with an open quantity"})


# --------------------------------------------------------------------------------------------- helpers

def _line_dict(cl, currency: str) -> dict:
    return {"id": cl.id, "kind": cl.kind.value, "order_line_id": cl.order_line_id, "position": cl.position,
            "sku": cl.sku, "description": cl.description, "unit": cl.unit, "old_quantity": plain(cl.old_quantity),
            "new_quantity": plain(cl.new_quantity), "old_date": cl.old_date, "new_date": cl.new_date,
            "old_unit_price": exact_money(cl.old_unit_price, currency) if cl.old_unit_price is not None else None,
            "new_unit_price": exact_money(cl.new_unit_price, currency) if cl.new_unit_price is not None else None,
            "reason": cl.reason or "", "decision": cl.decision.value if cl.decision else "pending",
            "decision_reason": cl.decision_reason, "text": changes.line_text(cl, currency)}


def _change_dict(c: OrderChange) -> dict:
    cur = c.currency
    return {"id": c.id, "order_id": c.order_id, "number": c.number, "origin": c.origin.value,
            "status": c.status.value, "base_revision": c.base_revision, "reason": c.reason or "",
            "old_total": money(c.old_total, cur), "new_total": money(c.new_total, cur),
            "approvals_required": c.approvals_required, "proposed_at": ts(c.proposed_at),
            "decided_at": ts(c.decided_at), "revision_number": c.revision_number, "lock_version": c.lock_version,
            "lines": [_line_dict(cl, cur) for cl in c.lines]}


def _change(order, change_id) -> OrderChange:
    change = changes.get_change(order, change_id)
    if actor().company_id != order.buyer_company_id and not changes.sent_to_supplier(change):
        raise NotFound(_l("No such change."))
    return change


def _fresh_change(change_id: int) -> dict:
    from portal.db import db

    db.session.expire_all()
    return _change_dict(db.session.get(OrderChange, change_id))


def _change_input(data, currency: str) -> tuple[dict, list]:
    lines = {}
    for i, ln in enumerate(data.get("lines") or []):
        price = amount_in(ln.get("unit_price"), currency, f"lines.{i}.unit_price", f"Line {i + 1}: the unit price")
        lines[ln["order_line_id"]] = {
            "quantity": "" if ln.get("quantity") is None else str(ln["quantity"]),
            "date": ln.get("date") or "", "unit_price": "" if price is None else str(price),
            "cancel": "1" if ln.get("cancel") else "", "reason": ln.get("reason") or ""}
    new_lines = [{"sku": n["sku"], "quantity": str(n["quantity"]), "date": n.get("date") or "",
                  "reason": n.get("reason") or ""} for n in data.get("new_lines") or []]
    return lines, new_lines


# --------------------------------------------------------------------------------------------- drafts

@bp.route("/orders/<int(max=2147483647):order_id>/draft", methods=["POST"])
@bp.arguments(DraftEditIn)
@bp.response(200, OrderCreatedOut)
def edit_draft(data, order_id):
    """Edit a draft: header fields (omitted = unchanged), line edits (quantity, date, cost reference, remove) and
    new catalog lines by SKU. Catalog lines are priced again on the total per SKU; awarded prices are fixed.
    All or nothing."""
    order = _order(order_id)
    body = {k: data[k] for k in ("delivery_date", "delivery_address", "notes", "internal_notes") if k in data}
    body["lines"] = {}
    for i, ln in enumerate(data["lines"]):
        edit = {"remove": "1" if ln.get("remove") else ""}
        if ln.get("quantity") is not None:
            edit["quantity"] = str(ln["quantity"])
        if "delivery_date" in ln:
            edit["delivery_date"] = ln["delivery_date"]
        if ln.get("cost_reference") is not None:
            edit["cost_reference"] = ln["cost_reference"]
        if ln.get("unit_price") is not None:
            edit["unit_price"] = str(amount_in(ln["unit_price"], order.currency, f"lines.{i}.unit_price",
                                               f"Line {i + 1}: the unit price"))
        body["lines"][ln["order_line_id"]] = edit
    body["new_lines"] = [{"sku": n["sku"], "quantity": str(n["quantity"]), "delivery_date": n.get("delivery_date"),
                          "cost_reference": n.get("cost_reference") or ""} for n in data["new_lines"]]
    order, notes = drafts.update_draft(order, actor(), lock_or_current(order, data.get("lock_version")), body)
    out = _fresh(order.id)
    out["pricing_notes"] = notes
    return out


# --------------------------------------------------------------------------------------------- changes

@bp.route("/orders/<int(max=2147483647):order_id>/changes/preview", methods=["POST"])
@bp.arguments(ChangeIn)
@bp.response(200, ChangePreviewOut)
def preview_change(data, order_id):
    """What a change order would be: old → new per line and the new total. Nothing is saved."""
    order = _order(order_id)
    lines, new_lines = _change_input(data, order.currency)
    plan = changes.preview(order, actor(), lines, new_lines)
    return {"old_total": money(plan.old_total, order.currency), "new_total": money(plan.new_total, order.currency),
            "lines": [_line_dict(cl, order.currency) for cl in plan.lines], "notes": plan.notes}


@bp.route("/orders/<int(max=2147483647):order_id>/changes", methods=["POST"])
@idempotent
@bp.arguments(ChangeIn)
@bp.response(201, ChangeOut)
@created("api_ordering.get_order_change", order_id="order_id", change_id="id")
def propose_change(data, order_id):
    """The buyer proposes a change order (send the order's lock_version). It goes to the approvers first when the
    new total needs more approvals, on credit hold when an increase does not fit the limit, else to the
    supplier."""
    order = _order(order_id)
    lines, new_lines = _change_input(data, order.currency)
    change = changes.propose(order, actor(), lock_or_current(order, data.get("lock_version")), lines, new_lines,
                             data.get("reason") or "")
    return _fresh_change(change.id)


@bp.route("/orders/<int(max=2147483647):order_id>/changes", methods=["GET"])
@bp.response(200, ChangeOut(many=True))
def list_changes(order_id):
    """The order's changes (newest first), both origins; the supplier sees the changes sent to it."""
    order = _order(order_id)
    return [_change_dict(c) for c in changes.visible_changes(order, actor().company_id)]


@bp.route("/orders/<int(max=2147483647):order_id>/changes/<int(max=2147483647):change_id>", methods=["GET"])
@bp.response(200, ChangeOut)
def get_order_change(order_id, change_id):
    """One change of the order: old → new per line, the decisions and the totals."""
    order = _order(order_id)
    return _change_dict(_change(order, change_id))


@bp.route("/orders/<int(max=2147483647):order_id>/changes/<int(max=2147483647):change_id>/decision",
          methods=["POST"])
@bp.arguments(DecisionsIn)
@bp.response(200, ChangeOut)
def decide_change(data, order_id, change_id):
    """The other party accepts or rejects every line (a rejection needs a reason); send the change's lock_version.
    A change that is no longer current (decided, withdrawn, the order on another revision) is 409."""
    order = _order(order_id)
    change = _change(order, change_id)
    decisions = {d["change_line_id"]: {"decision": d["decision"], "reason": d.get("reason") or ""}
                 for d in data["lines"]}
    changes.decide(order, change.id, actor(), lock_or_current(change, data.get("lock_version")), decisions)
    return _fresh_change(change.id)


@bp.route("/orders/<int(max=2147483647):order_id>/changes/<int(max=2147483647):change_id>/approval",
          methods=["POST"])
@bp.arguments(ApprovalIn)
@bp.response(200, ChangeOut)
def approve_change(data, order_id, change_id):
    """A buyer's approver approves or rejects (with a comment) a change awaiting approval."""
    order = _order(order_id)
    change = _change(order, change_id)
    changes.decide_approval(order, change.id, actor(), lock_or_current(change, data.get("lock_version")),
                            data["decision"], data.get("comment") or "")
    return _fresh_change(change.id)


@bp.route("/orders/<int(max=2147483647):order_id>/changes/<int(max=2147483647):change_id>/credit-hold",
          methods=["POST"])
@bp.arguments(HoldIn)
@bp.response(200, ChangeOut)
def change_hold(data, order_id, change_id):
    """The supplier's accounts team releases a change on credit hold, or refuses it (with a comment)."""
    order = _order(order_id)
    change = _change(order, change_id)
    changes.decide_credit_hold(order, change.id, actor(), lock_or_current(change, data.get("lock_version")),
                               data["release"], data.get("comment") or "")
    return _fresh_change(change.id)


@bp.route("/orders/<int(max=2147483647):order_id>/changes/<int(max=2147483647):change_id>/withdraw",
          methods=["POST"])
@bp.arguments(LockArgs)
@bp.response(200, ChangeOut)
def withdraw_change(data, order_id, change_id):
    """The buyer withdraws an open change order."""
    order = _order(order_id)
    change = _change(order, change_id)
    changes.withdraw(order, change.id, actor(), lock_or_current(change, data.get("lock_version")))
    return _fresh_change(change.id)


# --------------------------------------------------------------------------------------------- revisions

@bp.route("/orders/<int(max=2147483647):order_id>/revisions", methods=["GET"])
@bp.response(200, RevisionOut(many=True))
def list_revisions(order_id):
    """Every revision of the order: what changed, who proposed and who accepted, when, and its PDF."""
    order = _order(order_id)
    return [{"number": r.number, "created_at": ts(r.created_at), "summary": r.summary,
             "total_net": money(r.total_net, r.currency), "change_id": r.change_id,
             "proposed_by": r.proposed_by.name if r.proposed_by else None,
             "accepted_by": r.accepted_by.name if r.accepted_by else None,
             "pdf": url_for("api_ordering.revision_pdf", order_id=order.id, number=r.number)
             if r.pdf_file_id else None, "pdf_sha256": r.pdf_sha256} for r in revisions.revisions_for(order.id)]


@bp.route("/orders/<int(max=2147483647):order_id>/revisions/<int(max=2147483647):number>/pdf", methods=["GET"])
@bp.doc(responses={"200": {"description": "The stored PDF of the revision, exactly the bytes rendered.",
                            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
                            "headers": {name: {"$ref": f"#/components/headers/{name}"}
                                        for name in RATE_LIMIT_HEADERS}}})
def revision_pdf(order_id, number):
    """The PDF of one revision (404 while it is being rendered or when there is no such revision)."""
    from portal.db import db
    from portal.documents.models import StoredFile
    from portal.documents.store import read_bytes

    order = _order(order_id)
    rev = revisions.get_revision(order, number)
    if rev is None:
        raise NotFound(_l("No such revision."))
    f = db.session.get(StoredFile, rev.pdf_file_id) if rev.pdf_file_id else None
    if f is None:
        raise NotFound(_l("The PDF of revision %(number)s is still being rendered; try again shortly."),
                       number=rev.number)
    return Response(read_bytes(f), mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{f.filename}"', "ETag": f'"{f.sha256}"',
        "X-Content-SHA256": f.sha256})


# --------------------------------------------------------------------------------------------- short-close

@bp.route("/orders/<int(max=2147483647):order_id>/short-close", methods=["POST"])
@bp.arguments(ShortCloseIn)
@bp.response(200, OrderOut)
def short_close_order(data, order_id):
    """The buyer closes the open quantity of the given lines (all, if omitted), with a reason; the reservation
    shrinks and invoicing follows."""
    order = _order(order_id)
    shortclose.short_close(order, actor(), lock_or_current(order, data.get("lock_version")), data["reason"],
                           data.get("order_line_ids"))
    return _fresh(order.id)
