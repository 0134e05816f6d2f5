"""Browser actions that still lacked the API (issue 15, part 2): RFQ and quote attachments (upload, list,
download, delete), a quote's versions, the statement of account (JSON, and the PDF by a job), a finished job's
file, and the CSV exports the pages offer (the invoice list, an RFQ's and a quote's lines; the ZIP of invoice PDFs
by a job).

Every call goes through the services the pages use, with their limits and checks; documents are loaded through
the tenancy helpers (another company's id is 404)."""
from __future__ import annotations

import functools
from datetime import date, timedelta

import sqlalchemy as sa
from flask import Response, jsonify, request
from marshmallow import Schema, fields, validate

from portal.accounts.models import Role
from portal.api.common import (UnsupportedMediaType, actor, created, make_blueprint, money, problems)
from portal.api.schemas import exact_money
from portal.api.schemas import BoundedInt, DecimalString, JobSchema, MoneyOut, job_dict, ts
from portal.api.sourcing import PriceBreakOut
from portal.api.spec import RATE_LIMIT_HEADERS
from portal.db import db, utcnow
from portal.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from portal.i18n import _l

bp = make_blueprint("api_documents", "Attachments of RFQs and quotes, quote versions, statements of account, a "
                                     "job's file and CSV exports.", tag="Documents")

MAX_ID = 2**31 - 1
ATTACHMENT_MEDIA_TYPES = ("application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp", "text/csv")
JOB_FILE_MEDIA_TYPES = ("application/pdf", "application/zip", "text/csv", "application/xml")
FILE_HEADERS = {
    "Content-Disposition": {"description": "attachment with the file name", "schema": {"type": "string"}},
    "X-Content-SHA256": {"description": "The SHA-256 of the stored bytes.", "schema": {"type": "string"}},
}


def binary_doc(description: str, media_types, *, text: bool = False) -> dict:
    """The 200 answer of a download: its media types, the file headers and the rate-limit headers."""
    schema = {"type": "string"} if text else {"type": "string", "format": "binary"}
    headers = {name: {"$ref": f"#/components/headers/{name}"} for name in RATE_LIMIT_HEADERS}
    headers.update(FILE_HEADERS)
    return {"200": {"description": description, "content": {mt: {"schema": dict(schema)} for mt in media_types},
                    "headers": headers}}


unit_money = exact_money  # a unit price keeps its places (up to 4), at least the currency's minor unit


def send_file_bytes(f) -> Response:
    """A stored file whole, checked against its SHA-256 (attachments are at most 5 MB, documents smaller)."""
    from portal.documents.store import read_bytes

    name = f.filename.replace('"', "").replace("\r", "").replace("\n", "")
    return Response(read_bytes(f), mimetype=f.content_type, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "X-Content-SHA256": f.sha256,
        "ETag": f'"{f.sha256}"'})


def _accepted(rec) -> Response:
    resp = jsonify(JobSchema().dump(job_dict(rec)))
    resp.status_code = 202
    resp.headers["Retry-After"] = "2"
    return resp


# --------------------------------------------------------------------------------------------- schemas

class UploadIn(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary", "description": (
        "The file (multipart field `file`): PDF, PNG, JPEG or CSV (quotes also GIF and WebP), at most 5 MB; "
        "the bytes must be what the file name's extension says.")})


class AttachmentOut(Schema):
    id = fields.Integer()
    filename = fields.String()
    content_type = fields.String(validate=validate.OneOf(ATTACHMENT_MEDIA_TYPES))
    size = fields.Integer(metadata={"description": "Bytes."})
    sha256 = fields.String()
    uploaded_at = fields.DateTime()
    removable = fields.Boolean(metadata={"description": "You may delete it now (RFQ: the buyer while the RFQ is "
                                                        "a draft or open; quote: the supplier's draft uploads)."})
    download_url = fields.String()


class RfqAttachmentOut(AttachmentOut):
    rfq_id = fields.Integer()


class QuoteAttachmentOut(AttachmentOut):
    quote_id = fields.Integer()


class RfqAttachmentList(Schema):
    items = fields.List(fields.Nested(RfqAttachmentOut))


