"""Catalog pages: supplier list/edit/prices/import/export, buyer browse, quick order, CSV order, reorder."""
from __future__ import annotations

import io
import re
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from portal.catalog import services
from portal.catalog.models import CatalogBuyerPrice, CatalogItem
from portal.db import db
from portal.orders.models import PurchaseOrder
from tests import factories

HEADER = "sku,name,description,category,unit,pack_size,moq,unit_price,currency,active,price_breaks\n"


def _orders():
    return db.session.scalar(sa.select(sa.func.count()).select_from(PurchaseOrder))


def _items():
    return db.session.scalar(sa.select(sa.func.count()).select_from(CatalogItem))


def form(**kw):
    base = {"sku": "NS-1", "name": "Bolt", "description": "", "category": "Bolts", "unit": "pcs",
            "pack_size": "100", "moq": "500", "unit_price": "0.215", "currency": "EUR", "price_breaks": "",
            "active": "y", "submit": "y"}
    base.update(kw)
    return base


# --------------------------------------------------------------------------------------------- supplier

def test_catalog_list_paginates_50_per_page_in_stable_order(world, login):
    for i in range(60):
        db.session.add(CatalogItem(supplier_company_id=world.supplier_a.id, sku=f"P-{(i * 37) % 60:03d}",
                                   name=f"Item {i}", unit_price=D("1"), currency="EUR", price_breaks=[],
                                   active=i % 7 != 0, category="Even" if i % 2 == 0 else "Odd"))
    db.session.commit()
    c = login(world.sales_a)
    p1 = c.get("/catalog/items").get_data(as_text=True)
    p2 = c.get("/catalog/items?page=2").get_data(as_text=True)
    s1 = re.findall(r'data-sku="(P-\d+)"', p1)
    s2 = re.findall(r'data-sku="(P-\d+)"', p2)
    assert len(s1) == 50 and len(s2) == 10
    assert s1 + s2 == sorted(s1 + s2) and len(set(s1 + s2)) == 60
    inactive = re.findall(r'data-sku="(P-\d+)"', c.get("/catalog/items?status=inactive").get_data(as_text=True))
    assert len(inactive) == 9
    odd = re.findall(r'data-sku="(P-\d+)"', c.get("/catalog/items?category=Odd").get_data(as_text=True))
    assert len(odd) == 30
    found = re.findall(r'data-sku="(P-\d+)"', c.get("/catalog/items?q=p-001").get_data(as_text=True))
    assert found == ["P-001"]
    assert c.get("/catalog/items?page=abc").status_code == 200
    assert c.get("/catalog/").status_code == 200


def test_empty_catalog_shows_empty_state(world, login):
    html = login(world.sales_a).get("/catalog/items").get_data(as_text=True)
    assert "Your catalog is empty" in html


def test_create_edit_and_duplicate_sku_beside_the_field(world, login):
    c = login(world.sales_a)
    r = c.post("/catalog/items/new", data=form())
    assert r.status_code == 302
    r = c.post("/catalog/items/new", data=form(name="Again"))
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "is-invalid" in html
    assert re.search(r'id="sku"[^>]*>\s*<div class="invalid-feedback">Your catalog already has an item with SKU NS-1',
                     html)
    item = db.session.scalar(sa.select(CatalogItem))
    r = c.get(f"/catalog/items/{item.id}/edit")
    assert 'value="0.215"' in r.get_data(as_text=True)
    r = c.post(f"/catalog/items/{item.id}/edit", data=form(unit_price="0.12345"))
    assert "more than 4 decimal places" in r.get_data(as_text=True)
    r = c.post(f"/catalog/items/{item.id}/edit", data=form(pack_size="-5"))
    assert "greater than zero" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(CatalogItem, item.id).unit_price == D("0.215")
    r = c.post(f"/catalog/items/{item.id}/edit", data=form(unit_price="0.3", price_breaks="1000:0.25"))
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(CatalogItem, item.id).price_breaks == [{"min_quantity": "1000", "unit_price": "0.25"}]


def test_other_suppliers_item_ids_are_404(world, login):
    item = factories.catalog_item(world.supplier_a)
    c = login(world.sales_b)
    assert c.get(f"/catalog/items/{item.id}/edit").status_code == 404
    assert c.post(f"/catalog/items/{item.id}/edit", data=form()).status_code == 404
    assert c.post(f"/catalog/items/{item.id}/deactivate").status_code == 404
    assert c.get(f"/catalog/items/{item.id}/prices").status_code == 404
    assert c.post(f"/catalog/items/{item.id}/prices", data={"buyer_company_id": world.buyer.id,
                                                            "unit_price": "1"}).status_code == 404
    db.session.expire_all()
    assert db.session.get(CatalogItem, item.id).active is True


