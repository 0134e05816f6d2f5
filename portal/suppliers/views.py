"""Supplier onboarding pages: the buyer's supplier directory with statuses, invitations by e-mail, one supplier's
page (status, certificates, questionnaire answers), the questionnaire; the supplier's page of its buyers; and the
public registration page of an invitation link. Views parse, call a service, then flash/redirect or render."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from portal.accounts.models import Role
from portal.db import utcnow
from portal.documents.store import send_stored
from portal.errors import DomainError, ValidationFailed
from portal.money import example_number, input_number
from portal.suppliers import ratings, services
from portal.suppliers.forms import (AnswerForm, CertificateForm, EmptyForm, InviteByEmailForm, PolicyForm,
                                    QuestionForm, RatingForm, RegisterSupplierForm, ReviewForm, StatusForm)
from portal.suppliers.models import QualificationDocument
from portal.suppliers.states import CERTIFICATE_LABELS
from portal.tenancy import company_kind_required, get_for_user, roles_required
from portal.viewutil import form_error
from portal.web import _locale

bp = Blueprint("suppliers", __name__)


def buyer_only(view):
    return roles_required(Role.procurement, Role.admin)(company_kind_required("buyer")(view))


def supplier_only(view):
    return company_kind_required("supplier")(view)


def _fail(exc: DomainError, form=None):
    if exc.status == 404:
        abort(404)
    if exc.status == 403:
        abort(403)
    if form is not None:
        form_error(form, exc)
    else:
        flash(exc.message, "danger" if exc.status != 409 else "warning")


def _back(rfq_id=None):
    if rfq_id:
        return redirect(url_for("rfq.suppliers", rfq_id=rfq_id))
    return redirect(url_for("suppliers.index"))


def _rfq_id(value):
    try:
        value = int(value or 0)
    except (TypeError, ValueError):
        return None
    return value if 0 < value < 2**31 else None


# --------------------------------------------------------------------------------------------- buyer

@bp.get("/suppliers/")
@login_required
def index():
    if not (current_user.company.is_buyer and current_user.has_role(Role.procurement, Role.admin)):
        if current_user.company.is_supplier:
            return redirect(url_for("suppliers.my_buyers"))
        abort(403)
    q, status = request.args.get("q", ""), request.args.get("status", "")
    rows = services.directory(current_user, q=q, status=status)
    return render_template("suppliers/index.html", rows=rows, q=q, status=status,
                           ratings=ratings.ratings_of(current_user.company_id, [c.id for c, _rel in rows]),
                           invite_form=InviteByEmailForm(formdata=None),
                           invitations=services.invitations_of(current_user.company_id)[:50],
                           policy_form=PolicyForm(formdata=None, obj=services.policy(current_user.company_id)),
                           action_form=EmptyForm(formdata=None))


@bp.post("/suppliers/invite")
@buyer_only
def invite():
    form = InviteByEmailForm()
    rfq_id = _rfq_id(form.rfq_id.data)
    if not form.validate_on_submit():
        flash(_("Enter the e-mail address of the person to invite."), "warning")
        return _back(rfq_id)
    try:
        inv, _token = services.invite_new_supplier(
            current_user, email=form.email.data, company_name=form.company_name.data,
            contact_name=form.contact_name.data, message=form.message.data, rfq_id=rfq_id)
    except services.AlreadyOnPortal as exc:
        return render_template("suppliers/already_on_portal.html", message=exc.message, company=exc.company,
                               rfq_id=rfq_id, action_form=EmptyForm(formdata=None)), 409
    except DomainError as exc:
        _fail(exc)
        return _back(rfq_id)
    flash(_("Invitation sent to %(email)s. The link works once and expires in %(days)s days.",
            email=inv.email, days=services.ttl_days()), "success")
    return _back(rfq_id)


@bp.post("/suppliers/invite-existing")
@buyer_only
def invite_existing():
    """The button offered when the e-mail is already on the portal: invite that company instead."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    rfq_id = _rfq_id(request.form.get("rfq_id"))
    company_id = request.form.get("company_id")
    try:
        if rfq_id:
            from portal.rfq import services as rfq_services

            new = rfq_services.invite_suppliers(current_user, rfq_id, [company_id])
            flash(_("Invited: %(names)s.", names=", ".join(c.display_name for c in new)) if new
                  else _("That supplier was already invited."), "success" if new else "info")
            return redirect(url_for("rfq.suppliers", rfq_id=rfq_id))
        rel = services.add_supplier(current_user, company_id)
    except DomainError as exc:
        _fail(exc)
        return _back(rfq_id)
    flash(_("%(name)s is on your supplier list.", name=rel.supplier.display_name), "success")
    return redirect(url_for("suppliers.detail", company_id=rel.supplier_company_id))


@bp.post("/suppliers/invitations/<int:invitation_id>/revoke")
@buyer_only
def revoke(invitation_id):
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        services.revoke_invitation(current_user, invitation_id)
        flash(_("Invitation withdrawn."), "success")
    except DomainError as exc:
        _fail(exc)
    return redirect(url_for("suppliers.index"))


