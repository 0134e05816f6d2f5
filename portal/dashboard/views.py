"""The home page: per role, what needs the person's attention. Domains contribute panels."""
from __future__ import annotations

import importlib
import re

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required

from portal.dashboard.counting import count_text

bp = Blueprint("dashboard", __name__)

# Each module exposes panels(user) -> list of {"title", "count", "link", "items", "empty", "role"}.
# Optional keys: "count_label_one" (the label when the count is 1) and "position": "last" (status tiles such as
# background jobs, shown after the tiles that ask for work).
PANEL_PROVIDERS = ["portal.dashboard.panels", "portal.rfq.panels", "portal.quotes.panels",
                   "portal.catalog.panels", "portal.orders.panels", "portal.credit.panels",
                   "portal.invoices.panels"]

# Count labels that are plural nouns, for a count of 1 ("1 answers on open RFQs" -> "1 answer on open RFQs").
# Labels that are not nouns ("to approve", "overdue", "waiting", "submitted") read the same for any count.
SINGULAR_LABELS = {
    "orders": "order", "drafts": "draft", "shipments": "shipment", "active items": "active item",
    "supplier catalogs": "supplier catalog", "answers on open RFQs": "answer on open RFQs",
    "items": "item", "invoices": "invoice", "quotes": "quote", "lines": "line",
}

# Item labels are "REF · middle · amount/due" (or " — "); the separators are kept as they are written.
_SEPARATOR = re.compile(r"(\s+[·—]\s+)")


def count_label(panel: dict) -> str:
    label = panel.get("count_label") or ""
    if panel.get("count") == 1:
        return panel.get("count_label_one") or SINGULAR_LABELS.get(label, label)
    return label


def item_parts(label) -> dict:
    """Split a tile item into head (the reference), middle (a name or title: the part that may be shortened)
    and tail (what matters most: amount, due date, state), so the tile shortens the middle, never the end.

    A label of one or two parts has no middle to shorten and wraps instead (``{"text": ...}``). A label may
    also come as a tuple or list of parts, joined with " · "."""
    if isinstance(label, (list, tuple)):
        parts = [str(p) for p in label if p not in (None, "")]
        seps = [" · "] * (len(parts) - 1)
    else:
        tokens = _SEPARATOR.split(str(label))
        parts, seps = tokens[0::2], tokens[1::2]
    if len(parts) < 3:
        return {"text": "".join(p + s for p, s in zip(parts, seps + [""]))}
    tail = parts[2] + "".join(s + p for s, p in zip(seps[2:], parts[3:]))
    return {"head": parts[0], "sep": seps[0], "middle": parts[1], "tail_sep": seps[1], "tail": tail,
            "text": "".join(p + s for p, s in zip(parts, seps + [""]))}


def ordered(panels: list[dict]) -> list[dict]:
    """Tiles that ask for work first, in provider order; status tiles (``position: last``) at the end."""
    return sorted(panels, key=lambda p: p.get("position") == "last")


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
    for p in panels:  # counts are capped (portal/dashboard/counting.py): "99+" above the cap
        if isinstance(p.get("count"), int):
            p.setdefault("count_text", count_text(p["count"]))
    return render_template("dashboard/index.html", panels=ordered(panels), count_label=count_label,
                           item_parts=item_parts)
