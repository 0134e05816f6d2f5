"""The supplier's catalog through the API: items, buyer prices, the CSV export and the CSV import (upload ->
preview with per-row problems -> apply), with the page's rules; another supplier's item is 404; bad input is a
sentence and saves nothing."""
from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.catalog.models import CatalogBuyerPrice, CatalogItem
from portal.db import db
from tests import factories
from tests.api.doc_helpers import count, problem


@pytest.fixture
def h(world, token_for):
    return {"sales_a": token_for(world.sales_a), "sales_b": token_for(world.sales_b),
            "admin_a": token_for(world.admin_a), "accounts_a": token_for(world.accounts_a),
            "buyer": token_for(world.procurement)}


ITEM = {"sku": "NS-HB-M12", "name": "Hex bolt M12", "category": "Bolts", "unit": "pcs", "pack_size": "100",
        "moq": "500", "unit_price": {"amount": "0.2150", "currency": "EUR"},
        "price_breaks": [{"min_quantity": "5000", "unit_price": {"amount": "0.17", "currency": "EUR"}},
                         {"min_quantity": "1000", "unit_price": {"amount": "0.19", "currency": "EUR"}}]}


def test_create_read_change_and_list_own_items(client, world, h):
    resp = client.post("/api/v1/catalog/items", headers=h["sales_a"], json=ITEM)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    item = resp.get_json()
    assert resp.headers["Location"] == f"/api/v1/catalog/items/{item['id']}"
    assert item["unit_price"] == {"amount": "0.215", "currency": "EUR"}
    assert item["pack_size"] == "100" and item["moq"] == "500" and item["active"] is True
    assert item["price_breaks"] == [{"min_quantity": "1000", "unit_price": {"amount": "0.19", "currency": "EUR"}},
                                    {"min_quantity": "5000", "unit_price": {"amount": "0.17", "currency": "EUR"}}]
    assert client.get(resp.headers["Location"], headers=h["admin_a"]).get_json() == item
    changed = client.patch(f"/api/v1/catalog/items/{item['id']}", headers=h["sales_a"],
                           json={"active": False, "moq": None, "unit_price": {"amount": "0.20", "currency": "EUR"}})
    assert changed.status_code == 200, changed.get_data(as_text=True)
    body = changed.get_json()
    assert body["active"] is False and body["moq"] is None and body["unit_price"]["amount"] == "0.20"
    assert body["name"] == "Hex bolt M12" and len(body["price_breaks"]) == 2  # untouched fields stay
    factories.catalog_item(world.supplier_a, sku="OTHER-1")
    factories.catalog_item(world.supplier_b, sku="BETA-1")
    page = client.get("/api/v1/catalog/items", headers=h["sales_a"]).get_json()
    assert [i["sku"] for i in page["items"]] == ["NS-HB-M12", "OTHER-1"] and page["total"] == 2
    assert [i["sku"] for i in client.get("/api/v1/catalog/items?active=false", headers=h["sales_a"])
            .get_json()["items"]] == ["NS-HB-M12"]
    assert [i["sku"] for i in client.get("/api/v1/catalog/items?reference=ns-hb", headers=h["sales_a"])
            .get_json()["items"]] == ["NS-HB-M12"]
    first = client.get("/api/v1/catalog/items?per_page=1", headers=h["sales_a"]).get_json()
    assert first["has_more"] is True
    after = client.get(f"/api/v1/catalog/items?per_page=1&starting_after={first['items'][0]['id']}",
                       headers=h["sales_a"]).get_json()
    assert [i["sku"] for i in after["items"]] == ["OTHER-1"] and after["has_more"] is False


def test_another_suppliers_item_is_404_and_buyers_and_accounts_may_not_edit(client, world, h):
    mine = factories.catalog_item(world.supplier_a, sku="A-1")
    for verb, kwargs in (("get", {}), ("patch", {"json": {"name": "Mine now"}}),
                         ("get", {"path": "/buyer-prices"})):
        path = kwargs.pop("path", "")
        problem(getattr(client, verb)(f"/api/v1/catalog/items/{mine.id}{path}", headers=h["sales_b"], **kwargs), 404)
    problem(client.put(f"/api/v1/catalog/items/{mine.id}/buyer-prices/{world.buyer.id}", headers=h["sales_b"],
                       json={"unit_price": {"amount": "1.00", "currency": "EUR"}}), 404)
    problem(client.get("/api/v1/catalog/items", headers=h["buyer"]), 403)
    problem(client.post("/api/v1/catalog/items", headers=h["accounts_a"], json=ITEM), 403)
    assert db.session.get(CatalogItem, mine.id).name != "Mine now"


