"""The supplier's own catalog over the API (issue 15, part 2): items (list, create, read, change, activate or
deactivate), buyer-specific prices, the CSV export and template, and the CSV import (upload -> preview with every
row's problems -> apply), through the services the catalog pages use (portal/catalog/services.py).

Buyers read a supplier's active catalog at their own prices with GET /catalog (Ordering)."""
from __future__ import annotations

import re

import sqlalchemy as sa
from flask import Response
from marshmallow import Schema, fields, validate

from portal.api.common import CursorArgs, ListPlan, actor, created, list_documents, make_blueprint, paged_schema, \
    problems
from portal.api.documents_api import UploadIn, binary_doc, multipart, unit_money
from portal.api.schemas import MoneyAmount, amount_in, versioned_money
from portal.api.schemas import DecimalString, MoneyOut, plain, ts
from portal.api.ordering import CatalogItemOut
from portal.api.sourcing import PriceBreakIn, PriceBreakOut
from portal.catalog import csvio
from portal.catalog import services as catalog_services
from portal.catalog.models import CatalogBuyerPrice, CatalogItem
from portal.db import db
from portal.errors import NotFound, ValidationFailed
from portal.i18n import _l
from portal.errors import say

bp = make_blueprint("api_catalog", "The supplier's own catalog: items, buyer prices, CSV export and import.",
                    tag="Catalog")

MAX_ID = 2**31 - 1


# --------------------------------------------------------------------------------------------- schemas

class SupplierItemQuery(CursorArgs):
    q = fields.String(load_default=None, validate=validate.Length(min=1, max=100), metadata={
        "description": "Text in the SKU, name or description."})
    category = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    active = fields.Boolean(load_default=None, metadata={"description": "Only active (true) or inactive (false)."})
    reference = fields.String(load_default=None, validate=validate.Length(min=1, max=64), metadata={
        "description": "A SKU or its beginning (case-insensitive)."})


class SupplierItemFields(Schema):
    name = fields.String(validate=validate.Length(min=1, max=csvio.MAX_LEN["name"]))
    description = fields.String(validate=validate.Length(max=csvio.MAX_LEN["description"]))
    category = fields.String(validate=validate.Length(max=csvio.MAX_LEN["category"]))
    unit = fields.String(validate=validate.Length(max=csvio.MAX_LEN["unit"]), metadata={"example": "pcs"})
    pack_size = DecimalString(allow_none=True, metadata={"description": "Sold in packs of this quantity."})
    moq = DecimalString(allow_none=True, metadata={"description": "Minimum order quantity."})
    unit_price = fields.Nested(MoneyOut, metadata={"description": "The list price (the currency is the item's)."})
    price_breaks = fields.List(fields.Nested(PriceBreakIn), validate=validate.Length(max=csvio.MAX_BREAKS))
    active = fields.Boolean(metadata={"description": "Buyers see and order active items only."})


class SupplierItemIn(SupplierItemFields):
    sku = fields.String(required=True, validate=validate.Length(min=1, max=csvio.MAX_LEN["sku"]))
    name = fields.String(required=True, validate=validate.Length(min=1, max=csvio.MAX_LEN["name"]))
    unit_price = fields.Nested(MoneyOut, required=True, metadata={"description": "The list price and currency."})


class SupplierItemPatch(SupplierItemFields):
    sku = fields.String(validate=validate.Length(min=1, max=csvio.MAX_LEN["sku"]))


class SupplierItemOut(CatalogItemOut):
    """An item as its supplier sees it: the buyer's catalog item (GET /catalog) without the buyer's special price,
    with its state and timestamps."""

    active = fields.Boolean()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()

    class Meta:
        exclude = ("special_price",)


class BuyerPriceIn(Schema):
    unit_price = fields.Nested(MoneyOut, required=True, metadata={
        "description": "This buyer's price, in the item's currency; it replaces the list price and its breaks."})
    price_breaks = fields.List(fields.Nested(PriceBreakIn), load_default=list,
                               validate=validate.Length(max=csvio.MAX_BREAKS))


class BuyerPriceOut(Schema):
    id = fields.Integer()
    item_id = fields.Integer()
    buyer_company_id = fields.Integer()
    buyer_name = fields.String()
    unit_price = fields.Nested(MoneyOut)
    price_breaks = fields.List(fields.Nested(PriceBreakOut))


class BuyerPriceList(Schema):
    items = fields.List(fields.Nested(BuyerPriceOut))


class ImportRowError(Schema):
    row = fields.Integer(metadata={"description": "The row as a spreadsheet numbers it (the header is row 1)."})
    column = fields.String(metadata={"description": "Empty when the whole row is wrong."})
    message = fields.String()


