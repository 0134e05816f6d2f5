"""Sourcing over the API: RFQs (create with lines and invitations, edit, publish, close, cancel), quotes
(create/revise and submit in one call, withdraw), the comparison matrix and the award (which creates the
purchase orders). Every call goes through the same services as the pages."""
from __future__ import annotations

import logging

import sqlalchemy as sa
from marshmallow import Schema, fields, validate
from sqlalchemy.orm import selectinload

from portal.accounts.models import Company, Role
from portal.api.common import (CursorArgs, ListArgs, ListPlan, actor, created, links, list_documents, make_blueprint, money,
                               paged_schema)
from portal.api.auth import idempotent, problem_body
from portal.api.schemas import exact_money
from portal.api.schemas import (BoundedInt, DecimalString, MoneyField, MoneyOut, ProblemSchema, RenamedFields, amount_in,
                                 VersionedMoneyOut, plain, ts, versioned_money)
from portal.db import db
from portal.errors import DomainError, Forbidden, NotFound, ValidationFailed
from portal.i18n import _l
from portal.quotes import award as award_service
from portal.quotes import comparison, outcome
from portal.quotes import services as quote_services
from portal.quotes.models import Award, Quote
from portal.rfq import csvlines
from portal.rfq import services as rfq_services
from portal.rfq.models import Rfq
from portal.orders.states import OrderStatus
from portal.quotes.states import QuoteStatus
from portal.rfq.states import RfqStatus
from portal.tenancy import get_for_company, scoped

log = logging.getLogger(__name__)

bp = make_blueprint("api_sourcing", "RFQs, quotes, the comparison and the award.")

RFQ_VIEW_ROLES = (Role.procurement, Role.sales)
QUOTE_BUYER_ROLES = (Role.procurement, Role.approver, Role.admin)
QUOTE_SUPPLIER_ROLES = (Role.sales, Role.admin)


# --------------------------------------------------------------------------------------------- schemas

class RfqLineIn(Schema):
    id = BoundedInt(metadata={"description": "PATCH only: the line to change (omit to add a line)."})
    # Limits: one source, the service's (an RFQ line is checked by portal/rfq/csvlines.py)
    description = fields.String(validate=validate.Length(max=csvlines.MAX_DESCRIPTION))
    quantity = DecimalString()
    unit = fields.String(validate=validate.Length(max=csvlines.MAX_UNIT))
    part_number = fields.String(allow_none=True, validate=validate.Length(max=csvlines.MAX_PART_NUMBER))
    target_price = MoneyField(allow_none=True, metadata={"description": "In the RFQ's currency."})
    notes = fields.String(validate=validate.Length(max=csvlines.MAX_NOTES))
    delete = fields.Boolean(metadata={"description": "PATCH only: remove the line with this id."})


class RfqHeaderIn(RenamedFields, Schema):
    ALIASES = {"supplier_ids": "supplier_company_ids"}

    # Limits: one source, the service's constants (portal/rfq/services.py)
    title = fields.String(validate=validate.Length(max=rfq_services.MAX_TITLE))
    description = fields.String(validate=validate.Length(max=rfq_services.MAX_DESCRIPTION))
    currency = fields.String(validate=validate.Length(max=10))
    deadline = fields.AwareDateTime(metadata={"description": "ISO 8601 with offset"})
    sealed = fields.Boolean()
    delivery_address = fields.String(validate=validate.Length(max=rfq_services.MAX_ADDRESS))
    delivery_date = fields.Date(allow_none=True)
    incoterm = fields.String(allow_none=True, validate=validate.Length(max=20))
    payment_terms = fields.String(allow_none=True, validate=validate.Length(max=rfq_services.MAX_PAYMENT_TERMS))
    supplier_ids = fields.List(BoundedInt(), validate=validate.Length(max=500), data_key="supplier_company_ids",
                               metadata={"description": "The suppliers to invite (company ids)."})


class RfqCreateIn(RfqHeaderIn):
    title = fields.String(required=True, validate=validate.Length(max=rfq_services.MAX_TITLE))
    deadline = fields.AwareDateTime(required=True, metadata={"description": "ISO 8601 with offset"})
    lines = fields.List(fields.Nested(RfqLineIn), validate=validate.Length(max=rfq_services.MAX_LINES))


class RfqPatchIn(RfqHeaderIn):
    ALIASES = {"supplier_ids": "supplier_company_ids", "version": "lock_version"}

    version = BoundedInt(allow_none=True, data_key="lock_version", metadata={"description": "The RFQ version you last read; a "
                                                                       "different current version is 409."})
    lines = fields.List(fields.Nested(RfqLineIn), validate=validate.Length(max=rfq_services.MAX_LINES))


class VersionIn(RenamedFields, Schema):
    ALIASES = {"version": "lock_version"}

    version = BoundedInt(allow_none=True, load_default=None, data_key="lock_version", metadata={
        "description": "The RFQ's lock_version you last read (stale: 409); leave out to act on the current one."})


class CancelIn(VersionIn):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=4000))


class RfqLineOut(Schema):
    id = fields.Integer()
    position = fields.Integer()
    description = fields.String()
    part_number = fields.String(allow_none=True)
    quantity = DecimalString()
    unit = fields.String()
    target_price = fields.Nested(MoneyOut, allow_none=True)
    notes = fields.String()


class PartyOut(Schema):
    id = fields.Integer()
    name = fields.String()


class OutcomeLineOut(Schema):
    rfq_line_id = fields.Integer()
    position = fields.Integer()
    result = fields.String(validate=validate.OneOf(["won", "not_awarded"]), metadata={
        "description": "`won` or `not_awarded` (to you; who won it is not said)."})
    quantity = DecimalString(allow_none=True, metadata={"description": "Won lines: the awarded quantity."})
    unit_price = fields.Nested(MoneyOut, allow_none=True)
    line_total = fields.Nested(MoneyOut, allow_none=True)


class OutcomeOrderOut(Schema):
    id = fields.Integer()
    po_number = fields.String()
    status = fields.String(validate=validate.OneOf([s.value for s in OrderStatus]))