def test_wrong_roles_get_403(world, login):
    factories.catalog_item(world.supplier_a)
    for person in (world.accounts_a, world.procurement):
        c = login(person)
        for url in ("/catalog/items", "/catalog/items/new", "/catalog/import", "/catalog/export.csv"):
            assert c.get(url).status_code == 403, (person.email, url)
    # a supplier cannot use the buyer pages
    c = login(world.sales_a)
    for url in ("/catalog/suppliers", f"/catalog/suppliers/{world.supplier_b.id}",
                f"/catalog/suppliers/{world.supplier_b.id}/quick-order", "/catalog/reorder"):
        assert c.get(url).status_code == 403, url
    assert c.post(f"/catalog/suppliers/{world.supplier_b.id}/quick-order",
                  data={"sku": "X", "qty": "1", "submit": "y"}).status_code == 403
    assert login(world.buyer_accounts).get("/catalog/").status_code == 403


def test_activate_deactivate_buttons(world, login):
    item = factories.catalog_item(world.supplier_a)
    c = login(world.admin_a)
    assert c.post(f"/catalog/items/{item.id}/deactivate").status_code == 302
    db.session.expire_all()
    assert db.session.get(CatalogItem, item.id).active is False
    assert c.post(f"/catalog/items/{item.id}/activate").status_code == 302
    db.session.expire_all()
    assert db.session.get(CatalogItem, item.id).active is True


def test_buyer_prices_page(world, login):
    item = factories.catalog_item(world.supplier_a)
    c = login(world.sales_a)
    html = c.get(f"/catalog/items/{item.id}/prices").get_data(as_text=True)
    assert world.buyer.display_name in html and world.supplier_b.display_name not in html
    r = c.post(f"/catalog/items/{item.id}/prices", data={"buyer_company_id": world.buyer.id, "unit_price": "1.00001",
                                                        "price_breaks": "", "submit": "y"})
    assert "more than 4 decimal places" in r.get_data(as_text=True)
    r = c.post(f"/catalog/items/{item.id}/prices", data={"buyer_company_id": world.buyer.id, "unit_price": "7.77",
                                                        "price_breaks": "100:7.5", "submit": "y"})
    assert r.status_code == 302
    html = c.get(f"/catalog/items/{item.id}/prices").get_data(as_text=True)
    assert "€7.77" in html and "€7.50" in html
    bp = db.session.scalar(sa.select(CatalogBuyerPrice))
    assert c.post(f"/catalog/items/{item.id}/prices/{bp.id}/delete").status_code == 302
    assert db.session.scalar(sa.select(CatalogBuyerPrice)) is None