@bp.post("/suppliers/policy")
@roles_required(Role.admin)
def set_policy():
    form = PolicyForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.set_policy(current_user, only_approved_awards=form.only_approved_awards.data)
        flash(_("Setting saved."), "success")
    except DomainError as exc:
        _fail(exc)
    return redirect(url_for("suppliers.index"))


def _supplier_or_404(company_id):
    try:
        return services._supplier_company(company_id, current_user)
    except DomainError:
        abort(404)


@bp.route("/suppliers/<int:company_id>", methods=["GET", "POST"])
@buyer_only
def detail(company_id):
    supplier = _supplier_or_404(company_id)
    rel = services.relation(current_user.company_id, supplier.id)
    suggested = "blocked" if rel is not None and rel.status.value == "approved" else "approved"
    form = StatusForm(lock_version=rel.lock_version if rel else "", status=suggested)
    if request.method == "POST" and form.validate_on_submit():
        try:
            services.set_status(current_user, supplier.id, form.status.data, reason=form.reason.data,
                                lock_version=form.lock_version.data or None)
        except DomainError as exc:
            _fail(exc, form)
        else:
            flash(_("Status saved."), "success")
            return redirect(url_for("suppliers.detail", company_id=supplier.id))
    elif request.method == "POST":
        flash(_("Choose a status."), "warning")
    return _detail_page(supplier, rel, form=form)


def _detail_page(supplier, rel, *, form=None, rating_form=None, status=200):
    visible_docs = rel is not None
    if form is None:
        suggested = "blocked" if rel is not None and rel.status.value == "approved" else "approved"
        form = StatusForm(formdata=None, lock_version=rel.lock_version if rel else "", status=suggested)
    rating = ratings.rating_of(current_user, supplier.id)
    if rating_form is None:
        rating_form = RatingForm(formdata=None, rating=num_in(rating.stored) if rating.stored is not None else "")
    return render_template("suppliers/detail.html", supplier=supplier, rel=rel, form=form,
                           documents=services.documents_of(supplier.id) if visible_docs else [],
                           questions=services.questions_of(current_user.company_id),
                           answers=services.answers_of(current_user.company_id, supplier.id),
                           review_form=ReviewForm(formdata=None), cert_form=CertificateForm(formdata=None),
                           labels=CERTIFICATE_LABELS, action_form=EmptyForm(formdata=None),
                           contacts=_contacts(supplier.id), today=utcnow().date(), rating=rating,
                           rating_form=rating_form, rating_history=ratings.rating_history(
                               current_user.company_id, supplier.id, limit=10)), status


def num_in(value) -> str:
    """A rating as the person writes it (4.5, or 4,5 in German)."""
    return input_number(value, _locale())


@bp.post("/suppliers/<int:company_id>/rating")
@buyer_only
def rate(company_id):
    """Store (or, with ``clear``, remove) the buyer's rating of the supplier: procurement only."""
    supplier = _supplier_or_404(company_id)
    form = RatingForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        if request.form.get("clear"):
            ratings.clear_rating(current_user, supplier.id)
            flash(_("Stored rating removed: weighted scoring uses the supplier's history, else 3."), "success")
        else:
            row = ratings.set_rating(current_user, supplier.id, form.rating.data)
            flash(_("Rating saved: %(rating)s of 5.", rating=num_in(row.rating)), "success")
    except ValidationFailed:
        sentence = _("A rating is a number from 1 to 5 with at most two decimals, such as %(example)s.",
                     example=example_number("4.5"))
        form.rating.errors = [sentence]
        flash(sentence, "warning")
        return _detail_page(supplier, services.relation(current_user.company_id, supplier.id), rating_form=form,
                            status=422)
    except DomainError as exc:
        _fail(exc)
        return redirect(url_for("suppliers.detail", company_id=supplier.id))
    return redirect(url_for("suppliers.detail", company_id=supplier.id) + "#rating-card")


def _contacts(company_id):
    import sqlalchemy as sa

    from portal.db import db
    from portal.suppliers.models import SupplierContact

    return list(db.session.scalars(sa.select(SupplierContact).where(SupplierContact.company_id == company_id)
                                   .order_by(SupplierContact.id)))


@bp.post("/suppliers/answers/<int:answer_id>/review")
@buyer_only
def review(answer_id):
    form = ReviewForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        ans = services.review_answer(current_user, answer_id, form.decision.data, form.note.data)
    except DomainError as exc:
        _fail(exc)
        return redirect(url_for("suppliers.index"))
    flash(_("Review saved."), "success")
    return redirect(url_for("suppliers.detail", company_id=ans.supplier_company_id) + "#questionnaire")


@bp.route("/suppliers/questionnaire", methods=["GET", "POST"])
@buyer_only
def questionnaire():
    form = QuestionForm()
    if form.validate_on_submit():
        try:
            services.add_question(current_user, form.text.data)
            flash(_("Question added."), "success")
            return redirect(url_for("suppliers.questionnaire"))
        except DomainError as exc:
            _fail(exc, form)
    return render_template("suppliers/questionnaire.html", form=form,
                           questions=services.questions_of(current_user.company_id),
                           action_form=EmptyForm(formdata=None))


