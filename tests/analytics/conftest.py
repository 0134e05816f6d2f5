"""Local builders for the analytics tests (model level)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from portal.db import db, utcnow
from tests import factories


def months_ago(k: int, day: int = 1) -> datetime:
    """Noon UTC on ``day`` of the calendar month ``k`` months before the current one."""
    now = utcnow()
    y, m = now.year, now.month - k
    while m <= 0:
        y, m = y - 1, m + 12
    return datetime(y, m, day, 12, 0, tzinfo=timezone.utc)


def placed(buyer, supplier, creator, *, when=None, status="placed", lines=None, currency="EUR", items=()):
    """An order in ``status`` placed at ``when`` (default: this month); ``items`` link lines to catalog items."""
    o = factories.order(buyer, supplier, creator, status=status, lines=lines or [("1", "10.00")],
                        currency=currency)
    o.placed_at = when or months_ago(0)
    for line, item in zip(o.lines, items):
        line.catalog_item_id = item.id if item is not None else None
    db.session.commit()
    return o


def invoice(supplier, buyer, creator, *, gross, paid="0", status="issued", due=None, issued=None, currency="EUR"):
    from portal.invoices.models import Invoice
    from portal.invoices.states import InvoiceStatus

    n = next(factories._seq)
    today = utcnow().date()
    draft = status == "draft"
    inv = Invoice(supplier_company_id=supplier.id, buyer_company_id=buyer.id, series="INV",
                  year=None if draft else today.year, sequence=None if draft else n,
                  number=None if draft else f"INV-T-{n}", status=InvoiceStatus(status), currency=currency,
                  issue_date=issued or today, due_date=due or today + timedelta(days=30),
                  total_net=Decimal(gross), total_gross=Decimal(gross), paid_amount=Decimal(paid),
                  created_by_id=creator.id)
    db.session.add(inv)
    db.session.commit()
    return inv


def award_line(world):
    """An award line (RFQ line 1 to supplier A) so an order line can point at it."""
    from portal.quotes.models import Award, AwardLine

    r = factories.rfq(world.buyer, world.procurement, lines=1, status="awarded", suppliers=[world.supplier_a])
    q = factories.quote(r, world.supplier_a, world.sales_a, prices=["1.00"])
    award = Award(rfq_id=r.id, buyer_company_id=world.buyer.id, mode="split", awarded_by_id=world.procurement.id)
    ql = q.current_version.lines[0]
    al = AwardLine(rfq_line_id=r.lines[0].id, quote_id=q.id, quote_line_id=ql.id,
                   supplier_company_id=world.supplier_a.id, quantity=Decimal("1"), unit_price=Decimal("1"),
                   line_total=Decimal("1"))
    award.lines.append(al)
    db.session.add(award)
    db.session.commit()
    return al


@pytest.fixture
def today() -> date:
    return utcnow().date()
