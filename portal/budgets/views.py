"""Budget pages: budgets with committed/actual/available and budget vs actual, spend by cost centre and GL account,
the CSV export; cost centres, GL accounts, defaults and settings (administrators); cost centres on draft orders."""
from __future__ import annotations

import csv
import io
from datetime import date

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts.models import Role
from portal.accounts.services import members
from portal.budgets import rates, services
from portal.budgets.figures import figures_for, left_out
from portal.budgets.models import Budget, CostCentre, ExchangeRate, GlAccount, PeriodKind
from portal.csvutil import safe_cell
from portal.db import utcnow
from portal.errors import DomainError
from portal.money import CURRENCIES
from portal.orders.models import PurchaseOrder
from portal.tenancy import company_kind_required, get_for_user, roles_required
from portal.viewutil import stream_in_app_context

bp = Blueprint("budgets", __name__, url_prefix="/budgets")
VIEWERS = (Role.procurement, Role.approver, Role.accounts, Role.admin)


def _fail(exc: DomainError):
    if exc.status == 404:
        abort(404)
    flash(exc.message, "danger")


@bp.route("/", methods=["GET", "POST"])
@roles_required(*VIEWERS)
@company_kind_required("buyer")
def index():
    company = current_user.company
    if request.method == "POST":
        if not current_user.has_role(Role.admin):
            abort(403)
        f = request.form
        try:
            services.save_budget(current_user, cost_centre_id=f.get("cost_centre_id"), period_kind=f.get("period_kind"),
                                 period_start=f.get("period_start"), amount=f.get("amount"))
            flash(_("Budget saved."), "success")
            return redirect(url_for("budgets.index"))
        except DomainError as exc:
            _fail(exc)
    rows = services.budgets_of(company.id)
    figures = figures_for(company.id, company.default_currency, rows)
    today = utcnow().date()
    year_start = date(today.year, 1, 1)
    return render_template(
        "budgets/index.html", rows=rows, figures=figures, label=services.period_label,
        cost_centres=services.cost_centres(company.id, active_only=True), kinds=list(PeriodKind),
        by_cc=services.spend_by(company.id, company.default_currency, "cost_centre", year_start, today),
        by_gl=services.spend_by(company.id, company.default_currency, "gl", year_start, today),
        currency=company.default_currency, year=today.year, is_admin=current_user.has_role(Role.admin),
        left_out=left_out(figures.values()), values=request.form), (422 if request.method == "POST" else 200)


@bp.post("/<int(max=2147483647):budget_id>/delete")
@roles_required(Role.admin)
@company_kind_required("buyer")
def delete(budget_id):
    budget = get_for_user(Budget, budget_id)
    try:
        services.delete_budget(current_user, budget.id)
        flash(_("Budget deleted."), "success")
    except DomainError as exc:
        _fail(exc)
    return redirect(url_for("budgets.index"))


