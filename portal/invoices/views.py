"""Invoices for both sides' accounts teams: list, drafts from shipments/orders, issue, payments, credit notes,
the buyer's match and approval, PDFs, statements, CSV and ZIP exports, settings.

Importing this module (done at app start by create_app) also imports services, which registers the
immutability guards on Invoice and InvoiceLine.
"""
from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal.accounts.models import Role
from portal.db import db, utcnow
from portal.errors import DomainError, NotFound
from portal.invoices import forms, services  # noqa: F401  (services registers the immutability guards)
from portal.invoices.csvexport import CSV_HEADER  # noqa: F401  (the export's columns, read by tests)
from portal.invoices.models import DocumentKind, Invoice, InvoiceSettings
from portal.invoices.states import InvoiceStatus
from portal.orders.models import PurchaseOrder, Shipment
from portal.tenancy import get_for_user, roles_required
from portal.viewutil import form_error, stream_in_app_context
from flask_babel import gettext as _

bp = Blueprint("invoices", __name__, url_prefix="/invoices")
accounts_only = roles_required(Role.accounts)


def _load(inv_id) -> Invoice:
    return get_for_user(Invoice, inv_id)


def _supplier_side(inv: Invoice) -> bool:
    return inv.supplier_company_id == current_user.company_id


def _require_supplier(inv: Invoice) -> None:
    if not _supplier_side(inv):
        abort(404)


def _line_edits(form) -> dict:
    edits = {}
    for key, value in form.items():
        for prefix, field in (("qty-", "quantity"), ("discount-", "discount_percent"), ("tax-", "tax_rate")):
            if key.startswith(prefix):
                edits.setdefault(key[len(prefix):], {})[field] = value
    return edits


# --------------------------------------------------------------------------------------------- list

@bp.get("/")
@accounts_only
def index():
    filters = services.filters_from_args(request.args)
    from portal.viewutil import page_number

    from portal.paging import cursors, page_edges

    args = {k: v for k, v in request.args.items() if k not in ("page", "after", "before", "totals") and v}
    after, before = cursors(request.args)
    want_totals = request.args.get("totals") in ("1", "on", "true")
    page = page_number(request.args.get("page"))
    if after or before is not None or page == 1:
        # Newest/Older/Newer: a keyset page (one statement, the same cost at any depth and any size); the count
        # and the totals per currency only on request (they aggregate every matching document)
        kp = services.list_invoices_keyset(current_user.company_id, filters, after=after, before=before)
        rows, total, page, pages = kp.rows, None, None, None
        totals = services.list_totals(current_user.company_id, filters) if want_totals else None
    else:  # an old link by page number: count + OFFSET
        rows, total, page, pages, totals = services.list_invoices(current_user.company_id, filters, page,
                                                                  with_totals=want_totals)
        kp = page_edges(rows, page, pages)
    return render_template("invoices/index.html", rows=rows, total=total, page=page, pages=pages, totals=totals,
                           want_totals=want_totals, keyset=kp, filters=filters, args=args,
                           counterparties=services.counterparties(current_user.company_id),
                           is_supplier=current_user.company.is_supplier, today=utcnow().date())


