"""Catalog CRUD, buyer prices, CSV import/export rules and bad input."""
from __future__ import annotations

from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from portal.catalog import csvio, services
from portal.catalog.models import CatalogBuyerPrice, CatalogItem
from portal.db import db
from portal.errors import Forbidden, NotFound, ValidationFailed
from tests import factories

HEADER = "sku,name,description,category,unit,pack_size,moq,unit_price,currency,active,price_breaks\n"


def fields(**kw):
    base = {"sku": "NS-1", "name": "Bolt", "description": "", "category": "Bolts", "unit": "pcs",
            "pack_size": "100", "moq": "500", "unit_price": "0.2150", "currency": "EUR",
            "price_breaks": "1000:0.20;5000:0.18", "active": True}
    base.update(kw)
    return base


def n_items():
    return db.session.scalar(sa.select(sa.func.count()).select_from(CatalogItem))


# --------------------------------------------------------------------------------------------- CRUD

def test_create_item_parses_everything(world):
    item = services.create_item(world.sales_a, fields())
    assert (item.sku, item.pack_size, item.moq, item.unit_price, item.currency) == (
        "NS-1", D("100"), D("500"), D("0.2150"), "EUR")
    assert item.price_breaks == [{"min_quantity": "1000", "unit_price": "0.2"},
                                 {"min_quantity": "5000", "unit_price": "0.18"}]
    assert item.supplier_company_id == world.supplier_a.id


def test_duplicate_sku_on_create_is_a_message_beside_the_field(world):
    services.create_item(world.sales_a, fields())
    with pytest.raises(ValidationFailed) as ei:
        services.create_item(world.admin_a, fields(sku="ns-1", name="Other"))
    assert "already has an item with SKU ns-1" in ei.value.errors["sku"]
    assert n_items() == 1
    # another supplier may use the same SKU
    services.create_item(world.sales_b, fields())
    assert n_items() == 2


def test_duplicate_sku_on_rename(world):
    services.create_item(world.sales_a, fields(sku="A"))
    b = services.create_item(world.sales_a, fields(sku="B"))
    with pytest.raises(ValidationFailed) as ei:
        services.update_item(world.sales_a, b.id, fields(sku="A"))
    assert "sku" in ei.value.errors


@pytest.mark.parametrize("field,value,fragment", [
    ("unit_price", "1.12345", "more than 4 decimal places"),
    ("unit_price", "-1", "cannot be negative"),
    ("unit_price", "abc", "must be a number"),
    ("unit_price", "", "required"),
    ("pack_size", "-5", "greater than zero"),
    ("pack_size", "0", "greater than zero"),
    ("moq", "0", "Leave it empty for no minimum"),
    ("currency", "XYZ", "not a currency we know"),
    ("price_breaks", "500-0.9", "quantity:price"),
    ("price_breaks", "500:0.9;500:0.8", "appears twice"),
    ("price_breaks", "500:-1", "cannot be negative"),
    ("price_breaks", "0:1", "greater than zero"),
    ("sku", "", "SKU is required"),
    ("sku", "A B", "contains spaces"),
    ("sku", "X" * 65, "too long"),
    ("name", "", "name is required"),
])
def test_bad_item_fields_are_refused_with_a_sentence(world, field, value, fragment):
    with pytest.raises(ValidationFailed) as ei:
        services.create_item(world.sales_a, fields(**{field: value}))
    assert fragment in ei.value.errors[field]
    assert n_items() == 0


def test_only_sales_or_admin_of_a_supplier_edit(world):
    for person in (world.accounts_a, world.procurement, world.buyer_admin):
        with pytest.raises(Forbidden):
            services.create_item(person, fields())
    assert n_items() == 0


def test_another_suppliers_item_is_not_found(world):
    item = factories.catalog_item(world.supplier_a)
    with pytest.raises(NotFound):
        services.update_item(world.sales_b, item.id, fields())
    with pytest.raises(NotFound):
        services.set_active(world.sales_b, item.id, False)
    with pytest.raises(NotFound):
        services.set_buyer_price(world.sales_b, item.id, world.buyer.id, "1")
    assert db.session.get(CatalogItem, item.id).active is True


def test_activate_deactivate(world):
    item = factories.catalog_item(world.supplier_a)
    services.set_active(world.sales_a, item.id, False)
    assert db.session.get(CatalogItem, item.id).active is False
    services.set_active(world.sales_a, item.id, True)
    assert db.session.get(CatalogItem, item.id).active is True


# --------------------------------------------------------------------------------------------- buyer prices

