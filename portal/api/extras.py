"""Browser actions that the API gained with issue 15: RFQ questions and answers, the purchase-order and
delivery-note PDFs."""
from __future__ import annotations

from flask import Response, jsonify
from marshmallow import Schema, fields, validate

from portal.api.common import actor, created, make_blueprint
from portal.api.spec import RATE_LIMIT_HEADERS
from portal.api.sourcing import QuoteOut
from portal.api.schemas import JobSchema, pending_job, ts
from portal.db import db
from portal.errors import InvalidTransition, NotFound
from portal.i18n import _l

bp = make_blueprint("api_extras", "RFQ questions and answers; purchase-order and delivery-note PDFs.",
                    tag="Questions and documents")


class QuestionOut(Schema):
    id = fields.Integer(required=True)
    rfq_id = fields.Integer(required=True)
    question = fields.String(required=True)
    asked_at = fields.DateTime(required=True)
    asked_by_you = fields.Boolean(required=True)
    asked_by_company_id = fields.Integer(required=True, allow_none=True, metadata={
        "description": "Shown to the buyer only: suppliers never learn who asked."})
    answer = fields.String(required=True, allow_none=True)
    answered_at = fields.DateTime(required=True, allow_none=True)


class QuestionList(Schema):
    items = fields.List(fields.Nested(QuestionOut), required=True)


class QuestionIn(Schema):
    question = fields.String(required=True, validate=validate.Length(min=1, max=4000))


class AnswerIn(Schema):
    answer = fields.String(required=True, validate=validate.Length(min=1, max=4000))


def _question_dict(c, rfq, company_id: int) -> dict:
    buyer = company_id == rfq.buyer_company_id
    return {"id": c.id, "rfq_id": c.rfq_id, "question": c.question, "asked_at": ts(c.asked_at),
            "asked_by_you": c.asked_by_company_id == company_id,
            "asked_by_company_id": c.asked_by_company_id if buyer else None,
            "answer": c.answer, "answered_at": ts(c.answered_at)}


def _visible_rfq(rfq_id):
    from portal.rfq import services as rfq_services

    return rfq_services.load_visible(rfq_id, actor().company_id)


@bp.route("/rfqs/<int(max=2147483647):rfq_id>/questions", methods=["GET"])
@bp.response(200, QuestionList)
def list_questions(rfq_id):
    """The RFQ's questions: the buyer sees all (with who asked); a supplier the answered ones and its own."""
    from portal.rfq import services as rfq_services

    rfq = _visible_rfq(rfq_id)
    cid = actor().company_id
    return {"items": [_question_dict(c, rfq, cid) for c in rfq_services.clarifications_for(rfq, cid)]}


@bp.route("/rfqs/<int(max=2147483647):rfq_id>/questions", methods=["POST"])
@bp.arguments(QuestionIn)
@bp.response(201, QuestionOut)
@created("api_extras.list_questions", rfq_id="rfq_id")
def ask_question(data, rfq_id):
    """An invited supplier's sales person asks while the RFQ is open; the buyer's procurement people are told."""
    from portal.rfq import services as rfq_services

    c = rfq_services.ask_question(actor(), rfq_id, question=data["question"])
    rfq = _visible_rfq(rfq_id)
    return _question_dict(c, rfq, actor().company_id)


@bp.route("/rfqs/<int(max=2147483647):rfq_id>/questions/<int(max=2147483647):question_id>/answer",
          methods=["POST"])
@bp.arguments(AnswerIn)
@bp.response(200, QuestionOut)
def answer_question(data, rfq_id, question_id):
    """The buyer answers; every invited supplier then sees the question and answer (not who asked)."""
    from portal.rfq import services as rfq_services

    c = rfq_services.answer_question(actor(), rfq_id, question_id, answer=data["answer"])
    rfq = _visible_rfq(rfq_id)
    return _question_dict(c, rfq, actor().company_id)


# --------------------------------------------------------------------------------------------- PDFs

PDF_DOC = {"200": {"description": "The stored PDF.",
                   "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
                   "headers": {name: {"$ref": f"#/components/headers/{name}"} for name in RATE_LIMIT_HEADERS}}}


