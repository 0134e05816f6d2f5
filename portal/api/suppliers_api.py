"""/api/v1 supplier onboarding: invitations by e-mail of suppliers not on the portal, the buyer's supplier status
(the supplier reads its own status with each buyer), qualification documents and the questionnaire. The same
services as the pages; a buyer's status for a supplier is the buyer's, the supplier sees its own."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from marshmallow import Schema, fields, validate

from portal.api.common import (CursorArgs, ListPlan, actor, created, list_documents, make_blueprint, paged_schema,
                               problems)
from portal.api.documents_api import (ATTACHMENT_MEDIA_TYPES, UploadIn, _upload, binary_doc, multipart,
                                      send_file_bytes)
from portal.api.schemas import BoundedInt, DecimalString, ts
from portal.db import db
from portal.errors import Conflict, NotFound
from portal.i18n import _l
from portal.suppliers import ratings, services
from portal.suppliers.models import (QualificationDocument, QuestionnaireAnswer, SupplierInvitation,
                                     SupplierQuestion, SupplierRelation)
from portal.suppliers.states import AnswerReview, CertificateType, SupplierStatus
from portal.tenancy import get_for_company

bp = make_blueprint("api_suppliers", "Supplier onboarding: invitations by e-mail, supplier status per buyer, "
                    "qualification documents, questionnaire.", tag="Supplier onboarding")

ID = {"max": 2**31 - 1}
INVITATION_STATES = ["pending", "accepted", "expired", "revoked"]


# --------------------------------------------------------------------------------------------- schemas

class SupplierInvitationIn(Schema):
    email = fields.String(required=True, validate=validate.Length(min=3, max=254))
    company_name = fields.String(load_default="", validate=validate.Length(max=200))
    contact_name = fields.String(load_default="", validate=validate.Length(max=120))
    message = fields.String(load_default="", validate=validate.Length(max=2000))
    rfq_id = BoundedInt(load_default=None, allow_none=True, validate=validate.Range(min=1, max=2**31 - 1),
                        metadata={"description": "Invite to this RFQ: once registered, the supplier is invited."})


class SupplierInvitationOut(Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    company_name = fields.String(required=True)
    contact_name = fields.String(required=True)
    rfq_id = fields.Integer(required=True, allow_none=True)
    state = fields.String(required=True, validate=validate.OneOf(INVITATION_STATES))
    supplier_company_id = fields.Integer(required=True, allow_none=True, metadata={
        "description": "The company registered on this invitation (once accepted)."})
    expires_at = fields.DateTime(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class StatusChangeOut(Schema):
    from_status = fields.String(required=True, allow_none=True, validate=validate.OneOf([s.value for s in SupplierStatus]))
    to_status = fields.String(required=True, validate=validate.OneOf([s.value for s in SupplierStatus]))
    reason = fields.String(required=True)
    at = fields.DateTime(required=True)


class SupplierStatusOut(Schema):
    id = fields.Integer(required=True)
    buyer_company_id = fields.Integer(required=True)
    supplier_company_id = fields.Integer(required=True)
    supplier_name = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf([s.value for s in SupplierStatus]))
    reason = fields.String(required=True)
    lock_version = fields.Integer(required=True)
    history = fields.List(fields.Nested(StatusChangeOut), required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class SupplierStatusIn(Schema):
    status = fields.String(required=True, validate=validate.OneOf(["approved", "blocked"]))
    reason = fields.String(load_default="", validate=validate.Length(max=2000),
                           metadata={"description": "Required to block; the supplier sees it."})
    lock_version = BoundedInt(load_default=None, allow_none=True, validate=validate.Range(min=0, max=2**31 - 1))


class QualificationDocumentIn(Schema):
    cert_type = fields.String(required=True, validate=validate.OneOf([c.value for c in CertificateType]))
    number = fields.String(required=True, validate=validate.Length(min=1, max=100))
    issuer = fields.String(required=True, validate=validate.Length(min=1, max=200))
    valid_until = fields.Date(required=True, metadata={"description": "Not in the past."})
    supplier_company_id = BoundedInt(load_default=None, allow_none=True, validate=validate.Range(min=1, max=2**31 - 1),
                                     metadata={"description": "Buyers: the supplier the certificate is of. "
                                                              "Suppliers leave it out (their own)."})


class QualificationDocumentOut(Schema):
    id = fields.Integer(required=True)
    supplier_company_id = fields.Integer(required=True)
    cert_type = fields.String(required=True, validate=validate.OneOf([c.value for c in CertificateType]))
    number = fields.String(required=True)
    issuer = fields.String(required=True)
    valid_until = fields.Date(required=True)
    has_file = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class QualificationDocumentQuery(CursorArgs):
    supplier_company_id = BoundedInt(strict=False, load_default=None, validate=validate.Range(min=1, max=2**31 - 1))


class SupplierQuestionIn(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class SupplierQuestionOut(Schema):
    id = fields.Integer(required=True)
    buyer_company_id = fields.Integer(required=True)
    position = fields.Integer(required=True)
    text = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class QuestionnaireAnswerIn(Schema):
    answer = fields.String(required=True, validate=validate.Length(min=1, max=4000))


class QuestionnaireAnswerOut(Schema):
    id = fields.Integer(required=True)
    question_id = fields.Integer(required=True)
    question = fields.String(required=True)
    buyer_company_id = fields.Integer(required=True)
    supplier_company_id = fields.Integer(required=True)
    answer = fields.String(required=True)
    review = fields.String(required=True, validate=validate.OneOf([r.value for r in AnswerReview]))
    review_note = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class AnswerReviewIn(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["accepted", "rejected"]))
    note = fields.String(load_default="", validate=validate.Length(max=2000),
                         metadata={"description": "Required to reject (the supplier is asked to revise)."})


# --------------------------------------------------------------------------------------------- serialisers

def invitation_dict(i: SupplierInvitation) -> dict:
    return {"id": i.id, "email": i.email, "company_name": i.company_name, "contact_name": i.contact_name,
            "rfq_id": i.rfq_id, "state": i.state, "supplier_company_id": i.supplier_company_id,
            "expires_at": ts(i.expires_at), "created_at": ts(i.created_at), "updated_at": ts(i.updated_at)}


def status_dict(r: SupplierRelation) -> dict:
    return {"id": r.id, "buyer_company_id": r.buyer_company_id, "supplier_company_id": r.supplier_company_id,
            "supplier_name": r.supplier.display_name, "status": r.status.value, "reason": r.reason or "",
            "lock_version": r.lock_version,
            "history": [{"from_status": h.from_status.value if h.from_status else None, "to_status": h.to_status.value,
                         "reason": h.reason or "", "at": ts(h.at)} for h in r.history],
            "created_at": ts(r.created_at), "updated_at": ts(r.updated_at)}


def document_dict(d: QualificationDocument) -> dict:
    return {"id": d.id, "supplier_company_id": d.supplier_company_id, "cert_type": d.cert_type.value,
            "number": d.number, "issuer": d.issuer, "valid_until": d.valid_until, "has_file": d.file_id is not None,
            "created_at": ts(d.created_at), "updated_at": ts(d.updated_at)}


def question_dict(q: SupplierQuestion) -> dict:
    return {"id": q.id, "buyer_company_id": q.buyer_company_id, "position": q.position, "text": q.text,
            "created_at": ts(q.created_at), "updated_at": ts(q.updated_at)}


def answer_dict(a: QuestionnaireAnswer) -> dict:
    return {"id": a.id, "question_id": a.question_id, "question": a.question.text,
            "buyer_company_id": a.buyer_company_id, "supplier_company_id": a.supplier_company_id,
            "answer": a.answer, "review": a.review.value, "review_note": a.review_note or "",
            "created_at": ts(a.created_at), "updated_at": ts(a.updated_at)}


def _page(model, args, endpoint: str, serialize, *where, options=()):
    """One page of ``model`` rows the caller's company is party to (``where`` narrows it further; ``options``
    load what ``serialize`` reads of each row with the page)."""
    cid = actor().company_id
    stmt = sa.select(model).where(model.visible_to(cid), *where).options(*options)
    return list_documents(stmt, ListPlan(model), args, cid, f"api_suppliers.{endpoint}", serialize)


def _fresh(model, obj_id):
    db.session.expire_all()
    return get_for_company(model, obj_id, actor().company_id)


# --------------------------------------------------------------------------------------------- invitations

@bp.route("/supplier-invitations", methods=["GET"])
@bp.arguments(CursorArgs, location="query")
@bp.response(200, paged_schema(SupplierInvitationOut, "SupplierInvitationPage"))
def list_supplier_invitations(args):
    """Your company's invitations of suppliers by e-mail (buyers)."""
    return _page(SupplierInvitation, args, "list_supplier_invitations", invitation_dict,
                 SupplierInvitation.buyer_company_id == actor().company_id)