class OutcomeOut(Schema):
    closed_at = fields.DateTime(allow_none=True)
    closed_early = fields.Boolean(metadata={"description": "Closed by the buyer before the deadline."})
    awarded = fields.Boolean()
    lines = fields.List(fields.Nested(OutcomeLineOut),
                        metadata={"description": "Once awarded: every RFQ line."})
    orders = fields.List(fields.Nested(OutcomeOrderOut), metadata={
        "description": "Purchase orders from the award that the buyer has sent to you."})
    order_in_preparation = fields.Boolean(metadata={
        "description": "You won lines but the buyer has not sent the order yet."})


class RfqOut(Schema):
    """An RFQ as its buyer or an invited supplier sees it."""

    OPTIONAL_FIELDS = ("supplier_ids", "quote_count", "outcome")  # buyer-only / supplier-only (attribute names)

    id = fields.Integer(metadata={"example": 42})
    reference = fields.String(metadata={"example": "RFQ-2026-00042"})
    status = fields.String(validate=validate.OneOf([s.value for s in RfqStatus]))
    title = fields.String()
    description = fields.String()
    currency = fields.String()
    deadline = fields.DateTime()
    sealed = fields.Boolean()
    delivery_address = fields.String()
    delivery_date = fields.Date(allow_none=True)
    incoterm = fields.String(allow_none=True)
    payment_terms = fields.String(allow_none=True)
    version = fields.Integer(data_key="lock_version", metadata={"description": "Send it back with changes: a "
                                                                           "stale one is 409."})
    amendment_no = fields.Integer()
    published_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    awarded_at = fields.DateTime(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    buyer = fields.Nested(PartyOut)
    lines = fields.List(fields.Nested(RfqLineOut))
    supplier_ids = fields.List(fields.Integer(), data_key="supplier_company_ids",
                               metadata={"description": "Buyer only: the invited suppliers."})
    quote_count = fields.Integer(allow_none=True, metadata={"description": "Buyer only: submitted quotes."})
    outcome = fields.Nested(OutcomeOut, allow_none=True, metadata={
        "description": "Supplier only, once the RFQ closed: how it closed, your lines won or not, "
                       "the order."})


class RfqQuery(ListArgs):
    status = fields.String(load_default=None, validate=validate.OneOf([s.value for s in RfqStatus]))


class PriceBreakIn(Schema):
    min_quantity = DecimalString(required=True)
    unit_price = MoneyField(required=True)


class QuoteLineIn(Schema):
    rfq_line_id = BoundedInt(required=True)
    unit_price = MoneyField(allow_none=True, metadata={"description": "In the RFQ's currency."})
    # Limits: one source, the service's constants (portal/quotes/services.py)
    lead_time_days = BoundedInt(allow_none=True,
                                validate=validate.Range(min=0, max=quote_services.MAX_LEAD_TIME_DAYS))
    moq = DecimalString(allow_none=True)
    pack_size = DecimalString(allow_none=True)
    price_breaks = fields.List(fields.Nested(PriceBreakIn), validate=validate.Length(max=quote_services.MAX_BREAKS))
    declined = fields.Boolean()
    reason = fields.String(validate=validate.Length(max=quote_services.MAX_REASON),
                           metadata={"description": "Why a line is declined."})


class QuoteIn(Schema):
    valid_until = fields.Date(allow_none=True)
    shipping_cost = MoneyField(allow_none=True, metadata={"description": "In the RFQ's currency."})
    delivery_terms = fields.String(validate=validate.Length(max=quote_services.MAX_TERMS))
    notes = fields.String(validate=validate.Length(max=quote_services.MAX_NOTES))
    lines = fields.List(fields.Nested(QuoteLineIn), required=True, validate=validate.Length(max=2000))
    submit = fields.Boolean(load_default=True, metadata={"description": "false keeps the quote as a draft."})
    lock_version = BoundedInt(allow_none=True, load_default=None)
    rfq_amendment_no = BoundedInt(allow_none=True, load_default=None, metadata={
        "description": "The RFQ amendment (`amendment_no` of the RFQ as you read it) that these prices "
                       "answer. If the buyer amended the RFQ since, nothing is saved and the 409 names what "
                       "changed. Left out, the quote is taken to answer the RFQ as first published "
                       "(amendment 0)."})


class WithdrawIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    lock_version = BoundedInt(allow_none=True, load_default=None)


class LockIn(Schema):
    lock_version = BoundedInt(allow_none=True, load_default=None)


class SubmitIn(LockIn):
    rfq_amendment_no = BoundedInt(allow_none=True, load_default=None, metadata={
        "description": "The RFQ amendment your draft answers; left out, the one the draft was last saved "
                       "for. An older one than the RFQ's is refused (409) with what changed."})


class PriceBreakOut(Schema):
    min_quantity = DecimalString()
    unit_price = VersionedMoneyOut(metadata={"description": "A decimal string in API version 2026-11-01."})


class QuoteLineOut(Schema):
    rfq_line_id = fields.Integer()
    declined = fields.Boolean()
    decline_reason = fields.String(allow_none=True)
    unit_price = fields.Nested(MoneyOut, allow_none=True)
    lead_time_days = fields.Integer(allow_none=True)
    moq = DecimalString(allow_none=True)
    pack_size = DecimalString(allow_none=True)
    price_breaks = fields.List(fields.Nested(PriceBreakOut))


class QuoteOut(Schema):
    id = fields.Integer()
    rfq_id = fields.Integer()
    supplier = fields.Nested(PartyOut)
    status = fields.String(validate=validate.OneOf([s.value for s in QuoteStatus]))
    version = fields.Integer(metadata={"description": "The submitted version's number (0 before the first "
                                                      "submission)."})
    draft_version = fields.Integer(allow_none=True, metadata={"description": "Supplier only: the open draft."})
    lock_version = fields.Integer()
    submitted_at = fields.DateTime(allow_none=True)
    withdrawn_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    needs_reconfirmation = fields.Boolean()
    rfq_amendment_no = fields.Integer(allow_none=True, metadata={
        "description": "The RFQ amendment the shown version (supplier: the draft if any) answers."})
    outcome = fields.Nested(OutcomeOut, allow_none=True, metadata={
        "description": "Supplier only, once the RFQ closed: how it closed, your lines won or not, "
                       "the order."})
    expired = fields.Boolean()
    prices_visible = fields.Boolean()
    valid_until = fields.Date(allow_none=True)
    delivery_terms = fields.String(allow_none=True)
    shipping_cost = fields.Nested(MoneyOut, allow_none=True)
    lines = fields.List(fields.Nested(QuoteLineOut))


class CellOut(Schema):
    quote_id = fields.Integer()
    supplier_id = fields.Integer(data_key="supplier_company_id")
    state = fields.String(validate=validate.OneOf(["quoted", "declined", "missing"]))
    requested_quantity = DecimalString(allow_none=True)
    ordered_quantity = DecimalString(allow_none=True)
    unit_price = fields.Nested(MoneyOut, allow_none=True)
    line_total = fields.Nested(MoneyOut, allow_none=True)
    lead_time_days = fields.Integer(allow_none=True)
    moq = DecimalString(allow_none=True)
    pack_size = DecimalString(allow_none=True)
    decline_reason = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    expired = fields.Boolean()
    best = fields.Boolean()


class CompareLineOut(Schema):
    id = fields.Integer()
    position = fields.Integer()
    description = fields.String()
    part_number = fields.String(allow_none=True)
    quantity = DecimalString()
    unit = fields.String()
    best_quote_id = fields.Integer(allow_none=True)
    cells = fields.List(fields.Nested(CellOut))


class CompareQuoteOut(Schema):
    quote_id = fields.Integer()
    supplier_id = fields.Integer(data_key="supplier_company_id")
    supplier_name = fields.String()
    version = fields.Integer()
    valid_until = fields.Date(allow_none=True)
    expired = fields.Boolean()
    needs_reconfirmation = fields.Boolean()
    complete = fields.Boolean()
    lines_quoted = fields.Integer()
    lines_declined = fields.Integer()
    missing_positions = fields.List(fields.Integer())
    lines_total = fields.Nested(MoneyOut)
    shipping = fields.Nested(MoneyOut)
    total = fields.Nested(MoneyOut)


class SplitChoiceOut(Schema):
    rfq_line_id = fields.Integer()
    quote_id = fields.Integer()


class SplitOut(Schema):
    choices = fields.List(fields.Nested(SplitChoiceOut))
    total = fields.Nested(MoneyOut)
    covers_all = fields.Boolean()
    uncovered_positions = fields.List(fields.Integer())


class ComparisonOut(Schema):
    rfq_id = fields.Integer()
    reference = fields.String()
    currency = fields.String()
    status = fields.String(validate=validate.OneOf([s.value for s in RfqStatus]))
    sealed = fields.Boolean(metadata={"description": "True while sealed bids are unopened: no prices then."})
    detail = fields.String(allow_none=True)
    received = fields.Integer()
    lines = fields.List(fields.Nested(CompareLineOut))
    quotes = fields.List(fields.Nested(CompareQuoteOut))
    cheapest_complete_quote_id = fields.Integer(allow_none=True)
    split = fields.Nested(SplitOut, allow_none=True)
    saving = fields.Nested(MoneyOut, allow_none=True)


class AwardLineIn(Schema):
    rfq_line_id = BoundedInt(required=True)
    quote_id = BoundedInt(required=True)


class AwardIn(RenamedFields, Schema):
    ALIASES = {"version": "lock_version"}

    quote_id = BoundedInt(metadata={"description": "Award every line to this quote."})
    lines = fields.List(fields.Nested(AwardLineIn), validate=validate.Length(min=1, max=2000),
                        metadata={"description": "Or award line by line (a split)."})
    note = fields.String(load_default="", validate=validate.Length(max=5000))
    version = BoundedInt(allow_none=True, load_default=None, data_key="lock_version",
                         metadata={"description": "The RFQ's lock_version you last read."})


class AwardLineOut(Schema):
    rfq_line_id = fields.Integer()
    quote_id = fields.Integer()
    supplier_id = fields.Integer(data_key="supplier_company_id")
    quantity = DecimalString()
    unit_price = fields.Nested(MoneyOut)
    line_total = fields.Nested(MoneyOut)


class AwardOut(Schema):
    id = fields.Integer()
    rfq_id = fields.Integer()
    mode = fields.String(validate=validate.OneOf(["whole", "split"]))
    note = fields.String()
    awarded_at = fields.DateTime()
    orders_created_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime(metadata={"description": "When it was made (the award moment)."})
    updated_at = fields.DateTime(metadata={"description": "Changes when its orders are created."})
    lines = fields.List(fields.Nested(AwardLineOut))


class AwardQuery(CursorArgs):
    rfq_id = BoundedInt(strict=False, load_default=None, validate=validate.Range(min=1, max=2**31 - 1),
                        metadata={"description": "Only the award of this RFQ."})


def _order_schema():
    from portal.api.ordering import OrderOut

    return OrderOut


class AwardResultOut(Schema):
    award = fields.Nested(AwardOut)
    orders = fields.List(fields.Nested(_order_schema))
    orders_error = fields.Nested(ProblemSchema, allow_none=True, metadata={
        "description": "Set when the award succeeded but creating the orders failed: a problem object. Retry "
                       "with POST /rfqs/{id}/award/orders (idempotent)."})


# --------------------------------------------------------------------------------------------- serialisers

def _names(ids) -> dict[int, str]:
    ids = set(ids)
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(Company.id, Company.display_name).where(Company.id.in_(ids))).all())