class ImportRowOut(Schema):
    row = fields.Integer()
    sku = fields.String()
    name = fields.String()
    action = fields.String(validate=validate.OneOf(["create", "update"]))
    unit_price = fields.Nested(MoneyOut)
    active = fields.Boolean()


class CatalogImportOut(Schema):
    token = fields.String(allow_none=True, metadata={
        "description": "Names the checked upload for apply; null when the file has problems (nothing kept)."})
    ok = fields.Boolean(metadata={"description": "No problems: the import can be applied."})
    total = fields.Integer(metadata={"description": "Rows read from the file."})
    creates = fields.Integer()
    updates = fields.Integer()
    errors = fields.List(fields.Nested(ImportRowError))
    rows = fields.List(fields.Nested(ImportRowOut), metadata={"description": "The rows that passed the checks."})


class CatalogImportResultOut(Schema):
    created = fields.Integer()
    updated = fields.Integer()
    total = fields.Integer()


# --------------------------------------------------------------------------------------------- helpers

def _editor():
    user = actor()
    if not catalog_services.can_edit(user):
        from portal.errors import Forbidden

        raise Forbidden(_l("Only the supplier's sales or admin people can change its catalog."))
    return user


def _breaks_out(breaks, currency: str) -> list[dict]:
    """Price breaks as answered: the unit price is Money (a bare string in API version 2026-11-01)."""
    return [{"min_quantity": str(b["min_quantity"]), "unit_price": versioned_money(b["unit_price"], currency)}
            for b in (breaks or [])]


def item_dict(it: CatalogItem) -> dict:
    return {"id": it.id, "sku": it.sku, "name": it.name, "description": it.description or "",
            "category": it.category or "", "unit": it.unit, "pack_size": plain(it.pack_size), "moq": plain(it.moq),
            "unit_price": unit_money(it.unit_price, it.currency), "price_breaks": _breaks_out(it.price_breaks, it.currency),
            "active": it.active, "created_at": ts(it.created_at), "updated_at": ts(it.updated_at)}


def _breaks_text(breaks, currency: str | None) -> str:
    """Price breaks as the CSV/form text the service checks; each break's price must be in the item's currency
    (``currency``: the item's, or the one its new unit price names)."""
    from babel.numbers import list_currencies

    if currency not in list_currencies():
        currency = None  # an unknown item currency is the service's sentence, not a break's
    parts = []
    for i, b in enumerate(breaks or ()):
        price = b["unit_price"]
        if currency is not None:
            price = amount_in(price, currency, f"price_breaks.{i}.unit_price", "A price break")
        elif isinstance(price, MoneyAmount):
            price = price.amount
        parts.append(f"{csvio.fmt_decimal(b['min_quantity'])}:{csvio.fmt_decimal(price)}")
    return ";".join(parts)


def _as_text(data: dict, currency: str | None = None) -> dict:
    """API input -> the text fields the service checks (the same checks as the form and the CSV)."""
    raw = {k: data[k] for k in ("sku", "name", "description", "category", "unit", "active") if k in data}
    for key in ("pack_size", "moq"):
        if key in data:
            raw[key] = csvio.fmt_decimal(data[key]) if data[key] is not None else ""
    if "unit_price" in data:
        raw["unit_price"] = csvio.fmt_decimal(data["unit_price"]["amount"])
        raw["currency"] = data["unit_price"]["currency"]
    if "price_breaks" in data:
        raw["price_breaks"] = _breaks_text(data["price_breaks"], raw.get("currency") or currency)
    return raw


def _current_text(it: CatalogItem) -> dict:
    return {"sku": it.sku, "name": it.name, "description": it.description or "", "category": it.category or "",
            "unit": it.unit, "pack_size": csvio.fmt_decimal(it.pack_size), "moq": csvio.fmt_decimal(it.moq),
            "unit_price": csvio.fmt_decimal(it.unit_price), "currency": it.currency, "active": it.active,
            "price_breaks": csvio.format_breaks(it.price_breaks)}


SUPPLIER_ITEMS = ListPlan(CatalogItem, reference=(CatalogItem.sku,))


# --------------------------------------------------------------------------------------------- items

