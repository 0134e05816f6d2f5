"""Supplier quotes: the quote form (one page, any number of lines), CSV in/out, versions, withdraw/confirm,
attachments; the buyer's view of a quote (sealed until the RFQ opens) and the RFQ page's quote panel."""
from __future__ import annotations

from flask_babel import gettext as _

from decimal import Decimal

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.routing import BuildError

from portal.accounts.models import Role
from portal.documents.store import send_stored
from portal.errors import Conflict, DomainError, NotFound
from portal.i18n import _l
from portal.quotes import amendments, outcome, services
from portal.quotes.forms import (AttachmentForm, CsvUploadForm, LockForm, QuoteHeaderForm, QuoteLinesForm,
                                 WithdrawForm)
from portal.quotes.models import Quote
from portal.rfq.models import Rfq
from portal.tenancy import company_kind_required, get_for_user, roles_required
from portal.viewutil import form_error

bp = Blueprint("quotes", __name__)

BUYER_ROLES = (Role.procurement, Role.approver, Role.admin)
SUPPLIER_VIEW_ROLES = (Role.sales, Role.admin)


@bp.app_context_processor
def _quote_globals():
    def quote_panel(rfq):
        return services.quote_panel(rfq, current_user)

    return {"quote_panel": quote_panel, "rfq_url": rfq_url, "quote_lock_reason": outcome.lock_reason}


@bp.app_template_filter("quote_unit_price")
def quote_unit_price(amount, currency="EUR"):
    """A unit price: the currency's decimals at least, up to the 4 a unit price may carry."""
    if amount is None:
        return "—"
    from babel.numbers import format_currency

    locale = (current_user.locale if current_user and current_user.is_authenticated else None) or "en_GB"
    return format_currency(Decimal(amount).normalize(), currency, locale=locale, decimal_quantization=False)


def rfq_url(rfq) -> str | None:
    """The RFQ page (built by the RFQ domain), if its endpoint is there."""
    for kwargs in ({"rfq_id": rfq.id}, {"id": rfq.id}):
        try:
            return url_for("rfq.detail", **kwargs)
        except BuildError:
            continue
    return None


# --------------------------------------------------------------------------------------------- loaders

def _rfq_for_supplier(rfq_id: int) -> Rfq:
    """The RFQ, for sales staff of an invited supplier; 404 for everyone else."""
    rfq = get_for_user(Rfq, rfq_id)
    mine = current_user.company_id
    if rfq.buyer_company_id == mine or not services.is_invited(rfq, mine):
        abort(404)
    return rfq


def _quote_for_viewer(quote_id: int) -> tuple[Quote, bool]:
    """(quote, viewer_is_buyer). Supplier side: sales/admin; buyer side: procurement/approver/admin."""
    quote = get_for_user(Quote, quote_id)
    is_buyer = quote.supplier_company_id != current_user.company_id
    if not current_user.has_role(*(BUYER_ROLES if is_buyer else SUPPLIER_VIEW_ROLES)):
        abort(403)
    return quote, is_buyer


def _own_quote(quote_id: int) -> Quote:
    """A quote the signed-in sales person may change: their company's, else 404 (buyers get 403 earlier)."""
    quote = get_for_user(Quote, quote_id)
    if quote.supplier_company_id != current_user.company_id:
        abort(404)
    return quote


def _lock_value(form) -> int | None:
    raw = (form.lock_version.data or "").strip()
    try:
        return int(raw)
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------- supplier: list

@bp.get("/quotes")
@roles_required(*SUPPLIER_VIEW_ROLES)
@company_kind_required("supplier")
def index():
    quotes = services.company_quotes(current_user.company_id)
    return render_template("quotes/index.html", quotes=quotes)


# ------------------------------------------------------------------------------------ supplier: the form

def _render_form(rfq, quote, header: QuoteHeaderForm, lines_form: QuoteLinesForm, status: int = 200,
                 amended: str | None = None):
    attachments = services.attachments_of(quote, for_buyer=False) if quote else []
    return render_template(
        "quotes/edit.html", rfq=rfq, quote=quote, header=header, lines=lines_form, amended=amended,
        upload=CsvUploadForm(formdata=None, lock_version=header.lock_version.data,
                             rfq_amendment_no=header.rfq_amendment_no.data),
        attach=AttachmentForm(formdata=None),
        attachments=attachments,
        removable={a.id for a in attachments if services.is_draft_attachment(quote, a)},
        lock=LockForm(formdata=None, lock_version=header.lock_version.data),
    ), status


