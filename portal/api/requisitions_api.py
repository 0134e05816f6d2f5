"""Requisitions, cost centres, GL accounts and budgets over the API: raise and decide requisitions, see the budget
impact, turn approved requisitions into an RFQ or catalog orders; keep the master data; read budgets with their
committed, actual and available figures (computed from the documents)."""
from __future__ import annotations

import sqlalchemy as sa
from marshmallow import Schema, fields, validate
from sqlalchemy.orm import selectinload

from portal.api.common import (
    ListArgs,
    ListPlan,
    actor,
    created,
    list_documents,
    make_blueprint,
    money,
    paged_schema,
)
from portal.api.schemas import (
    BoundedInt,
    DecimalString,
    LockArgs,
    MoneyOut,
    lock_or_current,
    plain,
    ts,
)
from portal.budgets import rates
from portal.budgets import services as budget_services
from portal.budgets.figures import figures_for
from portal.budgets.models import Budget, BudgetMode, CostCentre, ExchangeRate, GlAccount, PeriodKind
from portal.db import db
from portal.errors import NotFound
from portal.requisitions import services
from portal.requisitions.models import Requisition
from portal.requisitions.states import RequisitionStatus
from portal.tenancy import get_for_company, scoped
from portal.i18n import _l

bp = make_blueprint("api_requisitions", "Requisitions, cost centres, GL accounts and budgets.",
                    tag="Requisitions and budgets")
ID = {"strict": False, "validate": validate.Range(min=1, max=2**31 - 1)}


# --------------------------------------------------------------------------------------------- schemas

class CostCentreOut(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    owner_id = fields.Integer(required=True, allow_none=True)
    active = fields.Boolean(required=True)


class CostCentreIn(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=32))
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    owner_id = BoundedInt(required=True, **ID)
    active = fields.Boolean(load_default=True)


class GlAccountOut(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    active = fields.Boolean(required=True)


class GlAccountIn(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=32))
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    active = fields.Boolean(load_default=True)


class CostCentreList(Schema):
    items = fields.List(fields.Nested(CostCentreOut), required=True)


class GlAccountList(Schema):
    items = fields.List(fields.Nested(GlAccountOut), required=True)


class BudgetOut(Schema):
    id = fields.Integer(required=True)
    cost_centre_id = fields.Integer(required=True)
    cost_centre_code = fields.String(required=True)
    period_kind = fields.String(required=True, validate=validate.OneOf([k.value for k in PeriodKind]))
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    budget = fields.Nested(MoneyOut, required=True)
    committed_requisitions = fields.Nested(MoneyOut, required=True)
    committed_orders = fields.Nested(MoneyOut, required=True)
    committed = fields.Nested(MoneyOut, required=True)
    actual = fields.Nested(MoneyOut, required=True)
    available = fields.Nested(MoneyOut, required=True)
    lock_version = fields.Integer(required=True)


class BudgetList(Schema):
    items = fields.List(fields.Nested(BudgetOut), required=True)


class BudgetIn(Schema):
    cost_centre_id = BoundedInt(required=True, **ID)
    period_kind = fields.String(required=True, validate=validate.OneOf([k.value for k in PeriodKind]))
    period_start = fields.Date(required=True, metadata={"description": "The period's first day."})
    amount = DecimalString(required=True, places=2, metadata={"description": "In the company currency."})


class ExchangeRateOut(Schema):
    id = fields.Integer(required=True)
    currency = fields.String(required=True, metadata={"description": "The foreign currency (ISO 4217).",
                                                      "example": "USD"})
    rate = fields.String(required=True, metadata={
        "description": "Units of the company currency per 1 unit of the foreign currency, exact (8 places at most).",
        "example": "0.92500000"})
    company_currency = fields.String(required=True, metadata={"example": "EUR"})
    valid_from = fields.Date(required=True, metadata={"description": "Valid from this day until the next rate of "
                                                                     "the same currency."})


