"""RFQ pages: list, create/edit, lines (single, CSV preview/confirm, export), attachments, suppliers,
lifecycle buttons and clarifications. Views parse, call a service, then flash/redirect or render; every id is
loaded through tenancy, so another company's RFQ is a 404 on every route."""
from __future__ import annotations

from flask_babel import gettext as _, ngettext
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portal.accounts.models import Role
from portal.db import utcnow
from portal.documents.store import send_stored
from portal.errors import DomainError
from portal.i18n import state_label
from portal.rfq import csvlines, services
from portal.rfq.forms import (AnswerForm, AttachmentForm, CancelForm, ExtendForm, ImportForm, LineForm,
                              QuestionForm, RfqForm, VersionForm)
from portal.rfq.states import RfqStatus
from portal.tenancy import company_kind_required, roles_required
from portal.viewutil import form_error

bp = Blueprint("rfq", __name__, url_prefix="/rfqs")


def buyer_only(view):
    """Procurement of a buying company (403 otherwise); services re-check."""
    return roles_required(Role.procurement)(company_kind_required("buyer")(view))


def supplier_only(view):
    return roles_required(Role.sales)(company_kind_required("supplier")(view))


def _abort_for(exc: DomainError, form=None, *, flash_only: bool = False):
    """404/403 become error pages; other DomainErrors are sentences beside the form (or flashed)."""
    if exc.status == 404:
        abort(404)
    if exc.status == 403:
        abort(403)
    if flash_only or form is None:
        flash(exc.message, "danger" if exc.status != 409 else "warning")
    else:
        form_error(form, exc)


def _load(rfq_id):
    """The RFQ for the signed-in user, or 404 (not a party; a supplier before publishing)."""
    try:
        return services.load_visible(rfq_id, current_user.company_id)
    except DomainError:
        abort(404)


def _load_own(rfq_id):
    rfq = _load(rfq_id)
    if rfq.buyer_company_id != current_user.company_id:
        abort(403)
    return rfq


def _to_detail(rfq_id, anchor: str | None = None):
    return redirect(url_for("rfq.detail", rfq_id=rfq_id) + (f"#{anchor}" if anchor else ""))


def _side() -> str:
    """Which list a person sees: the buyer's own RFQs or the supplier's invitations (a 'both' company may
    have people who do both)."""
    can_buy = current_user.company.is_buyer and current_user.has_role(Role.procurement)
    can_sell = current_user.company.is_supplier and current_user.has_role(Role.sales)
    wanted = request.args.get("side")
    if can_buy and can_sell:
        return wanted if wanted in ("buyer", "supplier") else "buyer"
    if can_buy:
        return "buyer"
    if can_sell:
        return "supplier"
    abort(403)


# --------------------------------------------------------------------------------------------- list

@bp.get("/")
@roles_required(Role.procurement, Role.sales)
def index():
    side = _side()
    status = request.args.get("status", "")
    q = request.args.get("q", "")
    page = request.args.get("page", 1)
    from portal.paging import cursors

    after, before = cursors(request.args)
    lister = services.list_for_buyer if side == "buyer" else services.list_for_supplier
    result = lister(current_user, status=status, q=q, page=page, after=after, before=before)
    both = (current_user.company.is_buyer and current_user.has_role(Role.procurement)
            and current_user.company.is_supplier and current_user.has_role(Role.sales))
    return render_template("rfq/index.html", page=result, side=side, both=both, status=status, q=q,
                           statuses=[s.value for s in RfqStatus if side == "buyer" or s != RfqStatus.draft],
                           remaining=services.remaining_text, now=utcnow())


# --------------------------------------------------------------------------------------------- create / edit

def _header_fields(form: RfqForm, *, published: bool) -> dict:
    fields = {"title": form.title.data, "description": form.description.data,
              "delivery_address": form.delivery_address.data, "delivery_date": form.delivery_date.data,
              "incoterm": form.incoterm.data, "payment_terms": form.payment_terms.data}
    if not published:
        fields.update(currency=form.currency.data, sealed=form.sealed.data,
                      deadline=services.local_to_utc(form.deadline.data, current_user.timezone))
    return fields