def test_buyer_price_set_replace_delete(world):
    item = factories.catalog_item(world.supplier_a)
    bp = services.set_buyer_price(world.sales_a, item.id, str(world.buyer.id), "0.9", "500:0.85")
    assert bp.price_breaks == [{"min_quantity": "500", "unit_price": "0.85"}]
    services.set_buyer_price(world.sales_a, item.id, world.buyer.id, "0.8", "")
    rows = db.session.scalars(sa.select(CatalogBuyerPrice)).all()
    assert len(rows) == 1 and rows[0].unit_price == D("0.8") and rows[0].price_breaks == []
    services.delete_buyer_price(world.sales_a, item.id, rows[0].id)
    assert db.session.scalars(sa.select(CatalogBuyerPrice)).all() == []


@pytest.mark.parametrize("buyer,price,breaks,field", [
    ("supplier_b", "1", "", "buyer_company_id"),
    ("nobody", "1", "", "buyer_company_id"),
    ("buyer", "1.00001", "", "unit_price"),
    ("buyer", "", "", "unit_price"),
    ("buyer", "1", "x", "price_breaks"),
])
def test_bad_buyer_price_input(world, buyer, price, breaks, field):
    item = factories.catalog_item(world.supplier_a)
    buyer_id = {"supplier_b": world.supplier_b.id, "nobody": "999999", "buyer": world.buyer.id}[buyer]
    with pytest.raises(ValidationFailed) as ei:
        services.set_buyer_price(world.sales_a, item.id, buyer_id, price, breaks)
    assert field in ei.value.errors
    assert db.session.scalars(sa.select(CatalogBuyerPrice)).all() == []


def test_delete_other_items_buyer_price_is_not_found(world):
    a = factories.catalog_item(world.supplier_a)
    b = factories.catalog_item(world.supplier_a)
    bp = services.set_buyer_price(world.sales_a, a.id, world.buyer.id, "1")
    with pytest.raises(NotFound):
        services.delete_buyer_price(world.sales_a, b.id, bp.id)


# --------------------------------------------------------------------------------------------- import

def test_import_upserts_by_sku_in_one_go(world):
    factories.catalog_item(world.supplier_a, sku="EXIST", price="5.00", name="Old name")
    data = (HEADER + "EXIST,New name,,Bolts,pcs,100,500,4.50,EUR,yes,1000:4.2\n"
            "NEW-1,Nut,Hex nut,Nuts,pcs,200,,0.05,eur,no,\n").encode()
    prev = services.preview_import(world.sales_a, data)
    assert prev.ok and (prev.creates, prev.updates) == (1, 1)
    assert n_items() == 1  # a preview saves nothing
    services.apply_import(world.sales_a, data)
    items = {i.sku: i for i in db.session.scalars(sa.select(CatalogItem))}
    assert items["EXIST"].name == "New name" and items["EXIST"].unit_price == D("4.5")
    assert items["EXIST"].price_breaks == [{"min_quantity": "1000", "unit_price": "4.2"}]
    assert items["NEW-1"].currency == "EUR" and items["NEW-1"].active is False and items["NEW-1"].moq is None


def test_import_preview_lists_every_bad_row_and_column(world):
    data = (HEADER +
            "A-1,Good,,,pcs,,,1.00,EUR,yes,\n"               # row 2 fine
            "A-2,Bad decimal,,,pcs,,,1.2.3,EUR,yes,\n"        # row 3
            "A-3,Negative,,,pcs,,,-4,EUR,yes,\n"              # row 4
            "A-4,Moq zero,,,pcs,,0,1,EUR,yes,\n"              # row 5
            "A-5,Currency,,,pcs,,,1,EURO,yes,\n"              # row 6
            "A-1,Duplicate,,,pcs,,,1,EUR,yes,\n"              # row 7
            "A-6,Five decimals,,,pcs,,,1.12345,EUR,yes,\n"    # row 8
            "A-7,Neg pack,,,pcs,-10,,1,EUR,yes,\n"            # row 9
            "A-8,Breaks,,,pcs,,,1,EUR,maybe,500;0.9\n"        # row 10: two problems
            "=cmd|'/Ccalc'!A0,=HYPERLINK(\"http://x\"),@SUM(1),+1,pcs,,,1,EUR,yes,\n"  # row 11: fine
            ).encode()
    prev = services.preview_import(world.sales_a, data)
    got = {(e.row, e.column) for e in prev.errors}
    assert got == {(3, "unit_price"), (4, "unit_price"), (5, "moq"), (6, "currency"), (7, "sku"),
                   (8, "unit_price"), (9, "pack_size"), (10, "active"), (10, "price_breaks")}
    msgs = {(e.row, e.column): e.message for e in prev.errors}
    assert "must be a number" in msgs[(3, "unit_price")]
    assert "cannot be negative" in msgs[(4, "unit_price")]
    assert "greater than zero" in msgs[(5, "moq")]
    assert "EURO" in msgs[(6, "currency")]
    assert "appears twice in the file (first on row 2)" in msgs[(7, "sku")]
    assert "more than 4 decimal places" in msgs[(8, "unit_price")]
    assert str(prev.errors[0]).startswith("Row 3, column “unit_price”: ")
    with pytest.raises(ValidationFailed, match="nothing was imported"):
        services.apply_import(world.sales_a, data)
    assert n_items() == 0  # nothing partial