def rfq_dict(rfq: Rfq, viewer, *, with_outcome: bool = True, page: dict | None = None) -> dict:
    """``page``: what ``_rfq_page`` loaded for a whole list page at once (lines, invitations, quote counts)."""
    is_buyer = rfq.buyer_company_id == viewer.company_id
    lines = rfq.lines if page is not None else rfq_services.lines_of(rfq)
    out = {
        "id": rfq.id, "reference": rfq.reference, "status": rfq.status.value, "title": rfq.title,
        "description": rfq.description or "", "currency": rfq.currency, "deadline": ts(rfq.deadline),
        "sealed": rfq.sealed, "delivery_address": rfq.delivery_address or "", "delivery_date": rfq.delivery_date,
        "incoterm": rfq.incoterm, "payment_terms": rfq.payment_terms, "version": rfq.version,
        "amendment_no": rfq.amendment_no, "published_at": ts(rfq.published_at), "closed_at": ts(rfq.closed_at),
        "awarded_at": ts(rfq.awarded_at), "cancel_reason": rfq.cancel_reason,
        "created_at": ts(rfq.created_at), "updated_at": ts(rfq.updated_at),
        "buyer": {"id": rfq.buyer_company_id, "name": rfq.buyer.display_name},
        "lines": [{"id": ln.id, "position": ln.position, "description": ln.description,
                   "part_number": ln.part_number, "quantity": plain(ln.quantity), "unit": ln.unit,
                   "target_price": money(ln.target_price, rfq.currency), "notes": ln.notes or ""}
                  for ln in lines],
    }
    if is_buyer:
        invitations = (sorted(rfq.invitations, key=lambda i: (i.invited_at, i.id)) if page is not None
                       else rfq_services.invitations_of(rfq))
        out["supplier_ids"] = [inv.supplier_company_id for inv in invitations]
        out["quote_count"] = (page["quote_counts"].get(rfq.id, 0) if page is not None
                              else rfq_services.submitted_quote_count(rfq.id))
    elif with_outcome:
        out["outcome"] = _outcome(rfq, viewer.company_id)
    return out