@pytest.mark.parametrize("change, field, words", [
    ({"sku": "HAS SPACE"}, "sku", "contains spaces"),
    ({"moq": "0"}, "moq", "greater than zero"),
    ({"unit_price": {"amount": "-1.00", "currency": "EUR"}}, "unit_price", "cannot be negative"),
    ({"unit_price": {"amount": "1.00", "currency": "XYZ"}}, "currency", "is not a currency we know"),
    ({"price_breaks": [{"min_quantity": "10", "unit_price": {"amount": "1", "currency": "EUR"}},
                       {"min_quantity": "10", "unit_price": {"amount": "2", "currency": "EUR"}}]},
     "price_breaks", "appears twice"),
])
def test_bad_items_get_a_sentence_and_nothing_is_saved(client, h, change, field, words):
    body = problem(client.post("/api/v1/catalog/items", headers=h["sales_a"], json={**ITEM, **change}), 422)
    assert words in body["errors"][field] and words in body["detail"]
    assert count(CatalogItem) == 0


def test_schema_refusals_and_duplicate_skus(client, world, h):
    problem(client.post("/api/v1/catalog/items", headers=h["sales_a"], json={**ITEM, "moq": 5}), 422)
    problem(client.post("/api/v1/catalog/items", headers=h["sales_a"], json={**ITEM, "colour": "red"}), 422)
    factories.catalog_item(world.supplier_a, sku="NS-HB-M12")
    body = problem(client.post("/api/v1/catalog/items", headers=h["sales_a"], json=ITEM), 422)
    assert "already has an item with SKU NS-HB-M12" in body["errors"]["sku"]
    assert count(CatalogItem) == 1
    # another supplier may use the same SKU
    assert client.post("/api/v1/catalog/items", headers=h["sales_b"], json=ITEM).status_code == 201


def test_buyer_prices_set_replace_list_and_remove(client, world, h, token_for):
    item = factories.catalog_item(world.supplier_a, sku="A-1", price="10.00")
    url = f"/api/v1/catalog/items/{item.id}/buyer-prices"
    resp = client.put(f"{url}/{world.buyer.id}", headers=h["sales_a"], json={
        "unit_price": {"amount": "9.50", "currency": "EUR"},
        "price_breaks": [{"min_quantity": "100", "unit_price": {"amount": "9.00", "currency": "EUR"}}]})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    price = resp.get_json()
    assert price["buyer_company_id"] == world.buyer.id and price["unit_price"]["amount"] == "9.50"
    again = client.put(f"{url}/{world.buyer.id}", headers=h["sales_a"],
                       json={"unit_price": {"amount": "9.25", "currency": "EUR"}}).get_json()
    assert again["id"] == price["id"] and again["price_breaks"] == []
    assert [p["unit_price"]["amount"] for p in client.get(url, headers=h["sales_a"]).get_json()["items"]] == ["9.25"]
    # the buyer sees its own price in the catalog
    seen = client.get(f"/api/v1/catalog?supplier_company_id={world.supplier_a.id}", headers=h["buyer"]).get_json()
    assert seen["items"][0]["unit_price"]["amount"] == "9.25" and seen["items"][0]["special_price"] is True
    # refusals: another currency, a supplier as "buyer", nothing saved
    body = problem(client.put(f"{url}/{world.buyer.id}", headers=h["sales_a"],
                              json={"unit_price": {"amount": "9.00", "currency": "USD"}}), 422)
    assert "priced in EUR" in body["detail"]
    problem(client.put(f"{url}/{world.supplier_b.id}", headers=h["sales_a"],
                       json={"unit_price": {"amount": "9.00", "currency": "EUR"}}), 422)
    assert count(CatalogBuyerPrice) == 1
    assert client.delete(f"{url}/{world.buyer.id}", headers=h["sales_a"]).status_code == 204
    problem(client.delete(f"{url}/{world.buyer.id}", headers=h["sales_a"]), 404)
    assert count(CatalogBuyerPrice) == 0


def _upload(client, headers, text: str, name="catalog.csv"):
    return client.post("/api/v1/catalog/imports", headers=headers,
                       data={"file": (io.BytesIO(text.encode("utf-8")), name)}, content_type="multipart/form-data")


GOOD = ("sku,name,unit_price,currency,moq,price_breaks\n"
        "A-1,Bolt,0.50,EUR,100,1000:0.45\n"
        "A-2,Nut,0.10,EUR,,\n")