@bp.route("/supplier-invitations", methods=["POST"])
@bp.arguments(SupplierInvitationIn)
@bp.response(201, SupplierInvitationOut)
@created("api_suppliers.get_supplier_invitation", invitation_id="id")
def create_supplier_invitation(data):
    """Invite a supplier that is not on the portal by e-mail (a signed link that expires; optionally to an RFQ).
    An e-mail already on the portal is 409 with `errors.company_id`: invite that company instead."""
    try:
        inv, _token = services.invite_new_supplier(actor(), **data)
    except services.AlreadyOnPortal as exc:
        raise Conflict(exc.said, errors={**exc.errors, "company_id": str(exc.company.id)}) from None
    return invitation_dict(_fresh(SupplierInvitation, inv.id))


@bp.route("/supplier-invitations/<int(max=2147483647):invitation_id>", methods=["GET"])
@bp.response(200, SupplierInvitationOut)
def get_supplier_invitation(invitation_id):
    """One invitation by e-mail (the inviting buyer only)."""
    inv = get_for_company(SupplierInvitation, invitation_id, actor().company_id)
    if inv.buyer_company_id != actor().company_id:
        raise NotFound(_l("No such supplier invitation."))
    return invitation_dict(inv)


@bp.route("/supplier-invitations/<int(max=2147483647):invitation_id>/revoke", methods=["POST"])
@bp.response(200, SupplierInvitationOut)
def revoke_supplier_invitation(invitation_id):
    """Withdraw a pending invitation: its link stops working."""
    services.revoke_invitation(actor(), invitation_id)
    return invitation_dict(_fresh(SupplierInvitation, invitation_id))