def _outcome(rfq: Rfq, supplier_company_id: int) -> dict | None:
    return outcome.as_dict(outcome.for_supplier(rfq, supplier_company_id), ts=ts, money=money, plain=plain)


def _version_number(quote: Quote) -> int:
    return quote.current_version.number if quote.current_version else 0


def quote_dict(quote: Quote, viewer) -> dict:
    rfq = quote.rfq
    is_buyer = quote.supplier_company_id != viewer.company_id
    show_prices = (not is_buyer) or quote_services.buyer_can_see_prices(rfq)
    version = quote.current_version if is_buyer else (quote.draft_version or quote.current_version)
    out = {"id": quote.id, "rfq_id": quote.rfq_id,
           "supplier": {"id": quote.supplier_company_id, "name": quote.supplier.display_name},
           "status": quote.status.value, "version": _version_number(quote),
           "draft_version": None if is_buyer or quote.draft_version is None else quote.draft_version.number,
           "lock_version": quote.lock_version, "submitted_at": ts(quote.submitted_at),
           "withdrawn_at": ts(quote.withdrawn_at), "needs_reconfirmation": quote.needs_reconfirmation,
           "created_at": ts(quote.created_at), "updated_at": ts(quote.updated_at),
           "expired": quote.expired, "prices_visible": show_prices, "valid_until": None,
           "delivery_terms": None, "shipping_cost": None, "lines": [], "rfq_amendment_no": None}
    if version is not None:
        out["valid_until"] = version.valid_until
        out["rfq_amendment_no"] = version.rfq_amendment_no
        if show_prices:
            out["delivery_terms"] = version.delivery_terms
            out["shipping_cost"] = money(version.shipping_cost, rfq.currency)
            out["lines"] = [{
                "rfq_line_id": ql.rfq_line_id, "declined": ql.declined, "decline_reason": ql.decline_reason,
                "unit_price": exact_money(ql.unit_price, rfq.currency) if ql.unit_price is not None else None,
                "lead_time_days": ql.lead_time_days, "moq": plain(ql.moq), "pack_size": plain(ql.pack_size),
                "price_breaks": [{"min_quantity": str(b["min_quantity"]),
                                  "unit_price": versioned_money(b["unit_price"], rfq.currency)}
                                 for b in (ql.price_breaks or [])],
            } for ql in sorted(version.lines, key=lambda q: q.rfq_line_id)]
    if not is_buyer:
        out["outcome"] = _outcome(rfq, quote.supplier_company_id)
    return out


def _m(amount, currency):
    return money(amount, currency) if amount is not None else None


def comparison_dict(rfq: Rfq) -> dict:
    base = {"rfq_id": rfq.id, "reference": rfq.reference, "currency": rfq.currency, "status": rfq.status.value}
    if not rfq.prices_visible_to_buyer:
        return {**base, "sealed": True, "received": comparison.submitted_count(rfq.id),
                "detail": comparison.sealed_sentence(ts(rfq.deadline).isoformat()), "lines": [], "quotes": [],
                "cheapest_complete_quote_id": None, "split": None, "saving": None}
    cmp = comparison.build(rfq)
    cur = cmp.currency
    split = None
    if cmp.split is not None:
        split = {"choices": [{"rfq_line_id": k, "quote_id": v} for k, v in sorted(cmp.split.choices.items())],
                 "total": money(cmp.split.total, cur), "covers_all": cmp.split.covers_all,
                 "uncovered_positions": list(cmp.split.uncovered_positions)}
    return {
        **base, "sealed": False, "detail": None, "received": len(cmp.quotes),
        "lines": [{"id": row.id, "position": row.position, "description": row.description,
                   "part_number": row.part_number, "quantity": plain(row.quantity), "unit": row.unit,
                   "best_quote_id": row.best_quote_id,
                   "cells": [{"quote_id": c.quote_id, "supplier_id": c.supplier_id, "state": c.state,
                              "requested_quantity": plain(c.requested_qty), "ordered_quantity": plain(c.ordered_qty),
                              "unit_price": _m(c.unit_price, cur), "line_total": _m(c.line_total, cur),
                              "lead_time_days": c.lead_time_days, "moq": plain(c.moq),
                              "pack_size": plain(c.pack_size), "decline_reason": c.decline_reason,
                              "note": c.note, "expired": c.expired, "best": c.best} for c in row.cells]}
                  for row in cmp.lines],
        "quotes": [{"quote_id": q.quote_id, "supplier_id": q.supplier_id, "supplier_name": q.supplier_name,
                    "version": q.version_number, "valid_until": q.valid_until, "expired": q.expired,
                    "needs_reconfirmation": q.needs_reconfirmation, "complete": q.complete,
                    "lines_quoted": q.lines_quoted, "lines_declined": q.lines_declined,
                    "missing_positions": list(q.missing_positions), "lines_total": money(q.lines_total, cur),
                    "shipping": money(q.shipping, cur), "total": money(q.total, cur)} for q in cmp.quotes],
        "cheapest_complete_quote_id": cmp.cheapest_complete.quote_id if cmp.cheapest_complete else None,
        "split": split, "saving": _m(cmp.saving, cur),
    }