def test_csv_import_preview_then_apply(client, world, h):
    factories.catalog_item(world.supplier_a, sku="A-1", price="0.40")
    resp = _upload(client, h["sales_a"], GOOD)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    prev = resp.get_json()
    assert prev["ok"] is True and prev["creates"] == 1 and prev["updates"] == 1 and prev["errors"] == []
    assert [(r["row"], r["sku"], r["action"]) for r in prev["rows"]] == [(2, "A-1", "update"), (3, "A-2", "create")]
    assert resp.headers["Location"] == f"/api/v1/catalog/imports/{prev['token']}"
    assert client.get(resp.headers["Location"], headers=h["sales_a"]).get_json()["creates"] == 1
    assert count(CatalogItem) == 1  # nothing changed yet
    # another supplier cannot see or apply this upload
    problem(client.post(f"{resp.headers['Location']}/apply", headers=h["sales_b"]), 404)
    done = client.post(f"{resp.headers['Location']}/apply", headers=h["sales_a"])
    assert done.status_code == 200, done.get_data(as_text=True)
    assert done.get_json() == {"created": 1, "updated": 1, "total": 2}
    items = {i.sku: i for i in db.session.scalars(sa.select(CatalogItem))}
    assert items["A-1"].unit_price == Decimal("0.50") and items["A-1"].moq == Decimal("100")
    assert items["A-2"].supplier_company_id == world.supplier_a.id
    # applied once: the token is gone
    problem(client.post(f"{resp.headers['Location']}/apply", headers=h["sales_a"]), 404)
    problem(client.get("/api/v1/catalog/imports/" + "0" * 32, headers=h["sales_a"]), 404)


def test_csv_import_with_problems_lists_every_row_and_keeps_nothing(client, world, h):
    text = ("sku,name,unit_price,currency\n"
            "A-1,Bolt,abc,EUR\n"
            "A-2,,0.10,XYZ\n"
            "A-3,Washer,0.05,EUR\n"
            "A-3,Washer again,0.05,EUR\n")
    resp = _upload(client, h["sales_a"], text)
    assert resp.status_code == 200 and "Location" not in resp.headers
    prev = resp.get_json()
    assert prev["ok"] is False and prev["token"] is None
    assert {(e["row"], e["column"]) for e in prev["errors"]} == {(2, "unit_price"), (3, "name"), (3, "currency"),
                                                                 (5, "sku")}
    assert count(CatalogItem) == 0
    problem(_upload(client, h["sales_a"], ""), 422)
    body = problem(client.post("/api/v1/catalog/imports", headers=h["sales_a"], content_type="multipart/form-data",
                               data={"file": (io.BytesIO(b"\xff\xfe\x00s\x00k\x00u"), "utf16.csv")}), 422)
    assert "UTF-8" in body["detail"] or "binary" in body["detail"]
    problem(client.post("/api/v1/catalog/imports", headers={**h["sales_a"], "Content-Type": "text/csv"},
                        data=GOOD), 415)
    problem(_upload(client, h["buyer"], GOOD), 403)


def test_csv_export_and_template(client, world, h):
    factories.catalog_item(world.supplier_a, sku="=CMD", price="1.25")
    resp = client.get("/api/v1/catalog/export", headers=h["sales_a"])
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:2] == ["sku", "name"] and rows[1][0] == "'=CMD"  # a formula is neutralised
    problem(client.get("/api/v1/catalog/export", headers=h["buyer"]), 403)
    tpl = client.get("/api/v1/catalog/template", headers=h["buyer"])
    assert tpl.status_code == 200 and "price_breaks" in tpl.get_data(as_text=True)


def test_listing_the_catalog_costs_the_same_statements_for_5_or_100_items(client, world, h, count_queries):
    def statements(n_items: int) -> int:
        for i in range(n_items - count(CatalogItem)):
            factories.catalog_item(world.supplier_a, breaks=[{"min_quantity": "10", "unit_price": "1"}])
        client.get("/api/v1/catalog/items?per_page=1", headers=h["sales_a"])  # the token's first use is recorded
        with count_queries() as q:
            page = client.get("/api/v1/catalog/items?per_page=100", headers=h["sales_a"]).get_json()
        assert len(page["items"]) == n_items
        return q.count

    few, many = statements(5), statements(100)
    assert few == many <= 5, (few, many)


def test_a_price_break_in_another_currency_is_refused_and_nothing_saved(client, world, h):
    from portal.catalog.models import CatalogItem

    resp = client.post("/api/v1/catalog/items", headers=h["sales_a"], json={
        "sku": "CUR-1", "name": "Washer", "unit": "pcs", "unit_price": {"amount": "1.00", "currency": "EUR"},
        "price_breaks": [{"min_quantity": "100", "unit_price": {"amount": "0.90", "currency": "USD"}}]})
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert "in USD but this document is in EUR" in resp.get_json()["detail"]
    assert resp.get_json()["errors"] == {"price_breaks.0.unit_price.currency": "Must be EUR."}
    assert CatalogItem.query.filter_by(sku="CUR-1").count() == 0
