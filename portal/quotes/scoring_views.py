"""Weighted bid scoring on the comparison page: the criteria form, the team's scores, the ranking panel.

The panel is one include in templates/quotes/compare.html; ``scoring_panel`` builds what it shows."""
from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.db import db
from portal.errors import DomainError
from portal.quotes import scoring
from portal.quotes.compare_views import _load
from portal.quotes.scoring_models import CriterionKind

bp = Blueprint("scoring", __name__)
STANDARD = [CriterionKind.price, CriterionKind.lead_time, CriterionKind.payment_terms, CriterionKind.rating]
BLANK_FREE_ROWS = 2


@bp.app_template_filter("pct")
def pct_filter(value) -> str:
    """A weight as typed: 40, 12.5 (no trailing zeros); empty for none."""
    if value in (None, ""):
        return ""
    return f"{Decimal(value).normalize():f}"


@bp.app_template_global("scoring_panel")
def scoring_panel(rfq, cmp) -> dict:
    """The rows of the criteria form (standard kinds first, then free criteria, then blank free rows) and the
    ranking of the quotes (what the include shows)."""
    r = scoring.ranking(rfq, cmp, viewer_id=current_user.id)
    by_kind = {c.kind: c for c in r.criteria if c.kind != CriterionKind.custom}
    rows = []
    for kind in STANDARD:
        c = by_kind.get(kind)
        rows.append({"id": c.id if c else "", "kind": kind.value, "name": c.name if c else scoring.KIND_NAMES[kind],
                     "weight": c.weight if c else "", "fixed": True})
    for c in r.criteria:
        if c.kind == CriterionKind.custom:
            rows.append({"id": c.id, "kind": "custom", "name": c.name, "weight": c.weight, "fixed": False})
    for _i in range(BLANK_FREE_ROWS):
        rows.append({"id": "", "kind": "custom", "name": "", "weight": "", "fixed": False})
    custom = [c for c in r.criteria if c.kind == CriterionKind.custom]
    return {"ranking": r, "form_rows": rows, "custom": custom,
            "editable": rfq.status.value not in ("awarded", "cancelled")}


def _back(rfq_id):
    return redirect(url_for("compare.comparison", rfq_id=rfq_id) + "#scoring")


@bp.post("/rfqs/<int:rfq_id>/scoring/criteria", endpoint="criteria")
@login_required
def set_criteria(rfq_id):
    rfq = _load(rfq_id)
    form = request.form
    specs = []
    n = 0
    while f"kind-{n}" in form:
        weight = (form.get(f"weight-{n}") or "").strip()
        if weight:
            specs.append({"id": form.get(f"id-{n}") or None, "kind": form.get(f"kind-{n}"),
                          "name": form.get(f"name-{n}", ""), "weight": weight})
        n += 1
    try:
        scoring.set_criteria(rfq, current_user, specs)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _back(rfq_id)
    flash(_("Scoring criteria saved."), "success")
    return _back(rfq_id)


@bp.post("/rfqs/<int:rfq_id>/scoring/scores", endpoint="scores")
@login_required
def set_scores(rfq_id):
    rfq = _load(rfq_id)
    items = []
    for key, value in request.form.items():
        if key.startswith("score-"):
            parts = key.split("-")
            if len(parts) == 3:
                items.append({"criterion_id": parts[1], "quote_id": parts[2], "score": value})
    try:
        changed = scoring.set_scores(rfq, current_user, items)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _back(rfq_id)
    flash(_("Your scores are saved (%(n)s changed).", n=changed), "success")
    return _back(rfq_id)