def award_dict(award: Award) -> dict:
    cur = award.rfq.currency
    return {"id": award.id, "rfq_id": award.rfq_id, "mode": award.mode, "note": award.note or "",
            "awarded_at": ts(award.awarded_at), "orders_created_at": ts(award.orders_created_at),
            "created_at": ts(award.awarded_at), "updated_at": ts(award.updated_at or award.awarded_at),
            "lines": [{"rfq_line_id": al.rfq_line_id, "quote_id": al.quote_id,
                       "supplier_id": al.supplier_company_id, "quantity": plain(al.quantity),
                       "unit_price": exact_money(al.unit_price, cur), "line_total": money(al.line_total, cur)}
                      for al in sorted(award.lines, key=lambda a: a.rfq_line_id)]}


# --------------------------------------------------------------------------------------------- loaders

def _viewer():
    user = actor()
    if not user.has_role(*RFQ_VIEW_ROLES):
        raise Forbidden(_l("Only procurement (buyer) or sales (supplier) people work with RFQs."))
    return user


def _rfq(rfq_id) -> Rfq:
    user = _viewer()
    return rfq_services.load_visible(rfq_id, user.company_id)


def _buyer_rfq(rfq_id) -> Rfq:
    """The RFQ for its buyer's procurement people: another company 404, a supplier 404, other roles 403."""
    user = actor()
    rfq = get_for_company(Rfq, rfq_id, user.company_id)
    if rfq.buyer_company_id != user.company_id:
        raise NotFound(_l("No such RFQ."))
    if not user.has_role(Role.procurement):
        raise Forbidden(_l("Only procurement can do this."))
    return rfq


def _supplier_rfq(rfq_id) -> Rfq:
    user = actor()
    rfq = get_for_company(Rfq, rfq_id, user.company_id)
    if rfq.buyer_company_id == user.company_id:
        if not user.has_role(*QUOTE_BUYER_ROLES):
            raise Forbidden(_l("Your role does not allow this."))
        return rfq
    if not quote_services.is_invited(rfq, user.company_id):
        raise NotFound(_l("No such RFQ."))
    return rfq


def _quote(quote_id) -> tuple[Quote, bool]:
    user = actor()
    quote = get_for_company(Quote, quote_id, user.company_id)
    is_buyer = quote.supplier_company_id != user.company_id
    if not user.has_role(*(QUOTE_BUYER_ROLES if is_buyer else QUOTE_SUPPLIER_ROLES)):
        raise Forbidden(_l("Your role does not allow this."))
    return quote, is_buyer


def _own_quote(quote_id) -> Quote:
    quote, is_buyer = _quote(quote_id)
    if is_buyer:
        raise Forbidden(_l("Only the supplier can change its quote."))
    return quote


# --------------------------------------------------------------------------------------------- RFQs

@bp.route("/rfqs", methods=["GET"])
@bp.arguments(RfqQuery, location="query")
@bp.response(200, paged_schema(RfqOut, "RfqPage"))
def list_rfqs(args):
    """RFQs your company is party to: the buyer's own, a supplier's published invitations (stable order: id).

    Filters: status, `updated_since`, creation dates, `counterparty_id` (an invited supplier for the buyer, the
    buyer for a supplier), `reference`; `sort`; pages or the `starting_after` cursor."""
    user = _viewer()
    stmt = scoped(Rfq, user.company_id)
    if args.get("status"):
        stmt = stmt.where(Rfq.status == RfqStatus(args["status"]))
    def page_of(rows):  # the buyer's quote counts for the whole page in one statement
        loaded = {"quote_counts": rfq_services.submitted_quote_counts(
            [r.id for r in rows if r.buyer_company_id == user.company_id])}
        return [rfq_dict(r, user, with_outcome=False, page=loaded) for r in rows]

    return list_documents(stmt, RFQ_LIST, args, user.company_id, "api_sourcing.list_rfqs", None,
                          options=(selectinload(Rfq.lines), selectinload(Rfq.invitations)), batch=page_of)


def _rfq_counterparty(company_id: int, other_id: int):
    from portal.rfq.models import RfqInvitation

    invited = sa.exists().where(RfqInvitation.rfq_id == Rfq.id, RfqInvitation.supplier_company_id == other_id)
    return sa.or_(sa.and_(Rfq.buyer_company_id == company_id, invited),
                  sa.and_(Rfq.buyer_company_id == other_id,
                          sa.exists().where(RfqInvitation.rfq_id == Rfq.id,
                                            RfqInvitation.supplier_company_id == company_id)))


RFQ_LIST = ListPlan(Rfq, reference=(Rfq.reference, Rfq.title), counterparty=_rfq_counterparty)


HEADER_KEYS = ("title", "description", "currency", "deadline", "sealed", "delivery_address", "delivery_date",
               "incoterm", "payment_terms")


def _line_values(raw: dict) -> dict:
    return {k: raw[k] for k in ("description", "quantity", "unit", "part_number", "target_price", "notes")
            if k in raw}


def _check_line_money(lines: list[dict], currency: str) -> None:
    """Target prices must be in the RFQ's currency (they become plain amounts here)."""
    for i, raw in enumerate(lines):
        if raw.get("target_price") is not None:
            raw["target_price"] = amount_in(raw["target_price"], currency, f"lines.{i}.target_price",
                                            f"Line {i + 1}: the target price")