@bp.route("/rfqs/<int:rfq_id>/quote", methods=["GET", "POST"])
@roles_required(Role.sales)
@company_kind_required("supplier")
def edit(rfq_id):
    rfq = _rfq_for_supplier(rfq_id)
    quote = services.find_quote(rfq.id, current_user.company_id)
    rfq_lines = services.rfq_lines(rfq.id)
    if request.method == "GET":
        if quote is not None and (quote.draft_version is None or not rfq.accepting_quotes):
            return _render_detail(quote, is_buyer=False, rfq_lines=rfq_lines)
        if quote is None and not rfq.accepting_quotes:
            try:
                services.require_open(rfq, current_user)
            except DomainError as exc:
                flash(exc.message, "warning")
            return redirect(rfq_url(rfq) or url_for("quotes.index"))
        draft = quote.draft_version if quote else None
        header = QuoteHeaderForm(formdata=None, data=services.header_as_input(draft),
                                 lock_version=str(quote.lock_version if quote else 0),
                                 rfq_amendment_no=str(rfq.amendment_no))
        lines_form = QuoteLinesForm.from_input(rfq_lines, services.version_as_input(draft))
        notice = amendments.draft_notice(rfq, draft.rfq_amendment_no) if draft is not None else None
        return _render_form(rfq, quote, header, lines_form, amended=notice)

    header = QuoteHeaderForm()
    lines_form = QuoteLinesForm.from_formdata(rfq_lines, request.form)
    action = request.form.get("action", "save")
    expected = _lock_value(header)
    answered = amendments.parse_number(header.rfq_amendment_no.data)
    try:
        if quote is None:
            services.validate_input(rfq, current_user, header.header_data(), lines_form.as_input(), rfq_lines)
            quote = services.get_or_create_draft(rfq, current_user, expected_lock_version=expected or 0,
                                                 rfq_amendment_no=answered)
            expected = quote.lock_version
        elif expected is None or expected == 0:
            raise Conflict(services.STALE_MESSAGE)
        services.save_draft(quote, current_user, header.header_data(), lines_form.as_input(), expected,
                            answered)
    except amendments.AmendedSince as exc:
        # Shown again as typed, beside the RFQ's new figures, ready for the amendment it must now answer.
        rfq_lines = services.rfq_lines(rfq.id)
        lines_form = QuoteLinesForm.from_formdata(rfq_lines, request.form)
        header.rfq_amendment_no.data = str(exc.current)
        quote = services.find_quote(rfq.id, current_user.company_id)
        header.lock_version.data = str(quote.lock_version if quote else 0)
        return _render_form(rfq, quote, header, lines_form, exc.status, amended=exc.message)
    except DomainError as exc:
        form_error(header, exc)
        lines_form.attach_errors(exc.errors)
        return _render_form(rfq, quote, header, lines_form, exc.status)
    if action == "submit":
        try:
            services.submit(quote, current_user, quote.lock_version, answered)
        except DomainError as exc:
            header = QuoteHeaderForm(formdata=None, data=header.header_data(),
                                     lock_version=str(quote.lock_version),
                                     rfq_amendment_no=header.rfq_amendment_no.data)
            form_error(header, exc)
            lines_form.attach_errors(exc.errors)
            flash(_("Your draft was saved but not submitted."), "info")
            return _render_form(rfq, quote, header, lines_form, exc.status)
        flash(_("Quote submitted (version %(number)s). You can revise it until the deadline.",
                number=quote.current_version.number), "success")
        return redirect(url_for("quotes.detail", quote_id=quote.id))
    flash(_("Draft saved. It is not visible to the buyer until you submit it."), "success")
    return redirect(url_for("quotes.edit", rfq_id=rfq.id))


@bp.get("/rfqs/<int:rfq_id>/quote/lines.csv")
@roles_required(Role.sales)
@company_kind_required("supplier")
def template_csv(rfq_id):
    """The lines to fill in: the draft's values when there is one, else empty price columns."""
    rfq = _rfq_for_supplier(rfq_id)
    quote = services.find_quote(rfq.id, current_user.company_id)
    version = (quote.draft_version or quote.current_version) if quote else None
    return _csv_response(services.lines_csv(rfq, version), f"{rfq.reference}-quote-lines.csv")


