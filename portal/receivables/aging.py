"""Receivables aging: the supplier's open invoices per customer and currency in buckets of days past due.

One SQL statement groups the open items per (customer, currency) with a conditional SUM per bucket; the totals
per currency add up those grouped rows. The bucket edges are dates computed once from ``as_of`` (so the same SQL runs on
SQLite and PostgreSQL, and an index on the due date can serve it); nothing is summed per invoice in Python.

Open item = an issued invoice (issued or partially paid) with open = gross − paid − credited > 0. Credit notes
reduce their invoice's open amount (``credited_amount``), so they are never items of their own. Disputed
invoices stay receivables: they are counted in their bucket and their sum is shown apart ("of which disputed").
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from portal.accounts.models import Company
from portal.db import db, utcnow
from portal.errors import ValidationFailed
from portal.i18n import _l
from portal.invoices.models import DocumentKind, Invoice
from portal.invoices.states import InvoiceStatus
from portal.money import quantize

# (key, label, lower days past due, upper days past due); None = unbounded.
BUCKETS = (("not_due", "Not due", None, 0), ("d1_30", "1–30", 1, 30), ("d31_60", "31–60", 31, 60),
           ("d61_90", "61–90", 61, 90), ("d90_plus", "Over 90", 91, None))
BUCKET_KEYS = tuple(b[0] for b in BUCKETS)
BUCKET_LABELS = {b[0]: b[1] for b in BUCKETS}
OPEN = Invoice.total_gross - Invoice.paid_amount - Invoice.credited_amount


def open_items_clause(supplier_id: int):
    return sa.and_(Invoice.supplier_company_id == supplier_id, Invoice.kind == DocumentKind.invoice,
                   Invoice.status.in_((InvoiceStatus.issued, InvoiceStatus.partially_paid)), OPEN > 0)


def bucket_clause(key: str, as_of: date):
    """The due dates of the bucket ``key`` as of ``as_of`` (days past due = as_of − due date)."""
    for k, _label, lo, hi in BUCKETS:
        if k != key:
            continue
        parts = []
        if lo is not None:
            parts.append(Invoice.due_date <= as_of - timedelta(days=lo))
        if hi is not None:
            parts.append(Invoice.due_date >= as_of - timedelta(days=hi))
        if k == "not_due":  # an invoice without a due date (never the case once issued) is not due
            return sa.or_(Invoice.due_date.is_(None), *parts)
        return sa.and_(*parts)
    raise ValidationFailed(_l("Unknown aging bucket; choose not due, 1–30, 31–60, 61–90 or over 90 days."),
                           errors={"bucket": _l("Unknown bucket.")})


def _bucket_sums(as_of: date):
    cols = [sa.func.coalesce(sa.func.sum(sa.case((bucket_clause(k, as_of), OPEN), else_=0)), 0).label(k)
            for k in BUCKET_KEYS]
    cols.append(sa.func.coalesce(sa.func.sum(OPEN), 0).label("total"))
    cols.append(sa.func.coalesce(sa.func.sum(sa.case((Invoice.disputed_at.isnot(None), OPEN), else_=0)), 0)
                .label("disputed"))
    cols.append(sa.func.count(Invoice.id).label("count"))
    return cols


def _money_row(row, currency: str) -> dict:
    out = {k: quantize(Decimal(getattr(row, k) or 0), currency) for k in BUCKET_KEYS + ("total", "disputed")}
    out["count"] = int(row.count or 0)
    out["currency"] = currency
    return out


def aging(supplier_id: int, as_of: date | None = None, *, buyer_id: int | None = None) -> dict:
    """{"as_of", "customers": [{buyer_company_id, name, currency, <bucket>..., total, disputed, count}],
    "totals": [{currency, <bucket>..., total, disputed, count}]} — one statement whatever the data."""
    as_of = as_of or utcnow().date()
    where = [open_items_clause(supplier_id)]
    if buyer_id is not None:
        where.append(Invoice.buyer_company_id == buyer_id)
    per_customer = db.session.execute(
        sa.select(Invoice.buyer_company_id, Company.display_name, Invoice.currency, *_bucket_sums(as_of))
        .join(Company, Company.id == Invoice.buyer_company_id).where(*where)
        .group_by(Invoice.buyer_company_id, Company.display_name, Invoice.currency)
        .order_by(Company.display_name, Invoice.buyer_company_id, Invoice.currency)).all()
    customers = [{"buyer_company_id": r.buyer_company_id, "name": r.display_name, **_money_row(r, r.currency)}
                 for r in per_customer]
    # The totals per currency add up the grouped rows (one per customer and currency, exact Decimals): the
    # database reads the invoices once.
    totals: dict[str, dict] = {}
    for r in customers:
        t = totals.setdefault(r["currency"], {"currency": r["currency"], "count": 0,
                                              **{k: Decimal(0) for k in BUCKET_KEYS + ("total", "disputed")}})
        for k in BUCKET_KEYS + ("total", "disputed", "count"):
            t[k] += r[k]
    return {"as_of": as_of, "buckets": [{"key": k, "label": BUCKET_LABELS[k]} for k in BUCKET_KEYS],
            "customers": customers, "totals": [totals[c] for c in sorted(totals)]}


DRILL_LIMIT = 500


def items(supplier_id: int, buyer_id: int, as_of: date | None = None, *, currency: str | None = None,
          bucket: str | None = None, limit: int = DRILL_LIMIT) -> list[dict]:
    """The open items behind one cell of the aging (a customer, optionally one currency and one bucket), oldest
    due first, with the highest dunning level each reached. One statement."""
    from portal.receivables.models import DunningNotice

    as_of = as_of or utcnow().date()
    where = [open_items_clause(supplier_id), Invoice.buyer_company_id == buyer_id]
    if currency:
        where.append(Invoice.currency == currency)
    if bucket:
        where.append(bucket_clause(bucket, as_of))
    level = (sa.select(sa.func.max(DunningNotice.level)).where(DunningNotice.invoice_id == Invoice.id)
             .correlate(Invoice).scalar_subquery())
    rows = db.session.execute(
        sa.select(Invoice.id, Invoice.number, Invoice.issue_date, Invoice.due_date, Invoice.currency,
                  Invoice.total_gross, OPEN.label("open"), Invoice.buyer_reference, Invoice.disputed_at,
                  level.label("level"))
        .where(*where).order_by(Invoice.due_date, Invoice.id).limit(limit)).all()
    out = []
    for r in rows:
        late = (as_of - r.due_date).days if r.due_date else 0
        out.append({"id": r.id, "number": r.number, "issue_date": r.issue_date, "due_date": r.due_date,
                    "currency": r.currency, "gross": quantize(Decimal(r.total_gross), r.currency),
                    "open": quantize(Decimal(r.open), r.currency), "days_late": max(late, 0),
                    "bucket": bucket_of(late), "buyer_reference": r.buyer_reference or "",
                    "disputed": r.disputed_at is not None, "dunning_level": r.level})
    return out


def bucket_of(days_late: int) -> str:
    for k, _label, lo, hi in BUCKETS:
        if (lo is None or days_late >= lo) and (hi is None or days_late <= hi):
            return k
    return "not_due"  # negative days: not due yet


def is_customer(supplier_id: int, buyer_id: int) -> bool:
    """Has the supplier issued anything to this company (else its drill-down is a 404)?"""
    return db.session.scalar(sa.select(Invoice.id).where(Invoice.supplier_company_id == supplier_id,
                                                         Invoice.buyer_company_id == buyer_id,
                                                         Invoice.status != InvoiceStatus.draft).limit(1)) is not None


def customers(supplier_id: int) -> list[Company]:
    """Customers with open items (for the drill-down's choice)."""
    ids = sa.select(Invoice.buyer_company_id).where(open_items_clause(supplier_id)).distinct()
    return list(db.session.scalars(sa.select(Company).where(Company.id.in_(ids)).order_by(Company.display_name)))


def plain(data: dict) -> dict:
    """The aging as plain values (strings for amounts, ISO dates) for a job, a PDF snapshot or JSON."""
    def row(r):
        return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in r.items()}

    return {"as_of": data["as_of"].isoformat(), "buckets": data["buckets"],
            "customers": [row(r) for r in data["customers"]], "totals": [row(r) for r in data["totals"]]}