def _prevalidate_lines(lines: list[dict]) -> None:
    errors = {}
    for i, raw in enumerate(lines):
        _, errs = csvlines.clean_line({k: ("" if v is None else str(v)) for k, v in _line_values(raw).items()})
        for k, msg in errs.items():
            errors[f"lines.{i}.{k}"] = msg[:1].upper() + msg[1:]
    if errors:
        raise ValidationFailed(_l("Nothing was saved: %(problems)s"),
                               problems=" ".join(f"Line {int(k.split('.')[1]) + 1}: {v}" for k, v in errors.items()),
                               errors=errors)


def _str_line(raw: dict) -> dict:
    return {k: ("" if v is None else str(v)) for k, v in _line_values(raw).items()}


@bp.route("/rfqs", methods=["POST"])
@created("api_sourcing.get_rfq", rfq_id="id")
@idempotent
@bp.arguments(RfqCreateIn)
@bp.response(201, RfqOut)
def create_rfq(data):
    """Create a draft RFQ with its lines and invited suppliers (publish it with POST /rfqs/{id}/publish).

    All lines are checked before anything is saved; if a later step fails (e.g. an unknown supplier id) the
    draft is cancelled again and the error returned."""
    user = actor()
    lines = data.pop("lines", None) or []
    supplier_ids = data.pop("supplier_ids", None) or []
    header = {k: v for k, v in data.items() if k in HEADER_KEYS}
    _check_line_money(lines, (header.get("currency") or user.company.default_currency or "").strip().upper())
    _prevalidate_lines(lines)
    rfq = rfq_services.create_rfq(user, **header)
    try:
        for raw in lines:
            rfq_services.add_line(user, rfq.id, **_str_line(raw))
        if supplier_ids:
            rfq_services.invite_suppliers(user, rfq.id, supplier_ids)
    except DomainError as exc:
        db.session.rollback()
        try:
            rfq_services.cancel(user, rfq.id, reason=f"Not created: the API request was refused ({exc.message})"[:4000])
        except DomainError:  # pragma: no cover - best effort
            log.exception("could not cancel the half-created RFQ %s", rfq.id)
        raise
    rfq = db.session.get(Rfq, rfq.id)
    return rfq_dict(rfq, user)


@bp.route("/rfqs/<int(max=2147483647):rfq_id>", methods=["GET"])
@bp.response(200, RfqOut)
def get_rfq(rfq_id):
    """One RFQ with its lines (suppliers see it once published)."""
    return rfq_dict(_rfq(rfq_id), actor())


@bp.route("/rfqs/<int(max=2147483647):rfq_id>", methods=["PATCH"])
@bp.arguments(RfqPatchIn)
@bp.response(200, RfqOut)
def patch_rfq(data, rfq_id):
    """Change the RFQ's fields and lines (a line with `id` is changed, with `id` and `delete: true` removed,
    without `id` added) and invite more suppliers. On an open RFQ each change is an amendment. Each part is its
    own unit of work, applied in this order: fields, lines, invitations."""
    user = actor()
    rfq = _buyer_rfq(rfq_id)
    version = data.pop("version", None)
    lines = data.pop("lines", None) or []
    supplier_ids = data.pop("supplier_ids", None)
    header = {k: v for k, v in data.items() if k in HEADER_KEYS}
    _check_line_money(lines, (header.get("currency") or rfq.currency).strip().upper())
    new_lines = [raw for raw in lines if "id" not in raw]
    _prevalidate_lines(new_lines)
    if header:
        rfq_services.update_rfq(user, rfq.id, version=version, **header)
        version = None
    for raw in lines:
        if "id" in raw and raw.get("delete"):
            rfq_services.delete_line(user, rfq.id, raw["id"], version=version)
        elif "id" in raw:
            current = rfq_services.get_line(db.session.get(Rfq, rfq.id), raw["id"])
            values = {"description": current.description, "quantity": current.quantity, "unit": current.unit,
                      "part_number": current.part_number, "target_price": current.target_price,
                      "notes": current.notes}
            values.update(_line_values(raw))
            rfq_services.update_line(user, rfq.id, raw["id"], version=version,
                                     **{k: ("" if v is None else str(v)) for k, v in values.items()})
        else:
            rfq_services.add_line(user, rfq.id, version=version, **_str_line(raw))
        version = None
    if supplier_ids:
        rfq_services.invite_suppliers(user, rfq.id, supplier_ids)
    db.session.expire_all()
    return rfq_dict(db.session.get(Rfq, rfq.id), user)


@bp.route("/rfqs/<int(max=2147483647):rfq_id>/publish", methods=["POST"])
@bp.arguments(VersionIn)
@bp.response(200, RfqOut)
def publish_rfq(data, rfq_id):
    """draft -> open; the invited suppliers are told."""
    user = actor()
    rfq = _buyer_rfq(rfq_id)
    rfq = rfq_services.publish(user, rfq.id, version=data.get("version"))
    return rfq_dict(rfq, user)


@bp.route("/rfqs/<int(max=2147483647):rfq_id>/close", methods=["POST"])
@bp.arguments(VersionIn)
@bp.response(200, RfqOut)
def close_rfq(data, rfq_id):
    """open -> closed before the deadline; sealed quotes are opened."""
    user = actor()
    rfq = _buyer_rfq(rfq_id)
    rfq_services.close_early(user, rfq.id, version=data.get("version"))
    return rfq_dict(db.session.get(Rfq, rfq.id), user)


@bp.route("/rfqs/<int(max=2147483647):rfq_id>/cancel", methods=["POST"])
@bp.arguments(CancelIn)
@bp.response(200, RfqOut)
def cancel_rfq(data, rfq_id):
    """Cancel a draft, open or closed RFQ with a reason (suppliers see it)."""
    user = actor()
    rfq = _buyer_rfq(rfq_id)
    rfq = rfq_services.cancel(user, rfq.id, reason=data["reason"], version=data.get("version"))
    return rfq_dict(rfq, user)


# --------------------------------------------------------------------------------------------- quotes