@bp.get("/export.csv")
@roles_required(*VIEWERS)
@company_kind_required("buyer")
def export():
    company_id, currency = current_user.company_id, current_user.company.default_currency

    def chunks():
        yield "\ufeff"
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(["cost_centre", "cost_centre_name", "period", "period_start", "period_end", "currency", "budget",
                    "committed_requisitions", "committed_orders", "actual", "available"])
        yield out.getvalue()
        rows = services.budgets_of(company_id)
        figs = figures_for(company_id, currency, rows)
        batch = []
        for b in rows:
            fg = figs[b.id]
            batch.append([safe_cell(b.cost_centre.code), safe_cell(b.cost_centre.name),
                          services.period_label(b.period_kind, b.period_start), b.period_start.isoformat(),
                          b.period_end.isoformat(), b.currency, f"{b.amount:.2f}", f"{fg.committed_requisitions:.2f}",
                          f"{fg.committed_orders:.2f}", f"{fg.actual:.2f}", f"{fg.available:.2f}"])
        out = io.StringIO()
        csv.writer(out).writerows(batch)
        yield out.getvalue()

    return Response(stream_in_app_context(chunks()), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="budgets.csv"'})


@bp.route("/cost-centres", methods=["GET", "POST"])
@roles_required(Role.admin)
@company_kind_required("buyer")
def cost_centres():
    editing = get_for_user(CostCentre, request.args["edit"]) if request.args.get("edit") else None
    status = 200
    if request.method == "POST":
        f = request.form
        try:
            services.save_cost_centre(current_user, code=f.get("code"), name=f.get("name"), owner_id=f.get("owner_id"),
                                      active=f.get("active") in ("1", "on", "y"),
                                      cc_id=editing.id if editing else None)
            flash(_("Cost centre saved."), "success")
            return redirect(url_for("budgets.cost_centres"))
        except DomainError as exc:
            _fail(exc)
            status = 422
    return render_template("budgets/cost_centres.html", rows=services.cost_centres(current_user.company_id),
                           people=[m for m in members(current_user.company_id) if m.active], editing=editing,
                           values=request.form), status


@bp.route("/gl-accounts", methods=["GET", "POST"])
@roles_required(Role.admin)
@company_kind_required("buyer")
def gl_accounts():
    editing = get_for_user(GlAccount, request.args["edit"]) if request.args.get("edit") else None
    status = 200
    if request.method == "POST":
        f = request.form
        try:
            services.save_gl_account(current_user, code=f.get("code"), name=f.get("name"),
                                     active=f.get("active") in ("1", "on", "y"), gl_id=editing.id if editing else None)
            flash(_("GL account saved."), "success")
            return redirect(url_for("budgets.gl_accounts"))
        except DomainError as exc:
            _fail(exc)
            status = 422
    return render_template("budgets/gl_accounts.html", rows=services.gl_accounts(current_user.company_id),
                           editing=editing, values=request.form), status


@bp.route("/settings", methods=["GET", "POST"])
@roles_required(Role.admin)
@company_kind_required("buyer")
def settings():
    status = 200
    if request.method == "POST":
        f = request.form
        try:
            if f.get("form") == "settings":
                services.save_settings(current_user, cost_centre_required=f.get("cost_centre_required") == "1",
                                       budget_mode=f.get("budget_mode"))
            elif f.get("form") == "delete_default":
                services.delete_default(current_user, f.get("default_id"))
            else:
                services.save_default(current_user, category=f.get("category") if f.get("form") == "category" else None,
                                      user_id=f.get("user_id") if f.get("form") == "user" else None,
                                      cost_centre_id=f.get("cost_centre_id"), gl_account_id=f.get("gl_account_id"))
            flash(_("Saved."), "success")
            return redirect(url_for("budgets.settings"))
        except DomainError as exc:
            _fail(exc)
            status = 422
    cid = current_user.company_id
    return render_template("budgets/settings.html", settings=services.settings_for(cid),
                           defaults=services.cost_defaults(cid), cost_centres=services.cost_centres(cid, active_only=True),
                           gl_accounts=services.gl_accounts(cid, active_only=True),
                           people=[m for m in members(cid) if m.active]), status


@bp.route("/exchange-rates", methods=["GET", "POST"])
@roles_required(Role.admin)
@company_kind_required("buyer")
def exchange_rates():
    status = 200
    if request.method == "POST":
        f = request.form
        try:
            rates.add_rate(current_user, currency=f.get("currency"), rate=f.get("rate"), valid_from=f.get("valid_from"))
            flash(_("Exchange rate saved."), "success")
            return redirect(url_for("budgets.exchange_rates"))
        except DomainError as exc:
            _fail(exc)
            status = 422
    return render_template("budgets/exchange_rates.html", rows=rates.rates_of(current_user.company_id),
                           currency=current_user.company.default_currency, currencies=CURRENCIES,
                           values=request.form), status


@bp.post("/exchange-rates/<int(max=2147483647):rate_id>/delete")
@roles_required(Role.admin)
@company_kind_required("buyer")
def delete_exchange_rate(rate_id):
    row = get_for_user(ExchangeRate, rate_id)
    try:
        rates.delete_rate(current_user, row.id)
        flash(_("Exchange rate deleted."), "success")
    except DomainError as exc:
        _fail(exc)
    return redirect(url_for("budgets.exchange_rates"))


@bp.post("/orders/<int(max=2147483647):order_id>/costs")
@roles_required(Role.procurement, Role.admin)
@company_kind_required("buyer")
def order_costs(order_id):
    order = get_for_user(PurchaseOrder, order_id)
    costs = {}
    for ln in order.lines:
        if f"cc-{ln.id}" in request.form or f"gl-{ln.id}" in request.form:
            costs[ln.id] = {"cost_centre_id": request.form.get(f"cc-{ln.id}"),
                            "gl_account_id": request.form.get(f"gl-{ln.id}")}
    try:
        services.set_order_costs(current_user, order.id, request.form.get("lock_version"), costs)
        flash(_("Cost centres and GL accounts saved."), "success")
    except DomainError as exc:
        _fail(exc)
    return redirect(url_for("orders.detail", order_id=order.id))


@bp.app_template_global()
def order_cost_options(order):
    """For the order page's cost include: the buyer's cost centres and GL accounts by id (two statements, only
    for the buyer's own view)."""
    if current_user.company_id != order.buyer_company_id:
        return None
    cid = current_user.company_id
    return {"cost_centres": services.cost_centres(cid), "gl_accounts": services.gl_accounts(cid),
            "editable": order.status.value in ("draft", "awaiting_approval")
            and current_user.has_role(Role.procurement, Role.admin)}


@bp.app_template_global()
def order_budget_impact(order):
    """For the order page's impact include: the budget impact of an order not sent yet (the buyer's view)."""
    from portal.budgets.orders import impact_for_page
    from portal.orders.approvals import current_round

    return impact_for_page(order, current_user, [a.id for a in current_round(order)])


@bp.app_template_global()
def order_over_budget_choice(order) -> bool:
    """For the order page's decision form: offer *approve over budget* to the owner whose budget it exceeds."""
    from portal.budgets.orders import owner_may_decide
    from portal.orders.approvals import current_round

    return owner_may_decide(order, current_user, [a.id for a in current_round(order)])