@bp.route("/catalog/items", methods=["GET"])
@bp.arguments(SupplierItemQuery, location="query")
@bp.response(200, paged_schema(SupplierItemOut, "SupplierItemPage"))
def list_own_catalog_items(args):
    """Your own catalog (supplier sales or admin): every item, active or not, in id order.

    Filters: `q` (SKU, name, description), `category`, `active`, `reference` (SKU prefix), `updated_since`,
    creation dates; `sort`; pages or the `starting_after` cursor.
    """
    user = _editor()
    stmt = sa.select(CatalogItem).where(CatalogItem.supplier_company_id == user.company_id)
    if args.get("active") is not None:
        stmt = stmt.where(CatalogItem.active.is_(bool(args["active"])))
    stmt = catalog_services._search(stmt, args.get("q"), args.get("category"))
    return list_documents(stmt, SUPPLIER_ITEMS, args, user.company_id, "api_catalog.list_own_catalog_items",
                          item_dict)


@bp.route("/catalog/items", methods=["POST"])
@bp.arguments(SupplierItemIn)
@bp.response(201, SupplierItemOut)
@created("api_catalog.get_own_catalog_item", item_id="id")
def create_catalog_item(data):
    """Add an item to your catalog.

    SKUs are unique in your catalog; prices >= 0 with at most 4 decimals; MOQ and pack size > 0 or null; a known
    ISO currency; at most 10 price breaks.
    """
    user = _editor()
    item = catalog_services.create_item(user, _as_text(data))
    return item_dict(item)


@bp.route("/catalog/items/<int(max=2147483647):item_id>", methods=["GET"])
@bp.response(200, SupplierItemOut)
def get_own_catalog_item(item_id):
    """One item of your catalog (another supplier's item is 404)."""
    user = _editor()
    return item_dict(catalog_services.own_item(user, item_id))


@bp.route("/catalog/items/<int(max=2147483647):item_id>", methods=["PATCH"])
@bp.arguments(SupplierItemPatch)
@bp.response(200, SupplierItemOut)
def update_catalog_item(data, item_id):
    """Change an item: send only what changes (active false takes it out of the buyers' catalog).

    The same checks as creating one.
    """
    user = _editor()
    item = catalog_services.own_item(user, item_id)
    fields_ = {**_current_text(item), **_as_text(data, item.currency)}
    return item_dict(catalog_services.update_item(user, item.id, fields_))


# --------------------------------------------------------------------------------------------- buyer prices

def _price_dict(bp_: CatalogBuyerPrice, item: CatalogItem) -> dict:
    return {"id": bp_.id, "item_id": item.id, "buyer_company_id": bp_.buyer_company_id,
            "buyer_name": bp_.buyer.display_name if bp_.buyer else "",
            "unit_price": unit_money(bp_.unit_price, item.currency), "price_breaks": _breaks_out(bp_.price_breaks, item.currency)}


@bp.route("/catalog/items/<int(max=2147483647):item_id>/buyer-prices", methods=["GET"])
@bp.response(200, BuyerPriceList)
def list_buyer_prices(item_id):
    """The prices agreed with single buyers for one of your items.

    Each replaces the list price and its breaks for that buyer.
    """
    user = _editor()
    item = catalog_services.own_item(user, item_id)
    return {"items": [_price_dict(p, item) for p in catalog_services.item_buyer_prices(user, item)]}


@bp.route("/catalog/items/<int(max=2147483647):item_id>/buyer-prices/<int(max=2147483647):buyer_company_id>",
          methods=["PUT"])
@bp.arguments(BuyerPriceIn)
@bp.response(200, BuyerPriceOut)
def put_buyer_price(data, item_id, buyer_company_id):
    """Set (or replace) one buyer company's price for one of your items, in the item's currency."""
    user = _editor()
    item = catalog_services.own_item(user, item_id)
    if data["unit_price"]["currency"] != item.currency:
        raise ValidationFailed(_l("The item is priced in %(currency)s; give this buyer's price in %(currency)s too."),
                               currency=item.currency,
                               errors={"unit_price.currency": say(_l("Use %(currency)s."), currency=item.currency)})
    price = catalog_services.set_buyer_price(user, item.id, buyer_company_id,
                                             csvio.fmt_decimal(data["unit_price"]["amount"]),
                                             _breaks_text(data.get("price_breaks"), item.currency))
    item = catalog_services.own_item(user, item.id)
    return _price_dict(db.session.get(CatalogBuyerPrice, price.id), item)


@bp.route("/catalog/items/<int(max=2147483647):item_id>/buyer-prices/<int(max=2147483647):buyer_company_id>",
          methods=["DELETE"])
@bp.response(204)
def delete_buyer_price(item_id, buyer_company_id):
    """Remove a buyer's own price: that buyer pays the list price (with its breaks) again."""
    user = _editor()
    item = catalog_services.own_item(user, item_id)
    price_id = db.session.scalar(sa.select(CatalogBuyerPrice.id).where(
        CatalogBuyerPrice.item_id == item.id, CatalogBuyerPrice.buyer_company_id == buyer_company_id))
    if price_id is None:
        raise NotFound(_l("This item has no price of its own for that buyer."))
    catalog_services.delete_buyer_price(user, item.id, price_id)