@bp.route("/rfqs/<int(max=2147483647):rfq_id>/quotes", methods=["GET"])
@bp.response(200, Schema.from_dict({"items": fields.List(fields.Nested(QuoteOut))}, name="QuoteList"))
def list_quotes(rfq_id):
    """Buyer: every submitted quote (no prices while sealed bids are unopened). Supplier: its own."""
    user = actor()
    rfq = _supplier_rfq(rfq_id)
    if rfq.buyer_company_id == user.company_id:
        quotes = sorted(comparison.load_submitted_quotes(rfq.id), key=lambda q: q.id)
    else:
        if not user.has_role(*QUOTE_SUPPLIER_ROLES):
            raise Forbidden(_l("Your role does not allow this."))
        q = quote_services.find_quote(rfq.id, user.company_id)
        quotes = [q] if q is not None else []
    return {"items": [quote_dict(q, user) for q in quotes]}


def _quote_input(data: dict, currency: str) -> tuple[dict, list[dict]]:
    """The services' typed-text input from the API body; every money value must be in the RFQ's currency."""
    header = {k: data[k] for k in ("valid_until", "shipping_cost", "delivery_terms", "notes") if k in data}
    if "shipping_cost" in header and header["shipping_cost"] is not None:
        header["shipping_cost"] = str(amount_in(header["shipping_cost"], currency, "shipping_cost",
                                                "The shipping cost"))
    lines = []
    for i, raw in enumerate(data.get("lines") or []):
        line = {"rfq_line_id": raw["rfq_line_id"]}
        if raw.get("declined"):
            line.update(declined=True, decline_reason=raw.get("reason") or "")
        else:
            if raw.get("unit_price") is not None:
                line["unit_price"] = str(amount_in(raw["unit_price"], currency, f"lines.{i}.unit_price",
                                                   f"Line {i + 1}: the unit price"))
            for k in ("moq", "pack_size"):
                if raw.get(k) is not None:
                    line[k] = str(raw[k])
            if raw.get("lead_time_days") is not None:
                line["lead_time_days"] = str(raw["lead_time_days"])
            if raw.get("price_breaks"):
                line["price_breaks"] = [
                    {"min_quantity": str(b["min_quantity"]),
                     "unit_price": str(amount_in(b["unit_price"], currency, f"lines.{i}.price_breaks.{j}.unit_price",
                                                 f"Line {i + 1}: a price break"))}
                    for j, b in enumerate(raw["price_breaks"])]
        lines.append(line)
    return header, lines


@bp.route("/rfqs/<int(max=2147483647):rfq_id>/quotes", methods=["POST"])
@created("api_sourcing.get_quote", quote_id="id")
@idempotent
@bp.arguments(QuoteIn)
@bp.response(201, QuoteOut)
def save_quote(data, rfq_id):
    """Supplier: create or revise its quote and submit it in one call (`"submit": false` keeps a draft).

    `lines` is the complete set of answers (a revision replaces the draft's lines). Everything is validated
    before anything is saved. If the submission itself is refused (e.g. a line left unanswered), the draft
    stays saved and the 422 says so."""
    user = actor()
    rfq = _supplier_rfq(rfq_id)
    if rfq.buyer_company_id == user.company_id or not user.has_role(Role.sales):
        raise Forbidden(_l("Only the sales staff of an invited supplier can quote."))
    header, lines = _quote_input(data, rfq.currency)
    quote = quote_services.find_quote(rfq.id, user.company_id)
    quote_services.validate_input(rfq, user, header, lines)
    expected = data.get("lock_version")
    answered = data.get("rfq_amendment_no") or 0
    if quote is None:
        quote = quote_services.get_or_create_draft(rfq, user, expected_lock_version=0,
                                                   rfq_amendment_no=answered, api=True)
    else:
        quote = quote_services.get_or_create_draft(
            rfq, user, expected_lock_version=quote.lock_version if expected is None else expected,
            rfq_amendment_no=answered, api=True)
    quote = quote_services.save_draft(quote, user, header, lines, quote.lock_version, answered, api=True)
    if data.get("submit", True):
        try:
            quote = quote_services.submit(quote, user, quote.lock_version, answered, api=True)
        except DomainError as exc:
            exc.message = f"{exc.message} Your draft was saved but not submitted."
            raise
    db.session.expire_all()
    return quote_dict(db.session.get(Quote, quote.id), user)


@bp.route("/quotes/<int(max=2147483647):quote_id>", methods=["GET"])
@bp.response(200, QuoteOut)
def get_quote(quote_id):
    """One quote: the supplier sees its own (with its draft); the buyer sees submitted quotes, prices only once
    sealed bids are opened."""
    quote, _ = _quote(quote_id)
    return quote_dict(quote, actor())


@bp.route("/quotes/<int(max=2147483647):quote_id>/submit", methods=["POST"])
@bp.arguments(SubmitIn)
@bp.response(200, QuoteOut)
def submit_quote(data, quote_id):
    """Submit the open draft (it becomes the version that counts). A draft that answers an older amendment
    of the RFQ than the current one is refused (409, naming what changed)."""
    user = actor()
    quote = _own_quote(quote_id)
    lock = quote.lock_version if data.get("lock_version") is None else data["lock_version"]
    quote = quote_services.submit(quote, user, lock, data.get("rfq_amendment_no"), api=True)
    return quote_dict(quote, user)


@bp.route("/quotes/<int(max=2147483647):quote_id>/withdraw", methods=["POST"])
@bp.arguments(WithdrawIn)
@bp.response(200, QuoteOut)
def withdraw_quote(data, quote_id):
    """Withdraw a submitted quote before the deadline, with a reason for the buyer."""
    user = actor()
    quote = _own_quote(quote_id)
    quote = quote_services.withdraw(quote, user, data["reason"], data.get("lock_version"))
    return quote_dict(quote, user)


# --------------------------------------------------------------------------------------------- comparison, award

@bp.route("/rfqs/<int(max=2147483647):rfq_id>/comparison", methods=["GET"])
@bp.response(200, ComparisonOut)
def get_comparison(rfq_id):
    """The comparison matrix (procurement of the buyer only). While sealed bids are unopened: `sealed: true`,
    the number received, and no prices."""
    rfq = _buyer_rfq(rfq_id)
    return comparison_dict(rfq)


