"""Invoicing over the API: invoices (create and issue from a shipment or an order), their PDF (202 with the
rendering job until the stored bytes exist), payments and credit notes. Accounts people only, like the pages."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Response, jsonify
from marshmallow import Schema, fields, validate
from sqlalchemy.orm import selectinload

from portal.accounts.models import Role
from portal.api.auth import idempotent
from portal.api.common import ListArgs, ListPlan, actor, list_documents, created, problems, make_blueprint, money, paged_schema
from portal.api.schemas import exact_money
from portal.api.schemas import (BoundedInt, DecimalString, JobSchema, LockArgs, MoneyField, MoneyOut, amount_in, job_dict,
                                 lock_or_current, pending_job, plain, ts)
from portal.db import db
from portal.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from portal.i18n import _l
from portal.invoices import services as invoice_services
from portal.invoices.models import CreditReason, DocumentKind, Invoice
from portal.invoices.states import InvoiceStatus
from portal.locking import retry_on_conflict
from portal.tenancy import get_for_company

bp = make_blueprint("api_invoicing", "Invoices, their PDFs, payments and credit notes.")


class InvoiceLineOut(Schema):
    id = fields.Integer()
    position = fields.Integer()
    order_line_id = fields.Integer(allow_none=True)
    shipment_line_id = fields.Integer(allow_none=True)
    charge = fields.String(allow_none=True, metadata={"description": "'shipping' for the order's shipping charge, "
                                                                    "else null (goods)"})
    sku = fields.String(allow_none=True)
    description = fields.String()
    quantity = DecimalString()
    unit = fields.String()
    unit_price = fields.Nested(MoneyOut)
    discount_percent = DecimalString()
    tax_rate = DecimalString()
    net_amount = fields.Nested(MoneyOut)


class PaymentOut(Schema):
    id = fields.Integer()
    amount = fields.Nested(MoneyOut)
    date = fields.Date()
    reference = fields.String()
    recorded_at = fields.DateTime()


class InvoiceLinks(Schema):
    self = fields.String()
    pdf = fields.String(allow_none=True)


class InvoiceOut(Schema):
    id = fields.Integer()
    kind = fields.String(validate=validate.OneOf([k.value for k in DocumentKind]))
    number = fields.String(allow_none=True, metadata={"example": "INV-2026-00009"})
    status = fields.String(validate=validate.OneOf([s.value for s in InvoiceStatus]))
    supplier_company_id = fields.Integer()
    buyer_company_id = fields.Integer()
    order_id = fields.Integer(allow_none=True)
    shipment_id = fields.Integer(allow_none=True)
    corrects_invoice_id = fields.Integer(allow_none=True)
    credit_reason = fields.String(allow_none=True, validate=validate.OneOf([r.value for r in CreditReason]), metadata={"description": "Credit notes: what the credit is for "
                                                                          "(see POST /credit-notes); else null"})
    buyer_reference = fields.String()
    currency = fields.String()
    issue_date = fields.Date(allow_none=True)
    due_date = fields.Date(allow_none=True)
    payment_terms_days = fields.Integer()
    reverse_charge = fields.Boolean()
    total_net = fields.Nested(MoneyOut)
    total_tax = fields.Nested(MoneyOut)
    total_gross = fields.Nested(MoneyOut)
    paid_amount = fields.Nested(MoneyOut)
    credited_amount = fields.Nested(MoneyOut)
    open_amount = fields.Nested(MoneyOut)
    overdue = fields.Boolean()
    pdf_ready = fields.Boolean()
    lock_version = fields.Integer()
    notes = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    lines = fields.List(fields.Nested(InvoiceLineOut))
    payments = fields.List(fields.Nested(PaymentOut))
    links = fields.Nested(InvoiceLinks)


class InvoiceQuery(ListArgs):
    status = fields.String(load_default=None, validate=validate.OneOf(
        ["draft", "issued", "partially_paid", "paid", "open", "overdue"]))
    issued_from = fields.Date(load_default=None, metadata={"description": "Issued on or after this day."})
    issued_to = fields.Date(load_default=None, metadata={"description": "Issued on or before this day."})
    due_to = fields.Date(load_default=None, metadata={"description": "Due on or before this day."})


class InvoiceIn(Schema):
    shipment_id = BoundedInt()
    order_id = BoundedInt()
    notes = fields.String(load_default="", validate=validate.Length(max=2000))


class PaymentIn(LockArgs):
    amount = MoneyField(required=True, metadata={"description": "In the invoice's currency."})
    date = fields.Date(required=True)
    reference = fields.String(load_default="", validate=validate.Length(max=100))


class CreditLineIn(Schema):
    invoice_line_id = BoundedInt(required=True)
    quantity = DecimalString(required=True)


class CreditNoteIn(LockArgs):
    invoice_id = BoundedInt(required=True)
    reason_kind = fields.String(required=True, validate=validate.OneOf([r.value for r in CreditReason]), metadata={
        "description": "What the credit is for: 'returned' and 'rejected_at_receipt' goods (and 'other' credits) "
                       "stay invoiced for good; only 'invoicing_error' makes the credited quantity invoiceable "
                       "again. Printed on the credit note."})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    lines = fields.List(fields.Nested(CreditLineIn), validate=validate.Length(min=1, max=2000),
                        metadata={"description": "Credit by line quantities ..."})
    amount = MoneyField(metadata={"description": "... or a net amount at tax_rate, in the invoice's currency."})
    tax_rate = DecimalString(allow_none=True)


def invoice_dict(inv: Invoice) -> dict:
    from flask import url_for

    cur = inv.currency
    return {
        "id": inv.id, "kind": inv.kind.value, "number": inv.number, "status": inv.status.value,
        "supplier_company_id": inv.supplier_company_id, "buyer_company_id": inv.buyer_company_id,
        "order_id": inv.order_id, "shipment_id": inv.shipment_id, "corrects_invoice_id": inv.corrects_invoice_id,
        "credit_reason": inv.credit_reason.value if inv.credit_reason else None,
        "buyer_reference": inv.buyer_reference or "", "currency": cur, "issue_date": inv.issue_date,
        "due_date": inv.due_date, "payment_terms_days": inv.payment_terms_days, "reverse_charge": inv.reverse_charge,
        "total_net": money(inv.total_net, cur), "total_tax": money(inv.total_tax, cur),
        "total_gross": money(inv.total_gross, cur), "paid_amount": money(inv.paid_amount, cur),
        "credited_amount": money(inv.credited_amount, cur), "open_amount": money(inv.open_amount, cur),
        "overdue": inv.overdue, "pdf_ready": inv.pdf_file_id is not None, "lock_version": inv.lock_version,
        "notes": inv.notes or "", "created_at": ts(inv.created_at), "updated_at": ts(inv.updated_at),
        "lines": [{"id": ln.id, "position": ln.position, "order_line_id": ln.order_line_id,
                   "shipment_line_id": ln.shipment_line_id, "charge": ln.charge, "sku": ln.sku, "description": ln.description,
                   "quantity": plain(ln.quantity), "unit": ln.unit, "unit_price": exact_money(ln.unit_price, cur),
                   "discount_percent": plain(ln.discount_percent), "tax_rate": plain(ln.tax_rate),
                   "net_amount": money(ln.net_amount, cur)} for ln in inv.lines],
        "payments": [{"id": p.id, "amount": money(p.amount, p.currency), "date": p.paid_on,
                      "reference": p.reference or "", "recorded_at": ts(p.recorded_at)} for p in inv.payments],
        "links": {"self": url_for("api_invoicing.get_invoice", inv_id=inv.id),
                  "pdf": url_for("api_invoicing.download_invoice_pdf", inv_id=inv.id) if inv.number else None},
    }


def _accounts():
    user = actor()
    if not user.has_role(Role.accounts):
        raise Forbidden(_l("Only accounts people work with invoices."))
    return user


def _invoice(inv_id) -> Invoice:
    user = _accounts()
    return get_for_company(Invoice, inv_id, user.company_id)


def _supplier_invoice(inv_id) -> Invoice:
    inv = _invoice(inv_id)
    if inv.supplier_company_id != actor().company_id:
        raise NotFound(_l("No such invoice."))
    return inv


def _fresh(inv_id: int) -> dict:
    db.session.expire_all()
    return invoice_dict(db.session.get(Invoice, inv_id))


INVOICE_LIST = ListPlan(
    Invoice, reference=(Invoice.number, Invoice.buyer_reference),
    counterparty=lambda me, other: sa.or_(
        sa.and_(Invoice.buyer_company_id == me, Invoice.supplier_company_id == other),
        sa.and_(Invoice.supplier_company_id == me, Invoice.buyer_company_id == other)))


def _list(kind: str, args: dict, endpoint: str):
    user = _accounts()
    clauses = invoice_services.list_filter(user.company_id, status=args.get("status"), kind=kind)
    stmt = sa.select(Invoice).where(*clauses)
    if args.get("issued_from") is not None:
        stmt = stmt.where(Invoice.issue_date >= args["issued_from"])
    if args.get("issued_to") is not None:
        stmt = stmt.where(Invoice.issue_date <= args["issued_to"])
    if args.get("due_to") is not None:
        stmt = stmt.where(Invoice.due_date <= args["due_to"])
    return list_documents(stmt, INVOICE_LIST, args, user.company_id, endpoint, invoice_dict,
                          options=(selectinload(Invoice.lines), selectinload(Invoice.payments)))


@bp.route("/invoices", methods=["GET"])
@bp.arguments(InvoiceQuery, location="query")
@bp.response(200, paged_schema(InvoiceOut, "InvoicePage"))
def list_invoices(args):
    """Invoices your company issued or received (drafts only on the supplier side), in id order.

    Filters: status, `updated_since`, creation, issue and due dates, `counterparty_id`, `reference` (number or the
    buyer's reference); `sort`; pages or the `starting_after` cursor."""
    return _list("invoice", args, "api_invoicing.list_invoices")


@bp.route("/invoices", methods=["POST"])
@created("api_invoicing.get_invoice", inv_id="id")
@idempotent
@bp.arguments(InvoiceIn)
@bp.response(201, InvoiceOut)
@retry_on_conflict
def issue_invoice(data):
    """Supplier accounts: invoice what was shipped and not yet invoiced on a shipment (`shipment_id`) or an
    order (`order_id`), and issue it at once (gapless number, PDF rendered in the background). One unit of work:
    either an issued invoice or nothing."""
    user = _accounts()
    if (data.get("shipment_id") is None) == (data.get("order_id") is None):
        raise ValidationFailed(_l("Send either shipment_id or order_id."),
                               errors={"shipment_id": _l("Either shipment_id or order_id.")})
    if not user.company.is_supplier:
        raise NotFound("No such shipment." if data.get("shipment_id") is not None else "No such order.")
    inv = invoice_services.create_draft(user, shipment_id=data.get("shipment_id"), order_id=data.get("order_id"),
                                        notes=data.get("notes") or "", commit=False)
    inv = invoice_services.issue(inv, user, inv.lock_version)
    return _fresh(inv.id)


@bp.route("/invoices/<int(max=2147483647):inv_id>", methods=["GET"])
@bp.response(200, InvoiceOut)
def get_invoice(inv_id):
    """One invoice or credit note with lines, payments and open amount."""
    return invoice_dict(_invoice(inv_id))


@bp.route("/invoices/<int(max=2147483647):inv_id>/pdf", methods=["GET"])
@bp.alt_response(200, schema={"type": "string", "format": "binary"}, content_type="application/pdf",
                 description="The stored PDF, exactly the bytes rendered at issue.", success=True, headers={
                     "ETag": {"description": "The SHA-256 of the stored bytes, quoted.", "schema": {"type": "string"}},
                     "X-Content-SHA256": {"description": "The SHA-256 of the stored bytes.",
                                          "schema": {"type": "string"}},
                     "Content-Disposition": {"description": "attachment with the file name",
                                             "schema": {"type": "string"}}})
@bp.alt_response(202, schema=JobSchema, description="Still rendering: the job to poll (Retry-After).")
@problems(409)
def download_invoice_pdf(inv_id):
    """The issued invoice's PDF: exactly the stored bytes once rendered; until then 202 with the job."""
    from portal.documents.models import StoredFile
    from portal.documents.store import read_bytes
    from portal.jobs.models import JobRecord
    from portal.jobs.services import may_see

    inv = _invoice(inv_id)
    f = db.session.get(StoredFile, inv.pdf_file_id) if inv.pdf_file_id else None
    if f is not None:
        data = read_bytes(f)
        return Response(data, mimetype="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="{f.filename}"', "ETag": f'"{f.sha256}"',
            "X-Content-SHA256": f.sha256})
    if not inv.number:
        raise InvalidTransition(_l("A draft invoice has no PDF; issue it first."))
    rec = db.session.get(JobRecord, inv.pdf_job_id) if inv.pdf_job_id else None
    if rec is not None and may_see(rec, actor()) and rec.company_id == actor().company_id:
        body = job_dict(rec)
    else:
        body = pending_job("invoice-pdf", "PDF being rendered")
    resp = jsonify(JobSchema().dump(body))
    resp.status_code = 202
    resp.headers["Retry-After"] = "2"
    return resp


