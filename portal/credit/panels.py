"""Dashboard panels for the supplier's accounts team: credit holds and buyers near their limit."""
from __future__ import annotations

from flask import url_for

from portal.accounts.models import Role
from portal.credit import services
from portal.money import format_money


def panels(user) -> list[dict]:
    if not (user.company.is_supplier and user.has_role(Role.accounts)):
        return []
    items = services.holds(user.company_id)
    out = [{
        "title": "Orders on credit hold", "count": len(items), "count_label": "to decide",
        "link": url_for("credit.holds"), "link_label": "Open the hold queue",
        "items": [(f"{o.po_number} · {o.buyer.display_name} · {format_money(o.total_net, o.currency, user.locale)}",
                   url_for("credit.holds") + f"#hold-{o.id}") for o, _ in items[:5]],
        "empty": "No orders on credit hold.", "role": "accounts",
    }]
    _default, rows = services.accounts_overview(user.company_id)
    near = [r for r in rows if r.near_limit]
    out.append({
        "title": "Buyers near or over their credit limit", "count": len(near), "count_label": "80 % or more used",
        "link": url_for("credit.accounts"), "link_label": "Credit accounts",
        "items": [(f"{r.buyer.display_name} · {r.used_percent} used, "
                   f"{'over the limit' if r.utilisation == 'over' else 'near the limit'}",
                   url_for("credit.buyer_account", buyer_id=r.buyer.id)) for r in near[:5]],
        "empty": "Every buyer has more than 20 % of their limit available.", "role": "accounts",
    })
    return out