@bp.route("/new", methods=["GET", "POST"])
@buyer_only
def create():
    form = RfqForm()
    if request.method == "GET":
        form.currency.data = current_user.company.default_currency
        form.delivery_address.data = services.default_delivery_address(current_user.company)
        form.deadline.data = services.default_deadline_local(current_user.timezone)
    if form.validate_on_submit():
        try:
            rfq = services.create_rfq(current_user, **_header_fields(form, published=False))
        except DomainError as exc:
            _abort_for(exc, form)
        else:
            flash(_("Draft %(reference)s created. Add lines and invite suppliers, then publish.", reference=rfq.reference), "success")
            return _to_detail(rfq.id)
    return render_template("rfq/form.html", form=form, rfq=None)


@bp.route("/<int:rfq_id>/edit", methods=["GET", "POST"])
@buyer_only
def edit(rfq_id):
    rfq = _load_own(rfq_id)
    published = rfq.status != RfqStatus.draft
    if rfq.status not in services.EDITABLE:
        flash(_("An RFQ that is %(status)s can no longer be changed.", status=state_label(rfq.status.value)), "warning")
        return _to_detail(rfq.id)
    form = RfqForm(obj=rfq if request.method == "GET" else None)
    if request.method == "GET":
        form.deadline.data = services.utc_to_local(rfq.deadline, current_user.timezone)
        form.version.data = rfq.version
        form.incoterm.data = rfq.incoterm or ""
    if form.validate_on_submit():
        try:
            services.update_rfq(current_user, rfq.id, version=form.version.data,
                                **_header_fields(form, published=published))
        except DomainError as exc:
            _abort_for(exc, form)
        else:
            flash(_("Amendment sent to the invited suppliers.") if published else "Changes saved.", "success")
            return _to_detail(rfq.id)
    return render_template("rfq/form.html", form=form, rfq=rfq, published=published)


# --------------------------------------------------------------------------------------------- detail

@bp.get("/<int:rfq_id>")
@roles_required(Role.procurement, Role.sales)
def detail(rfq_id):
    rfq = _load(rfq_id)
    view = services.detail_view(current_user, rfq)
    results = {}
    if not view.is_buyer:
        from portal.quotes import outcome

        won = outcome.for_supplier(rfq, current_user.company_id)
        if won is not None and won.awarded and won.won:  # a supplier that won nothing sees the summary alone
            results = {lo.line.id: lo for lo in won.lines}
    return render_template(
        "rfq/detail.html", rfq=rfq, view=view, incoterms=services.INCOTERMS, line_results=results,
        remaining=services.remaining_text(rfq.deadline) if rfq.status == RfqStatus.open else None,
        action_form=VersionForm(formdata=None, version=rfq.version),
        question_form=QuestionForm(formdata=None), answer_form=AnswerForm(formdata=None),
        attachment_form=AttachmentForm(formdata=None),
        can_ask=(not view.is_buyer and current_user.has_role(Role.sales) and rfq.accepting_quotes),
        can_manage=(view.is_buyer and current_user.has_role(Role.procurement)))


# --------------------------------------------------------------------------------------------- lines

@bp.route("/<int:rfq_id>/lines", methods=["GET", "POST"])
@buyer_only
def lines(rfq_id):
    """The line editor: a table with edit/delete per line and a form to add one (bulk: CSV import)."""
    rfq = _load_own(rfq_id)
    form = LineForm()
    if request.method == "GET":
        form.version.data = rfq.version
    elif form.validate_on_submit():
        try:
            line = services.add_line(current_user, rfq.id, version=form.version.data, **_line_values(form))
        except DomainError as exc:
            _abort_for(exc, form)
        else:
            flash(_("Line %(position)s added.", position=line.position) + (" " + _("Amendment sent to the suppliers.")
                                                     if rfq.status == RfqStatus.open else ""), "success")
            return redirect(url_for("rfq.lines", rfq_id=rfq.id) + "#add-line")
    view_lines = services.lines_of(rfq)
    return render_template("rfq/lines.html", rfq=rfq, form=form, lines=view_lines,
                           action_form=VersionForm(formdata=None, version=rfq.version),
                           editable=rfq.status in services.EDITABLE)


