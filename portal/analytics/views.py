"""Spend dashboard (buyers) and sales dashboard (suppliers). Thin: parse the period, build, render."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.accounts.models import Role
from portal.analytics import charts, services
from portal.tenancy import company_kind_required, roles_required

bp = Blueprint("analytics", __name__, url_prefix="/analytics")

SIDES = {
    "spend": {"title": _l("Spend"), "party": _l("Supplier"), "parties": _l("suppliers"), "verb": _l("Spend"),
              "subtitle": _l("What your company ordered from suppliers")},
    "sales": {"title": _l("Sales"), "party": _l("Customer"), "parties": _l("customers"), "verb": _l("Sales"),
              "subtitle": _l("What your customers ordered from your company")},
}


def _render(side: str):
    months, period_error = services.parse_months(request.args.get("months"))
    dash = services.build(current_user.company, side, months)
    money = current_app.jinja_env.filters["money"]
    month_label = current_app.jinja_env.filters["d"]
    cur = dash.currency
    meta = SIDES[side]

    def fmt(v):
        return money(v, cur)

    month_points = [(month_label(r.key, "MMM yy"), r.amount) for r in dash.by_month]
    for r, (label, _) in zip(dash.by_month, month_points):
        r.label = label
    period = f"the last {months} months"
    svg = {}
    if dash.totals.orders:
        svg["months"] = charts.month_bars(
            month_points, chart_id=f"{side}-by-month", fmt=fmt,
            title=f"{meta['verb']} by month ({cur}), {period}",
            desc=f"{len(month_points)} bars, one per month from {month_points[0][0]} to {month_points[-1][0]}; "
                 f"the highest month is {fmt(max(r.amount for r in dash.by_month))}. "
                 f"The data table below lists every month.")
        svg["parties"] = charts.hbars(
            [(r.label, r.amount) for r in dash.by_party], chart_id=f"{side}-by-party", fmt=fmt,
            title=f"{meta['verb']} by {meta['party'].lower()} ({cur}), top {len(dash.by_party)}",
            desc=f"Horizontal bars, largest first; the largest is {dash.by_party[0].label} with "
                 f"{fmt(dash.by_party[0].amount)}. The table beside lists the same figures." if dash.by_party
            else "No data.")
        svg["categories"] = charts.hbars(
            [(r.label, r.amount) for r in dash.by_category], chart_id=f"{side}-by-category", fmt=fmt,
            title=f"{meta['verb']} by category ({cur}), top {len(dash.by_category)}",
            desc=f"Horizontal bars, largest first; the largest is {dash.by_category[0].label} with "
                 f"{fmt(dash.by_category[0].amount)}. The table beside lists the same figures."
            if dash.by_category else "No data.")
    return render_template("analytics/dashboard.html", dash=dash, side=side, meta=meta, svg=svg,
                           period_error=period_error, periods=services.PERIODS)


@bp.get("/spend")
@roles_required(Role.procurement, Role.approver, Role.accounts, Role.admin)
@company_kind_required("buyer")
def spend():
    return _render("spend")


@bp.get("/sales")
@roles_required(Role.sales, Role.accounts, Role.admin)
@company_kind_required("supplier")
def sales():
    return _render("sales")