class ExchangeRateList(Schema):
    items = fields.List(fields.Nested(ExchangeRateOut), required=True)


class ExchangeRateIn(Schema):
    currency = fields.String(required=True, validate=validate.Length(min=1, max=3),
                             metadata={"description": "ISO 4217, not the company's own.", "example": "USD"})
    rate = DecimalString(required=True, places=8, metadata={
        "description": "More than 0: units of the company currency per 1 unit of the foreign currency.",
        "example": "0.925"})
    valid_from = fields.Date(required=True)


class BudgetSettingsOut(Schema):
    cost_centre_required = fields.Boolean(required=True)
    budget_mode = fields.String(required=True, validate=validate.OneOf([m.value for m in BudgetMode]))


class BudgetSettingsIn(Schema):
    cost_centre_required = fields.Boolean(required=True)
    budget_mode = fields.String(required=True, validate=validate.OneOf([m.value for m in BudgetMode]))


class RequisitionLineIn(Schema):
    description = fields.String(load_default="", validate=validate.Length(max=500))
    sku = fields.String(load_default="", validate=validate.Length(max=64),
                        metadata={"description": "A catalog item's SKU (its name and price become the defaults)."})
    quantity = DecimalString(required=True)
    unit = fields.String(load_default="", validate=validate.Length(max=16))
    estimated_price = DecimalString(load_default=None, allow_none=True,
                                    metadata={"description": "Per unit, in the requisition's currency."})
    needed_by = fields.Date(load_default=None, allow_none=True)
    cost_centre_id = BoundedInt(load_default=None, allow_none=True, **ID)
    gl_account_id = BoundedInt(load_default=None, allow_none=True, **ID)


