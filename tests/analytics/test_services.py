from decimal import Decimal

import pytest

from portal.analytics import services
from portal.db import db
from tests import factories
from tests.analytics.conftest import award_line, invoice, months_ago, placed

D = Decimal


def test_spend_by_month_supplier_and_totals(world):
    placed(world.buyer, world.supplier_a, world.procurement, lines=[("10", "5.00"), ("3", "100.00")])  # 350.00
    placed(world.buyer, world.supplier_a, world.procurement, lines=[("1", "0.50")], status="closed")  # 0.50
    placed(world.buyer, world.supplier_b, world.procurement, when=months_ago(2), status="acknowledged",
           lines=[("2", "10.00")])  # 20.00
    placed(world.buyer, world.supplier_b, world.procurement, when=months_ago(11), lines=[("1", "7.00")])
    placed(world.buyer, world.supplier_b, world.procurement, when=months_ago(13), lines=[("1", "1000")])
    dash = services.build(world.buyer, "spend")
    assert len(dash.by_month) == 12
    assert [(r.amount, r.count) for r in dash.by_month[-1:]] == [(D("350.50"), 2)]
    assert dash.by_month[-3].amount == D("20.00") and dash.by_month[-3].count == 1
    assert dash.by_month[0].amount == D("7.00")
    assert sum(r.amount for r in dash.by_month) == D("377.50")
    assert [(r.label, r.amount, r.count) for r in dash.by_party] == [
        ("Supplier Alpha GmbH", D("350.50"), 2), ("Supplier Beta SAS", D("27.00"), 2)]
    assert dash.totals.ordered == D("377.50") and dash.totals.orders == 4
    assert all(isinstance(r.amount, Decimal) for r in dash.by_month)
    # 24 months reaches the old order
    dash24 = services.build(world.buyer, "spend", 24)
    assert len(dash24.by_month) == 24 and dash24.totals.ordered == D("1377.50")
    dash3 = services.build(world.buyer, "spend", 3)
    assert dash3.totals.ordered == D("370.50") and dash3.totals.orders == 3


@pytest.mark.parametrize("status", ["draft", "awaiting_approval", "submitted", "credit_hold", "cancelled",
                                    "rejected"])
def test_orders_never_placed_do_not_count(world, status):
    placed(world.buyer, world.supplier_a, world.procurement, status=status, lines=[("1", "99.00")])
    placed(world.buyer, world.supplier_a, world.procurement, status="shipped", lines=[("1", "1.00")])
    for side, company in (("spend", world.buyer), ("sales", world.supplier_a)):
        dash = services.build(company, side)
        assert dash.totals.ordered == D("1.00") and dash.totals.orders == 1


def test_currencies_are_never_added(world):
    placed(world.buyer, world.supplier_a, world.procurement, lines=[("1", "100.00")])
    placed(world.buyer, world.supplier_a, world.procurement, lines=[("1", "40.00")], currency="USD")
    placed(world.buyer, world.supplier_b, world.procurement, lines=[("2", "30.00")], currency="USD")
    placed(world.buyer, world.supplier_b, world.procurement, lines=[("1", "5000")], currency="JPY")
    invoice(world.supplier_a, world.buyer, world.admin_a, gross="48.00", currency="USD")
    dash = services.build(world.buyer, "spend")
    assert dash.currency == "EUR"
    assert dash.totals.ordered == D("100.00") and dash.totals.orders == 1
    assert dash.by_month[-1].amount == D("100.00")
    assert [(r.label, r.amount) for r in dash.by_party] == [("Supplier Alpha GmbH", D("100.00"))]
    assert [(r.label, r.amount) for r in dash.by_category] == [("Other", D("100.00"))]
    assert [(o.currency, o.ordered, o.orders, o.invoiced) for o in dash.others] == [
        ("USD", D("100.00"), 2, D("48.00")), ("JPY", D("5000"), 1, D("0"))]


def test_company_default_currency_is_charted(world):
    world.buyer.default_currency = "USD"
    db.session.commit()
    placed(world.buyer, world.supplier_a, world.procurement, lines=[("1", "100.00")])
    placed(world.buyer, world.supplier_a, world.procurement, lines=[("1", "40.00")], currency="USD")
    dash = services.build(world.buyer, "spend")
    assert dash.totals.currency == "USD" and dash.totals.ordered == D("40.00")
    assert [(o.currency, o.ordered) for o in dash.others] == [("EUR", D("100.00"))]