def _pdf(file_id):
    from portal.documents.models import StoredFile
    from portal.documents.store import read_bytes

    f = db.session.get(StoredFile, file_id)
    return Response(read_bytes(f), mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{f.filename}"', "ETag": f'"{f.sha256}"',
        "X-Content-SHA256": f.sha256})


def _rendering(kind: str):
    resp = jsonify(JobSchema().dump(pending_job(kind, "PDF being rendered")))
    resp.status_code = 202
    resp.headers["Retry-After"] = "2"
    return resp


@bp.route("/orders/<int(max=2147483647):order_id>/pdf", methods=["GET"])
@bp.doc(responses=PDF_DOC)
@bp.alt_response(202, schema=JobSchema, description="Still rendering (Retry-After).")
def order_pdf(order_id):
    """The purchase order PDF (produced once the order is placed); 202 while it is being rendered."""
    from portal.orders.models import PurchaseOrder
    from portal.tenancy import get_for_company

    order = get_for_company(PurchaseOrder, order_id, actor().company_id)
    if order.po_pdf_file_id:
        return _pdf(order.po_pdf_file_id)
    if order.placed_at is None:
        raise InvalidTransition(_l("The purchase order PDF is produced once the order is placed."))
    return _rendering("po-pdf")


@bp.route("/shipments/<int(max=2147483647):shipment_id>/delivery-note", methods=["GET"])
@bp.doc(responses=PDF_DOC)
@bp.alt_response(202, schema=JobSchema, description="Still rendering (Retry-After).")
def delivery_note_pdf(shipment_id):
    """The shipment's delivery note PDF; 202 while it is being rendered."""
    from portal.orders.models import Shipment
    from portal.tenancy import get_for_company

    try:
        shipment = get_for_company(Shipment, shipment_id, actor().company_id)
    except NotFound:
        raise NotFound(_l("No such shipment.")) from None
    if shipment.delivery_note_file_id:
        return _pdf(shipment.delivery_note_file_id)
    return _rendering("delivery-note")


# --------------------------------------------------------------------------------------------- quotes, drafts

class LockQuery(Schema):
    lock_version = fields.Integer(load_default=None, validate=validate.Range(min=0, max=2**31 - 1))


def _lock(value):
    from portal.locking import CURRENT

    return CURRENT if value is None else value


@bp.route("/quotes/<int(max=2147483647):quote_id>/confirm", methods=["POST"])
@bp.arguments(LockQuery)
@bp.response(200, QuoteOut)
def confirm_quote(data, quote_id):
    """Re-confirm a submitted quote unchanged after the RFQ was amended (a new version answering the amendment)."""
    from portal.api.sourcing import _own_quote, quote_dict
    from portal.quotes import services as quote_services
    from portal.quotes.models import Quote

    quote = _own_quote(quote_id)
    quote_services.confirm(quote, actor(), _lock(data.get("lock_version")))
    db.session.expire_all()
    return quote_dict(db.session.get(Quote, quote_id), actor())


@bp.route("/quotes/<int(max=2147483647):quote_id>/draft", methods=["DELETE"])
@bp.arguments(LockQuery, location="query")
@bp.response(204)
def discard_quote_draft(args, quote_id):
    """Throw away the unsubmitted draft of your quote (a quote never submitted disappears entirely)."""
    from portal.api.sourcing import _own_quote
    from portal.quotes import services as quote_services

    quote = _own_quote(quote_id)
    quote_services.discard_draft(quote, actor(), _lock(args.get("lock_version")))


@bp.route("/invoices/<int(max=2147483647):inv_id>", methods=["DELETE"])
@bp.arguments(LockQuery, location="query")
@bp.response(204)
def delete_invoice_draft(args, inv_id):
    """Delete a draft invoice (supplier accounts team); issued invoices are never deleted."""
    from portal.invoices import services as invoice_services
    from portal.invoices.models import Invoice
    from portal.tenancy import get_for_company

    user = actor()
    inv = get_for_company(Invoice, inv_id, user.company_id)
    if inv.supplier_company_id != user.company_id:
        raise NotFound(_l("No such invoice."))
    invoice_services.delete_draft(inv, user, _lock(args.get("lock_version")))