def test_import_preview_then_apply(world, login):
    c = login(world.sales_a)
    bad = (HEADER + "A,Good,,,pcs,,,1,EUR,yes,\nB,Bad,,,pcs,,0,1.123456,EUR,yes,\n").encode()
    r = c.post("/catalog/import", data={"file": (io.BytesIO(bad), "c.csv"), "submit": "y"},
               content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    assert 'data-testid="import-errors"' in html and "Nothing was imported" in html
    assert "more than 4 decimal places" in html and "Import now" not in html
    assert _items() == 0
    good = (HEADER + "A,Good,,,pcs,,,1,EUR,yes,\nB,Fine,,,pcs,,,2,EUR,no,\n").encode()
    r = c.post("/catalog/import", data={"file": (io.BytesIO(good), "c.csv"), "submit": "y"},
               content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    token = re.search(r'name="token" type="hidden" value="([0-9a-f]{32})"', html).group(1)
    assert _items() == 0
    r = c.post("/catalog/import/apply", data={"token": token, "submit": "y"})
    assert r.status_code == 302 and _items() == 2
    # the staged file is gone; another company cannot use a token
    r = c.post("/catalog/import/apply", data={"token": token, "submit": "y"}, follow_redirects=True)
    assert "preview expired" in r.get_data(as_text=True)
    r = login(world.sales_b).post("/catalog/import/apply", data={"token": "../" + token, "submit": "y"},
                                  follow_redirects=True)
    assert "preview expired" in r.get_data(as_text=True)


@pytest.mark.parametrize("data,fragment", [
    (b"sku;quantity\nA;1\n", "header row is wrong"),
    ("sku,name,unit_price,currency\nA,\xe9t\xe9,1,EUR\n".encode("latin-1"), "not UTF-8"),
    (b"\x00\x01\x02PK\x03\x04" * 50, "binary"),
])
def test_import_bad_files_show_a_sentence(world, login, data, fragment):
    c = login(world.sales_a)
    r = c.post("/catalog/import", data={"file": (io.BytesIO(data), "x.csv"), "submit": "y"},
               content_type="multipart/form-data")
    assert r.status_code == 200 and fragment in r.get_data(as_text=True)
    r = c.post("/catalog/import", data={"submit": "y"}, content_type="multipart/form-data")
    assert "Choose a CSV file" in r.get_data(as_text=True)


def test_import_file_over_the_size_limit(world, login):
    c = login(world.sales_a)
    big = HEADER.encode() + b"A,B,,,pcs,,,1,EUR,yes,\n" * 100_000  # ~2.3 MB > 2 MB
    r = c.post("/catalog/import", data={"file": (io.BytesIO(big), "x.csv"), "submit": "y"},
               content_type="multipart/form-data")
    assert r.status_code == 200 and "too large" in r.get_data(as_text=True)
    assert _items() == 0


def test_export_and_template(world, login):
    factories.catalog_item(world.supplier_a, sku="EX-1", name="=HYPERLINK(\"http://x\")")
    c = login(world.sales_a)
    r = c.get("/catalog/export.csv")
    text = r.get_data(as_text=True)
    assert r.mimetype == "text/csv" and "attachment" in r.headers["Content-Disposition"]
    assert "'=HYPERLINK" in text and text.lstrip("\ufeff").startswith("sku,name,description")
    t = c.get("/catalog/template.csv").get_data(as_text=True)
    assert "price_breaks" in t and "NS-HB-M12-60-88Z" in t


# --------------------------------------------------------------------------------------------- buyer

def test_buyer_browses_active_items_with_own_price_only(world, login, buyer2):
    visible = factories.catalog_item(world.supplier_a, sku="VIS-1", price="1.00",
                                     breaks=[{"min_quantity": "500", "unit_price": "0.95"}])
    factories.catalog_item(world.supplier_a, sku="GONE-1", active=False)
    db.session.add(CatalogBuyerPrice(item_id=visible.id, buyer_company_id=world.buyer.id, unit_price=D("0.7313"),
                                     price_breaks=[{"min_quantity": "1000", "unit_price": "0.6131"}]))
    db.session.commit()
    html = login(world.procurement).get(f"/catalog/suppliers/{world.supplier_a.id}").get_data(as_text=True)
    assert "VIS-1" in html and "GONE-1" not in html
    assert "€0.7313" in html and "€0.6131" in html and "Your price" in html
    assert "€0.95" not in html  # list breaks do not apply to this buyer
    _, other = buyer2
    html = login(other).get(f"/catalog/suppliers/{world.supplier_a.id}").get_data(as_text=True)
    assert "VIS-1" in html, html[html.find("<main"):][:3000]
    assert "€1.00" in html and "€0.95" in html, html[html.find('data-sku="VIS-1"'):][:1500]
    assert "0.7313" not in html and "0.6131" not in html and "Your price" not in html


def test_suppliers_list_and_unknown_supplier(world, login):
    factories.catalog_item(world.supplier_a)
    factories.catalog_item(world.supplier_b, active=False)
    c = login(world.procurement)
    html = c.get("/catalog/suppliers").get_data(as_text=True)
    assert world.supplier_a.display_name in html and world.supplier_b.display_name not in html
    assert c.get("/catalog/").status_code == 302
    assert c.get("/catalog/suppliers/999999").status_code == 404
    assert c.get(f"/catalog/suppliers/{world.buyer.id}").status_code == 404  # a buyer has no catalog


def test_buyer_catalog_page_query_count_is_flat(world, login, count_queries):
    c = login(world.procurement)

    def fill(n, start):
        for i in range(start, start + n):
            it = CatalogItem(supplier_company_id=world.supplier_a.id, sku=f"Q-{i:03d}", name=f"I{i}",
                             unit_price=D("1"), currency="EUR", price_breaks=[])
            db.session.add(it)
            db.session.flush()
            if i % 3 == 0:
                db.session.add(CatalogBuyerPrice(item_id=it.id, buyer_company_id=world.buyer.id,
                                                 unit_price=D("0.5"), price_breaks=[]))
        db.session.commit()

    fill(5, 0)
    url = f"/catalog/suppliers/{world.supplier_a.id}"
    c.get(url)
    with count_queries() as few:
        assert c.get(url).status_code == 200
    fill(75, 5)
    c.get(url)  # same warm-up as above (the commit expired the signed-in user)
    with count_queries() as many:
        html = c.get(url).get_data(as_text=True)
    assert html.count("data-sku=") == 50
    assert many.count == few.count, many.statements


def test_quick_order_page_has_20_rows_and_reports_errors_per_row(world, login):
    factories.catalog_item(world.supplier_a, sku="MOQ-1", moq="500")
    factories.catalog_item(world.supplier_a, sku="PACK-1", pack_size="25")
    c = login(world.procurement)
    url = f"/catalog/suppliers/{world.supplier_a.id}/quick-order"
    html = c.get(url).get_data(as_text=True)
    assert html.count('name="sku"') == 20
    r = c.post(url, data={"sku": ["MOQ-1", "PACK-1", "NOPE", ""], "qty": ["480", "490", "1", ""],
                          "paste": "PACK-1, 0\nPACK-1, abc", "submit": "y"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "Minimum order for SKU MOQ-1 is 500 pcs; you entered 480." in html
    assert "SKU PACK-1 is sold in packs of 25: order 475 or 500." in html
    assert "SKU NOPE is not in this supplier&#39;s catalog." in html
    assert "Row 4: The quantity for SKU PACK-1 must be greater than zero" in html
    assert "Row 5: The quantity for SKU PACK-1 must be a number" in html
    assert 'value="MOQ-1"' in html and 'value="480"' in html  # input kept
    assert _orders() == 0


def test_quick_order_mixed_currency(world, login):
    factories.catalog_item(world.supplier_a, sku="E-1")
    factories.catalog_item(world.supplier_a, sku="U-1", currency="USD")
    r = login(world.procurement).post(f"/catalog/suppliers/{world.supplier_a.id}/quick-order",
                                      data={"sku": ["E-1", "U-1"], "qty": ["1", "1"], "submit": "y"})
    assert "an order has one currency" in r.get_data(as_text=True)
    assert _orders() == 0


def test_paste_300_lines_add_rows_then_order(world, login, fake_orders):
    for i in range(30):
        factories.catalog_item(world.supplier_a, sku=f"P-{i:02d}", pack_size="10", moq="20")
    paste = "\n".join(f"P-{i % 30:02d}, {20 + 10 * (i % 3)}" for i in range(300))
    c = login(world.procurement)
    url = f"/catalog/suppliers/{world.supplier_a.id}/quick-order"
    r = c.post(url, data={"paste": paste, "add_rows": "y"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and html.count('name="sku"') == 305 and "300 line(s)" in html
    assert not fake_orders
    r = c.post(url, data={"paste": paste, "submit": "y"})
    assert r.status_code == 302
    call = fake_orders[0]
    # 300 rows naming 30 SKUs ten times each: one line per SKU on its total quantity
    assert len(call["lines"]) == 30 and call["source"] == "catalog" and call["supplier_id"] == world.supplier_a.id
    assert r.headers["Location"].endswith("/orders/4242") or "/catalog/suppliers/" in r.headers["Location"]


def test_quick_order_refuses_more_than_the_form_limit(world, login):
    factories.catalog_item(world.supplier_a, sku="A")
    paste = "\n".join("A, 1" for _ in range(services.MAX_QUICK_ROWS + 1))
    r = login(world.procurement).post(f"/catalog/suppliers/{world.supplier_a.id}/quick-order",
                                      data={"paste": paste, "submit": "y"})
    assert r.status_code == 422 and "Upload them as a CSV" in r.get_data(as_text=True)


def test_csv_order_upload(world, login, fake_orders):
    factories.catalog_item(world.supplier_a, sku="C-1", pack_size="25", price="2.00",
                           breaks=[{"min_quantity": "100", "unit_price": "1.50"}])
    c = login(world.procurement)
    url = f"/catalog/suppliers/{world.supplier_a.id}/order-csv"
    bad = b"sku,quantity\nC-1,30\nX-9,5\nC-1,-25\n"
    r = c.post(url, data={"file": (io.BytesIO(bad), "o.csv"), "submit": "y"}, content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "Row 2: SKU C-1 is sold in packs of 25: order 25 or 50." in html
    assert "Row 3: SKU X-9 is not in this supplier" in html
    assert "Row 4: The quantity for SKU C-1 must be greater than zero" in html
    assert not fake_orders
    for data, fragment in [(b"sku,qty\nC-1,25\n", "header row is wrong"),
                           ("sku,quantity\nC-\xe9,25\n".encode("latin-1"), "not UTF-8"),
                           (b"\x00\x00binary" * 10, "binary"),
                           (b"sku,quantity\n" + b"C-1,25\n" * 400_000, "too large"),
                           (b"sku,quantity\nC-1,25,9\n", "malformed")]:
        r = c.post(url, data={"file": (io.BytesIO(data), "o.csv"), "submit": "y"},
                   content_type="multipart/form-data")
        assert r.status_code == 422 and fragment in r.get_data(as_text=True), fragment
    good = "sku,quantity\n" + "C-1,100\n" * 400
    r = c.post(url, data={"file": (io.BytesIO(good.encode()), "o.csv"), "submit": "y"},
               content_type="multipart/form-data")
    assert r.status_code == 302
    lines = fake_orders[0]["lines"]
    assert len(lines) == 1 and lines[0]["quantity"] == D("40000") and lines[0]["unit_price"] == D("1.50")


def test_quick_order_for_unknown_supplier_is_404(world, login):
    assert login(world.procurement).get("/catalog/suppliers/999999/quick-order").status_code == 404