# --------------------------------------------------------------------------------------------- status

@bp.route("/supplier-statuses", methods=["GET"])
@bp.arguments(CursorArgs, location="query")
@bp.response(200, paged_schema(SupplierStatusOut, "SupplierStatusPage"))
def list_supplier_statuses(args):
    """Buyers: your status for each supplier you keep one for. Suppliers: your status with each buyer."""
    return _page(SupplierRelation, args, "list_supplier_statuses", status_dict,
                 options=[selectinload(SupplierRelation.history)])


@bp.route("/supplier-statuses/<int(max=2147483647):status_id>", methods=["GET"])
@bp.response(200, SupplierStatusOut)
def get_supplier_status(status_id):
    """One supplier status with its history (the buyer's, or the supplier's own)."""
    return status_dict(get_for_company(SupplierRelation, status_id, actor().company_id))


@bp.route("/suppliers/<int(max=2147483647):supplier_company_id>/status", methods=["PUT"])
@bp.arguments(SupplierStatusIn)
@bp.response(200, SupplierStatusOut)
def set_supplier_status(data, supplier_company_id):
    """Approve or block a supplier (blocking needs a reason; new -> approved -> blocked and back to approved).
    Blocked suppliers are never invited to RFQs nor awarded."""
    rel = services.set_status(actor(), supplier_company_id, data["status"], reason=data["reason"],
                              lock_version=data.get("lock_version"))
    return status_dict(_fresh(SupplierRelation, rel.id))


# --------------------------------------------------------------------------------------------- certificates