@bp.post("/rfqs/<int:rfq_id>/quote/upload")
@roles_required(Role.sales)
@company_kind_required("supplier")
def upload_csv(rfq_id):
    rfq = _rfq_for_supplier(rfq_id)
    quote = services.find_quote(rfq.id, current_user.company_id)
    form = CsvUploadForm()
    expected = _lock_value(form)
    answered = amendments.parse_number(form.rfq_amendment_no.data)
    f = form.file.data
    if not f or not getattr(f, "filename", ""):
        flash(_("Choose a CSV file to upload."), "warning")
        return redirect(url_for("quotes.edit", rfq_id=rfq.id))
    data = f.read()
    try:
        if quote is not None and (expected is None or expected == 0):
            raise Conflict(services.STALE_MESSAGE)
        if quote is not None and quote.draft_version is None:
            raise Conflict(_l("Click Revise before you upload new prices for a submitted quote."))
        base = services.version_as_input(quote.draft_version if quote else None)
        merged = services.parse_lines_csv(rfq, current_user, data, base)
        if quote is None:
            services.validate_input(rfq, current_user, {}, merged)
            quote = services.get_or_create_draft(rfq, current_user, expected_lock_version=expected or 0,
                                                 rfq_amendment_no=answered)
            expected = quote.lock_version
        services.save_draft(quote, current_user, {}, merged, expected, answered)
    except services.CsvRowErrors as exc:
        return render_template("quotes/csv_errors.html", rfq=rfq, quote=quote, message=exc.message,
                               problems=exc.rows, filename=f.filename), 422
    except DomainError as exc:
        flash(exc.message, "danger")
        return render_template("quotes/csv_errors.html", rfq=rfq, quote=quote, message=exc.message,
                               problems=[], filename=f.filename), exc.status
    flash(_("The lines from %(filename)s are in your draft. Review them and submit when ready.", filename=f.filename), "success")
    return redirect(url_for("quotes.edit", rfq_id=rfq.id))