def _line_values(form: LineForm) -> dict:
    keys = ("description", "part_number", "quantity", "unit", "target_price", "notes")
    return {k: getattr(form, k).data for k in keys}


@bp.route("/<int:rfq_id>/lines/<int:line_id>/edit", methods=["GET", "POST"])
@buyer_only
def edit_line(rfq_id, line_id):
    rfq = _load_own(rfq_id)
    try:
        line = services.get_line(rfq, line_id)
    except DomainError:
        abort(404)
    form = LineForm(obj=line if request.method == "GET" else None)
    if request.method == "GET":
        form.version.data = rfq.version
        form.quantity.data = services.plain_number(line.quantity)
        form.target_price.data = "" if line.target_price is None else services.plain_number(line.target_price)
    if form.validate_on_submit():
        try:
            services.update_line(current_user, rfq.id, line.id, version=form.version.data,
                                 **_line_values(form))
        except DomainError as exc:
            _abort_for(exc, form)
        else:
            flash(_("Line %(position)s saved.", position=line.position) + (" " + _("Amendment sent to the suppliers.")
                                                    if rfq.status == RfqStatus.open else ""), "success")
            return redirect(url_for("rfq.lines", rfq_id=rfq.id))
    return render_template("rfq/line_form.html", rfq=rfq, line=line, form=form)


@bp.post("/<int:rfq_id>/lines/<int:line_id>/delete")
@buyer_only
def delete_line(rfq_id, line_id):
    rfq = _load_own(rfq_id)
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.delete_line(current_user, rfq.id, line_id, version=form.version.data)
        flash(_("Line removed.") + (" " + _("Amendment sent to the suppliers.") if rfq.status == RfqStatus.open else ""),
              "success")
    except DomainError as exc:
        _abort_for(exc, flash_only=True)
    return redirect(url_for("rfq.lines", rfq_id=rfq.id))


@bp.route("/<int:rfq_id>/lines/import", methods=["GET", "POST"])
@buyer_only
def import_lines(rfq_id):
    """Paste or upload CSV -> preview (every bad row by number and column) -> confirm (re-parses the text kept
    in the page; nothing lives in server memory)."""
    rfq = _load_own(rfq_id)
    form = ImportForm()
    parsed, text, problem = None, "", None
    if request.method == "GET":
        form.version.data = rfq.version
    elif form.validate_on_submit():
        try:
            upload = request.files.get("file")
            if upload is not None and upload.filename:
                text = csvlines.decode_upload(upload.read())
            else:
                text = form.text.data or ""
            if form.confirm.data:
                n = services.import_lines(current_user, rfq.id, text=text, version=form.version.data)
                flash(ngettext("%(num)d line appended.", "%(num)d lines appended.", n) + (
                    " " + _("Amendment sent to the suppliers.") if rfq.status == RfqStatus.open else ""), "success")
                return redirect(url_for("rfq.lines", rfq_id=rfq.id))
            parsed = services.preview_import(current_user, rfq.id, text)
        except DomainError as exc:
            if exc.status in (403, 404):
                _abort_for(exc)
            problem = exc.message
            if text and form.confirm.data and exc.status == 422:
                try:  # show the rows again with what is wrong with them
                    parsed = services.preview_import(current_user, rfq.id, text)
                except DomainError:
                    parsed = None
    form.text.data = text or form.text.data
    return render_template("rfq/import.html", rfq=rfq, form=form, parsed=parsed, text=text, problem=problem,
                           columns=csvlines.COLUMNS)


