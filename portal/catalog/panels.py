"""Dashboard panels for catalogs: supplier sales/admin see their item counts; buyer procurement a way in."""
from __future__ import annotations

from flask import url_for

from portal.catalog import services


def panels(user) -> list[dict]:
    out = []
    if services.can_edit(user):
        c = services.counts(user.company_id)
        out.append({
            "title": "Your catalog", "count": c["active"], "count_label": "active items",
            "link": url_for("catalog.items"), "link_label": "Manage the catalog",
            "items": [(f"{c['inactive']} inactive item{'' if c['inactive'] == 1 else 's'}",
                       url_for("catalog.items", status="inactive"))] if c["inactive"] else [],
            "empty": "No inactive items." if c["active"] else "Your catalog is empty: add items or import a CSV.",
            "role": "sales",
        })
    if services.can_order(user):
        n = len(services.suppliers_with_catalogs(user.company_id))
        out.append({
            "title": "Order from a catalog", "count": n, "count_label": "supplier catalogs" if n != 1 else
            "supplier catalog", "link": url_for("catalog.suppliers"), "link_label": "Order from a catalog",
            "items": [("Reorder a past order", url_for("catalog.reorder_list"))],
            "empty": "", "role": "procurement",
        })
    return out
