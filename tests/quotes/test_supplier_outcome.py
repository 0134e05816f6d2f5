"""Defect 10: after an early close and an award the supplier reads "Closed early on <date>" (never "the
deadline passed" with a future date), its result per line (won with its own figures / "Not awarded to you"),
and the resulting order once the buyer has sent it — never who won a line it lost, nor at what price."""
from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from babel.dates import format_date
from zoneinfo import ZoneInfo

from portal.db import db, utcnow
from portal.errors import InvalidTransition
from portal.money import format_money
from portal.orders import services as order_services
from portal.quotes import award as award_service
from portal.quotes import services
from portal.rfq import services as rfq_services
from tests import factories
from tests.quotes.helpers import fresh, header, submitted, text

pytestmark = pytest.mark.usefixtures("isolated_requests")

A_PRICES = ["1.2500", "2.00", "3.10"]
B_PRICES = ["1.3100", "1.7700", "3.4500"]  # B wins line 2 only


@pytest.fixture
def token_for():
    from portal.api.auth import create_token

    def _make(user):
        _, raw = create_token(user, "test")
        return {"Authorization": f"Bearer {raw}"}

    return _make


@pytest.fixture
def awarded(world):
    """An RFQ (deadline in 3 weeks) closed early by the buyer and split: lines 1 and 3 to A, line 2 to B."""
    rfq = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a, world.supplier_b],
                        deadline=utcnow() + timedelta(days=21))
    qa = submitted(rfq, world.sales_a, A_PRICES)
    qb = submitted(rfq, world.sales_b, B_PRICES, hdr=header(terms="FCA Wrocław"))
    rfq_services.close_early(world.procurement, rfq.id)
    rfq = fresh(rfq)
    lines = sorted(rfq.lines, key=lambda r: r.position)
    award_service.award_split(rfq, world.procurement, {lines[0].id: qa.id, lines[1].id: qb.id, lines[2].id: qa.id})
    return fresh(rfq), fresh(qa), fresh(qb)


def closed_on(rfq, user) -> str:
    return format_date(rfq.closed_at.astimezone(ZoneInfo(user.timezone)).date(), "medium", locale="en_GB")


def won_text(qty, price) -> str:
    from babel.numbers import format_currency

    return (f"Won — {Decimal(qty):,.0f} pcs at "
            f"{format_currency(Decimal(price).normalize(), 'EUR', locale='en_GB', decimal_quantization=False)}")


def test_rfq_page_after_early_close_and_award(world, awarded, login):
    rfq, qa, qb = awarded
    assert rfq.deadline > utcnow()  # the deadline is still ahead
    page = text(login(world.sales_a).get(f"/rfqs/{rfq.id}"))
    assert f"Closed early on {closed_on(rfq, world.sales_a)}" in page
    assert "deadline passed" not in page.lower() and "passed at" not in page
    lines = sorted(rfq.lines, key=lambda r: r.position)
    # line 1 and 3 won at A's own price for the requested quantity; line 2 not
    assert won_text(lines[0].quantity, A_PRICES[0]) in page
    assert won_text(lines[2].quantity, A_PRICES[2]) in page
    assert page.count("Not awarded to you") == 1
    total = lines[0].quantity * Decimal(A_PRICES[0]) + lines[2].quantity * Decimal(A_PRICES[2])
    assert f"You won 2 of 3 lines</strong>, {format_money(total, 'EUR')} before shipping" in page
    assert "Order in preparation by the buyer" in page
    # nothing about the winner of line 2: neither its name, its price nor its terms
    assert world.supplier_b.display_name not in page
    for p in ("1.77", "1,77", "FCA Wrocław"):
        assert p not in page


def test_loser_learns_it_lost_without_who_won(world, awarded, login):
    rfq, qa, qb = awarded
    # B won line 2; make a third supplier that quoted and lost everything
    page = text(login(world.sales_b).get(f"/rfqs/{rfq.id}"))
    assert page.count("Not awarded to you") == 2 and "Won — " in page
    assert world.supplier_a.display_name not in page
    for p in ("1.25", "3.10", "3.1 ", "€3.10"):
        assert p not in page


def test_quote_page_shows_outcome_per_line(world, awarded, login):
    rfq, qa, qb = awarded
    page = text(login(world.sales_a).get(f"/quotes/{qa.id}"))
    assert 'data-testid="outcome-lines"' in page
    assert f"Closed early on {closed_on(rfq, world.sales_a)}" in page
    assert "deadline for this RFQ passed" not in page
    assert page.count("Not awarded to you") == 1 and page.count("Won — ") == 2
    assert "1.77" not in page and world.supplier_b.display_name not in page


def test_order_link_only_once_the_buyer_sent_it(world, awarded, login):
    rfq, qa, qb = awarded
    orders = order_services.create_orders_from_award(db.session.scalar(
        db.select(award_service.Award).where(award_service.Award.rfq_id == rfq.id)).id, world.procurement)
    mine = next(o for o in orders if o.supplier_company_id == world.supplier_a.id)
    po, oid = mine.po_number, mine.id
    c = login(world.sales_a)
    page = text(c.get(f"/rfqs/{rfq.id}"))
    assert "Order in preparation by the buyer" in page and po not in page  # a draft is the buyer's alone
    order_services.submit(fresh(mine), world.procurement, fresh(mine).lock_version)
    page = text(c.get(f"/rfqs/{rfq.id}"))
    assert f'href="/orders/{oid}"' in page and f"Purchase order {po}" in page
    assert "Order in preparation" not in page
    assert c.get(f"/orders/{oid}").status_code == 200
    # the other supplier's order number is not on A's page (the RFQ history keeps it for the buyer)
    other = next(o for o in orders if o.supplier_company_id == world.supplier_b.id)
    assert other.po_number not in page
    assert other.po_number in text(login(world.procurement).get(f"/rfqs/{rfq.id}"))


def test_closed_early_message_when_quoting(world, awarded):
    rfq, qa, qb = awarded
    with pytest.raises(InvalidTransition) as ei:
        services.get_or_create_draft(rfq, world.sales_a)
    assert "closed this RFQ early on" in ei.value.message and "deadline" not in ei.value.message


def test_api_outcome_for_suppliers(client, world, awarded, token_for):
    rfq, qa, qb = awarded
    body = client.get(f"/api/v1/rfqs/{rfq.id}", headers=token_for(world.sales_a)).get_json()
    out = body["outcome"]
    assert out["closed_early"] is True and out["awarded"] is True and out["order_in_preparation"] is True
    lines = sorted(rfq.lines, key=lambda r: r.position)
    assert [ln["result"] for ln in out["lines"]] == ["won", "not_awarded", "won"]
    assert Decimal(out["lines"][0]["unit_price"]["amount"]) == Decimal(A_PRICES[0])
    assert Decimal(out["lines"][0]["quantity"]) == lines[0].quantity
    assert out["lines"][1]["unit_price"] is None and out["lines"][1]["quantity"] is None
    # B's price must not leak; timestamps are taken out first (a time such as "…:41.773279" contains "1.77")
    raw = re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+(?:[+-]\d\d:\d\d|Z)?", "", json.dumps(body))
    assert "1.77" not in raw and world.supplier_b.display_name not in raw
    q = client.get(f"/api/v1/quotes/{qa.id}", headers=token_for(world.sales_a)).get_json()
    assert [ln["result"] for ln in q["outcome"]["lines"]] == ["won", "not_awarded", "won"]
    # the buyer's view has no supplier outcome
    assert "outcome" not in client.get(f"/api/v1/rfqs/{rfq.id}", headers=token_for(world.procurement)).get_json()