@bp.get("/lines-template.csv")
@login_required
def lines_template():
    return Response(csvlines.template_csv(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="rfq-lines-template.csv"'})


@bp.get("/<int:rfq_id>/lines.csv")
@roles_required(Role.procurement, Role.sales)
def lines_csv(rfq_id):
    rfq = _load(rfq_id)
    _, body = services.export_lines_csv(current_user, rfq.id)
    return Response(body, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{rfq.reference}-lines.csv"'})


# --------------------------------------------------------------------------------------------- attachments

@bp.post("/<int:rfq_id>/attachments")
@buyer_only
def add_attachment(rfq_id):
    rfq = _load_own(rfq_id)
    form = AttachmentForm()
    upload = request.files.get("file")
    if not form.validate_on_submit() or upload is None or not upload.filename:
        flash(_("Choose a file to attach."), "warning")
        return _to_detail(rfq.id, "attachments")
    try:
        att = services.add_attachment(current_user, rfq.id, filename=upload.filename, data=upload.read())
        flash(_("%(filename)s attached.", filename=att.file.filename), "success")
    except DomainError as exc:
        _abort_for(exc, flash_only=True)
    return _to_detail(rfq.id, "attachments")


@bp.get("/<int:rfq_id>/attachments/<int:attachment_id>")
@roles_required(Role.procurement, Role.sales)
def download_attachment(rfq_id, attachment_id):
    """Only the parties: the RFQ is loaded through tenancy first, then its attachment (else 404)."""
    try:
        att = services.attachment_for(current_user, rfq_id, attachment_id)
    except DomainError:
        abort(404)
    f = att.file
    return send_stored(f)


@bp.post("/<int:rfq_id>/attachments/<int:attachment_id>/delete")
@buyer_only
def remove_attachment(rfq_id, attachment_id):
    rfq = _load_own(rfq_id)
    if not VersionForm().validate_on_submit():
        abort(400)
    try:
        services.remove_attachment(current_user, rfq.id, attachment_id)
        flash(_("Attachment removed."), "success")
    except DomainError as exc:
        _abort_for(exc, flash_only=True)
    return _to_detail(rfq.id, "attachments")


# --------------------------------------------------------------------------------------------- suppliers

@bp.route("/<int:rfq_id>/suppliers", methods=["GET", "POST"])
@buyer_only
def suppliers(rfq_id):
    rfq = _load_own(rfq_id)
    if request.method == "POST":
        if not VersionForm().validate_on_submit():
            abort(400)
        try:
            new = services.invite_suppliers(current_user, rfq.id, request.form.getlist("supplier_id"))
        except DomainError as exc:
            _abort_for(exc, flash_only=True)
        else:
            names = ", ".join(c.display_name for c in new)
            if not new:
                flash(_("Those suppliers were already invited."), "info")
            elif rfq.status == RfqStatus.open:
                flash(_("Invited and notified: %(names)s.", names=names), "success")
            else:
                flash(_("Invited: %(names)s. They are told when you publish.", names=names), "success")
        return redirect(url_for("rfq.suppliers", rfq_id=rfq.id, q=request.args.get("q", ""),
                                country=request.args.get("country", ""),
                                category=request.args.get("category", "")))
    q, country, category = (request.args.get(k, "") for k in ("q", "country", "category"))
    results = services.search_suppliers(current_user, q=q, country=country, category=category)
    invitations = services.invitations_of(rfq)
    return render_template("rfq/suppliers.html", rfq=rfq, results=results, invitations=invitations,
                           invited_ids={i.supplier_company_id for i in invitations}, q=q, country=country,
                           category=category, countries=services.supplier_countries(current_user),
                           action_form=VersionForm(formdata=None, version=rfq.version))


@bp.post("/<int:rfq_id>/suppliers/<int:supplier_id>/remove")
@buyer_only
def remove_supplier(rfq_id, supplier_id):
    rfq = _load_own(rfq_id)
    if not VersionForm().validate_on_submit():
        abort(400)
    try:
        services.remove_invitation(current_user, rfq.id, supplier_id)
        flash(_("Invitation removed."), "success")
    except DomainError as exc:
        _abort_for(exc, flash_only=True)
    return redirect(request.form.get("back") == "detail" and url_for("rfq.detail", rfq_id=rfq.id)
                    or url_for("rfq.suppliers", rfq_id=rfq.id))


# --------------------------------------------------------------------------------------------- lifecycle

@bp.post("/<int:rfq_id>/publish")
@buyer_only
def publish(rfq_id):
    rfq = _load_own(rfq_id)
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.publish(current_user, rfq.id, version=form.version.data)
        flash(_("%(reference)s is published; the invited suppliers have been notified.", reference=rfq.reference), "success")
    except DomainError as exc:
        _abort_for(exc, flash_only=True)
    return _to_detail(rfq.id)


@bp.post("/<int:rfq_id>/close")
@buyer_only
def close(rfq_id):
    rfq = _load_own(rfq_id)
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        n = services.close_early(current_user, rfq.id, version=form.version.data)
        flash(ngettext("%(reference)s is closed; %(num)d quote opened.", "%(reference)s is closed; %(num)d quotes opened.",
                       n, reference=rfq.reference), "success")
    except DomainError as exc:
        _abort_for(exc, flash_only=True)
    return _to_detail(rfq.id)


@bp.route("/<int:rfq_id>/extend", methods=["GET", "POST"])
@buyer_only
def extend(rfq_id):
    rfq = _load_own(rfq_id)
    form = ExtendForm()
    if request.method == "GET":
        if rfq.status != RfqStatus.open:
            flash(_("Only an open RFQ's deadline can be extended; this one is %(status)s.",
                    status=state_label(rfq.status.value)), "warning")
            return _to_detail(rfq.id)
        form.version.data = rfq.version
        form.deadline.data = services.utc_to_local(rfq.deadline, current_user.timezone)
    elif form.validate_on_submit():
        try:
            new = services.local_to_utc(form.deadline.data, current_user.timezone)
            services.extend_deadline(current_user, rfq.id, version=form.version.data, deadline=new)
        except DomainError as exc:
            _abort_for(exc, form)
        else:
            flash(_("Deadline extended; the suppliers have been notified."), "success")
            return _to_detail(rfq.id)
    return render_template("rfq/extend.html", rfq=rfq, form=form)


@bp.route("/<int:rfq_id>/cancel", methods=["GET", "POST"])
@buyer_only
def cancel(rfq_id):
    rfq = _load_own(rfq_id)
    form = CancelForm()
    if request.method == "GET":
        form.version.data = rfq.version
    elif form.validate_on_submit():
        try:
            services.cancel(current_user, rfq.id, reason=form.reason.data, version=form.version.data)
        except DomainError as exc:
            _abort_for(exc, form)
        else:
            flash(_("%(reference)s is cancelled.", reference=rfq.reference), "success")
            return _to_detail(rfq.id)
    return render_template("rfq/cancel.html", rfq=rfq, form=form)


# --------------------------------------------------------------------------------------------- clarifications

@bp.post("/<int:rfq_id>/questions")
@supplier_only
def ask(rfq_id):
    _load(rfq_id)  # 404 unless invited to a published RFQ
    form = QuestionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.ask_question(current_user, rfq_id, question=form.question.data)
        flash(_("Question sent. The answer will be shared with all invited suppliers, without your name."),
              "success")
    except DomainError as exc:
        _abort_for(exc, flash_only=True)
    return _to_detail(rfq_id, "questions")


@bp.post("/<int:rfq_id>/questions/<int:clarification_id>/answer")
@buyer_only
def answer(rfq_id, clarification_id):
    rfq = _load_own(rfq_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.answer_question(current_user, rfq.id, clarification_id, answer=form.answer.data)
        flash(_("Answer published to all invited suppliers."), "success")
    except DomainError as exc:
        _abort_for(exc, flash_only=True)
    return _to_detail(rfq.id, "questions")
