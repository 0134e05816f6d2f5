"""Dashboard panels of the RFQ domain: what a buyer's procurement people and a supplier's sales people should
look at next. Each panel is a count plus up to five links, in a fixed number of queries."""
from __future__ import annotations

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext

from portal.accounts.models import Role
from portal.dashboard.counting import capped_count
from portal.db import db, utcnow
from portal.quotes.models import Quote
from portal.quotes.states import QuoteStatus
from portal.rfq.models import Clarification, Rfq, RfqInvitation
from portal.rfq.states import RfqStatus

LIMIT = 5


def _count_and_top(stmt, order_by) -> tuple[int, list[Rfq]]:
    count = capped_count(stmt)  # bounded: "99+" above the cap (portal/dashboard/counting.py)
    top = list(db.session.scalars(stmt.order_by(*order_by).limit(LIMIT))) if count else []
    return count, top


def when_for(user, dt) -> str:
    """A deadline as the person reads it: their time zone and format (8 Dec 2026, 16:00)."""
    from portal.web import format_moment

    return format_moment(dt, user.locale or "en_GB", user.timezone or "UTC")


def _label(r: Rfq, extra: str = "") -> str:
    return f"{r.reference} · {r.title}" + (f" — {extra}" if extra else "")


def panels(user) -> list[dict]:
    out: list[dict] = []
    company = user.company
    if company.is_buyer and user.has_role(Role.procurement):
        out += _buyer_panels(user)
    if company.is_supplier and user.has_role(Role.sales):
        out += _supplier_panels(user)
    return out


def _buyer_panels(user) -> list[dict]:
    mine = sa.select(Rfq).where(Rfq.buyer_company_id == user.company_id)
    now = utcnow()
    drafts, draft_top = _count_and_top(mine.where(Rfq.status == RfqStatus.draft), [Rfq.id.desc()])
    open_, open_top = _count_and_top(mine.where(Rfq.status == RfqStatus.open), [Rfq.deadline, Rfq.id])
    closed, closed_top = _count_and_top(mine.where(Rfq.status == RfqStatus.closed), [Rfq.closed_at, Rfq.id])
    unanswered = db.session.scalar(
        sa.select(sa.func.count(Clarification.id)).join(Rfq, Rfq.id == Clarification.rfq_id)
        .where(Rfq.buyer_company_id == user.company_id, Rfq.status == RfqStatus.open,
               Clarification.answer.is_(None))) or 0

    def detail(r):
        return url_for("rfq.detail", rfq_id=r.id)

    def left(r):
        hours = (r.deadline - now).total_seconds() / 3600
        if hours <= 0:
            return gettext("closing now")
        if hours < 48:
            return gettext("%(hours)s h left", hours=int(hours))
        return gettext("%(days)s days left", days=int(hours // 24))

    panels = [
        {"title": "Drafts to publish", "count": drafts, "count_label": "drafts",
         "link": url_for("rfq.index", status="draft"), "link_label": "All drafts",
         "items": [(_label(r), detail(r)) for r in draft_top],
         "empty": "No drafts waiting.", "role": "procurement"},
        {"title": "Open RFQs", "count": open_, "count_label": "open, nearest deadline first",
         "link": url_for("rfq.index", status="open"), "link_label": "All open RFQs",
         "items": [(_label(r, left(r)), detail(r)) for r in open_top],
         "empty": "No RFQ is open for quotes.", "role": "procurement"},
        {"title": "Closed, awaiting award", "count": closed, "count_label": "to compare and award",
         "link": url_for("rfq.index", status="closed"), "link_label": "All closed RFQs",
         "items": [(_label(r), detail(r)) for r in closed_top],
         "empty": "Nothing waiting for an award.", "role": "procurement"},
    ]
    if unanswered:
        panels.append({"title": "Supplier questions", "count": unanswered, "count_label": "unanswered",
                       "link": url_for("rfq.index", status="open"), "link_label": "Open RFQs",
                       "items": [], "empty": "", "role": "procurement"})
    return panels


def _supplier_panels(user) -> list[dict]:
    me = user.company_id
    now = utcnow()
    invited = sa.select(RfqInvitation.rfq_id).where(RfqInvitation.supplier_company_id == me)
    submitted = sa.select(Quote.id).where(Quote.rfq_id == Rfq.id, Quote.supplier_company_id == me,
                                          Quote.status == QuoteStatus.submitted,
                                          Quote.current_version_id.is_not(None)).exists()
    awaiting = sa.select(Rfq).where(Rfq.id.in_(invited), Rfq.status == RfqStatus.open,
                                    Rfq.published_at.is_not(None), Rfq.deadline > now, ~submitted)
    count, top = _count_and_top(awaiting, [Rfq.deadline, Rfq.id])

    where = (Rfq.id.in_(invited), Rfq.status == RfqStatus.open, Clarification.answer.is_not(None))
    answered = db.session.scalar(sa.select(sa.func.count(Clarification.id))
                                 .join(Rfq, Rfq.id == Clarification.rfq_id).where(*where)) or 0
    recent = []
    if answered:
        recent = db.session.execute(
            sa.select(Clarification, Rfq).join(Rfq, Rfq.id == Clarification.rfq_id).where(*where)
            .order_by(Clarification.answered_at.desc(), Clarification.id.desc()).limit(LIMIT)).all()
    return [
        {"title": "Invitations awaiting your quote", "count": count, "count_label": "not yet submitted",
         "link": url_for("rfq.index", status="open"), "link_label": "Open invitations",
         "items": [((r.reference, f"{r.buyer.display_name}: {r.title}", "due " + when_for(user, r.deadline)),
                    url_for("rfq.detail", rfq_id=r.id)) for r in top],
         "empty": "Every open invitation has your quote.", "role": "sales"},
        {"title": "Questions answered", "count": answered, "count_label": "answers on open RFQs",
         "link": url_for("rfq.index", status="open"), "link_label": "Open RFQs",
         "items": [(f"{r.reference} · {r.buyer.display_name}: {c.question[:60]}",
                    url_for("rfq.detail", rfq_id=r.id) + "#questions")
                   for c, r in recent],
         "empty": "No answered questions on open RFQs.", "role": "sales"},
    ]
