"""Receivables pages for the supplier's accounts team: aging (drill-down, CSV, PDF), dunning letters and
settings; the letter download for both sides; the dunning history panel on the invoice page (a template
global, so the invoices blueprint needs to know nothing of this package)."""
from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal.accounts.models import Company, Role
from portal.csvutil import safe_cell
from portal.db import db
from portal.errors import DomainError
from portal.receivables import aging as aging_mod
from portal.receivables import dunning, forms
from portal.receivables.models import DunningNotice
from portal.tenancy import get_for_user, roles_required
from portal.viewutil import form_error
from flask_babel import gettext as _

bp = Blueprint("receivables", __name__, url_prefix="/receivables")
accounts_only = roles_required(Role.accounts)


@bp.app_template_global("dunning_history")
def dunning_history(invoice_id: int) -> list[DunningNotice]:
    """The invoice page's panel (both sides); the page has loaded the invoice through the tenancy helper."""
    return dunning.history(invoice_id)


def _supplier_only() -> None:
    if not current_user.company.is_supplier:
        abort(404)


@bp.get("/")
@accounts_only
def index():
    return redirect(url_for("receivables.aging"))


@bp.get("/aging")
@accounts_only
def aging():
    _supplier_only()
    data = aging_mod.aging(current_user.company_id)
    return render_template("receivables/aging.html", data=data, letters=dunning.recent(current_user.company_id, 10))


@bp.get("/aging/<int:buyer_id>")
@accounts_only
def drill(buyer_id):
    _supplier_only()
    if not aging_mod.is_customer(current_user.company_id, buyer_id):
        abort(404)  # not a company this supplier has invoiced
    buyer = db.session.get(Company, buyer_id)
    bucket = request.args.get("bucket") or None
    currency = (request.args.get("currency") or "").upper()[:3] or None
    if bucket and bucket not in aging_mod.BUCKET_KEYS:
        flash(_("Unknown aging bucket; showing every open invoice of this customer."), "warning")
        bucket = None
    rows = aging_mod.items(current_user.company_id, buyer_id, currency=currency, bucket=bucket)
    return render_template("receivables/drill.html", buyer=buyer, rows=rows, bucket=bucket, currency=currency,
                           labels=aging_mod.BUCKET_LABELS, limit=aging_mod.DRILL_LIMIT)


CSV_HEADER = ["customer", "customer_id", "currency", "invoices"] + list(aging_mod.BUCKET_KEYS) + ["total", "disputed"]


@bp.get("/aging.csv")
@accounts_only
def aging_csv():
    _supplier_only()
    data = aging_mod.aging(current_user.company_id)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_HEADER)
    for r in data["customers"]:
        w.writerow([safe_cell(v) for v in [r["name"], r["buyer_company_id"], r["currency"], r["count"]]
                    + [r[k] for k in aging_mod.BUCKET_KEYS] + [r["total"], r["disputed"]]])
    for t in data["totals"]:
        w.writerow(["TOTAL", "", t["currency"], t["count"]] + [t[k] for k in aging_mod.BUCKET_KEYS]
                   + [t["total"], t["disputed"]])
    return Response(buf.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=aging-{data['as_of'].isoformat()}.csv"})


@bp.post("/aging/pdf")
@accounts_only
def aging_pdf():
    _supplier_only()
    from portal.receivables.services import start_aging_pdf

    rec = start_aging_pdf(current_user)
    return redirect(url_for("jobs.detail", job_id=rec.id))


@bp.get("/letters")
@accounts_only
def letters():
    _supplier_only()
    return render_template("receivables/letters.html", letters=dunning.recent(current_user.company_id, 200))


@bp.get("/letters/<int:notice_id>/pdf")
@accounts_only
def letter_pdf(notice_id):
    from portal.documents.models import StoredFile
    from portal.documents.store import read_bytes

    notice = get_for_user(DunningNotice, notice_id)
    f = db.session.get(StoredFile, notice.pdf_file_id) if notice.pdf_file_id else None
    if f is None:
        flash(_("The letter's PDF is not ready yet; it is rendered in the background. Try again in a moment."),
              "warning")
        return redirect(url_for("invoices.detail", inv_id=notice.invoice_id))
    return Response(read_bytes(f), mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{f.filename}"', "X-Content-SHA256": f.sha256})


@bp.route("/settings", methods=["GET", "POST"])
@accounts_only
def settings():
    _supplier_only()
    current = dunning.settings_of(current_user.company_id)
    if request.method == "GET":
        days = current["days"] + [None] * 3
        form = forms.DunningSettingsForm(
            level1=days[0], level2=days[1], level3=days[2], charge_interest=current["charge_interest"],
            reference_rate=(dunning.rate_text(current["reference_rate"])
                            if current["reference_rate"] is not None else ""),
            reference_rate_date=current["reference_rate_date"].isoformat() if current["reference_rate_date"] else "")
        return render_template("receivables/settings.html", form=form)
    form = forms.DunningSettingsForm()
    if form.validate():
        try:
            dunning.save_settings(current_user, level1=form.level1.data, level2=form.level2.data,
                                  level3=form.level3.data, charge_interest=form.charge_interest.data,
                                  reference_rate=form.reference_rate.data,
                                  reference_rate_date=form.reference_rate_date.data)
            flash(_("Dunning settings saved."), "success")
            return redirect(url_for("receivables.settings"))
        except DomainError as exc:
            form_error(form, exc)
    return render_template("receivables/settings.html", form=form), 422

