import re

import pytest

from portal.db import db
from tests import factories
from tests.analytics.conftest import invoice, months_ago, placed


def svg_of(html: str, chart_id: str) -> str:
    m = re.search(rf'<svg[^>]*id="{chart_id}".*?</svg>', html, re.S)
    assert m, f"no chart {chart_id}"
    return m.group(0)


def bars(svg: str) -> int:
    return len(re.findall(r'<rect class="bar"', svg))


def table_rows(html: str, testid: str) -> list[str]:
    m = re.search(rf'<table[^>]*data-testid="{testid}".*?</table>', html, re.S)
    assert m, testid
    return re.findall(r"<tbody>.*</tbody>", m.group(0), re.S)[0].split("<tr")[1:]


@pytest.mark.parametrize("who, path, status", [
    ("procurement", "/analytics/spend", 200), ("approver", "/analytics/spend", 200),
    ("buyer_accounts", "/analytics/spend", 200), ("buyer_admin", "/analytics/spend", 200),
    ("procurement", "/analytics/sales", 403), ("buyer_admin", "/analytics/sales", 403),
    ("sales_a", "/analytics/sales", 200), ("accounts_a", "/analytics/sales", 200),
    ("admin_a", "/analytics/sales", 200),
    ("sales_a", "/analytics/spend", 403), ("admin_a", "/analytics/spend", 403),
    ("accounts_a", "/analytics/spend", 403),
])
def test_access_by_role_and_company_kind(world, login, who, path, status):
    assert login(getattr(world, who)).get(path).status_code == status


def test_company_that_buys_and_supplies_sees_both(world, login):
    both = factories.company("both", name="Two Way GmbH")
    admin, sales, procurement = (factories.user(both, r) for r in ("admin", "sales", "procurement"))
    assert login(admin).get("/analytics/spend").status_code == 200
    assert login(admin).get("/analytics/sales").status_code == 200
    assert login(sales).get("/analytics/spend").status_code == 403  # the role, not the company kind
    assert login(procurement).get("/analytics/sales").status_code == 403
    page = login(admin).get("/dashboard").get_data(as_text=True)
    assert 'href="/analytics/spend"' in page and 'href="/analytics/sales"' in page


def test_anonymous_is_sent_to_sign_in(client):
    resp = client.get("/analytics/spend")
    assert resp.status_code == 302 and "/signin" in resp.headers["Location"]


def test_nav_links(world, login):
    page = login(world.procurement).get("/dashboard").get_data(as_text=True)
    assert 'href="/analytics/spend"' in page and 'href="/analytics/sales"' not in page
    page = login(world.sales_a).get("/dashboard").get_data(as_text=True)
    assert 'href="/analytics/sales"' in page and 'href="/analytics/spend"' not in page


def test_spend_page_charts_numbers_and_text_alternatives(world, login):
    placed(world.buyer, world.supplier_a, world.procurement, lines=[("10", "5.00"), ("3", "100.00")])
    placed(world.buyer, world.supplier_b, world.procurement, when=months_ago(2), lines=[("2", "10.00")])
    placed(world.buyer, world.supplier_b, world.procurement, lines=[("1", "9.00")], currency="USD")
    html = login(world.procurement).get("/analytics/spend").get_data(as_text=True)
    months = svg_of(html, "spend-by-month")
    assert bars(months) == 12
    assert 'role="img"' in months and 'aria-labelledby="spend-by-month-title spend-by-month-desc"' in months
    assert '<title id="spend-by-month-title">Spend by month (EUR), the last 12 months</title>' in months
    assert "<desc" in months and "€350.00" in months  # value label
    assert len(re.findall(r'<line class="tick"', months)) >= 3  # y-axis ticks
    rows = table_rows(html, "table-months")
    assert len(rows) == 12 and "€350.00" in rows[-1] and "€20.00" in rows[-3] and "€0.00" in rows[0]
    parties = svg_of(html, "spend-by-party")
    assert bars(parties) == 2 and "Supplier Alpha GmbH" in parties
    prow = table_rows(html, "table-parties")
    assert len(prow) == 2 and "Supplier Alpha GmbH" in prow[0] and "€350.00" in prow[0] and "95%" in prow[0]
    assert "Supplier Beta SAS" in prow[1] and "€20.00" in prow[1]
    assert bars(svg_of(html, "spend-by-category")) == 1 and len(table_rows(html, "table-categories")) == 1
    others = table_rows(html, "table-others")
    assert len(others) == 1 and "USD" in others[0] and "US$9.00" in others[0]
    assert "€370.00" in html  # total ordered, EUR only
    assert "€379" not in html  # never EUR + USD


def test_sales_page(world, login):
    placed(world.buyer, world.supplier_a, world.procurement, lines=[("4", "25.00")])
    placed(world.buyer, world.supplier_b, world.procurement, lines=[("1", "777.00")])
    html = login(world.sales_a).get("/analytics/sales").get_data(as_text=True)
    assert "Sales by month (EUR)" in html and bars(svg_of(html, "sales-by-month")) == 12
    prow = table_rows(html, "table-parties")
    assert len(prow) == 1 and "Acme Buying GmbH" in prow[0] and "€100.00" in prow[0]
    assert "777" not in html  # supplier B's sale