@bp.get("/export.csv")
@accounts_only
def export_csv():
    from portal.invoices import csvexport

    filters = services.filters_from_args(request.args)
    company_id = current_user.company_id
    # Streamed in batches of 500: the server reads the body after this view has returned (see csvexport).
    chunks = csvexport.generate(lambda last: services.filtered_batch(company_id, filters, last))
    return Response(stream_in_app_context(chunks), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=invoices-{date.today()}.csv"})


@bp.post("/export.zip")
@accounts_only
def export_zip():
    rec = services.start_zip_export(current_user, services.filters_from_args(request.form))
    flash(_("The ZIP is being built; this page shows its progress."), "info")
    return redirect(url_for("jobs.detail", job_id=rec.id))


# --------------------------------------------------------------------------------------------- drafts

@bp.route("/new", methods=["GET", "POST"])
@accounts_only
def new():
    shipment_id = request.values.get("shipment_id") or None
    order_id = request.values.get("order_id") or None
    if not current_user.company.is_supplier:
        abort(404)
    if not (shipment_id or order_id):  # where to start: the shipments that wait for an invoice
        return render_template("invoices/pick.html",
                               shipments=services.uninvoiced_shipments(current_user.company_id, limit=200),
                               waiting=services.uninvoiced_shipments_count(current_user.company_id))
    try:
        order, shipment = services._load_source(current_user, shipment_id, order_id)
    except NotFound:
        abort(404)
    if request.method == "POST":
        try:
            inv = services.create_draft(current_user, shipment_id=shipment_id, order_id=order_id,
                                        edits=_line_edits(request.form), notes=request.form.get("notes", ""))
        except DomainError as exc:
            form_error(None, exc)
            return render_template("invoices/new.html", order=order, shipment=shipment,
                                   rows=services.proposal(order, shipment), values=request.form,
                                   errors=exc.errors, settings=services.settings_for(order.supplier_company_id),
                                   shipping=services.shipping_to_bill(order),
                                   reverse_charge=services.reverse_charge_applies(order.supplier, order.buyer)), 422
        flash(_("Draft invoice saved. Check it, then issue it."), "success")
        return redirect(url_for("invoices.detail", inv_id=inv.id))
    rows = services.proposal(order, shipment)
    return render_template("invoices/new.html", order=order, shipment=shipment, rows=rows, values={}, errors={},
                           settings=services.settings_for(order.supplier_company_id),
                           shipping=services.shipping_to_bill(order),
                           reverse_charge=services.reverse_charge_applies(order.supplier, order.buyer))


@bp.get("/<int:inv_id>")
@accounts_only
def detail(inv_id):
    inv = _load(inv_id)
    supplier = _supplier_side(inv)
    pay_form = forms.PaymentForm(lock_version=inv.lock_version, paid_on=utcnow().date().isoformat())
    approve_form = forms.ApproveForm(lock_version=inv.lock_version)
    return _render_detail(inv, supplier, pay_form, approve_form)


def _render_detail(inv, supplier, pay_form, approve_form, status=200, errors=None):
    from portal.audit.services import trail
    from portal.jobs.models import JobRecord

    match = services.match(inv) if (not supplier and inv.kind == DocumentKind.invoice) else []
    credit_notes = db.session.scalars(db.select(Invoice).where(Invoice.corrects_invoice_id == inv.id,
                                                               Invoice.status != InvoiceStatus.draft)
                                      .order_by(Invoice.id)).all()
    job = db.session.get(JobRecord, inv.pdf_job_id) if inv.pdf_job_id and supplier else None
    return render_template("invoices/detail.html", inv=inv, supplier=supplier, pay_form=pay_form,
                           approve_form=approve_form, match=match,
                           mismatches=any(r["problems"] for r in match), credit_notes=credit_notes, job=job,
                           trail=trail("invoice", inv.id, current_user.company_id), errors=errors or {},
                           order=db.session.get(PurchaseOrder, inv.order_id) if inv.order_id else None,
                           shipment=db.session.get(Shipment, inv.shipment_id) if inv.shipment_id else None), status


@bp.post("/<int:inv_id>/edit")
@accounts_only
def edit(inv_id):
    inv = _load(inv_id)
    _require_supplier(inv)
    try:
        services.update_draft(inv, current_user, request.form.get("lock_version"), _line_edits(request.form),
                              notes=request.form.get("notes"))
        flash(_("Draft saved."), "success")
    except DomainError as exc:
        flash(exc.message, "danger")
    return redirect(url_for("invoices.detail", inv_id=inv_id))


@bp.post("/<int:inv_id>/issue")
@accounts_only
def issue(inv_id):
    inv = _load(inv_id)
    _require_supplier(inv)
    try:
        services.issue(inv, current_user, request.form.get("lock_version"))
        flash(_("Issued as %(number)s. The PDF is being rendered; the buyer's accounts team was notified.", number=inv.number),
              "success")
    except DomainError as exc:
        flash(exc.message, "danger")
    return redirect(url_for("invoices.detail", inv_id=inv_id))


@bp.post("/<int:inv_id>/delete")
@accounts_only
def delete(inv_id):
    inv = _load(inv_id)
    _require_supplier(inv)
    try:
        services.delete_draft(inv, current_user, request.form.get("lock_version"))
    except DomainError as exc:
        flash(exc.message, "danger")
        return redirect(url_for("invoices.detail", inv_id=inv_id))
    flash(_("Draft deleted."), "success")
    return redirect(url_for("invoices.index"))


# --------------------------------------------------------------------------------------------- money

@bp.post("/<int:inv_id>/payments")
@accounts_only
def payment(inv_id):
    inv = _load(inv_id)
    _require_supplier(inv)
    form = forms.PaymentForm()
    try:
        services.record_payment(inv, current_user, form.lock_version.data, amount=form.amount.data or "",
                                paid_on=form.paid_on.data or "", reference=form.reference.data or "")
    except DomainError as exc:
        form_error(form, exc)
        db.session.expire_all()
        inv = _load(inv_id)
        return _render_detail(inv, True, form, forms.ApproveForm(lock_version=inv.lock_version), 422)
    flash(_("Payment recorded."), "success")
    return redirect(url_for("invoices.detail", inv_id=inv_id))


@bp.route("/<int:inv_id>/credit", methods=["GET", "POST"])
@accounts_only
def credit(inv_id):
    inv = _load(inv_id)
    _require_supplier(inv)
    if inv.kind != DocumentKind.invoice or inv.status == InvoiceStatus.draft:
        flash(_("Only an issued invoice can be corrected by a credit note."), "warning")
        return redirect(url_for("invoices.detail", inv_id=inv_id))
    form = forms.CreditNoteForm(lock_version=inv.lock_version)
    credited = services.invoiced_credit_by_line(inv)
    errors = {}
    if request.method == "POST":
        by_amount = form.mode.data == "amount"
        quantities = {k[len("qty-"):]: v for k, v in request.form.items() if k.startswith("qty-")}
        try:
            cn = services.create_credit_note(inv, current_user, form.lock_version.data,
                                             quantities=None if by_amount else quantities,
                                             amount=(form.amount.data or "0") if by_amount else None,
                                             tax_rate=form.tax_rate.data, reason=form.reason.data or "",
                                             reason_kind=form.reason_kind.data or None)
        except DomainError as exc:
            form_error(form, exc)
            errors = exc.errors
            db.session.expire_all()
            inv = _load(inv_id)
            return render_template("invoices/credit.html", inv=inv, form=form, credited=credited,
                                   values=request.form, errors=errors), 422
        flash(_('Credit note %(number)s issued.', number=cn.number), "success")
        return redirect(url_for("invoices.detail", inv_id=cn.id))
    return render_template("invoices/credit.html", inv=inv, form=form, credited=credited, values={}, errors=errors)


@bp.post("/<int:inv_id>/approve")
@accounts_only
def approve(inv_id):
    inv = _load(inv_id)
    if _supplier_side(inv):
        abort(404)
    form = forms.ApproveForm()
    try:
        services.approve_for_payment(inv, current_user, form.lock_version.data,
                                     despite_mismatches=bool(form.despite.data), comment=form.comment.data or "")
    except DomainError as exc:
        form_error(form, exc)
        db.session.expire_all()
        inv = _load(inv_id)
        return _render_detail(inv, False, forms.PaymentForm(), form, 422)
    flash(_("Approved for payment."), "success")
    return redirect(url_for("invoices.detail", inv_id=inv_id))


# --------------------------------------------------------------------------------------------- PDF

@bp.get("/<int:inv_id>/pdf")
@accounts_only
def pdf(inv_id):
    from portal.documents.models import StoredFile
    from portal.documents.store import read_bytes

    inv = _load(inv_id)
    f = db.session.get(StoredFile, inv.pdf_file_id) if inv.pdf_file_id else None
    if f is None:
        flash(_("The PDF is not ready yet. It is rendered in the background right after issue; try again in a "
              "moment") + (_(" or retry the job.") if _supplier_side(inv) else "."), "warning")
        return redirect(url_for("invoices.detail", inv_id=inv_id))
    data = read_bytes(f)  # checks the SHA-256: exactly the bytes rendered at issue
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{f.filename}"', "ETag": f'"{f.sha256}"',
        "X-Content-SHA256": f.sha256})