class RequisitionIn(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    justification = fields.String(load_default="", validate=validate.Length(max=4000))
    suggested_supplier_id = BoundedInt(load_default=None, allow_none=True, **ID)
    suggested_supplier_text = fields.String(load_default="", validate=validate.Length(max=200))
    lines = fields.List(fields.Nested(RequisitionLineIn), required=True, validate=validate.Length(min=1, max=200))
    submit = fields.Boolean(load_default=False, metadata={"description": "Submit for approval at once."})


class RequisitionLineOut(Schema):
    id = fields.Integer(required=True)
    position = fields.Integer(required=True)
    catalog_item_id = fields.Integer(required=True, allow_none=True)
    description = fields.String(required=True)
    quantity = DecimalString(required=True)
    unit = fields.String(required=True)
    estimated_price = fields.Nested(MoneyOut, required=True)
    line_total = fields.Nested(MoneyOut, required=True)
    needed_by = fields.Date(required=True, allow_none=True)
    cost_centre_id = fields.Integer(required=True, allow_none=True)
    gl_account_id = fields.Integer(required=True, allow_none=True)
    rfq_line_id = fields.Integer(required=True, allow_none=True)
    order_line_id = fields.Integer(required=True, allow_none=True)


class RequisitionOut(Schema):
    id = fields.Integer(required=True)
    number = fields.String(required=True)
    title = fields.String(required=True)
    justification = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf([s.value for s in RequisitionStatus]))
    requester_id = fields.Integer(required=True)
    suggested_supplier_id = fields.Integer(required=True, allow_none=True)
    suggested_supplier_text = fields.String(required=True)
    total_estimated = fields.Nested(MoneyOut, required=True)
    submitted_at = fields.DateTime(required=True, allow_none=True)
    approved_at = fields.DateTime(required=True, allow_none=True)
    decision_note = fields.String(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    lock_version = fields.Integer(required=True)
    lines = fields.List(fields.Nested(RequisitionLineOut), required=True)


class RequisitionQuery(ListArgs):
    status = fields.String(load_default=None, validate=validate.OneOf([s.value for s in RequisitionStatus]))
    mine = fields.Boolean(load_default=False, metadata={"description": "Only the requisitions you raised."})


class RequisitionDecisionIn(LockArgs):
    decision = fields.String(required=True, validate=validate.OneOf(["approved", "rejected"]))
    comment = fields.String(load_default="", validate=validate.Length(max=2000))
    over_budget = fields.Boolean(load_default=False, metadata={
        "description": "The cost-centre owner approves beyond the budget (needed when the company blocks)."})


class RequisitionCancelIn(LockArgs):
    reason = fields.String(load_default="", validate=validate.Length(max=4000))


class BudgetImpactRowOut(Schema):
    cost_centre_id = fields.Integer(required=True)
    requisition_amount = fields.Nested(MoneyOut, required=True)
    budget_id = fields.Integer(required=True, allow_none=True)
    available = fields.Nested(MoneyOut, required=True, allow_none=True)
    available_after = fields.Nested(MoneyOut, required=True, allow_none=True)
    exceeds = fields.Boolean(required=True)


class BudgetImpactOut(Schema):
    budget_mode = fields.String(required=True, validate=validate.OneOf([m.value for m in BudgetMode]))
    rows = fields.List(fields.Nested(BudgetImpactRowOut), required=True)


class OrderBudgetImpactRowOut(Schema):
    cost_centre_id = fields.Integer(required=True)
    order_amount = fields.Nested(MoneyOut, required=True, metadata={"description": "The order's lines on the cost "
                                                                                    "centre."})
    already_committed = fields.Nested(MoneyOut, required=True, metadata={
        "description": "Of which approved requisition lines (on these order lines) already commit to the same "
                       "budget: not counted twice."})
    this_order = fields.Nested(MoneyOut, required=True, metadata={"description": "What sending the order adds."})
    budget_id = fields.Integer(required=True, allow_none=True)
    available = fields.Nested(MoneyOut, required=True, allow_none=True)
    available_after = fields.Nested(MoneyOut, required=True, allow_none=True)
    exceeds = fields.Boolean(required=True)


class OrderBudgetImpactOut(Schema):
    budget_mode = fields.String(required=True, validate=validate.OneOf([m.value for m in BudgetMode]))
    day = fields.Date(required=True, metadata={"description": "The day whose budgets count (today, UTC)."})
    counted = fields.Boolean(required=True, metadata={"description": "False: the order is in another currency "
                                                                     "than the company's and the company has no "
                                                                     "exchange rate for it valid on the day: it "
                                                                     "counts in no budget."})
    exchange_rate = fields.String(required=True, allow_none=True, metadata={
        "description": "An order in another currency: the company's rate valid on the day (company currency per 1 "
                       "unit) its lines are converted with, rounded per line; the amounts are in the company "
                       "currency. Null for an order in the company currency or without a rate.",
        "example": "0.92500000"})
    sent = fields.Boolean(required=True, metadata={"description": "True: the order was sent; its amount is in the "
                                                                  "figures already and the rows are empty."})
    waiting_for_owners = fields.List(fields.Integer(), required=True, metadata={
        "description": "Cost centres (ids) whose owner must approve the order over budget before it is sent."})
    rows = fields.List(fields.Nested(OrderBudgetImpactRowOut), required=True)


class RequisitionSourcingIn(Schema):
    requisition_ids = fields.List(BoundedInt(**ID), required=True, validate=validate.Length(min=1, max=50))
    title = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class SourcedRfqOut(Schema):
    rfq_id = fields.Integer(required=True)
    reference = fields.String(required=True)


class SourcedOrdersOut(Schema):
    order_ids = fields.List(fields.Integer(), required=True)


# --------------------------------------------------------------------------------------------- helpers

def _req_dict(r: Requisition) -> dict:
    cur = r.currency
    return {"id": r.id, "number": r.number, "title": r.title, "justification": r.justification,
            "status": r.status.value, "requester_id": r.requester_id, "suggested_supplier_id": r.suggested_supplier_id,
            "suggested_supplier_text": r.suggested_supplier_text or "",
            "total_estimated": money(r.total_estimated, cur), "submitted_at": ts(r.submitted_at),
            "approved_at": ts(r.approved_at), "decision_note": r.decision_note, "created_at": ts(r.created_at),
            "updated_at": ts(r.updated_at), "lock_version": r.lock_version,
            "lines": [{"id": ln.id, "position": ln.position, "catalog_item_id": ln.catalog_item_id,
                       "description": ln.description, "quantity": plain(ln.quantity), "unit": ln.unit,
                       "estimated_price": money(ln.estimated_price, cur), "line_total": money(ln.line_total, cur),
                       "needed_by": ln.needed_by, "cost_centre_id": ln.cost_centre_id,
                       "gl_account_id": ln.gl_account_id, "rfq_line_id": ln.rfq_line_id,
                       "order_line_id": ln.order_line_id} for ln in r.lines]}


def _fresh(req_id) -> dict:
    db.session.expire_all()
    return _req_dict(get_for_company(Requisition, req_id, actor().company_id))


def _budget_dicts(rows) -> list[dict]:
    user = actor()
    figs = figures_for(user.company_id, user.company.default_currency, rows)
    out = []
    for b in rows:
        f, cur = figs[b.id], b.currency
        out.append({"id": b.id, "cost_centre_id": b.cost_centre_id, "cost_centre_code": b.cost_centre.code,
                    "period_kind": b.period_kind.value, "period_start": b.period_start, "period_end": b.period_end,
                    "budget": money(b.amount, cur), "committed_requisitions": money(f.committed_requisitions, cur),
                    "committed_orders": money(f.committed_orders, cur), "committed": money(f.committed, cur),
                    "actual": money(f.actual, cur), "available": money(f.available, cur),
                    "lock_version": b.lock_version})
    return out


def _buyer():
    from portal.errors import Forbidden

    user = actor()
    if not user.company.is_buyer:
        raise Forbidden(_l("Requisitions and budgets belong to buying companies."))
    return user


# --------------------------------------------------------------------------------------------- requisitions

REQUISITION_LIST = ListPlan(Requisition, reference=(Requisition.number,))


@bp.route("/requisitions", methods=["GET"])
@bp.arguments(RequisitionQuery, location="query")
@bp.response(200, paged_schema(RequisitionOut, "RequisitionPage"))
def list_requisitions(args):
    """The company's requisitions (``mine``: the ones you raised), newest last by id unless sorted."""
    user = _buyer()
    stmt = scoped(Requisition, user.company_id)
    if args.get("status"):
        stmt = stmt.where(Requisition.status == RequisitionStatus(args["status"]))
    if args.get("mine"):
        stmt = stmt.where(Requisition.requester_id == user.id)
    return list_documents(stmt, REQUISITION_LIST, args, user.company_id, "api_requisitions.list_requisitions",
                          _req_dict, options=(selectinload(Requisition.lines),))


@bp.route("/requisitions", methods=["POST"])
@bp.arguments(RequisitionIn)
@bp.response(201, RequisitionOut)
@created("api_requisitions.get_requisition", requisition_id="id")
def create_requisition(data):
    """Raise a requisition (any role of a buying company); ``submit`` sends it for approval in the same call (a
    refused submission saves nothing)."""
    user = _buyer()
    lines = [{**ln, "quantity": str(ln["quantity"]),
              "estimated_price": "" if ln.get("estimated_price") is None else str(ln["estimated_price"])}
             for ln in data["lines"]]
    req = services.save(user, title=data["title"], justification=data["justification"], lines=lines,
                        suggested_supplier_id=data["suggested_supplier_id"],
                        suggested_supplier_text=data["suggested_supplier_text"], submit=data["submit"])
    return _fresh(req.id)


@bp.route("/requisitions/<int(max=2147483647):requisition_id>", methods=["GET"])
@bp.response(200, RequisitionOut)
def get_requisition(requisition_id):
    """One requisition with its lines (and where they went: RFQ line, order line)."""
    return _fresh(get_for_company(Requisition, requisition_id, _buyer().company_id).id)


@bp.route("/requisitions/<int(max=2147483647):requisition_id>/submit", methods=["POST"])
@bp.arguments(LockArgs)
@bp.response(200, RequisitionOut)
def submit_requisition(data, requisition_id):
    """The requester submits a draft: the cost-centre owners, then the amount rules, decide."""
    req = get_for_company(Requisition, requisition_id, _buyer().company_id)
    services.submit(actor(), req.id, lock_or_current(req, data.get("lock_version")))
    return _fresh(req.id)


@bp.route("/requisitions/<int(max=2147483647):requisition_id>/decision", methods=["POST"])
@bp.arguments(RequisitionDecisionIn)
@bp.response(200, RequisitionOut)
def decide_requisition(data, requisition_id):
    """Approve or reject the next step. The approval that completes the round checks the budgets (422 when the
    company blocks and a budget would be exceeded without the owner's ``over_budget``)."""
    req = get_for_company(Requisition, requisition_id, _buyer().company_id)
    services.decide(actor(), req.id, lock_or_current(req, data.get("lock_version")), data["decision"],
                    comment=data["comment"], over_budget=data["over_budget"])
    return _fresh(req.id)


@bp.route("/requisitions/<int(max=2147483647):requisition_id>/cancel", methods=["POST"])
@bp.arguments(RequisitionCancelIn)
@bp.response(200, RequisitionOut)
def cancel_requisition(data, requisition_id):
    """The requester cancels before approval; procurement cancels an approved one (with a reason)."""
    req = get_for_company(Requisition, requisition_id, _buyer().company_id)
    services.cancel(actor(), req.id, lock_or_current(req, data.get("lock_version")), reason=data["reason"])
    return _fresh(req.id)


@bp.route("/requisitions/<int(max=2147483647):requisition_id>/budget-impact", methods=["GET"])
@bp.response(200, BudgetImpactOut)
def requisition_budget_impact(requisition_id):
    """What approving the requisition today does to each of its cost centres' budgets."""
    req = get_for_company(Requisition, requisition_id, _buyer().company_id)
    summary = services.budget_impact(req)
    cur = summary.currency  # the company's (an amount in another currency converted), or the requisition's
    return {"budget_mode": budget_services.settings_for(req.company_id).budget_mode.value,
            "rows": [{"cost_centre_id": r.cost_centre.id, "requisition_amount": money(r.amount, cur),
                      "budget_id": r.budget.id if r.budget else None,
                      "available": money(r.figures.available, r.budget.currency) if r.figures else None,
                      "available_after": money(r.available_after, r.budget.currency) if r.figures else None,
                      "exceeds": r.exceeds} for r in summary.rows]}


@bp.route("/orders/<int(max=2147483647):order_id>/budget-impact", methods=["GET"])
@bp.response(200, OrderBudgetImpactOut)
def order_budget_impact(order_id):
    """What sending a purchase order today does to each of its cost centres' budgets (the buyer's; another
    company's order is 404). Approve over budget: `POST /orders/{id}/approve` with `"over_budget": true`."""
    from portal.budgets import orders as budget_orders
    from portal.orders.approvals import current_round
    from portal.orders.models import PurchaseOrder

    user = actor()
    order = db.session.scalar(sa.select(PurchaseOrder).where(PurchaseOrder.id == order_id,
                                                             PurchaseOrder.buyer_company_id == user.company_id))
    if order is None:  # another company's, the supplier's too: budgets are the buyer's alone
        raise NotFound(_l("No such order."))
    sent = order.status not in budget_orders.BEFORE_SENDING
    imp = budget_orders.order_impact(order)
    cur = order.buyer.default_currency
    amount_cur = cur if imp.rate is not None else order.currency
    waiting = [] if sent else budget_orders.pending_owners(order, [a.id for a in current_round(order)], imp)
    return {"budget_mode": imp.mode.value, "day": imp.day, "counted": imp.counted, "sent": sent,
            "exchange_rate": None if imp.rate is None else f"{imp.rate:.8f}",
            "waiting_for_owners": [c.id for c in waiting],
            "rows": [] if sent else [
                {"cost_centre_id": r.cost_centre.id, "order_amount": money(r.amount, amount_cur),
                 "already_committed": money(r.counted, cur), "this_order": money(r.net, amount_cur),
                 "budget_id": r.budget.id if r.budget else None,
                 "available": money(r.figures.available, cur) if r.figures else None,
                 "available_after": money(r.available_after, cur) if r.figures else None,
                 "exceeds": r.exceeds} for r in imp.rows]}


@bp.route("/requisitions/rfq", methods=["POST"])
@bp.arguments(RequisitionSourcingIn)
@bp.response(201, SourcedRfqOut)
@created("api_sourcing.get_rfq", rfq_id="rfq_id")
def requisitions_to_rfq(data):
    """Procurement turns approved requisitions into one draft RFQ (a line per requisition line, linked)."""
    rfq = services.to_rfq(_buyer(), data["requisition_ids"], title=data.get("title"))
    return {"rfq_id": rfq.id, "reference": rfq.reference}


@bp.route("/requisitions/orders", methods=["POST"])
@bp.arguments(RequisitionSourcingIn)
@bp.response(200, SourcedOrdersOut)
def requisitions_to_orders(data):
    """Procurement turns approved requisitions of catalog items into draft orders, one per supplier."""
    orders = services.to_orders(_buyer(), data["requisition_ids"])
    return {"order_ids": [o.id for o in orders]}


# --------------------------------------------------------------------------------------------- master data

def _cc_dict(c):
    return {"id": c.id, "code": c.code, "name": c.name, "owner_id": c.owner_id, "active": c.active}


def _gl_dict(g):
    return {"id": g.id, "code": g.code, "name": g.name, "active": g.active}


@bp.route("/cost-centres", methods=["GET"])
@bp.response(200, CostCentreList)
def list_cost_centres():
    """The company's cost centres with their owners."""
    return {"items": [_cc_dict(c) for c in budget_services.cost_centres(_buyer().company_id)]}


@bp.route("/cost-centres", methods=["POST"])
@bp.arguments(CostCentreIn)
@bp.response(201, CostCentreOut)
@created("api_requisitions.update_cost_centre", cost_centre_id="id")
def create_cost_centre(data):
    """An administrator adds a cost centre (code unique per company; the owner a member)."""
    return _cc_dict(budget_services.save_cost_centre(_buyer(), **data))


@bp.route("/cost-centres/<int(max=2147483647):cost_centre_id>", methods=["PUT"])
@bp.arguments(CostCentreIn)
@bp.response(200, CostCentreOut)
def update_cost_centre(data, cost_centre_id):
    """An administrator changes a cost centre (code, name, owner, in use)."""
    cc = get_for_company(CostCentre, cost_centre_id, _buyer().company_id)
    return _cc_dict(budget_services.save_cost_centre(actor(), cc_id=cc.id, **data))


@bp.route("/gl-accounts", methods=["GET"])
@bp.response(200, GlAccountList)
def list_gl_accounts():
    """The company's GL accounts."""
    return {"items": [_gl_dict(g) for g in budget_services.gl_accounts(_buyer().company_id)]}


@bp.route("/gl-accounts", methods=["POST"])
@bp.arguments(GlAccountIn)
@bp.response(201, GlAccountOut)
@created("api_requisitions.update_gl_account", gl_account_id="id")
def create_gl_account(data):
    """An administrator adds a GL account."""
    return _gl_dict(budget_services.save_gl_account(_buyer(), **data))


@bp.route("/gl-accounts/<int(max=2147483647):gl_account_id>", methods=["PUT"])
@bp.arguments(GlAccountIn)
@bp.response(200, GlAccountOut)
def update_gl_account(data, gl_account_id):
    """An administrator changes a GL account."""
    gl = get_for_company(GlAccount, gl_account_id, _buyer().company_id)
    return _gl_dict(budget_services.save_gl_account(actor(), gl_id=gl.id, **data))


@bp.route("/budget-settings", methods=["GET"])
@bp.response(200, BudgetSettingsOut)
def get_budget_settings():
    """Whether requisition lines need a cost centre; warn or block when an approval would exceed a budget."""
    s = budget_services.settings_for(_buyer().company_id)
    return {"cost_centre_required": bool(s.cost_centre_required), "budget_mode": s.budget_mode.value}


@bp.route("/budget-settings", methods=["PUT"])
@bp.arguments(BudgetSettingsIn)
@bp.response(200, BudgetSettingsOut)
def put_budget_settings(data):
    """An administrator changes the settings."""
    s = budget_services.save_settings(_buyer(), **data)
    return {"cost_centre_required": bool(s.cost_centre_required), "budget_mode": s.budget_mode.value}


# --------------------------------------------------------------------------------------------- budgets

@bp.route("/budgets", methods=["GET"])
@bp.response(200, BudgetList)
def list_budgets():
    """Every budget with committed, actual and available (computed from the documents in one statement)."""
    return {"items": _budget_dicts(budget_services.budgets_of(_buyer().company_id))}


@bp.route("/budgets", methods=["POST"])
@bp.arguments(BudgetIn)
@bp.response(201, BudgetOut)
@created("api_requisitions.get_budget", budget_id="id")
def create_budget(data):
    """An administrator adds a budget; a period overlapping another of the same cost centre is a 422."""
    b = budget_services.save_budget(_buyer(), cost_centre_id=data["cost_centre_id"], period_kind=data["period_kind"],
                                    period_start=data["period_start"], amount=str(data["amount"]))
    return _budget_dicts([b])[0]


@bp.route("/budgets/<int(max=2147483647):budget_id>", methods=["GET"])
@bp.response(200, BudgetOut)
def get_budget(budget_id):
    """One budget with its figures."""
    return _budget_dicts([get_for_company(Budget, budget_id, _buyer().company_id)])[0]


# --------------------------------------------------------------------------------------------- exchange rates

def _rate_dict(r: ExchangeRate) -> dict:
    return {"id": r.id, "currency": r.currency, "rate": f"{r.rate:.8f}", "valid_from": r.valid_from,
            "company_currency": actor().company.default_currency}


@bp.route("/exchange-rates", methods=["GET"])
@bp.response(200, ExchangeRateList)
def list_exchange_rates():
    """The company's exchange rates, by currency, the newest first. Budget figures convert a document in another
    currency with the rate valid on its date (the latest ``valid_from`` on or before it); without one it is left
    out."""
    return {"items": [_rate_dict(r) for r in rates.rates_of(_buyer().company_id)]}


@bp.route("/exchange-rates", methods=["POST"])
@bp.arguments(ExchangeRateIn)
@bp.response(201, ExchangeRateOut)
@created("api_requisitions.get_exchange_rate", rate_id="id")
def create_exchange_rate(data):
    """An administrator adds a rate; an unknown currency, the company's own, a rate of 0 or less, or a second rate
    of the currency from the same day is a 422."""
    return _rate_dict(rates.add_rate(_buyer(), currency=data["currency"], rate=str(data["rate"]),
                                     valid_from=data["valid_from"]))


@bp.route("/exchange-rates/<int(max=2147483647):rate_id>", methods=["GET"])
@bp.response(200, ExchangeRateOut)
def get_exchange_rate(rate_id):
    """One exchange rate (another company's is 404)."""
    return _rate_dict(get_for_company(ExchangeRate, rate_id, _buyer().company_id))


@bp.route("/exchange-rates/<int(max=2147483647):rate_id>", methods=["DELETE"])
@bp.response(204)
def delete_exchange_rate(rate_id):
    """An administrator deletes a rate (another company's is 404); documents it converted count with the rate
    valid before it, or are left out."""
    row = get_for_company(ExchangeRate, rate_id, _buyer().company_id)
    rates.delete_rate(actor(), row.id)