@bp.route("/qualification-documents", methods=["GET"])
@bp.arguments(QualificationDocumentQuery, location="query")
@bp.response(200, paged_schema(QualificationDocumentOut, "QualificationDocumentPage"))
def list_qualification_documents(args):
    """Certificates: a supplier's own, or (buyers) those of the suppliers you keep a status for."""
    only = args.get("supplier_company_id")
    return _page(QualificationDocument, args, "list_qualification_documents", document_dict,
                 *([QualificationDocument.supplier_company_id == only] if only else []))


@bp.route("/qualification-documents", methods=["POST"])
@bp.arguments(QualificationDocumentIn)
@bp.response(201, QualificationDocumentOut)
@created("api_suppliers.get_qualification_document", document_id="id")
def create_qualification_document(data):
    """Record a certificate (ISO 9001 ...) with its expiry date; an expiry in the past is 422. Both sides are
    reminded 30 days before it expires. Its file follows with POST /qualification-documents/{id}/file."""
    doc = services.add_document(actor(), cert_type=data["cert_type"], number=data["number"], issuer=data["issuer"],
                                valid_until=data["valid_until"], supplier_id=data.get("supplier_company_id"))
    return document_dict(_fresh(QualificationDocument, doc.id))


@bp.route("/qualification-documents/<int(max=2147483647):document_id>", methods=["GET"])
@bp.response(200, QualificationDocumentOut)
def get_qualification_document(document_id):
    """One certificate."""
    return document_dict(get_for_company(QualificationDocument, document_id, actor().company_id))


@bp.route("/qualification-documents/<int(max=2147483647):document_id>/file", methods=["POST"])
@multipart
@bp.arguments(UploadIn, location="files")
@bp.response(200, QualificationDocumentOut)
@problems(403, 409, 415)
def upload_qualification_document_file(files, document_id):
    """Upload the certificate's file (multipart field `file`): PDF, PNG, JPEG or CSV, at most 5 MB, the bytes
    what the extension says (the page's checks). The supplier for its own certificates, or the buyer who recorded
    one; a certificate that has its file already is 409."""
    filename, data = _upload(files)
    doc = services.attach_document_file(actor(), document_id, filename=filename, data=data)
    return document_dict(_fresh(QualificationDocument, doc.id))


@bp.route("/qualification-documents/<int(max=2147483647):document_id>/file", methods=["GET"])
@bp.doc(responses=binary_doc("The certificate's file, exactly the stored bytes.", ATTACHMENT_MEDIA_TYPES))
def download_qualification_document_file(document_id):
    """Download a certificate's file (the supplier's, or a buyer that keeps a status for it; 404 otherwise, and
    when it has no file)."""
    doc = get_for_company(QualificationDocument, document_id, actor().company_id)
    if doc.file_id is None:
        raise NotFound(_l("This certificate has no file."))
    return send_file_bytes(doc.file)


# --------------------------------------------------------------------------------------------- questionnaire

@bp.route("/supplier-questions", methods=["GET"])
@bp.arguments(CursorArgs, location="query")
@bp.response(200, paged_schema(SupplierQuestionOut, "SupplierQuestionPage"))
def list_supplier_questions(args):
    """Buyers: your questionnaire. Suppliers: the questions of the buyers that keep a status for you."""
    return _page(SupplierQuestion, args, "list_supplier_questions", question_dict, SupplierQuestion.active.is_(True))


@bp.route("/supplier-questions", methods=["POST"])
@bp.arguments(SupplierQuestionIn)
@bp.response(201, SupplierQuestionOut)
@created("api_suppliers.get_supplier_question", question_id="id")
def create_supplier_question(data):
    """Add a question to your supplier questionnaire (buyers)."""
    q = services.add_question(actor(), data["text"])
    return question_dict(_fresh(SupplierQuestion, q.id))


@bp.route("/supplier-questions/<int(max=2147483647):question_id>", methods=["GET"])
@bp.response(200, SupplierQuestionOut)
def get_supplier_question(question_id):
    """One question."""
    return question_dict(get_for_company(SupplierQuestion, question_id, actor().company_id))


