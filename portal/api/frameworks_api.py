"""Weighted bid scoring (criteria, the team's scores, the ranking) and framework agreements (list, get,
call-off) for ERP integrations."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from marshmallow import Schema, fields, validate
from sqlalchemy.orm import selectinload

from portal.api.auth import idempotent
from portal.api.common import (ListArgs, ListPlan, actor, created, list_documents, make_blueprint, money,
                               paged_schema, problems)
from portal.api.schemas import BoundedInt, DecimalString, MoneyOut, plain, ts
from portal.db import db
from portal.frameworks import services as fa
from portal.frameworks.models import AgreementStatus, FrameworkAgreement
from portal.quotes import scoring
from portal.quotes.scoring_models import CriterionKind
from portal.tenancy import get_for_company, scoped

bp = make_blueprint("api_frameworks", "Weighted bid scoring of an RFQ's quotes; framework agreements and their "
                    "call-off orders.", tag="Scoring and framework agreements")

KINDS = [k.value for k in CriterionKind]
STATUSES = [s.value for s in AgreementStatus]


# --------------------------------------------------------------------------------------------- scoring

class CriterionIn(Schema):
    id = BoundedInt(load_default=None, allow_none=True, metadata={
        "description": "An existing criterion's id to keep it (and its team scores); omit for a new one."})
    kind = fields.String(required=True, validate=validate.OneOf(KINDS), metadata={
        "description": "price, lead_time, payment_terms and rating are computed; custom is scored 1–5 by the team."})
    name = fields.String(load_default="", validate=validate.Length(max=120), metadata={
        "description": "Required for custom criteria; the others default to their kind's name."})
    weight = DecimalString(required=True, places=2, metadata={"description": "Percent; all weights sum to 100.",
                                                              "example": "40"})


class CriteriaIn(Schema):
    criteria = fields.List(fields.Nested(CriterionIn), required=True, validate=validate.Length(min=1, max=12))


class CriterionOut(Schema):
    id = fields.Integer(required=True)
    position = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    name = fields.String(required=True)
    weight = DecimalString(required=True, places=2)


class PartOut(Schema):
    criterion_id = fields.Integer(required=True)
    raw = DecimalString(required=True, allow_none=True, metadata={
        "description": "The quote's figure: total price, lead time or payment days, rating, mean team score."})
    points = DecimalString(required=True, metadata={"description": "weight × ratio, unrounded to 4 places"})


class RankedOut(Schema):
    rank = fields.Integer(required=True)
    quote_id = fields.Integer(required=True)
    supplier_company_id = fields.Integer(required=True)
    supplier_name = fields.String(required=True)
    total = fields.Nested(MoneyOut, required=True)
    score = DecimalString(required=True, places=2, metadata={"description": "Out of 100, rounded half-up."})
    parts = fields.List(fields.Nested(PartOut), required=True)


class UnrankedOut(Schema):
    supplier_name = fields.String(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(["expired", "incomplete"]))


class ScoringOut(Schema):
    rfq_id = fields.Integer(required=True)
    criteria = fields.List(fields.Nested(CriterionOut), required=True)
    ranking = fields.List(fields.Nested(RankedOut), required=True)
    unranked = fields.List(fields.Nested(UnrankedOut), required=True)


class ScoreIn(Schema):
    criterion_id = BoundedInt(required=True)
    quote_id = BoundedInt(required=True)
    score = fields.Integer(required=True, allow_none=True, strict=True, metadata={
        "description": "1 (poor) to 5 (excellent); null removes your score. Outside 1–5 is a 422 with a sentence."})


class ScoresIn(Schema):
    scores = fields.List(fields.Nested(ScoreIn), required=True, validate=validate.Length(min=1, max=1000))


def _rfq(rfq_id):
    from portal.quotes.comparison import check_viewer, ensure_prices_visible
    from portal.rfq.models import Rfq

    rfq = get_for_company(Rfq, rfq_id, actor().company_id)
    check_viewer(rfq, actor())
    ensure_prices_visible(rfq)
    return rfq


def _q4(d: Decimal) -> str:
    return str(d.quantize(Decimal("0.0001")))


def _scoring_dict(rfq) -> dict:
    r = scoring.ranking(rfq)
    return {
        "rfq_id": rfq.id,
        "criteria": [{"id": c.id, "position": c.position, "kind": c.kind.value, "name": c.name,
                      "weight": str(Decimal(c.weight).quantize(Decimal("0.01")))} for c in r.criteria],
        "ranking": [{"rank": row.rank, "quote_id": row.quote_id, "supplier_company_id": row.supplier_id,
                     "supplier_name": row.supplier_name, "total": money(row.total, r.currency),
                     "score": str(row.score),
                     "parts": [{"criterion_id": c.id, "raw": None if row.parts[c.id].raw is None
                                else _q4(Decimal(row.parts[c.id].raw)), "points": _q4(row.parts[c.id].points)}
                               for c in r.criteria] if r.criteria else []}
                    for row in r.rows],
        "unranked": [{"supplier_name": n, "reason": why} for n, why in r.unranked],
    }


@bp.route("/rfqs/<int(max=2147483647):rfq_id>/scoring", methods=["GET"])
@bp.response(200, ScoringOut)
def get_scoring(rfq_id):
    """The RFQ's criteria and the weighted ranking of its awardable quotes (the buyer's procurement only; after
    sealed bids are opened). Formulas: README "Framework agreements and weighted scoring"."""
    return _scoring_dict(_rfq(rfq_id))


@bp.route("/rfqs/<int(max=2147483647):rfq_id>/scoring/criteria", methods=["PUT"])
@problems(404, 409)
@bp.arguments(CriteriaIn)
@bp.response(200, ScoringOut)
def put_criteria(data, rfq_id):
    """Replace the criteria; the weights must add up to exactly 100 (else 422 with a sentence, nothing saved).
    Refused (409) once the RFQ is awarded: the scores behind the decision stay as they were."""
    rfq = _rfq(rfq_id)
    scoring.set_criteria(rfq, actor(), [
        {"id": c.get("id"), "kind": c["kind"], "name": c.get("name", ""), "weight": str(c["weight"])}
        for c in data["criteria"]])
    db.session.expire_all()
    return _scoring_dict(_rfq(rfq_id))


@bp.route("/rfqs/<int(max=2147483647):rfq_id>/scoring/scores", methods=["PUT"])
@problems(404, 409)
@bp.arguments(ScoresIn)
@bp.response(200, ScoringOut)
def put_scores(data, rfq_id):
    """Your own 1–5 scores of quotes on the free (custom) criteria; all or nothing."""
    rfq = _rfq(rfq_id)
    scoring.set_scores(rfq, actor(), data["scores"])
    db.session.expire_all()
    return _scoring_dict(_rfq(rfq_id))


# --------------------------------------------------------------------------------------------- agreements

class AgreementLineOut(Schema):
    id = fields.Integer(required=True)
    position = fields.Integer(required=True)
    part_number = fields.String(required=True, allow_none=True)
    description = fields.String(required=True)
    unit = fields.String(required=True)
    unit_price = fields.Nested(MoneyOut, required=True)
    max_quantity = DecimalString(required=True, allow_none=True, metadata={"description": "null: no quantity cap"})
    consumed_quantity = DecimalString(required=True)
    remaining_quantity = DecimalString(required=True, allow_none=True)
    consumed_value = fields.Nested(MoneyOut, required=True)


class CallOffOut(Schema):
    id = fields.Integer(required=True)
    order_id = fields.Integer(required=True)
    po_number = fields.String(required=True)
    order_status = fields.String(required=True)
    value = fields.Nested(MoneyOut, required=True)
    created_at = fields.DateTime(required=True)


class AgreementOut(Schema):
    id = fields.Integer(required=True)
    reference = fields.String(required=True, metadata={"example": "FA-2026-0001"})
    title = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    buyer_company_id = fields.Integer(required=True)
    supplier_company_id = fields.Integer(required=True)
    award_id = fields.Integer(required=True, allow_none=True)
    rfq_id = fields.Integer(required=True, allow_none=True)
    currency = fields.String(required=True)
    valid_from = fields.Date(required=True)
    valid_until = fields.Date(required=True)
    max_value = fields.Nested(MoneyOut, required=True, allow_none=True)
    allow_exceed = fields.Boolean(required=True)
    consumed_value = fields.Nested(MoneyOut, required=True)
    remaining_value = fields.Nested(MoneyOut, required=True, allow_none=True)
    used_percent = fields.Integer(required=True, allow_none=True, metadata={
        "description": "The highest share used of any cap (value or an item's quantity); null without caps."})
    warning = fields.Boolean(required=True, metadata={"description": "80 % or more of a cap is used."})
    lines = fields.List(fields.Nested(AgreementLineOut), required=True)
    call_offs = fields.List(fields.Nested(CallOffOut), required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class AgreementQuery(ListArgs):
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))


class CallOffLineIn(Schema):
    line_id = BoundedInt(required=True, metadata={"description": "An agreement line's id."})
    quantity = DecimalString(required=True)


class CallOffIn(Schema):
    lines = fields.List(fields.Nested(CallOffLineIn), required=True, validate=validate.Length(min=1, max=500))
    delivery_date = fields.Date(load_default=None, allow_none=True)
    notes = fields.String(load_default="", validate=validate.Length(max=2000))


class CallOffCreatedOut(Schema):
    agreement = fields.Nested(AgreementOut, required=True)
    order_id = fields.Integer(required=True)
    po_number = fields.String(required=True)
    warnings = fields.List(fields.String(), required=True, metadata={
        "description": "80 % reached, or beyond 100 % where the agreement allows it."})


def agreement_dict(a: FrameworkAgreement, user, use=None) -> dict:
    use = use or fa.usage(a, viewer_company_id=user.company_id)
    is_buyer = user.company_id == a.buyer_company_id
    return {
        "id": a.id, "reference": a.reference, "title": a.title, "status": a.status.value,
        "buyer_company_id": a.buyer_company_id, "supplier_company_id": a.supplier_company_id,
        "award_id": a.award_id if is_buyer else None, "rfq_id": a.rfq_id, "currency": a.currency,
        "valid_from": a.valid_from, "valid_until": a.valid_until,
        "max_value": money(a.max_value, a.currency) if a.max_value is not None else None,
        "allow_exceed": a.allow_exceed, "consumed_value": money(use.value, a.currency),
        "remaining_value": (money(use.remaining_value, a.currency) if use.remaining_value is not None else None),
        "used_percent": use.percent, "warning": use.warning,
        "lines": [{"id": u.line.id, "position": u.line.position, "part_number": u.line.part_number,
                   "description": u.line.description, "unit": u.line.unit,
                   "unit_price": {"amount": plain(u.line.unit_price), "currency": a.currency},
                   "max_quantity": plain(u.line.max_quantity), "consumed_quantity": plain(u.consumed),
                   "remaining_quantity": plain(u.remaining), "consumed_value": money(u.value, a.currency)}
                  for u in use.lines],
        "call_offs": [{"id": co.id, "order_id": co.order_id, "po_number": co.order.po_number,
                       "order_status": co.order.status.value, "value": money(co.value, a.currency),
                       "created_at": ts(co.created_at)}
                      for co in a.call_offs if is_buyer or co.order.sent_at is not None],
        "created_at": ts(a.created_at), "updated_at": ts(a.updated_at),
    }


AGREEMENT_LIST = ListPlan(
    FrameworkAgreement, reference=(FrameworkAgreement.reference,),
    counterparty=lambda me, other: sa.or_(
        sa.and_(FrameworkAgreement.buyer_company_id == me, FrameworkAgreement.supplier_company_id == other),
        sa.and_(FrameworkAgreement.supplier_company_id == me, FrameworkAgreement.buyer_company_id == other)))


@bp.route("/framework-agreements", methods=["GET"])
@bp.arguments(AgreementQuery, location="query")
@bp.response(200, paged_schema(AgreementOut, "FrameworkAgreementPage"))
def list_agreements(args):
    """Framework agreements your company is party to (buyer or supplier), with consumption, in id order."""
    user = actor()
    stmt = scoped(FrameworkAgreement, user.company_id)
    if args.get("status"):
        stmt = stmt.where(FrameworkAgreement.status == AgreementStatus(args["status"]))
    return list_documents(stmt, AGREEMENT_LIST, args, user.company_id, "api_frameworks.list_agreements",
                          lambda a: agreement_dict(a, user), batch=lambda rows: _batch(rows, user),
                          options=(selectinload(FrameworkAgreement.lines),
                                   selectinload(FrameworkAgreement.call_offs)))


def _batch(rows, user) -> list[dict]:
    use = fa.usages(rows, viewer_company_id=user.company_id)
    return [agreement_dict(a, user, use[a.id]) for a in rows]


@bp.route("/framework-agreements/<int(max=2147483647):agreement_id>", methods=["GET"])
@bp.response(200, AgreementOut)
def get_agreement(agreement_id):
    """One framework agreement: agreed items and prices, consumed and remaining quantity and value, call-offs."""
    user = actor()
    return agreement_dict(get_for_company(FrameworkAgreement, agreement_id, user.company_id), user)


@bp.route("/framework-agreements/<int(max=2147483647):agreement_id>/call-offs", methods=["POST"])
@created("api_ordering.get_order", order_id="order_id")
@idempotent
@problems(403, 404, 409)
@bp.arguments(CallOffIn)
@bp.response(201, CallOffCreatedOut)
def create_call_off(data, agreement_id):
    """Call off a draft purchase order at the agreed prices (the buyer's procurement). Refused with 422 after
    expiry or beyond an agreed quantity or value (unless the agreement allows it); checked under the agreement's
    row lock, so concurrent call-offs cannot together exceed a cap."""
    user = actor()
    a = get_for_company(FrameworkAgreement, agreement_id, user.company_id)
    quantities: dict = {}
    for ln in data["lines"]:
        quantities[ln["line_id"]] = quantities.get(ln["line_id"], Decimal("0")) + ln["quantity"]
    result = fa.call_off(a, user, {k: str(v) for k, v in quantities.items()},
                         delivery_date=data.get("delivery_date"), notes=data.get("notes") or "")
    order_id, po = result.order.id, result.order.po_number
    db.session.expire_all()
    a = get_for_company(FrameworkAgreement, agreement_id, user.company_id)
    return {"agreement": agreement_dict(a, user), "order_id": order_id, "po_number": po,
            "warnings": result.warnings}
