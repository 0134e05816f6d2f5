"""Receivables over the API (supplier accounts): the aging (`GET /aging`, `GET /aging/{buyer_id}/items`) and
the dunning history of an invoice (`GET /invoices/{id}/dunning`, both sides) with each letter's PDF."""
from __future__ import annotations

from flask import Response, jsonify
from marshmallow import Schema, fields, validate

from portal.accounts.models import Role
from portal.api.common import actor, make_blueprint, money
from portal.api.schemas import DecimalString, JobSchema, MoneyOut, job_dict, pending_job, plain
from portal.api.spec import RATE_LIMIT_HEADERS
from portal.db import db
from portal.errors import Forbidden, NotFound
from portal.i18n import _l
from portal.invoices.models import Invoice
from portal.receivables import aging as aging_mod
from portal.receivables import dunning
from portal.receivables.models import DunningNotice
from portal.tenancy import get_for_company

bp = make_blueprint("api_receivables", "The supplier's receivables: aging and dunning.", tag="Receivables")


class BucketsOut(Schema):
    not_due = fields.Nested(MoneyOut)
    d1_30 = fields.Nested(MoneyOut)
    d31_60 = fields.Nested(MoneyOut)
    d61_90 = fields.Nested(MoneyOut)
    d90_plus = fields.Nested(MoneyOut)


class AgingRowOut(Schema):
    buyer_company_id = fields.Integer()
    name = fields.String()
    currency = fields.String()
    invoices = fields.Integer()
    buckets = fields.Nested(BucketsOut)
    total = fields.Nested(MoneyOut)
    disputed = fields.Nested(MoneyOut, metadata={"description": "Of the total: invoices under dispute."})


class AgingTotalOut(Schema):
    currency = fields.String()
    invoices = fields.Integer()
    buckets = fields.Nested(BucketsOut)
    total = fields.Nested(MoneyOut)
    disputed = fields.Nested(MoneyOut)


class AgingOut(Schema):
    as_of = fields.Date()
    buckets = fields.List(fields.String(), metadata={"description": "Bucket keys in order: not due, 1–30, 31–60, "
                                                                    "61–90 and over 90 days past due."})
    customers = fields.List(fields.Nested(AgingRowOut))
    totals = fields.List(fields.Nested(AgingTotalOut))


class ItemsQuery(Schema):
    currency = fields.String(load_default=None, validate=validate.Regexp(r"^[A-Z]{3}$"))
    bucket = fields.String(load_default=None, validate=validate.OneOf(list(aging_mod.BUCKET_KEYS)))


class AgingItemOut(Schema):
    id = fields.Integer()
    number = fields.String()
    buyer_reference = fields.String()
    issue_date = fields.Date(allow_none=True)
    due_date = fields.Date(allow_none=True)
    days_late = fields.Integer()
    bucket = fields.String()
    total_gross = fields.Nested(MoneyOut)
    open_amount = fields.Nested(MoneyOut)
    disputed = fields.Boolean()
    dunning_level = fields.Integer(allow_none=True)


class ItemsOut(Schema):
    items = fields.List(fields.Nested(AgingItemOut))


class InterestOut(Schema):
    rate_percent = DecimalString(metadata={"description": "Reference rate + 8 points, per year."})
    amount = fields.Nested(MoneyOut)


class NoticeOut(Schema):
    id = fields.Integer()
    invoice_id = fields.Integer()
    level = fields.Integer()
    title = fields.String()
    sent_on = fields.Date()
    days_late = fields.Integer()
    open_amount = fields.Nested(MoneyOut)
    interest = fields.Nested(InterestOut, allow_none=True, metadata={
        "description": "Late-payment interest claimed on the letter (never added to the invoice); null if none."})
    letter_ready = fields.Boolean()
    links = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True))


class HistoryOut(Schema):
    invoice_id = fields.Integer()
    disputed = fields.Boolean(metadata={"description": "A disputed invoice is not dunned."})
    notices = fields.List(fields.Nested(NoticeOut))


def _accounts():
    user = actor()
    if not user.has_role(Role.accounts):
        raise Forbidden(_l("Only accounts people work with receivables."))
    return user


def _supplier_accounts():
    user = _accounts()
    if not user.company.is_supplier:
        raise NotFound(_l("Receivables aging is for suppliers."))
    return user


def _row(r: dict) -> dict:
    cur = r["currency"]
    return {"currency": cur, "invoices": r["count"], "total": money(r["total"], cur),
            "disputed": money(r["disputed"], cur),
            "buckets": {k: money(r[k], cur) for k in aging_mod.BUCKET_KEYS}}


