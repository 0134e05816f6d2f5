"""Dashboard panels for accounts people: what to invoice, what is overdue, what to approve."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from flask import url_for

from babel.dates import format_date

from portal.accounts.models import Role
from portal.dashboard import counting
from portal.dashboard.counting import capped_count
from portal.db import db
from portal.invoices import services
from portal.invoices.models import DocumentKind, Invoice
from portal.invoices.states import InvoiceStatus
from portal.orders.models import Shipment
from portal.money import format_money
from flask_babel import gettext


def _overdue(company_col, company_id):
    """(how many overdue, capped at CAP + 1; [(currency, open amount)] when within the cap, else None): at most
    CAP + 1 rows read through the (company, status, due_date) indexes, whatever the company's history (issue 20).
    Above the cap the tile links to the list's count and totals on request."""
    rows = db.session.execute(
        sa.select(Invoice.currency, Invoice.total_gross - Invoice.paid_amount - Invoice.credited_amount)
        .where(company_col == company_id, services._overdue_clause()).limit(counting.CAP + 1)).all()
    if len(rows) > counting.CAP:
        return len(rows), None
    sums: dict[str, Decimal] = {}
    for currency, amount in rows:
        sums[currency] = sums.get(currency, Decimal(0)) + amount
    return len(rows), sorted(sums.items())


def _amounts(sums, locale: str) -> str:
    return ", ".join(format_money(a, c, locale) for c, a in sums) or "nothing"


def _overdue_items(n, sums, text, locale):
    """The tile's line: the open amounts per currency, or (above the cap) a link to the count and totals."""
    if not n:
        return []
    if sums is None:
        return [(gettext("Show count and totals"), url_for("invoices.index", status="overdue", totals=1))]
    return [(text(_amounts(sums, locale)), url_for("invoices.index", status="overdue"))]


def _first(where, order_by, limit=5) -> tuple[int, list[Invoice]]:
    """(how many invoices match, capped at CAP + 1; the first ``limit`` of them in ``order_by``)."""
    count = capped_count(sa.select(Invoice.id).where(*where))
    rows = db.session.scalars(sa.select(Invoice).where(*where).order_by(*order_by)
                              .limit(limit)).all() if count else []
    return count, rows


def panels(user) -> list[dict]:
    if not user.has_role(Role.accounts):
        return []
    out = []
    company = user.company
    locale = user.locale or "en_GB"
    if company.is_supplier:
        ships = services.uninvoiced_shipments(user.company_id, limit=5)
        ships_count = capped_count(sa.select(Shipment.id).where(*services._uninvoiced_shipments_where(
            user.company_id))) if len(ships) == 5 else len(ships)
        out.append({"title": gettext("Shipments to invoice"), "count": ships_count, "count_label": gettext("waiting"),
                    "link": url_for("invoices.index"), "link_label": gettext("Invoices"),
                    "items": [(gettext('%(number)s · PO %(po_number)s · %(display_name)s', number=s.number, po_number=s.order.po_number, display_name=s.order.buyer.display_name),
                               url_for("invoices.new", shipment_id=s.id)) for s in ships],
                    "empty": gettext("Every shipment is invoiced.")})
        od, sums = _overdue(Invoice.supplier_company_id, user.company_id)
        drafts_count, drafts = _first([Invoice.supplier_company_id == user.company_id,
                                       Invoice.status == InvoiceStatus.draft],
                                      [Invoice.due_date, Invoice.id.desc()])
        out.append({"title": gettext("Overdue receivables"), "count": od, "count_label": gettext("overdue"),
                    "link": url_for("invoices.index", status="overdue"), "link_label": gettext("Overdue invoices"),
                    "items": _overdue_items(od, sums, lambda a: gettext('Open: %(amounts)s', amounts=a), locale),
                    "empty": gettext("Nothing overdue.")})
        out.append({"title": gettext("Draft invoices"), "count": drafts_count, "count_label": gettext("drafts"),
                    "link": url_for("invoices.index", status="draft"), "link_label": gettext("All drafts"),
                    "items": [(gettext('Draft #%(id)s · %(display_name)s · %(format_money)s', id=d.id, display_name=d.buyer.display_name, format_money=format_money(d.total_gross, d.currency, locale)),
                               url_for("invoices.detail", inv_id=d.id)) for d in drafts],
                    "empty": gettext("No drafts.")})
    if company.is_buyer:
        check_count, to_check = _first([Invoice.buyer_company_id == user.company_id,
                                        Invoice.kind == DocumentKind.invoice,
                                        Invoice.status.in_(services.OPEN_STATUSES),
                                        Invoice.approved_for_payment_at.is_(None)],
                                       [Invoice.due_date, Invoice.id])  # the partial index's order: no sort
        out.append({"title": gettext("Invoices to check and approve"), "count": check_count,
                    "count_label": gettext("to approve"),
                    "link": url_for("invoices.index", status="open"), "link_label": gettext("Open invoices"),
                    "items": [(gettext('%(number)s · %(display_name)s · %(format_money)s · due %(format_date)s', number=i.number, display_name=i.supplier.display_name, format_money=format_money(i.open_amount, i.currency, locale), format_date=format_date(i.due_date, 'medium', locale=locale)), url_for("invoices.detail", inv_id=i.id))
                              for i in to_check],
                    "empty": gettext("Nothing waiting for approval.")})
        od, sums = _overdue(Invoice.buyer_company_id, user.company_id)
        out.append({"title": gettext("Overdue payables"), "count": od, "count_label": gettext("overdue"),
                    "link": url_for("invoices.index", status="overdue"), "link_label": gettext("Overdue"),
                    "items": _overdue_items(od, sums, lambda a: gettext('Owed: %(amounts)s', amounts=a), locale),
                    "empty": gettext("Nothing overdue.")})
    return out
