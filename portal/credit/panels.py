"""Dashboard panels for the supplier's accounts team: credit holds and buyers near their limit."""
from __future__ import annotations

from flask import url_for

from portal.accounts.models import Role
from portal.credit import services
from portal.money import format_money
from flask_babel import gettext


def panels(user) -> list[dict]:
    if not (user.company.is_supplier and user.has_role(Role.accounts)):
        return []
    items = services.holds(user.company_id)
    out = [{
        "title": gettext("Orders on credit hold"), "count": len(items), "count_label": gettext("to decide"),
        "link": url_for("credit.holds"), "link_label": gettext("Open the hold queue"),
        "items": [(gettext('%(po_number)s · %(display_name)s · %(format_money)s', po_number=o.po_number, display_name=o.buyer.display_name, format_money=format_money(o.total_net, o.currency, user.locale)),
                   url_for("credit.holds") + f"#hold-{o.id}") for o, _ in items[:5]],
        "empty": gettext("No orders on credit hold."), "role": "accounts",
    }]
    _default, rows = services.accounts_overview(user.company_id)
    near = [r for r in rows if r.near_limit]
    out.append({
        "title": gettext("Buyers near or over their credit limit"), "count": len(near), "count_label": gettext("%(percent)s or more used", percent="80 %"),
        "link": url_for("credit.accounts"), "link_label": gettext("Credit accounts"),
        "items": [(gettext('%(display_name)s · %(used_percent)s used, %(v)s', display_name=r.buyer.display_name, used_percent=r.used_percent, v=gettext('over the limit') if r.utilisation == 'over' else gettext('near the limit')),
                   url_for("credit.buyer_account", buyer_id=r.buyer.id)) for r in near[:5]],
        "empty": gettext("Every buyer has more than %(percent)s of their limit available.", percent="20 %"), "role": "accounts",
    })
    return out