@bp.route("/invoices/<int(max=2147483647):inv_id>/payments", methods=["POST"])
@created("api_invoicing.get_invoice", inv_id="id")
@idempotent
@bp.arguments(PaymentIn)
@bp.response(201, InvoiceOut)
def record_payment(data, inv_id):
    """Supplier accounts: record money received (partial allowed, overpayment refused)."""
    inv = _supplier_invoice(inv_id)
    invoice_services.record_payment(inv, actor(), lock_or_current(inv, data.get("lock_version")),
                                    amount=str(amount_in(data["amount"], inv.currency, "amount", "The payment")),
                                    paid_on=data["date"].isoformat(),
                                    reference=data.get("reference") or "")
    return _fresh(inv.id)


@bp.route("/credit-notes", methods=["GET"])
@bp.arguments(InvoiceQuery, location="query")
@bp.response(200, paged_schema(InvoiceOut, "CreditNotePage"))
def list_credit_notes(args):
    """Credit notes your company issued or received, in id order (the same filters as invoices)."""
    return _list("credit_note", args, "api_invoicing.list_credit_notes")


@bp.route("/credit-notes", methods=["POST"])
@created("api_invoicing.get_invoice", inv_id="id")
@idempotent
@bp.arguments(CreditNoteIn)
@bp.response(201, InvoiceOut)
def issue_credit_note(data):
    """Supplier accounts: issue a credit note against an issued invoice, by line quantities or by a net amount
    at a tax rate (never more than the invoice's open amount)."""
    inv = _supplier_invoice(data["invoice_id"])
    if inv.kind != DocumentKind.invoice:
        raise InvalidTransition(_l("Only an issued invoice can be corrected by a credit note."))
    has_lines, has_amount = bool(data.get("lines")), data.get("amount") is not None
    if has_lines == has_amount:
        raise ValidationFailed(_l("Send either lines (quantities to credit) or amount."),
                               errors={"lines": _l("Either lines or amount.")})
    quantities = None
    if has_lines:
        known = {ln.id for ln in inv.lines}
        quantities = {}
        for ln in data["lines"]:
            if ln["invoice_line_id"] not in known:
                raise ValidationFailed(_l("Invoice line %(ln)s is not on %(number)s."),
                                       ln=ln['invoice_line_id'], number=inv.number,
                                       errors={"lines": _l("Use the ids of the invoice's lines.")})
            quantities[ln["invoice_line_id"]] = str(ln["quantity"])
    cn = invoice_services.create_credit_note(
        inv, actor(), lock_or_current(inv, data.get("lock_version")), quantities=quantities,
        amount=str(amount_in(data["amount"], inv.currency, "amount", "The credit amount")) if has_amount else None,
        tax_rate=None if data.get("tax_rate") is None else str(data["tax_rate"]), reason=data["reason"],
        reason_kind=data["reason_kind"])
    return _fresh(cn.id)