# --------------------------------------------------------------------------------------------- CSV out

def _csv(text: str, filename: str) -> Response:
    return Response("\ufeff" + text, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.route("/catalog/export", methods=["GET"])
@bp.doc(responses=binary_doc("Your catalog as CSV (UTF-8 with BOM), in the import's columns.", ["text/csv"],
                             text=True))
def export_catalog_csv():
    """Your whole catalog as CSV, the page's export: re-importing it changes nothing."""
    return _csv(catalog_services.export_csv(_editor()), "catalog.csv")


@bp.route("/catalog/template", methods=["GET"])
@bp.doc(responses=binary_doc("An example catalog CSV with every column.", ["text/csv"], text=True))
def catalog_csv_template():
    """The catalog import's columns with two example rows.

    Columns: sku, name, description, category, unit, pack_size, moq, unit_price, currency, active, price_breaks
    (``500:0.95;1000:0.90``).
    """
    return _csv(csvio.template_csv(), "catalog-template.csv")


# --------------------------------------------------------------------------------------------- CSV import

TOKEN_RE = re.compile(r"[0-9a-f]{32}")


def _preview_dict(prev, token: str | None) -> dict:
    return {"token": token, "ok": prev.ok, "total": prev.total, "creates": prev.creates, "updates": prev.updates,
            "errors": [{"row": e.row, "column": e.column, "message": e.message} for e in prev.errors],
            "rows": [{"row": r["__line__"], "sku": r["sku"], "name": r["name"],
                      "action": r.get("__action__", "create"), "unit_price": unit_money(r["unit_price"], r["currency"]),
                      "active": r["active"]} for r in prev.rows if "__action__" in r]}


def _staged(user, token: str) -> bytes:
    if not TOKEN_RE.fullmatch(token):
        raise NotFound(_l("No such import: upload the file again."))
    try:
        return catalog_services.load_staged(user.company_id, token)
    except ValidationFailed:
        raise NotFound(_l("No such import (it was applied or has expired): upload the file again.")) from None


@bp.route("/catalog/imports", methods=["POST"])
@multipart
@bp.arguments(UploadIn, location="files")
@bp.response(201, CatalogImportOut, description="Checked without problems: apply it with the token.")
@bp.alt_response(200, schema=CatalogImportOut, description="The file has problems (every one listed, by row and "
                                                           "column); nothing was kept.")
@created("api_catalog.get_catalog_import", token="token")
@problems(415)
def upload_catalog_import(files):
    """Upload a catalog CSV and see what it would do (nothing changes until you apply it).

    Multipart field `file`, UTF-8, at most 2 MB and 5,000 rows. The answer lists the rows to create and update
    (by SKU) and every problem by row and column: 201 with a token to apply when there is none, 200 with
    `ok: false` and nothing kept when there are. The page's import (the same service and checks).
    """
    from portal.api.documents_api import _upload

    user = _editor()
    _, data = _upload(files)
    prev = catalog_services.preview_import(user, data)
    if not prev.ok:
        return CatalogImportOut().dump(_preview_dict(prev, None)), 200
    token = catalog_services.stage_upload(user.company_id, data)
    return _preview_dict(prev, token)


@bp.route("/catalog/imports/<string(length=32):token>", methods=["GET"])
@bp.response(200, CatalogImportOut)
def get_catalog_import(token):
    """The preview of an uploaded import not applied yet (checked again against the catalog now)."""
    user = _editor()
    data = _staged(user, token)
    return _preview_dict(catalog_services.preview_import(user, data), token)


@bp.route("/catalog/imports/<string(length=32):token>/apply", methods=["POST"])
@bp.response(200, CatalogImportResultOut)
def apply_catalog_import(token):
    """Apply a previewed import: every row created or updated by SKU, in one transaction.

    The file is checked again first; any problem is 422 with every problem listed and nothing changed.
    """
    user = _editor()
    data = _staged(user, token)
    prev = catalog_services.preview_import(user, data)
    if prev.errors:
        raise ValidationFailed(_l("The file has %(count)s problem(s) now; nothing was imported."),
                               count=len(prev.errors),
                               errors={f"row {e.row}" + (f": {e.column}" if e.column else ""): e.message
                                       for e in prev.errors[:200]})
    result = catalog_services.apply_import(user, data)
    catalog_services.drop_staged(user.company_id, token)
    return {"created": result.creates, "updated": result.updates, "total": result.total}
