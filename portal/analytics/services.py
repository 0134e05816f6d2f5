"""Aggregates for the spend and sales dashboards.

Every figure is computed in SQL with GROUP BY (a fixed number of queries however many orders there are) and
kept per currency: amounts in different currencies are never added together. The dashboard shows the
company's default currency in charts and lists any other currency separately.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from decimal import Decimal

import sqlalchemy as sa

from portal.catalog.models import CatalogItem
from portal.db import db, utcnow
from portal.invoices.models import DocumentKind, Invoice
from portal.invoices.states import InvoiceStatus
from portal.money import ZERO, quantize
from portal.orders.models import OrderLine, PurchaseOrder
from portal.orders.states import OrderStatus

PERIODS = (3, 6, 12, 24)
DEFAULT_MONTHS = 12
TOP_N = 10

# Orders that were never placed (or were withdrawn before/at placing) are not spend or sales.
NOT_PLACED = {OrderStatus.draft, OrderStatus.awaiting_approval, OrderStatus.submitted, OrderStatus.credit_hold,
              OrderStatus.cancelled, OrderStatus.rejected}
PLACED = [s for s in OrderStatus if s not in NOT_PLACED]

SOURCED = "Sourced (RFQ)"
UNCATEGORISED = "Uncategorised"
OTHER = "Other"


def parse_months(raw) -> tuple[int, str | None]:
    """The period in months from ``?months=``; a bad value gives the default and a sentence saying so."""
    if raw is None or raw == "":
        return DEFAULT_MONTHS, None
    try:
        months = int(str(raw).strip())
    except ValueError:
        months = None
    if months not in PERIODS:
        choices = ", ".join(str(p) for p in PERIODS)
        return DEFAULT_MONTHS, (f"The period must be one of {choices} months; showing the last "
                                f"{DEFAULT_MONTHS} months instead.")
    return months, None


def month_keys(months: int, today: date) -> list[tuple[int, int]]:
    """The last ``months`` calendar months, oldest first, ending with the current one."""
    y, m = today.year, today.month
    keys = []
    for _ in range(months):
        keys.append((y, m))
        m -= 1
        if m == 0:
            y, m = y - 1, 12
    return list(reversed(keys))


@dataclass
class Row:
    label: str
    amount: Decimal
    count: int = 0
    key: object = None


@dataclass
class CurrencyTotals:
    currency: str
    ordered: Decimal = ZERO
    orders: int = 0
    invoiced: Decimal = ZERO
    open: Decimal = ZERO
    overdue: Decimal = ZERO


@dataclass
class Dashboard:
    side: str  # "spend" (the company buys) or "sales" (the company supplies)
    currency: str  # the company's default currency: the one charted
    months: int
    start: date
    by_month: list[Row] = field(default_factory=list)  # one per month, zeros included
    by_party: list[Row] = field(default_factory=list)  # top TOP_N, default currency
    by_category: list[Row] = field(default_factory=list)  # top TOP_N, default currency
    party_more: int = 0  # counterparties beyond the top N
    category_more: int = 0
    totals: CurrencyTotals | None = None  # default currency
    others: list[CurrencyTotals] = field(default_factory=list)  # other currencies, largest first

    @property
    def has_orders(self) -> bool:
        return bool(self.totals and self.totals.orders) or any(o.orders for o in self.others)


def _q(amount, currency) -> Decimal:
    return quantize(Decimal(amount or 0), currency)


def build(company, side: str, months: int = DEFAULT_MONTHS, *, today: date | None = None) -> Dashboard:
    """The dashboard of ``company`` as buyer (side="spend") or supplier (side="sales"). Four queries."""
    if side not in ("spend", "sales"):
        raise ValueError(side)
    if months not in PERIODS:
        months = DEFAULT_MONTHS
    today = today or utcnow().date()
    keys = month_keys(months, today)
    start = date(keys[0][0], keys[0][1], 1)
    start_dt = datetime.combine(start, time.min, tzinfo=timezone.utc)
    currency = company.default_currency
    PO = PurchaseOrder
    if side == "spend":
        mine, party_col = PO.buyer_company_id == company.id, PO.supplier_company_id
    else:
        mine, party_col = PO.supplier_scope(company.id), PO.buyer_company_id  # sent orders only
    when = sa.func.coalesce(PO.placed_at, PO.created_at)
    placed = sa.and_(mine, PO.status.in_(PLACED), when >= start_dt)

    # 1. per currency and calendar month (UTC)
    utc_when = sa.func.timezone("UTC", when) if db.engine.dialect.name == "postgresql" else when
    year_c, month_c = sa.extract("year", utc_when), sa.extract("month", utc_when)
    monthly = db.session.execute(
        sa.select(PO.currency, year_c.label("y"), month_c.label("m"), sa.func.sum(PO.total_net),
                  sa.func.count(PO.id))
        .where(placed).group_by(PO.currency, year_c, month_c)).all()

    totals: dict[str, CurrencyTotals] = {}

    def tot(cur) -> CurrencyTotals:
        return totals.setdefault(cur, CurrencyTotals(cur))

    per_month: dict[tuple[int, int], Row] = {}
    for cur, y, m, amount, n in monthly:
        t = tot(cur)
        t.ordered += _q(amount, cur)
        t.orders += n
        if cur == currency:
            per_month[(int(y), int(m))] = Row("", _q(amount, cur), n)
    dash = Dashboard(side=side, currency=currency, months=months, start=start)
    for y, m in keys:
        r = per_month.get((y, m), Row("", _q(0, currency), 0))
        dash.by_month.append(Row(date(y, m, 1).isoformat(), r.amount, r.count, key=date(y, m, 1)))

    # 2. per counterparty (default currency only; other currencies show in the totals table)
    from portal.accounts.models import Company

    parties = db.session.execute(
        sa.select(Company.id, Company.display_name, sa.func.sum(PO.total_net).label("amount"),
                  sa.func.count(PO.id))
        .join(Company, Company.id == party_col)
        .where(placed, PO.currency == currency)
        .group_by(Company.id, Company.display_name)
        .order_by(sa.desc("amount"), Company.display_name)).all()
    dash.by_party = [Row(name, _q(amount, currency), n, key=cid) for cid, name, amount, n in parties[:TOP_N]]
    dash.party_more = max(0, len(parties) - TOP_N)

    # 3. per category of the ordered lines (default currency)
    category = sa.case(
        (sa.and_(OrderLine.catalog_item_id.is_not(None), sa.func.coalesce(CatalogItem.category, "") != ""),
         CatalogItem.category),
        (OrderLine.award_line_id.is_not(None), sa.literal(SOURCED)),
        (OrderLine.catalog_item_id.is_not(None), sa.literal(UNCATEGORISED)),
        else_=sa.literal(OTHER)).label("category")
    cats = db.session.execute(
        sa.select(category, sa.func.sum(OrderLine.line_total).label("amount"),
                  sa.func.count(sa.distinct(PO.id)))
        .select_from(OrderLine).join(PO, PO.id == OrderLine.order_id)
        .outerjoin(CatalogItem, CatalogItem.id == OrderLine.catalog_item_id)
        .where(placed, PO.currency == currency)
        .group_by(category).order_by(sa.desc("amount"), category)).all()
    dash.by_category = [Row(name, _q(amount, currency), n) for name, amount, n in cats[:TOP_N]]
    dash.category_more = max(0, len(cats) - TOP_N)

    # 4. invoices per currency: invoiced in the period; open and overdue as of today
    inv_mine = Invoice.buyer_company_id == company.id if side == "spend" else \
        Invoice.supplier_company_id == company.id
    open_amt = Invoice.total_gross - Invoice.paid_amount - Invoice.credited_amount
    unpaid = Invoice.status.in_([InvoiceStatus.issued, InvoiceStatus.partially_paid])
    inv = db.session.execute(
        sa.select(Invoice.currency,
                  sa.func.sum(sa.case((Invoice.issue_date >= start, Invoice.total_gross), else_=0)),
                  sa.func.sum(sa.case((unpaid, open_amt), else_=0)),
                  sa.func.sum(sa.case((sa.and_(unpaid, Invoice.due_date < today), open_amt), else_=0)))
        .where(inv_mine, Invoice.kind == DocumentKind.invoice, Invoice.status != InvoiceStatus.draft)
        .group_by(Invoice.currency)).all()
    for cur, invoiced, open_, overdue in inv:
        t = tot(cur)
        t.invoiced, t.open, t.overdue = _q(invoiced, cur), _q(open_, cur), _q(overdue, cur)

    dash.totals = totals.pop(currency, CurrencyTotals(currency))
    dash.others = sorted(totals.values(), key=lambda t: (-t.orders, t.currency))
    return dash
