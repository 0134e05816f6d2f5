"""Exchange rates (portal/budgets/rates.py): bad input is a sentence and nothing saved, another company's rate is
404 (page and API), the budget page names what is left out for want of a rate, the order budget check converts an
order in another currency with the rate valid today (rounded per line) and says when there is none."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.budgets import rates
from portal.budgets.models import ExchangeRate
from portal.budgets.orders import order_impact
from portal.db import db, utcnow
from portal.errors import Forbidden, ValidationFailed
from portal.orders.models import PurchaseOrder
from tests import factories
from tests.requisitions.conftest import impact_statements


@pytest.fixture
def token_for():
    from portal.api.auth import create_token

    def _make(user, name="test"):
        _, raw = create_token(user, name)
        return {"Authorization": f"Bearer {raw}"}

    return _make


def _count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(ExchangeRate))


def _usd_order(w, *lines, status="draft"):
    o = factories.order(w.buyer, w.supplier_a, w.procurement, status=status, currency="USD", lines=list(lines))
    for ln in o.lines:
        ln.cost_centre_id = w.cc.id
    db.session.commit()
    return o


@pytest.mark.parametrize("currency,rate,day,message", [
    ("XYZ", "1.1", "2026-01-01", "not a currency we know"), ("", "1.1", "2026-01-01", "not a currency we know"),
    ("eur", "1.1", "2026-01-01", "own currency"), ("USD", "0", "2026-01-01", "more than 0"),
    ("USD", "-1.5", "2026-01-01", "more than 0"), ("USD", "abc", "2026-01-01", "not a number"),
    ("USD", "1.123456789", "2026-01-01", "decimal places"), ("USD", "1.1", "1.1.2026", "YYYY-MM-DD"),
    ("USD", "99999999999", "2026-01-01", "too large"),
])
def test_bad_rates_refused_nothing_saved(rw, currency, rate, day, message):
    with pytest.raises(ValidationFailed, match=message):
        rates.add_rate(rw.buyer_admin, currency=currency, rate=rate, valid_from=day)
    assert _count() == 0


def test_a_second_rate_of_the_currency_on_the_same_day_is_refused(rw):
    first = rates.add_rate(rw.buyer_admin, currency="usd", rate="0.92", valid_from="2026-03-01")
    assert (first.currency, first.rate) == ("USD", Decimal("0.92"))
    with pytest.raises(ValidationFailed, match="already a USD rate valid from 2026-03-01"):
        rates.add_rate(rw.buyer_admin, currency="USD", rate="0.95", valid_from="2026-03-01")
    rates.add_rate(rw.buyer_admin, currency="USD", rate="0.95", valid_from="2026-03-02")
    rates.add_rate(rw.buyer_admin, currency="GBP", rate="1.17", valid_from="2026-03-01")
    assert [(r.currency, r.valid_from) for r in rates.rates_of(rw.buyer.id)] == [
        ("GBP", date(2026, 3, 1)), ("USD", date(2026, 3, 2)), ("USD", date(2026, 3, 1))]


def test_only_administrators_keep_rates(rw):
    with pytest.raises(Forbidden):
        rates.add_rate(rw.procurement, currency="USD", rate="0.9", valid_from="2026-01-01")
    assert _count() == 0


def test_another_companys_rate_is_404(rw, login, client, token_for):
    row = rates.add_rate(rw.buyer_admin, currency="USD", rate="0.9", valid_from="2026-01-01")
    other = factories.company("buyer")
    boss = factories.user(other, "admin")
    c = login(boss)
    assert c.post(f"/budgets/exchange-rates/{row.id}/delete").status_code == 404
    assert "0.9" not in c.get("/budgets/exchange-rates").get_data(as_text=True).split("rate-form")[0]
    c.get("/logout")
    h = token_for(boss)
    assert client.get(f"/api/v1/exchange-rates/{row.id}", headers=h).status_code == 404
    assert client.delete(f"/api/v1/exchange-rates/{row.id}", headers=h).status_code == 404
    assert client.get("/api/v1/exchange-rates", headers=h).get_json()["items"] == []
    assert _count() == 1


def test_the_page_adds_lists_and_deletes(rw, login):
    c = login(rw.buyer_admin)
    resp = c.post("/budgets/exchange-rates", data={"currency": "USD", "rate": "0", "valid_from": "2026-01-01"})
    assert resp.status_code == 422 and "more than 0" in resp.get_data(as_text=True) and _count() == 0
    resp = c.post("/budgets/exchange-rates", data={"currency": "USD", "rate": "0.925", "valid_from": "2026-01-01"})
    assert resp.status_code == 302
    page = c.get("/budgets/exchange-rates").get_data(as_text=True)
    assert 'data-rate="USD-2026-01-01"' in page and "0.925" in page
    row = db.session.scalar(sa.select(ExchangeRate))
    assert c.post(f"/budgets/exchange-rates/{row.id}/delete").status_code == 302
    assert _count() == 0


def test_api_adds_lists_and_deletes(rw, client, token_for):
    h = token_for(rw.buyer_admin)
    resp = client.post("/api/v1/exchange-rates", json={"currency": "CHF", "rate": "1.05", "valid_from": "2026-02-01"},
                       headers=h)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["rate"] == "1.05000000" and body["company_currency"] == "EUR"
    assert resp.headers["Location"].endswith(f"/exchange-rates/{body['id']}")
    resp = client.post("/api/v1/exchange-rates", json={"currency": "EUR", "rate": "1", "valid_from": "2026-02-01"},
                       headers=h)
    assert resp.status_code == 422 and "own currency" in resp.get_json()["detail"]
    resp = client.post("/api/v1/exchange-rates", json={"currency": "CHF", "rate": "1.2", "valid_from": "2026-02-01"},
                       headers=h)
    assert resp.status_code == 422 and "already" in resp.get_json()["detail"]
    assert [r["currency"] for r in client.get("/api/v1/exchange-rates", headers=h).get_json()["items"]] == ["CHF"]
    assert client.delete(f"/api/v1/exchange-rates/{body['id']}", headers=h).status_code == 204
    assert _count() == 0


def test_budget_page_names_documents_left_out_for_want_of_a_rate(rw, login):
    a = _usd_order(rw, ("1", "100.00"), status="acknowledged")
    b = _usd_order(rw, ("2", "10.00"), status="acknowledged")
    b.lines[0].cost_centre_id = rw.cc.id
    db.session.commit()
    c = login(rw.procurement)
    page = c.get("/budgets/").get_data(as_text=True)
    assert 'data-testid="left-out"' in page and "2 documents in USD" in page
    rates.add_rate(rw.buyer_admin, currency="USD", rate="0.5", valid_from=date(utcnow().year, 1, 1))
    page = c.get("/budgets/").get_data(as_text=True)
    assert 'data-testid="left-out"' not in page
    assert "60.00" in page.split('data-testid="committed"')[1][:200]  # (100 + 20) × 0.5
    assert a.id != b.id


def test_order_check_converts_with_todays_rate_rounded_per_line(rw, login):
    today = utcnow().date()
    order = _usd_order(rw, ("1", "0.05"), ("1", "0.05"), ("1", "400.00"))
    imp = order_impact(db.session.get(PurchaseOrder, order.id))
    assert not imp.counted and imp.rows[0].figures is None
    c = login(rw.procurement)
    page = c.get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'data-testid="no-rate"' in page and "no exchange rate for USD" in page
    rates.add_rate(rw.buyer_admin, currency="USD", rate="9", valid_from=today + timedelta(days=1))  # from tomorrow
    rates.add_rate(rw.buyer_admin, currency="USD", rate="1.5", valid_from=today - timedelta(days=400))
    rates.add_rate(rw.buyer_admin, currency="USD", rate="2.5", valid_from=today)
    db.session.expire_all()
    imp = order_impact(db.session.get(PurchaseOrder, order.id))
    [row] = imp.rows
    # today's rate 2.5: 0.05 × 2.5 = 0.125 → 0.13 per line; 400 × 2.5 = 1,000
    assert imp.counted and imp.rate == Decimal("2.5") and row.amount == Decimal("1000.26")
    assert row.available_after == Decimal("-0.26") and row.exceeds
    page = c.get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'data-testid="converted-at"' in page and "1 USD = 2.5 EUR" in page


def test_demo_rates_and_a_pln_order_the_budget_counts(rw, login):
    from portal.budgets import demo
    from portal.budgets.figures import figures_for
    from portal.budgets.services import budgets_of

    rw.cc.code = "CC-4100"
    db.session.commit()
    companies = {"hartmann": rw.buyer, "polmet": rw.supplier_b}
    users = {"anna.keller@hartmann.example": rw.buyer_admin, "jonas.weber@hartmann.example": rw.procurement}
    demo.seed(companies, users)
    demo.seed(companies, users)  # nothing twice
    order = db.session.scalar(sa.select(PurchaseOrder).where(PurchaseOrder.currency == "PLN"))
    assert order.sent_at is not None and len(rates.rates_of(rw.buyer.id)) in (2, 3)
    today = utcnow().date()
    rate = Decimal("0.2345") if today.month > 1 else Decimal("0.2310")
    # per line: 1,276.00 / 1,062.00 / 446.10 PLN
    expected = sum((Decimal(x) * rate).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
                   for x in ("1276.00", "1062.00", "446.10"))
    figs = figures_for(rw.buyer.id, "EUR", budgets_of(rw.buyer.id))
    assert figs[rw.budget.id].committed_orders == expected and not figs[rw.budget.id].left_out
    c = login(rw.procurement)
    assert 'data-testid="left-out"' not in c.get("/budgets/").get_data(as_text=True)


def test_a_foreign_order_impact_takes_one_statement_more_whatever_its_lines(rw, count_queries):
    rates.add_rate(rw.buyer_admin, currency="USD", rate="0.9", valid_from=utcnow().date())
    small = _usd_order(rw, ("1", "10.00"))
    big = _usd_order(rw, *[("1", "5.00")] * 12)
    for i, ln in enumerate(big.lines):
        ln.cost_centre_id = (rw.cc, rw.cc2, rw.cc)[i % 3].id
    db.session.commit()
    counts, imp, q = impact_statements(count_queries, (small, big))
    # the 7 of an order in the company currency (test_budget_orders.py) + the rate valid today
    assert counts[0] == counts[1] == 8, (counts, [s[:90] for s in q.statements])
    assert imp.rows[0].amount == Decimal("36.00")  # 8 lines × 5 USD × 0.9 on CC-100


def test_a_requisition_in_another_currency_is_checked_converted(rw, login):
    from portal.budgets import services as budgets
    from portal.budgets.figures import figures_for
    from portal.requisitions import services
    from tests.requisitions.conftest import line, raise_req

    budgets.save_settings(rw.buyer_admin, cost_centre_required=False, budget_mode="block")
    req = services.save(rw.engineer, title="US test rig", justification="Only sold in the US", currency="USD",
                        lines=[line(qty="1", price="0.05", cc=rw.cc), line(qty="1", price="0.05", cc=rw.cc),
                               line(qty="1", price="600.00", cc=rw.cc)], submit=True)
    summary = services.budget_impact(req)
    assert not summary.counted and summary.rows[0].figures is None
    c = login(rw.owner)
    assert 'data-testid="no-rate"' in c.get(f"/requisitions/{req.id}").get_data(as_text=True)
    rates.add_rate(rw.buyer_admin, currency="USD", rate="1.5", valid_from=utcnow().date())
    summary = services.budget_impact(req)
    # 0.05 × 1.5 = 0.075 → 0.08 per line; 600 × 1.5 = 900
    assert summary.counted and summary.rows[0].amount == Decimal("900.16")
    assert summary.rows[0].available_after == Decimal("99.84") and not summary.exceeded
    assert 'data-testid="converted-at"' in c.get(f"/requisitions/{req.id}").get_data(as_text=True)
    rates.add_rate(rw.buyer_admin, currency="USD", rate="2", valid_from=utcnow().date() - timedelta(days=1))
    services.decide(rw.owner, req.id, None, "approved")
    figs = figures_for(rw.buyer.id, "EUR", budgets.budgets_of(rw.buyer.id))
    assert figs[rw.budget.id].committed_requisitions == Decimal("900.16")  # today's rate, as checked
    over = raise_req(rw, line(qty="1", price="100.00", cc=rw.cc))
    with pytest.raises(ValidationFailed, match="budget would be exceeded"):
        services.decide(rw.owner, over.id, None, "approved")
