"""Accounts payable pages: tolerances and cash discounts, an invoice's match and disputes, payment runs with the
SEPA file, remittance advices. Thin: parse, call a service, flash, redirect."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal.accounts.models import Company, Role
from portal.db import db, utcnow
from portal.errors import DomainError
from portal.invoices.models import Invoice
from portal.invoices.states import InvoiceStatus
from portal.payables import disputes, forms, matching, remittance, runs
from portal.payables.models import Dispute, PaymentRun, RemittanceAdvice
from portal.tenancy import get_for_user, roles_required
from portal.viewutil import form_error
from flask_babel import gettext as _

bp = Blueprint("payables", __name__, url_prefix="/payables")
accounts_only = roles_required(Role.accounts, Role.admin)
run_people = roles_required(Role.accounts, Role.approver, Role.admin)


@bp.app_template_global("payment_state")
def payment_state_global(invoice_id: int):
    """For the invoice page (buyer side): ("in payment run" | "payment scheduled" | "paid", run) or None."""
    return runs.payment_state(invoice_id)


def _flash_error(exc: DomainError, form=None):
    if form is not None:
        form_error(form, exc)
    else:
        flash(exc.message, "danger")


# --------------------------------------------------------------------------------------------- overview

@bp.get("/")
@accounts_only
def index():
    import sqlalchemy as sa

    from portal.payables.models import InvoiceMatch, MatchStatus

    cid = current_user.company_id
    exceptions = []
    if current_user.company.is_buyer:
        exceptions = db.session.execute(
            sa.select(Invoice, InvoiceMatch).join(InvoiceMatch, InvoiceMatch.invoice_id == Invoice.id)
            .where(Invoice.buyer_company_id == cid, InvoiceMatch.status == MatchStatus.exceptions,
                   Invoice.approved_for_payment_at.is_(None), Invoice.status != InvoiceStatus.paid)
            .order_by(Invoice.id.desc()).limit(100)).all()
    return render_template("payables/index.html", exceptions=exceptions,
                           disputes=disputes.list_disputes(cid, open_only=False, limit=50),
                           runs=runs.list_runs(cid, 20) if current_user.company.is_buyer else [],
                           advices=remittance.list_advices(cid, limit=50))


# --------------------------------------------------------------------------------------------- settings

@bp.route("/settings", methods=["GET", "POST"])
@accounts_only
def settings():
    if not current_user.company.is_buyer:
        abort(404)
    s = matching.settings_for(current_user.company_id)
    form = forms.TolerancesForm(obj=None if request.method == "POST" else s)
    dform = forms.DiscountForm(prefix="d")
    suppliers = db.session.scalars(db.select(Company).where(Company.kind.in_(["supplier", "both"]),
                                                            Company.id != current_user.company_id)
                                   .order_by(Company.display_name)).all()
    dform.supplier_id.choices = [(str(c.id), c.display_name) for c in suppliers]
    if request.method == "GET":
        form.lock_version.data = s.lock_version
    if request.method == "POST" and "d-submit" in request.form:
        if dform.validate_on_submit():
            try:
                matching.set_discount_terms(current_user, dform.supplier_id.data, percent=dform.discount_percent.data,
                                            days=dform.discount_days.data)
                flash(_("Cash discount terms saved."), "success")
                return redirect(url_for("payables.settings"))
            except DomainError as exc:
                _flash_error(exc, dform)
    elif request.method == "POST":
        if form.validate_on_submit():
            try:
                matching.save_settings(current_user, form.lock_version.data,
                                       price_tolerance_percent=form.price_tolerance_percent.data,
                                       price_tolerance_amount=form.price_tolerance_amount.data,
                                       quantity_tolerance_percent=form.quantity_tolerance_percent.data,
                                       total_tolerance_percent=form.total_tolerance_percent.data,
                                       total_tolerance_amount=form.total_tolerance_amount.data,
                                       auto_approve=form.auto_approve.data)
                flash(_("Tolerances saved."), "success")
                return redirect(url_for("payables.settings"))
            except DomainError as exc:
                _flash_error(exc, form)
    status = 422 if request.method == "POST" else 200
    return render_template("payables/settings.html", form=form, dform=dform,
                           terms=matching.discount_terms(current_user.company_id)), status


# --------------------------------------------------------------------------------------------- invoice: match, disputes

def _invoice(inv_id) -> Invoice:
    inv = get_for_user(Invoice, inv_id)
    if inv.status == InvoiceStatus.draft:
        abort(404)
    return inv


@bp.get("/invoices/<int:inv_id>")
@accounts_only
def invoice(inv_id):
    inv = _invoice(inv_id)
    buyer = inv.buyer_company_id == current_user.company_id
    dform = forms.DisputeForm(lock_version=inv.lock_version)
    dform.invoice_line_id.choices = [("", _("The whole invoice"))] + [
        (str(ln.id), _("Line %(position)s: %(description)s", position=ln.position, description=ln.description))
        for ln in inv.lines]
    return render_template("payables/invoice.html", inv=inv, buyer=buyer, match=matching.match_for(inv),
                           disputes=disputes.disputes_of(inv), dform=dform,
                           lock_form=forms.LockForm(lock_version=inv.lock_version),
                           state=runs.payment_state(inv.id) if buyer else None)


@bp.post("/invoices/<int:inv_id>/match")
@accounts_only
def rematch(inv_id):
    inv = _invoice(inv_id)
    try:
        m = matching.run_match(inv.id, current_user)
        flash(_('Checked again: %(label)s.', label=_(m.status.label).lower()) if m else _("Nothing to check."), "info")
    except DomainError as exc:
        _flash_error(exc)
    return redirect(url_for("payables.invoice", inv_id=inv.id))


@bp.post("/invoices/<int:inv_id>/approve")
@accounts_only
def approve(inv_id):
    inv = _invoice(inv_id)
    form = forms.LockForm()
    if form.validate_on_submit():
        try:
            matching.approve(inv, current_user, form.lock_version.data)
            flash(_("Approved for payment."), "success")
        except DomainError as exc:
            _flash_error(exc)
    else:
        flash(_("The form expired; try again."), "danger")
    return redirect(url_for("payables.invoice", inv_id=inv.id))


@bp.post("/invoices/<int:inv_id>/dispute")
@accounts_only
def dispute(inv_id):
    inv = _invoice(inv_id)
    form = forms.DisputeForm()
    form.invoice_line_id.choices = [("", "")] + [(str(ln.id), "") for ln in inv.lines]
    if form.validate_on_submit():
        try:
            d = disputes.open_dispute(inv, current_user, form.lock_version.data, reason=form.reason.data,
                                      invoice_line_id=form.invoice_line_id.data or None)
            flash(_("Dispute opened; the supplier's accounts team is notified. The invoice is not due meanwhile."),
                  "success")
            return redirect(url_for("payables.dispute_detail", d_id=d.id))
        except DomainError as exc:
            _flash_error(exc)
    else:
        flash(_("The form expired; try again."), "danger")
    return redirect(url_for("payables.invoice", inv_id=inv.id))


@bp.get("/disputes/<int:d_id>")
@accounts_only
def dispute_detail(d_id):
    d = get_for_user(Dispute, d_id)
    buyer = d.buyer_company_id == current_user.company_id
    text_form = forms.TextForm(lock_version=d.lock_version)
    rform = forms.ResolveForm(lock_version=d.lock_version)
    cns = disputes.credit_notes_for(d) if not buyer else []
    rform.credit_note_id.choices = [(str(c.id), f"{c.number} ({c.total_gross:.2f} {c.currency})") for c in cns]
    return render_template("payables/dispute.html", d=d, buyer=buyer, text_form=text_form, rform=rform, cns=cns)


@bp.post("/disputes/<int:d_id>/<action>")
@accounts_only
def dispute_action(d_id, action):
    d = get_for_user(Dispute, d_id)
    if action not in ("answer", "reply", "withdraw", "resolve"):
        abort(404)
    form = forms.ResolveForm() if action == "resolve" else forms.TextForm()
    if action == "resolve":
        form.credit_note_id.choices = [(str(c.id), "") for c in disputes.credit_notes_for(d)]
    if not form.validate_on_submit():
        flash(_("The form expired; try again."), "danger")
        return redirect(url_for("payables.dispute_detail", d_id=d.id))
    try:
        if action == "answer":
            disputes.answer(d, current_user, form.lock_version.data, text=form.text.data)
        elif action == "reply":
            disputes.reply(d, current_user, form.lock_version.data, text=form.text.data)
        elif action == "withdraw":
            disputes.withdraw(d, current_user, form.lock_version.data, text=form.text.data)
        else:
            disputes.resolve(d, current_user, form.lock_version.data, credit_note_id=form.credit_note_id.data,
                             text=form.text.data)
        flash({"answer": _("Answer sent."), "reply": _("Reply sent."), "withdraw": _("Dispute withdrawn; the invoice is "
               "due again."), "resolve": _("Dispute resolved by the credit note.")}[action], "success")
    except DomainError as exc:
        _flash_error(exc)
    return redirect(url_for("payables.dispute_detail", d_id=d.id))


# --------------------------------------------------------------------------------------------- payment runs

@bp.route("/runs", methods=["GET", "POST"])
@run_people
def run_index():
    if not current_user.company.is_buyer:
        abort(404)
    form = forms.RunForm()
    if request.method == "GET":
        form.due_by.data = utcnow().date().isoformat()
    if request.method == "POST":
        if not current_user.has_role(Role.accounts, Role.admin):
            abort(403)
        if form.validate_on_submit():
            try:
                run = runs.build_run(current_user, due_by=form.due_by.data,
                                     execution_date=form.execution_date.data or None)
                flash(_('Payment run %(reference)s built; someone else reviews and approves it.', reference=run.reference), "success")
                return redirect(url_for("payables.run_detail", run_id=run.id))
            except DomainError as exc:
                _flash_error(exc, form)
    return render_template("payables/runs.html", form=form, runs=runs.list_runs(current_user.company_id)), \
        (422 if request.method == "POST" else 200)


@bp.get("/runs/<int:run_id>")
@run_people
def run_detail(run_id):
    run = get_for_user(PaymentRun, run_id)
    groups = runs.transfers_of(run)
    others = [i for i in run.items if i.state.value != "included"]
    return render_template("payables/run.html", run=run, groups=groups, others=others,
                           lock_form=forms.LockForm(lock_version=run.lock_version),
                           exec_form=forms.ExecutedForm(lock_version=run.lock_version,
                                                        executed_on=utcnow().date().isoformat()))


@bp.post("/runs/<int:run_id>/<action>")
@run_people
def run_action(run_id, action):
    run = get_for_user(PaymentRun, run_id)
    if action not in ("approve", "export", "execution", "cancel"):
        abort(404)
    form = forms.ExecutedForm() if action == "execution" else forms.LockForm()
    if not form.validate_on_submit():
        flash(_("The form expired; try again."), "danger")
        return redirect(url_for("payables.run_detail", run_id=run.id))
    try:
        if action == "approve":
            _run, notes = runs.approve_run(run, current_user, form.lock_version.data)
            flash(_("Payment run approved."), "success")
        elif action == "export":
            _run, notes = runs.export_run(run, current_user, form.lock_version.data)
            flash(_("SEPA file produced; download it for the bank upload. Its invoices show “payment scheduled”."),
                  "success")
        elif action == "execution":
            notes = []
            runs.confirm_execution(run, current_user, form.lock_version.data, executed_on=form.executed_on.data)
            flash(_("Execution confirmed; the suppliers received their remittance advices."), "success")
        else:
            notes = []
            runs.cancel_run(run, current_user, form.lock_version.data)
            flash(_("Payment run cancelled; its invoices are free again."), "info")
        for n in notes:
            flash(_("Dropped: ") + n, "warning")
    except DomainError as exc:
        _flash_error(exc)
    return redirect(url_for("payables.run_detail", run_id=run.id))


@bp.get("/runs/<int:run_id>/sepa.xml")
@run_people
def run_sepa(run_id):
    run = get_for_user(PaymentRun, run_id)
    try:
        data = runs.sepa_bytes(run)
    except DomainError as exc:
        _flash_error(exc)
        return redirect(url_for("payables.run_detail", run_id=run.id))
    return Response(data, mimetype="application/xml",
                    headers={"Content-Disposition": f'attachment; filename="{run.reference}.xml"'})


# --------------------------------------------------------------------------------------------- remittances

@bp.get("/remittances/<int:a_id>")
@accounts_only
def remittance_detail(a_id):
    a = get_for_user(RemittanceAdvice, a_id)
    return render_template("payables/remittance.html", a=a, rows=remittance.compare(a),
                           supplier=a.supplier_company_id == current_user.company_id,
                           lock_form=forms.LockForm(lock_version=a.lock_version))


@bp.post("/remittances/<int:a_id>/reconcile")
@accounts_only
def reconcile(a_id):
    a = get_for_user(RemittanceAdvice, a_id)
    form = forms.LockForm()
    if form.validate_on_submit():
        try:
            remittance.reconcile(a, current_user, form.lock_version.data)
            flash(_("Reconciled: the payments are recorded on the invoices."), "success")
        except DomainError as exc:
            _flash_error(exc)
    else:
        flash(_("The form expired; try again."), "danger")
    return redirect(url_for("payables.remittance_detail", a_id=a.id))


@bp.get("/remittances/<int:a_id>/pdf")
@accounts_only
def remittance_pdf(a_id):
    from portal.documents.models import StoredFile
    from portal.documents.store import read_bytes

    a = get_for_user(RemittanceAdvice, a_id)
    if a.pdf_file_id is None:
        flash(_("The PDF is being rendered; try again in a moment."), "info")
        return redirect(url_for("payables.remittance_detail", a_id=a.id))
    f = db.session.get(StoredFile, a.pdf_file_id)
    return Response(read_bytes(f), mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{f.filename}"'})