def test_categories_from_catalog_award_and_other(world):
    bolts = factories.catalog_item(world.supplier_a)
    bolts.category = "Fasteners"
    plain = factories.catalog_item(world.supplier_a)  # no category
    db.session.commit()
    al = award_line(world)
    placed(world.buyer, world.supplier_a, world.procurement, lines=[("10", "2.00"), ("1", "3.00"), ("1", "4.00")],
           items=[bolts, plain, None])
    o = placed(world.buyer, world.supplier_a, world.procurement, lines=[("5", "10.00"), ("1", "2.00")],
               items=[bolts])
    o.lines[1].award_line_id = al.id
    db.session.commit()
    dash = services.build(world.buyer, "spend")
    assert [(r.label, r.amount, r.count) for r in dash.by_category] == [
        ("Fasteners", D("70.00"), 2), ("Other", D("4.00"), 1), ("Uncategorised", D("3.00"), 1),
        ("Sourced (RFQ)", D("2.00"), 1)]
    sales = services.build(world.supplier_a, "sales")
    assert sales.by_category == dash.by_category


def test_top_ten_counterparties(world):
    for i in range(12):
        s = factories.company("supplier", name=f"Supplier {i:02d}")
        placed(world.buyer, s, world.procurement, lines=[("1", f"{i + 1}.00")])
    dash = services.build(world.buyer, "spend")
    assert len(dash.by_party) == 10 and dash.party_more == 2
    assert dash.by_party[0].label == "Supplier 11" and dash.by_party[0].amount == D("12.00")
    assert dash.by_party[-1].label == "Supplier 02"
    assert dash.totals.ordered == D("78.00")  # totals still include all twelve


def test_invoices_invoiced_open_and_overdue(world, today):
    from datetime import timedelta

    placed(world.buyer, world.supplier_a, world.procurement, lines=[("1", "100.00")])
    invoice(world.supplier_a, world.buyer, world.admin_a, gross="119.00", paid="19.00",
            status="partially_paid", due=today - timedelta(days=1))
    invoice(world.supplier_a, world.buyer, world.admin_a, gross="50.00", due=today + timedelta(days=5))
    invoice(world.supplier_a, world.buyer, world.admin_a, gross="30.00", paid="30.00", status="paid",
            due=today - timedelta(days=9))
    invoice(world.supplier_a, world.buyer, world.admin_a, gross="999.00", status="draft")  # not issued
    invoice(world.supplier_a, world.buyer, world.admin_a, gross="11.00", issued=today - timedelta(days=800),
            due=today - timedelta(days=770))  # issued long ago, still open and overdue
    for side, company in (("spend", world.buyer), ("sales", world.supplier_a)):
        t = services.build(company, side).totals
        assert (t.invoiced, t.open, t.overdue) == (D("199.00"), D("161.00"), D("111.00")), side
    assert services.build(world.supplier_b, "sales").totals.invoiced == D("0")


def test_only_own_company_data(world):
    other_buyer = factories.company("buyer", name="Other Buyer AG")
    other_person = factories.user(other_buyer, "procurement")
    placed(world.buyer, world.supplier_a, world.procurement, lines=[("1", "10.00")])
    placed(other_buyer, world.supplier_a, other_person, lines=[("1", "500.00")])
    placed(other_buyer, world.supplier_b, other_person, lines=[("1", "700.00")])
    invoice(world.supplier_b, other_buyer, world.admin_b, gross="70.00")
    spend = services.build(world.buyer, "spend")
    assert spend.totals.ordered == D("10.00") and spend.totals.invoiced == D("0")
    assert [r.label for r in spend.by_party] == ["Supplier Alpha GmbH"]
    sales_a = services.build(world.supplier_a, "sales")
    assert [(r.label, r.amount) for r in sales_a.by_party] == [("Other Buyer AG", D("500.00")),
                                                               ("Acme Buying GmbH", D("10.00"))]
    sales_b = services.build(world.supplier_b, "sales")
    assert sales_b.totals.ordered == D("700.00") and sales_b.totals.invoiced == D("70.00")
    # a pure supplier has no spend, a pure buyer no sales
    assert services.build(world.supplier_a, "spend").totals.orders == 0
    assert services.build(world.buyer, "sales").totals.orders == 0


@pytest.mark.parametrize("raw, months, error", [
    (None, 12, False), ("", 12, False), ("3", 3, False), ("6", 6, False), ("24", 24, False),
    ("7", 12, True), ("abc", 12, True), ("-12", 12, True), ("99999999999999999999", 12, True), ("1.5", 12, True)])
def test_parse_months(raw, months, error):
    got, message = services.parse_months(raw)
    assert got == months and bool(message) == error


def test_month_keys_cross_year():
    from datetime import date

    assert services.month_keys(3, date(2026, 2, 10)) == [(2025, 12), (2026, 1), (2026, 2)]
    assert len(services.month_keys(24, date(2026, 2, 10))) == 24