@bp.post("/suppliers/questionnaire/<int:question_id>/remove")
@buyer_only
def remove_question(question_id):
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        services.remove_question(current_user, question_id)
        flash(_("Question removed; answers already given stay."), "success")
    except DomainError as exc:
        _fail(exc)
    return redirect(url_for("suppliers.questionnaire"))


# --------------------------------------------------------------------------------------------- supplier

@bp.get("/suppliers/my-buyers")
@supplier_only
def my_buyers():
    rels = services.buyers_of(current_user.company_id)
    questions, answers = services.questionnaires_for(current_user.company_id, [r.buyer_company_id for r in rels])
    sections = [(rel, questions[rel.buyer_company_id], answers[rel.buyer_company_id]) for rel in rels]
    return render_template("suppliers/my_buyers.html", sections=sections,
                           documents=services.documents_of(current_user.company_id),
                           cert_form=CertificateForm(formdata=None), answer_form=AnswerForm(formdata=None),
                           labels=CERTIFICATE_LABELS, action_form=EmptyForm(formdata=None),
                           today=utcnow().date())


@bp.post("/suppliers/certificates")
@login_required
def add_certificate():
    form = CertificateForm()
    supplier_id = _rfq_id(request.form.get("supplier_id"))
    back = (url_for("suppliers.detail", company_id=supplier_id) if supplier_id
            else url_for("suppliers.my_buyers")) + "#certificates"
    if not form.validate_on_submit():
        flash(_("Fill in the certificate's type, number, issuer and expiry date."), "warning")
        return redirect(back)
    upload = request.files.get("file")
    try:
        doc = services.add_document(current_user, cert_type=form.cert_type.data, number=form.number.data,
                                    issuer=form.issuer.data, valid_until=form.valid_until.data,
                                    filename=upload.filename if upload else None,
                                    data=upload.read() if upload and upload.filename else None,
                                    supplier_id=supplier_id)
    except DomainError as exc:
        _fail(exc)
        return redirect(back)
    flash(_("Certificate %(number)s added.", number=doc.number), "success")
    return redirect(back)


@bp.get("/suppliers/certificates/<int:doc_id>/file")
@login_required
def certificate_file(doc_id):
    doc = get_for_user(QualificationDocument, doc_id)
    if doc.file is None:
        abort(404)
    return send_stored(doc.file)


@bp.post("/suppliers/certificates/<int:doc_id>/remove")
@supplier_only
def remove_certificate(doc_id):
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        services.remove_document(current_user, doc_id)
        flash(_("Certificate removed."), "success")
    except DomainError as exc:
        _fail(exc)
    return redirect(url_for("suppliers.my_buyers") + "#certificates")


@bp.post("/suppliers/questions/<int:question_id>/answer")
@supplier_only
def answer(question_id):
    form = AnswerForm()
    if not form.validate_on_submit():
        flash(_("Write an answer first."), "warning")
        return redirect(url_for("suppliers.my_buyers"))
    try:
        services.answer_question(current_user, question_id, form.answer.data)
        flash(_("Answer saved; the buyer reviews it."), "success")
    except DomainError as exc:
        _fail(exc)
    return redirect(url_for("suppliers.my_buyers") + "#questionnaires")


# --------------------------------------------------------------------------------------------- registration

@bp.route("/supplier-invitations/<token>", methods=["GET", "POST"])
def register(token):
    try:
        inv = services.find_invitation(token)
    except DomainError as exc:
        return render_template("accounts/invitation_invalid.html", message=exc.message), (
            404 if exc.status == 404 else 410)
    if current_user.is_authenticated:
        logout_user()
    form = RegisterSupplierForm(legal_name=inv.company_name or None, name=inv.contact_name or None)
    if form.validate_on_submit():
        try:
            user = services.register_supplier(token, company_fields=form.company_fields(),
                                              contacts=form.contacts(), name=form.name.data,
                                              password=form.password.data)
        except DomainError as exc:
            if exc.status == 404 or (exc.status == 409 and "invitation" in exc.english):
                return render_template("accounts/invitation_invalid.html", message=exc.message), 410
            form_error(form, exc)
        else:
            login_user(user)
            flash(_("%(company)s is registered. Welcome to the portal.", company=user.company.display_name),
                  "success")
            if user.landing_rfq_id:
                return redirect(url_for("rfq.detail", rfq_id=user.landing_rfq_id))
            return redirect(url_for("dashboard.index"))
    return render_template("suppliers/register.html", form=form, invitation=inv)


@bp.app_context_processor
def _onboarding_helpers():
    """For the RFQ invitation page's include: the e-mail invitations sent from that RFQ (the buyer's page)."""
    def onboarding_invitations(rfq):
        return services.invitations_of(rfq.buyer_company_id, rfq_id=rfq.id)

    return {"onboarding_invitations": onboarding_invitations}