class QuoteAttachmentList(Schema):
    items = fields.List(fields.Nested(QuoteAttachmentOut))
    sealed = fields.Boolean(metadata={"description": "Buyer of a sealed quote: its attachments open when the RFQ "
                                                     "closes (the list is empty until then)."})


def multipart(view):
    """Uploads are multipart/form-data; anything else is 415 before the body is read."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if request.mimetype != "multipart/form-data":
            raise UnsupportedMediaType(_l("Send the file as multipart/form-data with the field 'file'."))
        return view(*args, **kwargs)

    return wrapped


def _upload(files) -> tuple[str, bytes]:
    upload = files.get("file") or request.files.get("file")
    if upload is None or not getattr(upload, "filename", ""):
        raise ValidationFailed(_l("Send the file as the multipart field 'file', with its file name."),
                               errors={"file": _l("Required.")})
    return upload.filename, upload.read()


def _attachment_dict(att, url: str, removable: bool) -> dict:
    f = att.file
    return {"id": att.id, "filename": f.filename, "content_type": f.content_type, "size": f.size,
            "sha256": f.sha256, "uploaded_at": ts(att.uploaded_at), "removable": removable, "download_url": url}


# --------------------------------------------------------------------------------------------- RFQ attachments

def _rfq(rfq_id):
    from portal.api.sourcing import _rfq as visible_rfq

    return visible_rfq(rfq_id)


def _rfq_att_dict(rfq, att, user) -> dict:
    from flask import url_for

    from portal.rfq.services import EDITABLE

    removable = (rfq.buyer_company_id == user.company_id and user.has_role(Role.procurement)
                 and rfq.status in EDITABLE)
    return {**_attachment_dict(att, url_for("api_documents.download_rfq_attachment", rfq_id=rfq.id,
                                            attachment_id=att.id), removable), "rfq_id": rfq.id}


@bp.route("/rfqs/<int(max=2147483647):rfq_id>/attachments", methods=["GET"])
@bp.response(200, RfqAttachmentList)
def list_rfq_attachments(rfq_id):
    """The RFQ's attachments (spec sheets, drawings).

    Its buyer, and invited suppliers once it is published.
    """
    from portal.rfq.models import RfqAttachment

    rfq, user = _rfq(rfq_id), actor()
    rows = db.session.scalars(sa.select(RfqAttachment).where(RfqAttachment.rfq_id == rfq.id)
                              .order_by(RfqAttachment.id))
    return {"items": [_rfq_att_dict(rfq, a, user) for a in rows]}


@bp.route("/rfqs/<int(max=2147483647):rfq_id>/attachments", methods=["POST"])
@multipart
@bp.arguments(UploadIn, location="files")
@bp.response(201, RfqAttachmentOut)
@created("api_documents.download_rfq_attachment", rfq_id="rfq_id", attachment_id="id")
@problems(415)
def upload_rfq_attachment(files, rfq_id):
    """The buyer's procurement people attach a file while the RFQ is a draft or open.

    On an open RFQ it is an amendment the invited suppliers are told of. PDF, PNG, JPEG or CSV, at most 5 MB,
    at most 20 per RFQ; the bytes must be what the extension says.
    """
    from portal.rfq import services as rfq_services

    rfq, user = _rfq(rfq_id), actor()
    filename, data = _upload(files)
    att = rfq_services.add_attachment(user, rfq.id, filename=filename, data=data)
    return _rfq_att_dict(db.session.get(type(rfq), rfq.id), att, user)


@bp.route("/rfqs/<int(max=2147483647):rfq_id>/attachments/<int(max=2147483647):attachment_id>",
          methods=["GET"])
@bp.doc(responses=binary_doc("The file, exactly the stored bytes.", ATTACHMENT_MEDIA_TYPES))
def download_rfq_attachment(rfq_id, attachment_id):
    """Download one attachment of an RFQ you are party to (404 otherwise)."""
    from portal.rfq import services as rfq_services

    rfq = _rfq(rfq_id)
    return send_file_bytes(rfq_services.get_attachment(rfq, attachment_id).file)


@bp.route("/rfqs/<int(max=2147483647):rfq_id>/attachments/<int(max=2147483647):attachment_id>",
          methods=["DELETE"])
@bp.response(204)
def delete_rfq_attachment(rfq_id, attachment_id):
    """The buyer removes an attachment while the RFQ is a draft or open (an amendment on an open RFQ)."""
    from portal.rfq import services as rfq_services

    rfq = _rfq(rfq_id)
    rfq_services.remove_attachment(actor(), rfq.id, attachment_id)


# --------------------------------------------------------------------------------------------- quote attachments

def _quote(quote_id):
    from portal.api.sourcing import _quote as viewer_quote

    return viewer_quote(quote_id)


def _own_quote_for_sales(quote_id):
    quote, is_buyer = _quote(quote_id)
    if is_buyer:
        raise Forbidden(_l("Only the supplier can change its quote."))
    if not actor().has_role(Role.sales):
        raise Forbidden(_l("Only your sales people change quotes."))
    return quote


def _quote_att_dict(quote, att, is_buyer: bool) -> dict:
    from flask import url_for

    from portal.quotes import services as quote_services

    removable = (not is_buyer and actor().has_role(Role.sales) and quote.rfq.accepting_quotes
                 and quote_services.is_draft_attachment(quote, att))
    return {**_attachment_dict(att, url_for("api_documents.download_quote_attachment", quote_id=quote.id,
                                            attachment_id=att.id), removable), "quote_id": quote.id}


@bp.route("/quotes/<int(max=2147483647):quote_id>/attachments", methods=["GET"])
@bp.response(200, QuoteAttachmentList)
def list_quote_attachments(quote_id):
    """The quote's attachments: the supplier sees all (its draft uploads are `removable`).

    The buyer those submitted with the quote, once the sealed bids are opened.
    """
    from portal.quotes import services as quote_services

    quote, is_buyer = _quote(quote_id)
    sealed = is_buyer and not quote_services.buyer_can_see_prices(quote.rfq)
    rows = quote_services.attachments_of(quote, for_buyer=is_buyer)
    return {"items": [_quote_att_dict(quote, a, is_buyer) for a in rows], "sealed": sealed}


@bp.route("/quotes/<int(max=2147483647):quote_id>/attachments", methods=["POST"])
@multipart
@bp.arguments(UploadIn, location="files")
@bp.response(201, QuoteAttachmentOut)
@created("api_documents.download_quote_attachment", quote_id="quote_id", attachment_id="id")
@problems(415)
def upload_quote_attachment(files, quote_id):
    """The supplier's sales people attach a file to the quote's open draft.

    The buyer sees it once the draft is submitted. PDF, image (PNG, JPEG, GIF, WebP) or CSV, at most 5 MB, at
    most 20 per quote.
    """
    from portal.quotes import services as quote_services
    from portal.quotes.models import Quote

    quote = _own_quote_for_sales(quote_id)
    filename, data = _upload(files)
    att = quote_services.add_attachment(quote, actor(), filename=filename, data=data)
    return _quote_att_dict(db.session.get(Quote, quote.id), att, False)


@bp.route("/quotes/<int(max=2147483647):quote_id>/attachments/<int(max=2147483647):attachment_id>",
          methods=["GET"])
@bp.doc(responses=binary_doc("The file, exactly the stored bytes.", ATTACHMENT_MEDIA_TYPES))
def download_quote_attachment(quote_id, attachment_id):
    """Download one attachment of a quote.

    The supplier any; the buyer those submitted, once bids are opened (403 while sealed).
    """
    from portal.quotes import services as quote_services

    quote, _ = _quote(quote_id)
    return send_file_bytes(quote_services.attachment_for(quote, attachment_id, actor()).file)


@bp.route("/quotes/<int(max=2147483647):quote_id>/attachments/<int(max=2147483647):attachment_id>",
          methods=["DELETE"])
@bp.response(204)
def delete_quote_attachment(quote_id, attachment_id):
    """The supplier removes an attachment of its draft (submitted ones stay with their version: 409)."""
    from portal.quotes import services as quote_services

    quote = _own_quote_for_sales(quote_id)
    quote_services.remove_attachment(quote, actor(), attachment_id)


# --------------------------------------------------------------------------------------------- quote versions

class VersionLineOut(Schema):
    rfq_line_id = fields.Integer()
    position = fields.Integer()
    description = fields.String()
    part_number = fields.String(allow_none=True)
    requested_quantity = DecimalString()
    unit = fields.String()
    state = fields.String(validate=validate.OneOf(["quoted", "declined", "missing"]))
    unit_price = fields.Nested(MoneyOut, allow_none=True)
    price_breaks = fields.List(fields.Nested(PriceBreakOut))
    moq = DecimalString(allow_none=True)
    pack_size = DecimalString(allow_none=True)
    lead_time_days = fields.Integer(allow_none=True)
    decline_reason = fields.String(allow_none=True)
    ordered_quantity = DecimalString(allow_none=True, metadata={
        "description": "The requested quantity raised to the MOQ and whole packs."})
    effective_unit_price = fields.Nested(MoneyOut, allow_none=True, metadata={
        "description": "The unit price at the ordered quantity (a price break may apply)."})
    line_total = fields.Nested(MoneyOut, allow_none=True)
    changed = fields.Boolean(metadata={"description": "The supplier changed this line against the previous "
                                                      "version (always false on version 1)."})


class QuoteVersionOut(Schema):
    number = fields.Integer()
    status = fields.String(validate=validate.OneOf(["draft", "submitted"]))
    current = fields.Boolean(metadata={"description": "The submitted version that counts."})
    submitted_at = fields.DateTime(allow_none=True)
    submitted_by = fields.String(allow_none=True, metadata={"description": "The person's name."})
    created_at = fields.DateTime()
    rfq_amendment_no = fields.Integer(metadata={"description": "The RFQ amendment this version answers."})
    prices_visible = fields.Boolean()
    valid_until = fields.Date(allow_none=True)
    total = fields.Nested(MoneyOut, allow_none=True, metadata={
        "description": "At the requested quantities (MOQ, packs, breaks), shipping included; null while sealed."})


class QuoteVersionDetailOut(QuoteVersionOut):
    quote_id = fields.Integer()
    delivery_terms = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)
    goods = fields.Nested(MoneyOut, allow_none=True)
    shipping = fields.Nested(MoneyOut, allow_none=True)
    lines_priced = fields.Integer()
    lines_declined = fields.Integer()
    lines_missing = fields.Integer()
    changed_fields = fields.List(fields.String(validate=validate.OneOf(
        ["valid_until", "delivery_terms", "shipping_cost", "notes"])), metadata={
        "description": "Header terms changed against the previous version."})
    lines = fields.List(fields.Nested(VersionLineOut), metadata={"description": "Empty while sealed."})


class QuoteVersionList(Schema):
    items = fields.List(fields.Nested(QuoteVersionOut), metadata={"description": "Newest first."})


def _plain(d):
    from portal.api.schemas import plain

    return plain(d)


def _versions(quote, is_buyer: bool):
    from portal.quotes import services as quote_services

    rfq = quote.rfq
    show = (not is_buyer) or quote_services.buyer_can_see_prices(rfq)
    versions = quote_services.versions_of(quote, include_draft=not is_buyer)
    rfq_lines = quote_services.rfq_lines(rfq.id)
    lines = quote_services.version_lines([v.id for v in versions]) if show else {}
    totals = ({v.id: quote_services.version_totals(v, lines[v.id], rfq_lines, rfq.currency) for v in versions}
              if show else {})
    return show, versions, rfq_lines, lines, totals


def _version_summary(quote, v, show: bool, totals) -> dict:
    cur = quote.rfq.currency
    return {"number": v.number, "status": "submitted" if v.submitted_at else "draft",
            "current": v.id == quote.current_version_id, "submitted_at": ts(v.submitted_at),
            "submitted_by": v.submitted_by.name if v.submitted_by else None, "created_at": ts(v.created_at),
            "rfq_amendment_no": v.rfq_amendment_no, "prices_visible": show, "valid_until": v.valid_until,
            "total": money(totals[v.id].total, cur) if show else None}


def _line_terms(ql):
    if ql is None:
        return None
    return (ql.declined, ql.unit_price, tuple((str(b["min_quantity"]), str(b["unit_price"]))
                                             for b in (ql.price_breaks or [])),
            ql.moq, ql.pack_size, ql.lead_time_days, ql.decline_reason if ql.declined else None)


@bp.route("/quotes/<int(max=2147483647):quote_id>/versions", methods=["GET"])
@bp.response(200, QuoteVersionList)
def list_quote_versions(quote_id):
    """Every version of a quote, newest first.

    The supplier sees its draft too; the buyer the submitted ones (totals only once sealed bids are opened).
    """
    quote, is_buyer = _quote(quote_id)
    show, versions, _, _, totals = _versions(quote, is_buyer)
    return {"items": [_version_summary(quote, v, show, totals) for v in versions]}


@bp.route("/quotes/<int(max=2147483647):quote_id>/versions/<int(max=2147483647):number>", methods=["GET"])
@bp.response(200, QuoteVersionDetailOut)
def get_quote_version(quote_id, number):
    """One version of a quote as the quote page shows it.

    Terms, every RFQ line with its price, breaks, MOQ, pack, lead time, the quantity ordered and the line
    total, the totals — and what the supplier changed against the previous version.
    """
    quote, is_buyer = _quote(quote_id)
    show, versions, rfq_lines, lines, totals = _versions(quote, is_buyer)
    v = next((x for x in versions if x.number == number), None)
    if v is None:
        raise NotFound(_l("No such version of this quote."))
    cur = quote.rfq.currency
    out = {**_version_summary(quote, v, show, totals), "quote_id": quote.id, "delivery_terms": None, "notes": None,
           "goods": None, "shipping": None, "lines_priced": 0, "lines_declined": 0, "lines_missing": 0,
           "changed_fields": [], "lines": []}
    if not show:
        return out
    older = [x for x in versions if x.number < v.number and x.submitted_at is not None]
    prev = max(older, key=lambda x: x.number) if older else None
    prev_lines = {ql.rfq_line_id: ql for ql in lines.get(prev.id, [])} if prev else {}
    mine = {ql.rfq_line_id: ql for ql in lines[v.id]}
    t = totals[v.id]
    out.update({"delivery_terms": v.delivery_terms or "", "notes": v.notes or "", "goods": money(t.subtotal, cur),
                "shipping": money(t.shipping, cur), "lines_priced": t.priced, "lines_declined": t.declined,
                "lines_missing": t.missing})
    if prev is not None:
        out["changed_fields"] = [name for name in ("valid_until", "delivery_terms", "shipping_cost", "notes")
                                 if getattr(prev, name) != getattr(v, name)]
    for rl in rfq_lines:
        ql = mine.get(rl.id)
        state = "missing" if ql is None else ("declined" if ql.declined else "quoted")
        row = {"rfq_line_id": rl.id, "position": rl.position, "description": rl.description,
               "part_number": rl.part_number, "requested_quantity": _plain(rl.quantity), "unit": rl.unit,
               "state": state, "unit_price": None, "price_breaks": [], "moq": None, "pack_size": None,
               "lead_time_days": None, "decline_reason": None, "ordered_quantity": None, "effective_unit_price": None,
               "line_total": None,
               "changed": prev is not None and _line_terms(ql) != _line_terms(prev_lines.get(rl.id))}
        if ql is not None:
            row.update({"decline_reason": ql.decline_reason if ql.declined else None,
                        "lead_time_days": ql.lead_time_days, "moq": _plain(ql.moq), "pack_size": _plain(ql.pack_size),
                        "unit_price": unit_money(ql.unit_price, cur),
                        "price_breaks": [{"min_quantity": str(b["min_quantity"]), "unit_price": str(b["unit_price"])}
                                         for b in (ql.price_breaks or [])]})
        if rl.id in t.lines:
            qty, price, total = t.lines[rl.id]
            row.update({"ordered_quantity": _plain(qty), "effective_unit_price": unit_money(price, cur),
                        "line_total": money(total, cur)})
        out["lines"].append(row)
    return out


# --------------------------------------------------------------------------------------------- statements

class StatementQuery(Schema):
    counterparty_id = BoundedInt(strict=False, required=True, validate=validate.Range(min=1, max=MAX_ID),
                                 metadata={"description": "The other company (a customer or a supplier you have "
                                                          "invoices with)."})
    date_from = fields.Date(data_key="from", load_default=None, metadata={
        "description": "First day (default: the first of the month three months ago)."})
    date_to = fields.Date(data_key="to", load_default=None, metadata={"description": "Last day (default: today)."})


class StatementPdfIn(Schema):
    counterparty_id = BoundedInt(required=True, validate=validate.Range(min=1, max=MAX_ID))
    date_from = fields.Date(data_key="from", load_default=None)
    date_to = fields.Date(data_key="to", load_default=None)


class StatementParty(Schema):
    legal_name = fields.String()
    display_name = fields.String()
    vat_number = fields.String()


class StatementRow(Schema):
    date = fields.Date()
    kind = fields.String(validate=validate.OneOf(["invoice", "credit_note", "payment"]))
    id = fields.Integer(metadata={"description": "The invoice, credit note or payment."})
    text = fields.String()
    due_date = fields.Date(allow_none=True)
    amount = fields.Nested(MoneyOut, metadata={"description": "Positive: the buyer owes more."})
    balance = fields.Nested(MoneyOut)


class StatementSection(Schema):
    currency = fields.String()
    opening = fields.Nested(MoneyOut)
    closing = fields.Nested(MoneyOut)
    rows = fields.List(fields.Nested(StatementRow))


class StatementOut(Schema):
    company = fields.Nested(StatementParty)
    counterparty = fields.Nested(StatementParty)
    counterparty_id = fields.Integer()
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")
    company_is_supplier = fields.Boolean(metadata={"description": "Balances are what the buyer owes the supplier."})
    sections = fields.List(fields.Nested(StatementSection), metadata={"description": "One per currency."})


def _statement_args(data) -> tuple[int, date, date]:
    from portal.invoices import services as invoice_services

    user = actor()
    if not user.has_role(Role.accounts):
        raise Forbidden(_l("Only your accounts team sees statements of account."))
    cid = data["counterparty_id"]
    if not any(p.id == cid for p in invoice_services.counterparties(user.company_id)):
        raise NotFound(_l("No invoices with such a company."))
    today = utcnow().date()
    d_from = data.get("date_from") or (today.replace(day=1) - timedelta(days=90))
    d_to = data.get("date_to") or today
    if d_from > d_to:
        raise ValidationFailed(_l("The start date is after the end date."), errors={"from": _l("Before the end date.")})
    return cid, d_from, d_to


def _statement_dict(data: dict) -> dict:
    def party(p):
        return {"legal_name": p["legal_name"], "display_name": p["display_name"], "vat_number": p["vat_number"]}

    sections = []
    for s in data["sections"]:
        cur = s["currency"]
        sections.append({"currency": cur, "opening": money(s["opening"], cur), "closing": money(s["closing"], cur),
                         "rows": [{"date": date.fromisoformat(r["date"]), "kind": r["kind"], "id": r["id"],
                                   "text": r["text"],
                                   "due_date": date.fromisoformat(r["due_date"]) if r["due_date"] else None,
                                   "amount": money(r["amount"], cur), "balance": money(r["balance"], cur)}
                                  for r in s["rows"]]})
    return {"company": party(data["company"]), "counterparty": party(data["counterparty"]),
            "counterparty_id": data["counterparty_id"], "date_from": date.fromisoformat(data["from"]),
            "date_to": date.fromisoformat(data["to"]), "company_is_supplier": data["company_is_supplier"],
            "sections": sections}


@bp.route("/statements", methods=["GET"])
@bp.arguments(StatementQuery, location="query")
@bp.response(200, StatementOut)
@problems(404)
def get_statement(args):
    """Accounts teams: the statement of account with one counterparty over a period, per currency.

    Opening balance, every invoice, credit note and payment in date order with the running balance, closing
    balance.
    """
    from portal.invoices.statements import statement

    cid, d_from, d_to = _statement_args(args)
    return _statement_dict(statement(actor().company_id, cid, d_from, d_to))


@bp.route("/statements/pdf", methods=["POST"])
@bp.arguments(StatementPdfIn)
@bp.response(202, JobSchema, description="The PDF is being rendered: poll the job, then GET /jobs/{id}/file.")
def render_statement_pdf(data):
    """Accounts teams: the same statement as a PDF, rendered by a background job (as the page's button)."""
    from portal.invoices import services as invoice_services

    cid, d_from, d_to = _statement_args(data)
    return _accepted(invoice_services.start_statement_pdf(actor(), cid, d_from, d_to))


# --------------------------------------------------------------------------------------------- a job's file

@bp.route("/jobs/<int(max=2147483647):job_id>/file", methods=["GET"])
@bp.doc(responses=binary_doc("The file the job produced (a statement PDF, a ZIP of invoice PDFs, a CSV).",
                             JOB_FILE_MEDIA_TYPES))
@bp.alt_response(202, schema=JobSchema, description="Still running: the job to poll (Retry-After).")
@problems(409)
def download_job_file(job_id):
    """The file a finished background job produced; 202 with the job while it runs, 409 when it failed."""
    from portal.jobs.models import JobRecord, JobStatus
    from portal.jobs.services import may_see
    from portal.tenancy import get_for_company

    user = actor()
    rec = get_for_company(JobRecord, job_id, user.company_id)
    if not may_see(rec, user):
        raise NotFound(_l("No such job."))
    if rec.status == JobStatus.failed:
        raise InvalidTransition(_l("The job failed: %(value)s."), value=rec.error or 'no reason recorded')
    if rec.status != JobStatus.succeeded:
        return _accepted(rec)
    if rec.result_file is None:
        raise NotFound(_l("This job produced no file."))
    return send_file_bytes(rec.result_file)


# --------------------------------------------------------------------------------------------- exports

def _invoice_query():
    from portal.api.invoicing import InvoiceQuery

    return InvoiceQuery


class InvoiceExportQuery(_invoice_query()):
    """The invoice list's filters (GET /invoices) without paging and sort: the export holds every match."""

    kind = fields.String(load_default=None, validate=validate.OneOf(["invoice", "credit_note"]), metadata={
        "description": "Only invoices or only credit notes (default: both)."})

    class Meta:
        exclude = ("page", "per_page", "starting_after", "sort")


class InvoiceZipIn(Schema):
    """The invoice page's ZIP filters."""

    status = fields.String(load_default=None, validate=validate.OneOf(
        ["draft", "issued", "partially_paid", "paid", "open", "overdue"]))
    kind = fields.String(load_default=None, validate=validate.OneOf(["invoice", "credit_note"]))
    counterparty_id = BoundedInt(load_default=None, validate=validate.Range(min=1, max=MAX_ID))
    issued_from = fields.Date(load_default=None)
    issued_to = fields.Date(load_default=None)
    text = fields.String(load_default=None, validate=validate.Length(min=1, max=100), metadata={
        "description": "Part of the number or the buyer's reference."})


def _accounts_user():
    user = actor()
    if not user.has_role(Role.accounts):
        raise Forbidden(_l("Only your accounts team exports invoices."))
    return user


def invoice_export_clauses(company_id: int, args: dict) -> list:
    """The WHERE clauses of GET /invoices (without paging) for the export."""
    from datetime import datetime, time as dtime, timezone

    from portal.api.common import _like_prefix
    from portal.api.invoicing import INVOICE_LIST
    from portal.invoices import services as invoice_services
    from portal.invoices.models import Invoice

    clauses = invoice_services.list_filter(company_id, status=args.get("status"), kind=args.get("kind"))
    if args.get("counterparty_id") is not None:
        clauses.append(INVOICE_LIST.counterparty(company_id, args["counterparty_id"]))
    if args.get("reference"):
        like = _like_prefix(args["reference"])
        clauses.append(sa.or_(*[sa.func.lower(col).like(like, escape="\\") for col in INVOICE_LIST.reference]))
    if args.get("updated_since") is not None:
        clauses.append(Invoice.updated_at >= args["updated_since"].astimezone(timezone.utc))
    if args.get("created_from") is not None:
        clauses.append(Invoice.created_at >= datetime.combine(args["created_from"], dtime.min, timezone.utc))
    if args.get("created_to") is not None and args["created_to"] < date.max:
        clauses.append(Invoice.created_at < datetime.combine(args["created_to"] + timedelta(days=1), dtime.min,
                                                             timezone.utc))
    for key, clause in (("issued_from", lambda d: Invoice.issue_date >= d),
                        ("issued_to", lambda d: Invoice.issue_date <= d), ("due_to", lambda d: Invoice.due_date <= d)):
        if args.get(key) is not None:
            clauses.append(clause(args[key]))
    return clauses


@bp.route("/exports/invoices", methods=["GET"])
@bp.arguments(InvoiceExportQuery, location="query")
@bp.doc(responses=binary_doc("The invoices as CSV (UTF-8, one header row; the page's export columns), streamed.",
                             ["text/csv"], text=True))
def export_invoices_csv(args):
    """Accounts teams: every invoice and credit note matching the list's filters as CSV.

    The page's export, streamed in batches of 500 (any number of invoices).
    """
    from portal.invoices import csvexport
    from portal.invoices.models import Invoice
    from portal.viewutil import stream_in_app_context

    user = _accounts_user()
    try:  # built (and refused) before the first byte is sent; the batches only read
        clauses = invoice_export_clauses(user.company_id, args)
    except OverflowError:
        raise ValidationFailed(_l("A date is out of range."), errors={"updated_since": _l("Out of range.")}) from None

    def next_batch(last: int):
        return list(db.session.scalars(sa.select(Invoice).where(*clauses, Invoice.id > last)
                                       .order_by(Invoice.id).limit(500)).unique())

    return Response(stream_in_app_context(csvexport.generate(next_batch)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="invoices-{date.today()}.csv"'})


@bp.route("/exports/invoices/zip", methods=["POST"])
@bp.arguments(InvoiceZipIn)
@bp.response(202, JobSchema, description="The ZIP is being built: poll the job, then GET /jobs/{id}/file.")
def export_invoices_zip(data):
    """Accounts teams: a ZIP of the PDFs of the matching invoices, built by a background job.

    As the page's button; invoices without a PDF yet are listed in MISSING.txt inside it.
    """
    from portal.invoices import services as invoice_services

    user = _accounts_user()
    filters = {"status": data.get("status"), "counterparty_id": data.get("counterparty_id"),
               "date_from": data["issued_from"].isoformat() if data.get("issued_from") else None,
               "date_to": data["issued_to"].isoformat() if data.get("issued_to") else None,
               "kind": data.get("kind"), "overdue": False, "q": data.get("text")}
    return _accepted(invoice_services.start_zip_export(user, filters))


def _csv(text: str, filename: str) -> Response:
    name = filename.replace('"', "").replace(" ", "_")
    return Response("\ufeff" + text, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/exports/rfqs/<int(max=2147483647):rfq_id>/lines", methods=["GET"])
@bp.doc(responses=binary_doc("The RFQ's lines as CSV (UTF-8 with BOM; the columns the RFQ line import reads).",
                             ["text/csv"], text=True))
def export_rfq_lines_csv(rfq_id):
    """The RFQ's lines as CSV, the page's export: its buyer, and invited suppliers once it is published."""
    from portal.rfq import services as rfq_services

    rfq = _rfq(rfq_id)
    _, text = rfq_services.export_lines_csv(actor(), rfq.id)
    return _csv(text, f"{rfq.reference}-lines.csv")


@bp.route("/exports/quotes/<int(max=2147483647):quote_id>/lines", methods=["GET"])
@bp.doc(responses=binary_doc("The quote's lines as CSV (UTF-8 with BOM; the columns the quote line upload reads).",
                             ["text/csv"], text=True))
def export_quote_lines_csv(quote_id):
    """A quote's lines as CSV, the page's export.

    The supplier gets its draft (else the submitted version); the buyer the submitted version, once sealed bids
    are opened (403 before).
    """
    from portal.quotes import services as quote_services

    quote, is_buyer = _quote(quote_id)
    name, text = quote_services.export_lines(quote, for_buyer=is_buyer)
    return _csv(text, name)