def _orders_for(award_id: int, user) -> tuple[list, dict | None]:
    from portal.api.ordering import order_dict
    from portal.orders import services as order_services

    try:
        orders = order_services.create_orders_from_award(award_id, user)
    except DomainError as exc:
        db.session.rollback()
        return [], problem_body(exc)
    except Exception:  # noqa: BLE001 - the award stands; the caller retries the orders alone
        db.session.rollback()
        log.exception("creating the orders of award %s failed", award_id)
        return [], {"type": "https://portal.example/problems/orders-not-created", "title": "Orders not created",
                    "status": 500, "detail": "The RFQ is awarded but its purchase orders could not be created; "
                                             "retry with POST /api/v1/rfqs/{id}/award/orders.", "errors": {}}
    return [order_dict(o, user) for o in orders], None


@bp.route("/rfqs/<int(max=2147483647):rfq_id>/award", methods=["POST"])
@created("api_sourcing.get_award", rfq_id="award/rfq_id")
@links(getOrder={"order_id": "orders/0/id"}, submitOrder={"order_id": "orders/0/id"})
@idempotent
@bp.arguments(AwardIn)
@bp.response(201, AwardResultOut)
def award_rfq(data, rfq_id):
    """Award a closed RFQ (whole: `quote_id`; split: `lines`) and create one draft purchase order per awarded
    supplier. The award and the orders are two units of work: when the award succeeds but the orders cannot be
    created, the answer is still 201 with the award, `orders: []` and `orders_error` (a problem object);
    retry the orders with POST /rfqs/{id}/award/orders."""
    user = actor()
    rfq = _buyer_rfq(rfq_id)
    has_whole, has_lines = data.get("quote_id") is not None, bool(data.get("lines"))
    if has_whole == has_lines:
        raise ValidationFailed(_l("Send either quote_id (award every line to one quote) or lines (a split)."),
                               errors={"quote_id": _l("Either quote_id or lines."), "lines": _l("Either quote_id or lines.")})
    if has_whole:
        award = award_service.award_whole(rfq, user, data["quote_id"], data.get("note", ""),
                                          expected_version=data.get("version"))
    else:
        choices = {}
        for ln in data["lines"]:
            if ln["rfq_line_id"] in choices:
                raise ValidationFailed(_l("RFQ line %(ln)s is given twice."), ln=ln['rfq_line_id'],
                                       errors={"lines": _l("Each RFQ line at most once.")})
            choices[ln["rfq_line_id"]] = ln["quote_id"]
        award = award_service.award_split(rfq, user, choices, data.get("note", ""),
                                          expected_version=data.get("version"))
    award_id = award.id
    orders, error = _orders_for(award_id, user)
    award = db.session.get(Award, award_id)
    db.session.refresh(award)
    return {"award": award_dict(award), "orders": orders, "orders_error": error}


@bp.route("/rfqs/<int(max=2147483647):rfq_id>/award", methods=["GET"])
@bp.response(200, AwardResultOut)
def get_award(rfq_id):
    """The award of an RFQ and the orders made from it."""
    from portal.api.ordering import order_dict
    from portal.orders.models import PurchaseOrder

    user = actor()
    rfq = _buyer_rfq(rfq_id)
    award = award_service.award_for(rfq.id, user.company_id)
    if award is None:
        raise NotFound(_l("This RFQ is not awarded."))
    orders = db.session.scalars(sa.select(PurchaseOrder).where(PurchaseOrder.award_id == award.id)
                                .order_by(PurchaseOrder.id))
    return {"award": award_dict(award), "orders": [order_dict(o, user) for o in orders], "orders_error": None}


@bp.route("/rfqs/<int(max=2147483647):rfq_id>/award/orders", methods=["POST"])
@created("api_sourcing.get_award", rfq_id="award/rfq_id")
@links(getOrder={"order_id": "orders/0/id"}, submitOrder={"order_id": "orders/0/id"})
@bp.response(201, AwardResultOut)
def create_award_orders(rfq_id):
    """Create the purchase orders of an award (idempotent: the orders made the first time are returned)."""
    from portal.orders import services as order_services

    user = actor()
    rfq = _buyer_rfq(rfq_id)
    award = award_service.award_for(rfq.id, user.company_id)
    if award is None:
        raise NotFound(_l("This RFQ is not awarded."))
    award_id = award.id
    orders = order_services.create_orders_from_award(award_id, user)
    from portal.api.ordering import order_dict

    out = [order_dict(o, user) for o in orders]
    return {"award": award_dict(db.session.get(Award, award_id)), "orders": out, "orders_error": None}



# --------------------------------------------------------------------------------------------- awards (change feed)

def _procurement():
    user = actor()
    if not user.has_role(Role.procurement):
        raise Forbidden(_l("Only procurement can see awards."))
    return user


AWARD_LIST = ListPlan(Award)


@bp.route("/awards", methods=["GET"])
@bp.arguments(AwardQuery, location="query")
@bp.response(200, paged_schema(AwardOut, "AwardPage"))
def list_awards(args):
    """Your company's awards (buyer procurement), in id order. Filters: `rfq_id`, `updated_since` (an award
    changes when its orders are created), creation dates; `sort`; pages or the `starting_after` cursor."""
    user = _procurement()
    stmt = scoped(Award, user.company_id)
    if args.get("rfq_id") is not None:
        stmt = stmt.where(Award.rfq_id == args["rfq_id"])
    return list_documents(stmt, AWARD_LIST, args, user.company_id, "api_sourcing.list_awards", award_dict,
                          options=(selectinload(Award.lines), selectinload(Award.rfq)))


@bp.route("/awards/<int(max=2147483647):award_id>", methods=["GET"])
@bp.response(200, AwardOut)
def get_award_by_id(award_id):
    """One award of your company (buyer procurement; another company's is 404)."""
    user = _procurement()
    try:
        return award_dict(get_for_company(Award, award_id, user.company_id))
    except NotFound:
        raise NotFound(_l("No such award.")) from None