@bp.route("/supplier-questions/<int(max=2147483647):question_id>/answer", methods=["PUT"])
@bp.arguments(QuestionnaireAnswerIn)
@bp.response(200, QuestionnaireAnswerOut)
def answer_supplier_question(data, question_id):
    """Answer a buyer's question (suppliers); a changed answer goes back to review."""
    ans = services.answer_question(actor(), question_id, data["answer"])
    return answer_dict(_fresh(QuestionnaireAnswer, ans.id))


@bp.route("/questionnaire-answers", methods=["GET"])
@bp.arguments(CursorArgs, location="query")
@bp.response(200, paged_schema(QuestionnaireAnswerOut, "QuestionnaireAnswerPage"))
def list_questionnaire_answers(args):
    """Answers: the ones given to you (buyers) or yours (suppliers)."""
    return _page(QuestionnaireAnswer, args, "list_questionnaire_answers", answer_dict)


@bp.route("/questionnaire-answers/<int(max=2147483647):answer_id>/review", methods=["POST"])
@bp.arguments(AnswerReviewIn)
@bp.response(200, QuestionnaireAnswerOut)
def review_questionnaire_answer(data, answer_id):
    """Accept an answer, or reject it with a note (the supplier is asked to revise)."""
    ans = services.review_answer(actor(), answer_id, data["decision"], data["note"])
    return answer_dict(_fresh(QuestionnaireAnswer, ans.id))


# --------------------------------------------------------------------------------------------- rating

RATING_SOURCES = ["stored", "history", "neutral"]


class SupplierRatingOut(Schema):
    supplier_company_id = fields.Integer(required=True)
    supplier_name = fields.String(required=True)
    rating = DecimalString(required=True, places=2, metadata={
        "description": "The rating weighted scoring uses (1–5): stored, else history, else 3."})
    source = fields.String(required=True, validate=validate.OneOf(RATING_SOURCES))
    stored = DecimalString(required=True, allow_none=True, places=2, metadata={"description": "Your stored rating."})
    stored_at = fields.DateTime(required=True, allow_none=True)
    history = DecimalString(required=True, allow_none=True, places=2, metadata={
        "description": "The mean of the 1–5 scores your team gave the supplier's quotes on free criteria."})
    history_scores = fields.Integer(required=True, metadata={"description": "How many scores that mean is of."})


class SupplierRatingIn(Schema):
    rating = DecimalString(required=True, allow_none=True, places=2, metadata={
        "description": "1 to 5, at most two decimals; null removes the stored rating (scoring falls back to the "
                       "history, else 3)."})


def _rating_dict(supplier_company_id: int) -> dict:
    from portal.accounts.models import Company

    r = ratings.rating_of(actor(), supplier_company_id)
    return {"supplier_company_id": r.supplier_id, "supplier_name": db.session.get(Company, r.supplier_id).display_name,
            "rating": f"{r.effective:.2f}", "source": r.source,
            "stored": f"{r.stored:.2f}" if r.stored is not None else None, "stored_at": ts(r.stored_at),
            "history": f"{r.history:.2f}" if r.history is not None else None, "history_scores": r.history_scores}


@bp.route("/suppliers/<int(max=2147483647):supplier_company_id>/rating", methods=["GET"])
@bp.response(200, SupplierRatingOut)
def get_supplier_rating(supplier_company_id):
    """Your rating of a supplier (procurement and administrators of a buying company; your own, never another
    buyer's): the stored one, the one from your team's scores, and which of them weighted scoring uses."""
    return _rating_dict(supplier_company_id)


@bp.route("/suppliers/<int(max=2147483647):supplier_company_id>/rating", methods=["PUT"])
@bp.arguments(SupplierRatingIn)
@bp.response(200, SupplierRatingOut)
def set_supplier_rating(data, supplier_company_id):
    """Store your rating of a supplier (procurement), or remove it with null. Audited."""
    if data["rating"] is None:
        ratings.clear_rating(actor(), supplier_company_id)
    else:
        ratings.set_rating(actor(), supplier_company_id, data["rating"])
    return _rating_dict(supplier_company_id)