# --------------------------------------------------------------------------------------------- statement

def _parse_day(value, default):
    try:
        return date.fromisoformat(value) if value else default
    except ValueError:
        return default


@bp.get("/statement")
@accounts_only
def statement():
    from portal.invoices.statements import statement as build

    parties = services.counterparties(current_user.company_id)
    today = utcnow().date()
    d_from = _parse_day(request.args.get("from"), today.replace(day=1) - timedelta(days=90))
    d_to = _parse_day(request.args.get("to"), today)
    data = None
    cid = request.args.get("company_id")
    if cid:
        if not any(str(p.id) == cid for p in parties):
            abort(404)
        try:
            data = build(current_user.company_id, int(cid), d_from, d_to)
        except DomainError as exc:
            flash(exc.message, "danger")
    return render_template("invoices/statement.html", parties=parties, data=data, d_from=d_from, d_to=d_to,
                           cid=cid)


@bp.post("/statement/pdf")
@accounts_only
def statement_pdf():
    parties = services.counterparties(current_user.company_id)
    cid = request.form.get("company_id", "")
    if not any(str(p.id) == cid for p in parties):
        abort(404)
    today = utcnow().date()
    d_from = _parse_day(request.form.get("from"), today - timedelta(days=90))
    d_to = _parse_day(request.form.get("to"), today)
    rec = services.start_statement_pdf(current_user, int(cid), d_from, d_to)
    return redirect(url_for("jobs.detail", job_id=rec.id))


# --------------------------------------------------------------------------------------------- settings

@bp.route("/settings", methods=["GET", "POST"])
@accounts_only
def settings():
    if not current_user.company.is_supplier:
        abort(404)
    s = db.session.get(InvoiceSettings, current_user.company_id) or services.settings_for(current_user.company_id)
    form = forms.SettingsForm(obj=None if request.method == "POST" else s)
    if request.method == "GET":
        form.mode.data = s.mode.value if hasattr(s.mode, "value") else s.mode
        form.default_tax_rate.data = str(s.default_tax_rate)
    if request.method == "POST" and form.validate():
        upload = request.files.get("logo")
        data = upload.read(services.LOGO_MAX_UPLOAD + 1) if upload and upload.filename else None
        try:
            services.save_settings(current_user, mode=form.mode.data, auto_issue=form.auto_issue.data,
                                   default_tax_rate=form.default_tax_rate.data or "0",
                                   reminder_days=form.reminder_days.data or "", footer_note=form.footer_note.data,
                                   logo=data, remove_logo=form.remove_logo.data)
            flash(_("Invoice settings saved."), "success")
            return redirect(url_for("invoices.settings"))
        except DomainError as exc:
            form_error(form, exc)
            return render_template("invoices/settings.html", form=form, s=s), 422
    return render_template("invoices/settings.html", form=form, s=s)