def test_period_selector(world, login):
    placed(world.buyer, world.supplier_a, world.procurement, lines=[("1", "10.00")])
    c = login(world.procurement)
    for months in (3, 6, 12, 24):
        html = c.get(f"/analytics/spend?months={months}").get_data(as_text=True)
        assert bars(svg_of(html, "spend-by-month")) == months
        assert len(table_rows(html, "table-months")) == months
        assert f'<option value="{months}" selected>' in html and 'data-testid="period-error"' not in html


@pytest.mark.parametrize("bad", ["7", "abc", "0", "-3", "12abc", "9" * 30])
def test_bad_period_shows_message_and_uses_default(world, login, bad):
    placed(world.buyer, world.supplier_a, world.procurement, lines=[("1", "10.00")])
    resp = login(world.procurement).get(f"/analytics/spend?months={bad}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert 'data-testid="period-error"' in html and "The period must be one of 3, 6, 12, 24 months" in html
    assert bars(svg_of(html, "spend-by-month")) == 12


def test_a_nul_byte_in_the_period_is_refused_with_a_sentence(world, login):
    """The request filter (portal/web.py) refuses NUL bytes in any query string before the page runs."""
    resp = login(world.procurement).get("/analytics/spend?months=%00")
    assert resp.status_code == 400
    assert "NUL" in resp.get_data(as_text=True) or "null character" in resp.get_data(as_text=True).lower()


def test_empty_state(world, login):
    placed(world.buyer, world.supplier_a, world.procurement, status="draft")
    html = login(world.procurement).get("/analytics/spend").get_data(as_text=True)
    assert "No placed orders in the last 12 months" in html and "<svg" not in html
    html = login(world.sales_b).get("/analytics/sales?months=3").get_data(as_text=True)
    assert "No placed orders in the last 3 months" in html and "<svg" not in html


def test_only_other_currencies(world, login):
    placed(world.buyer, world.supplier_a, world.procurement, lines=[("1", "10.00")], currency="GBP")
    html = login(world.procurement).get("/analytics/spend").get_data(as_text=True)
    assert 'data-testid="no-default-currency"' in html and "<svg" not in html
    assert "£10.00" in table_rows(html, "table-others")[0]


def test_another_companys_orders_do_not_appear(world, login):
    other = factories.company("buyer", name="Secret Buyer Ltd")
    person = factories.user(other, "procurement")
    placed(other, world.supplier_b, person, lines=[("1", "4242.00")])
    placed(world.buyer, world.supplier_a, world.procurement, lines=[("1", "10.00")])
    invoice(world.supplier_b, other, world.admin_b, gross="5151.00")
    html = login(world.procurement).get("/analytics/spend").get_data(as_text=True)
    assert "4,242" not in html and "Supplier Beta" not in html and "5,151" not in html
    html = login(world.sales_a).get("/analytics/sales").get_data(as_text=True)
    assert "Secret Buyer" not in html and "4,242" not in html and "5,151" not in html


def test_names_are_escaped_in_svg_and_tables(world, login):
    evil = factories.company("supplier", name='<script>alert("x")</script>')
    item = factories.catalog_item(evil)
    item.category = "<img src=x onerror=alert(1)>"
    db.session.commit()
    placed(world.buyer, evil, world.procurement, lines=[("1", "10.00")], items=[item])
    html = login(world.procurement).get("/analytics/spend").get_data(as_text=True)
    assert '<script>alert("x")' not in html and "<img src=x" not in html
    parties = svg_of(html, "spend-by-party")
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in parties
    assert "&lt;img src=x onerror=alert(1)&gt;" in svg_of(html, "spend-by-category")


def test_user_locale_formats_money(world, login):
    world.procurement.locale = "de_DE"
    db.session.commit()
    placed(world.buyer, world.supplier_a, world.procurement, lines=[("1", "1234.50")])
    html = login(world.procurement).get("/analytics/spend").get_data(as_text=True)
    assert "1.234,50\xa0€" in svg_of(html, "spend-by-month") and "1.234,50\xa0€" in html


def test_query_count_does_not_grow_with_data(world, login, count_queries):
    c = login(world.procurement)
    s = login(world.sales_a)
    item = factories.catalog_item(world.supplier_a)
    suppliers = [world.supplier_a, world.supplier_b] + [factories.company("supplier") for _ in range(3)]

    def make(n):
        for i in range(n):
            placed(world.buyer, suppliers[i % len(suppliers)], world.procurement, when=months_ago(i % 12),
                   lines=[("1", "10.00"), ("2", "3.00")], items=[item], currency="USD" if i % 7 == 0 else "EUR")
            invoice(suppliers[i % len(suppliers)], world.buyer, world.procurement, gross="10.00")

    def measure():
        with count_queries() as q1:
            assert c.get("/analytics/spend").status_code == 200
        with count_queries() as q2:
            assert s.get("/analytics/sales").status_code == 200
        return q1.count, q2.count

    make(3)
    small = measure()
    make(37)
    large = measure()
    assert small == large
    html = c.get("/analytics/spend").get_data(as_text=True)
    assert bars(svg_of(html, "spend-by-party")) == 5