@bp.route("/aging", methods=["GET"])
@bp.response(200, AgingOut)
def get_aging():
    """Supplier accounts: open receivables as of today per customer and currency in buckets of days past due,
    with totals per currency. One SQL statement (GROUP BY) whatever the number of invoices."""
    user = _supplier_accounts()
    data = aging_mod.aging(user.company_id)
    return {"as_of": data["as_of"], "buckets": list(aging_mod.BUCKET_KEYS),
            "customers": [{"buyer_company_id": r["buyer_company_id"], "name": r["name"], **_row(r)}
                          for r in data["customers"]],
            "totals": [_row(t) for t in data["totals"]]}


@bp.route("/aging/<int(max=2147483647):buyer_id>/items", methods=["GET"])
@bp.arguments(ItemsQuery, location="query", as_kwargs=True)
@bp.response(200, ItemsOut)
def aging_items(buyer_id, currency=None, bucket=None):
    """Supplier accounts: the open invoices of one customer behind the aging (optionally one currency and
    bucket), oldest due first, at most 500."""
    user = _supplier_accounts()
    if not aging_mod.is_customer(user.company_id, buyer_id):
        raise NotFound(_l("No such customer."))
    rows = aging_mod.items(user.company_id, buyer_id, currency=currency, bucket=bucket)
    return {"items": [{"id": r["id"], "number": r["number"], "buyer_reference": r["buyer_reference"],
                       "issue_date": r["issue_date"], "due_date": r["due_date"], "days_late": r["days_late"],
                       "bucket": r["bucket"], "total_gross": money(r["gross"], r["currency"]),
                       "open_amount": money(r["open"], r["currency"]), "disputed": r["disputed"],
                       "dunning_level": r["dunning_level"]} for r in rows]}


def notice_dict(n: DunningNotice) -> dict:
    from flask import url_for

    return {"id": n.id, "invoice_id": n.invoice_id, "level": n.level, "title": n.title, "sent_on": n.sent_on,
            "days_late": n.days_late, "open_amount": money(n.open_amount, n.currency),
            "interest": ({"rate_percent": plain(n.interest_rate), "amount": money(n.interest_amount, n.currency)}
                         if n.interest_rate is not None else None),
            "letter_ready": n.pdf_file_id is not None,
            "links": {"letter": url_for("api_receivables.dunning_letter", notice_id=n.id) if n.snapshot else None}}


@bp.route("/invoices/<int(max=2147483647):inv_id>/dunning", methods=["GET"])
@bp.response(200, HistoryOut)
def dunning_history(inv_id):
    """Both sides' accounts: the dunning notices of an invoice, level by level."""
    user = _accounts()
    inv = get_for_company(Invoice, inv_id, user.company_id)
    return {"invoice_id": inv.id, "disputed": inv.disputed_at is not None,
            "notices": [notice_dict(n) for n in dunning.history(inv.id)]}


@bp.route("/dunning-letters/<int(max=2147483647):notice_id>/pdf", methods=["GET"])
@bp.doc(responses={"200": {"description": "The stored letter PDF.",
                            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
                            "headers": {name: {"$ref": f"#/components/headers/{name}"} for name in RATE_LIMIT_HEADERS}}})
@bp.alt_response(202, schema=JobSchema, description="Still rendering: the job to poll (Retry-After).")
def dunning_letter(notice_id):
    """Both sides' accounts: a dunning letter's PDF; 202 with the job while it renders."""
    from portal.documents.models import StoredFile
    from portal.documents.store import read_bytes
    from portal.jobs.models import JobRecord
    from portal.jobs.services import may_see

    user = _accounts()
    n = get_for_company(DunningNotice, notice_id, user.company_id)
    f = db.session.get(StoredFile, n.pdf_file_id) if n.pdf_file_id else None
    if f is not None:
        return Response(read_bytes(f), mimetype="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="{f.filename}"', "X-Content-SHA256": f.sha256})
    if not n.snapshot:
        raise NotFound(_l("This reminder was sent before letters existed; it has no PDF."))
    rec = db.session.get(JobRecord, n.pdf_job_id) if n.pdf_job_id else None
    if rec is not None and may_see(rec, user) and rec.company_id == user.company_id:
        body = job_dict(rec)
    else:
        body = pending_job("dunning-letter", "Letter being rendered")
    resp = jsonify(JobSchema().dump(body))
    resp.status_code = 202
    resp.headers["Retry-After"] = "2"
    return resp