def test_formula_looking_cells_are_plain_text_and_export_neutralises_them(world):
    data = (HEADER + "F-1,=HYPERLINK(\"http://evil\"),@SUM(A1),+cat,pcs,,,1,EUR,yes,\n").encode()
    services.apply_import(world.sales_a, data)
    item = db.session.scalar(sa.select(CatalogItem))
    assert item.name == '=HYPERLINK("http://evil")' and item.description == "@SUM(A1)"
    text = services.export_csv(world.sales_a)
    assert "'=HYPERLINK" in text and "'@SUM(A1)" in text and "'+cat" in text
    # the export re-imports unchanged (the neutralising apostrophe is removed again)
    services.apply_import(world.sales_a, text.encode())
    db.session.expire_all()
    item = db.session.scalar(sa.select(CatalogItem))
    assert item.name == '=HYPERLINK("http://evil")' and item.category == "+cat"


def test_export_roundtrip_keeps_values(world):
    factories.catalog_item(world.supplier_a, sku="R-1", price="0.2150", moq="500", pack_size="100",
                           breaks=[{"min_quantity": "1000", "unit_price": "0.2"}])
    factories.catalog_item(world.supplier_b, sku="B-ONLY")
    text = services.export_csv(world.sales_a)
    assert "B-ONLY" not in text
    assert "R-1,Item" in text and ",100,500,0.215,EUR,yes,1000:0.2" in text
    prev = services.preview_import(world.sales_a, text.encode())
    assert prev.ok and prev.updates == 1 and prev.creates == 0


@pytest.mark.parametrize("data,fragment", [
    (b"sku,title,price\nA,B,1\n", "header row is wrong"),
    ("sku,name,unit_price,currency\nA,Stra\u00dfe,1,EUR\n".encode("latin-1"), "not UTF-8"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
    (HEADER.encode() + b"A,B,,,pcs,,,1,EUR,yes,\n" * 150_000, "too large"),
    (b"", "empty"),
    (HEADER.encode(), "no rows"),
])
def test_bad_import_files_are_refused_with_a_sentence(world, data, fragment):
    with pytest.raises(ValidationFailed) as ei:
        services.preview_import(world.sales_a, data)
    assert fragment in ei.value.message
    assert n_items() == 0


def test_import_of_2000_rows_uses_constant_queries(world, count_queries):
    for i in range(0, 2000, 2):  # half of the SKUs exist already
        db.session.add(CatalogItem(supplier_company_id=world.supplier_a.id, sku=f"BULK-{i:05d}", name="old",
                                   unit_price=D("1"), currency="EUR", price_breaks=[]))
    db.session.commit()
    lines = [HEADER.strip()] + [f"BULK-{i:05d},Item {i},,Cat,pcs,10,20,{i % 97}.25,EUR,yes,100:0.9"
                                for i in range(2000)]
    data = ("\n".join(lines) + "\n").encode()
    actor = world.sales_a
    _ = actor.company_id, actor.roles, actor.company.kind
    with count_queries() as q:
        prev = services.apply_import(actor, data)
    assert (prev.creates, prev.updates) == (1000, 1000)
    selects = [s for s in q.statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) <= 2, selects[:5]
    assert n_items() == 2000
    assert db.session.scalar(sa.select(CatalogItem.name).where(CatalogItem.sku == "BULK-00010")) == "Item 10"


def test_csv_helpers():
    assert csvio.parse_breaks(" 1000:0.90 ; 500:0.95 ") == [{"min_quantity": "500", "unit_price": "0.95"},
                                                           {"min_quantity": "1000", "unit_price": "0.9"}]
    assert csvio.fmt_decimal(D("100.0000")) == "100" and csvio.fmt_decimal(D("0.9500")) == "0.95"
    assert csvio.parse_paste("sku,quantity\nA, 10\n\nB;5\nC\t7\nD 8\n") == [
        ("A", "10", 1), ("B", "5", 2), ("C", "7", 3), ("D", "8", 4)]
    assert "SKU" in csvio.template_csv().upper()
