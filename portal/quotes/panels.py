"""Dashboard panels of the quotes domain: what a supplier's sales staff must act on; quotes received today."""
from __future__ import annotations

import sqlalchemy as sa
from flask import url_for
from sqlalchemy.orm import joinedload

from portal.accounts.models import Role
from portal.db import db, utcnow
from portal.quotes.models import Quote
from portal.quotes.services import quotes_received_since, today_start
from portal.quotes.states import QuoteStatus
from portal.rfq.models import Rfq
from portal.rfq.panels import when_for
from portal.rfq.states import RfqStatus


def panels(user) -> list[dict]:
    out = []
    if user.has_role(Role.sales) and user.company.is_supplier:
        out.extend(_sales_panels(user))
    if user.has_role(Role.procurement) and user.company.is_buyer:
        out.append(_received_today(user))
    return out


def _sales_panels(user) -> list[dict]:
    now = utcnow()
    quotes = list(db.session.scalars(
        sa.select(Quote).join(Rfq, Rfq.id == Quote.rfq_id)
        .where(Quote.supplier_company_id == user.company_id,
               Rfq.status.in_([RfqStatus.open, RfqStatus.closed]))
        .options(joinedload(Quote.current_version))
        .order_by(Rfq.deadline, Quote.id)))
    open_ = [q for q in quotes if q.rfq.status == RfqStatus.open and q.rfq.deadline > now]
    drafts = [q for q in open_ if q.draft_version_id is not None]
    reconfirm = [q for q in open_ if q.status == QuoteStatus.submitted and q.needs_reconfirmation]
    awaiting = [q for q in quotes if q.status == QuoteStatus.submitted]
    index = url_for("quotes.index")

    def edit(q):
        return url_for("quotes.edit", rfq_id=q.rfq_id)

    def detail(q):
        return url_for("quotes.detail", quote_id=q.id)

    out = [
        {"title": "Quotes not yet submitted", "count": len(drafts), "count_label": "drafts",
         "link": index, "link_label": "All our quotes",
         "items": [((q.rfq.reference, q.rfq.buyer.display_name, "due " + when_for(user, q.rfq.deadline)
                    + (" (revision)" if q.current_version_id else "")), edit(q)) for q in drafts[:6]],
         "empty": "No unsubmitted drafts.", "role": "sales"},
        {"title": "Quotes to re-confirm", "count": len(reconfirm), "count_label": "after amendments",
         "link": index, "link_label": "All our quotes",
         "items": [((q.rfq.reference, q.rfq.buyer.display_name, "amended, due " + when_for(user, q.rfq.deadline)),
                    detail(q))
                   for q in reconfirm[:6]],
         "empty": "Nothing to re-confirm.", "role": "sales"},
        {"title": "Submitted quotes awaiting outcome", "count": len(awaiting), "count_label": "submitted",
         "link": index, "link_label": "All our quotes",
         "items": [((q.rfq.reference, q.rfq.buyer.display_name, q.rfq.title + (" (expired)" if q.expired else "")),
                    detail(q))
                   for q in awaiting[:6]],
         "empty": "No submitted quotes waiting for a decision.", "role": "sales"},
    ]
    # Drafts and re-confirmations are to-dos: shown only when there is one.
    return [p for p in out if p["count"] or p["title"] == "Submitted quotes awaiting outcome"]


def _received_today(user) -> dict:
    quotes = quotes_received_since(user.company_id, today_start())
    return {"title": "Quotes received today", "count": len(quotes), "count_label": "today", "link": None,
            "link_label": "",
            "items": [(f"{q.supplier.display_name} — {q.rfq.reference}",
                       url_for("quotes.detail", quote_id=q.id)) for q in quotes[:6]],
            "empty": "No quotes arrived today.", "role": "procurement"}