def _csv_response(text: str, filename: str) -> Response:
    resp = Response("\ufeff" + text, mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return resp


# --------------------------------------------------------------------------------------------- quote pages

def _render_detail(quote: Quote, *, is_buyer: bool, rfq_lines=None, number: int | None = None):
    rfq = quote.rfq
    show_prices = (not is_buyer) or services.buyer_can_see_prices(rfq)
    versions = services.versions_of(quote, include_draft=not is_buyer)
    rfq_lines = rfq_lines if rfq_lines is not None else services.rfq_lines(rfq.id)
    if number is None:
        shown = quote.current_version or quote.draft_version
    else:
        shown = next((v for v in versions if v.number == number), None)
        if shown is None:
            abort(404)
    lines_by_version = services.version_lines([v.id for v in versions]) if show_prices else {}
    totals = {v.id: services.version_totals(v, lines_by_version[v.id], rfq_lines, rfq.currency)
              for v in versions} if show_prices else {}
    shown_lines = ({ql.rfq_line_id: ql for ql in lines_by_version.get(shown.id, [])}
                   if (shown and show_prices) else {})
    return render_template(
        "quotes/detail.html", quote=quote, rfq=rfq, is_buyer=is_buyer, show_prices=show_prices,
        versions=versions, shown=shown, shown_lines=shown_lines, totals=totals, rfq_lines=rfq_lines,
        attachments=services.attachments_of(quote, for_buyer=is_buyer),
        lock=LockForm(formdata=None, lock_version=str(quote.lock_version)),
        withdraw_form=WithdrawForm(formdata=None, lock_version=str(quote.lock_version)),
        attach=AttachmentForm(formdata=None), open=rfq.accepting_quotes,
        can_edit=(not is_buyer) and current_user.has_role(Role.sales),
        outcome=None if is_buyer else outcome.for_supplier(rfq, quote.supplier_company_id))


@bp.get("/quotes/<int:quote_id>")
@login_required
def detail(quote_id):
    quote, is_buyer = _quote_for_viewer(quote_id)
    return _render_detail(quote, is_buyer=is_buyer)


@bp.get("/quotes/<int:quote_id>/versions/<int:number>")
@login_required
def version(quote_id, number):
    quote, is_buyer = _quote_for_viewer(quote_id)
    return _render_detail(quote, is_buyer=is_buyer, number=number)


@bp.get("/quotes/<int:quote_id>/lines.csv")
@login_required
def lines_csv(quote_id):
    quote, is_buyer = _quote_for_viewer(quote_id)
    name, text = services.export_lines(quote, for_buyer=is_buyer)
    return _csv_response(text, name)


def _act(quote_id, fn, success: str, form_cls=LockForm):
    quote = _own_quote(quote_id)
    form = form_cls()
    try:
        result = fn(quote, form)
    except DomainError as exc:
        if exc.status == 404:
            abort(404)
        flash(exc.message, "danger")
        return None, quote, exc
    if success:
        flash(success, "success")
    return result, quote, None


@bp.post("/quotes/<int:quote_id>/revise")
@roles_required(Role.sales)
@company_kind_required("supplier")
def revise(quote_id):
    _, quote, exc = _act(quote_id, lambda q, f: services.get_or_create_draft(
        q.rfq, current_user, expected_lock_version=_lock_value(f)), "")
    if exc:
        return redirect(url_for("quotes.detail", quote_id=quote.id))
    return redirect(url_for("quotes.edit", rfq_id=quote.rfq_id))


@bp.post("/quotes/<int:quote_id>/discard")
@roles_required(Role.sales)
@company_kind_required("supplier")
def discard(quote_id):
    result, quote, exc = _act(quote_id, lambda q, f: services.discard_draft(q, current_user, _lock_value(f)),
                              _("The draft was discarded."))
    if exc is None and result is None:
        return redirect(rfq_url(quote.rfq) or url_for("quotes.index"))
    return redirect(url_for("quotes.detail", quote_id=quote_id))


@bp.post("/quotes/<int:quote_id>/confirm")
@roles_required(Role.sales)
@company_kind_required("supplier")
def confirm(quote_id):
    _act(quote_id, lambda q, f: services.confirm(q, current_user, _lock_value(f)),
         _("Your quote is confirmed for the amended RFQ."))
    return redirect(url_for("quotes.detail", quote_id=quote_id))


@bp.route("/quotes/<int:quote_id>/withdraw", methods=["GET", "POST"])
@roles_required(Role.sales)
@company_kind_required("supplier")
def withdraw(quote_id):
    quote = _own_quote(quote_id)
    form = WithdrawForm() if request.method == "POST" else WithdrawForm(
        formdata=None, lock_version=str(quote.lock_version))
    status = 200
    if request.method == "POST":
        try:
            services.withdraw(quote, current_user, form.reason.data or "", _lock_value(form))
        except DomainError as exc:
            form_error(form, exc)
            status = exc.status
        else:
            flash(_("Your quote is withdrawn. You can submit it again until the deadline."), "success")
            return redirect(url_for("quotes.detail", quote_id=quote.id))
    return render_template("quotes/withdraw.html", quote=quote, rfq=quote.rfq, form=form), status


# --------------------------------------------------------------------------------------------- attachments

@bp.post("/quotes/<int:quote_id>/attachments")
@roles_required(Role.sales)
@company_kind_required("supplier")
def add_attachment(quote_id):
    quote = _own_quote(quote_id)
    form = AttachmentForm()
    f = form.file.data
    back = request.form.get("back") == "edit"
    target = (url_for("quotes.edit", rfq_id=quote.rfq_id) if back
              else url_for("quotes.detail", quote_id=quote.id))
    if not f or not getattr(f, "filename", ""):
        flash(_("Choose a file to attach."), "warning")
        return redirect(target)
    try:
        att = services.add_attachment(quote, current_user, filename=f.filename, data=f.read())
    except DomainError as exc:
        if exc.status == 404:
            abort(404)
        flash(exc.message, "danger")
    else:
        flash(_("%(filename)s is attached.", filename=att.file.filename), "success")
    return redirect(target)


@bp.post("/quotes/<int:quote_id>/attachments/<int:attachment_id>/delete")
@roles_required(Role.sales)
@company_kind_required("supplier")
def remove_attachment(quote_id, attachment_id):
    quote = _own_quote(quote_id)
    try:
        services.remove_attachment(quote, current_user, attachment_id)
    except DomainError as exc:
        if exc.status == 404:
            abort(404)
        flash(exc.message, "danger")
    else:
        flash(_("The attachment was removed."), "success")
    back = request.form.get("back") == "edit"
    return redirect(url_for("quotes.edit", rfq_id=quote.rfq_id) if back
                    else url_for("quotes.detail", quote_id=quote.id))


@bp.get("/quotes/<int:quote_id>/attachments/<int:attachment_id>")
@login_required
def attachment(quote_id, attachment_id):
    quote, _ = _quote_for_viewer(quote_id)
    try:
        att = services.attachment_for(quote, attachment_id, current_user)
    except NotFound:
        abort(404)
    f = att.file
    return send_stored(f)

