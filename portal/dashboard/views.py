"""The home page: per role, what needs the person's attention. Domains contribute panels."""
from __future__ import annotations

import importlib

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required

bp = Blueprint("dashboard", __name__)

# Each module exposes panels(user) -> list of {"title", "count", "link", "items", "empty", "role"}.
PANEL_PROVIDERS = ["portal.dashboard.panels", "portal.rfq.panels", "portal.quotes.panels",
                   "portal.catalog.panels", "portal.orders.panels", "portal.credit.panels",
                   "portal.invoices.panels"]


@bp.get("/")
def home():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    return redirect(url_for("auth.signin"))


@bp.get("/dashboard")
@login_required
def index():
    panels = []
    for path in PANEL_PROVIDERS:
        try:
            mod = importlib.import_module(path)
        except ModuleNotFoundError as exc:
            if exc.name != path:
                raise
            continue
        panels.extend(mod.panels(current_user))
    return render_template("dashboard/index.html", panels=panels)
