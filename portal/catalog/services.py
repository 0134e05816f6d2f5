"""Supplier catalogs: item CRUD, CSV import/export, buyer-specific prices, pricing, and order lines from a catalog.

Rules (each has a test in tests/catalog/):
- only the supplier's sales or admin people edit its catalog; another supplier's item id is "not found";
- SKUs are unique per supplier (message beside the SKU field); prices >= 0 with at most 4 decimals; MOQ and
  pack size > 0 or empty; currency a known ISO code;
- the CSV import upserts by SKU and applies only an error-free file, all rows in one transaction, loading the
  existing SKUs in one query;
- buyers see active items only, and only their own special price;
- ``price_for``: the buyer's own price (with its breaks) if any, else the list price with breaks; the price of
  the highest break whose min_quantity <= quantity;
- ``build_order_lines``: one SELECT for all SKUs and one for the buyer's prices, whatever the number of rows;
- ``price_order_rows`` is the one rule for order rows (page, CSV, API, reorder): a SKU on several rows becomes
  one line on the total quantity (MOQ, pack size and price breaks apply to the total), and each merge is told.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from portal.accounts.models import Company, CompanyKind, Role, User
from portal.audit.services import record
from portal.catalog import csvio
from portal.catalog.models import CatalogBuyerPrice, CatalogItem
from portal.db import db
from portal.errors import DomainError, Forbidden, NotFound, ValidationFailed, say
from portal.i18n import _l
from portal.money import format_quantity

PAGE_SIZE = 50
MAX_QUICK_ROWS = 450  # form posts stay under the server's 1,000 form-field limit; bigger orders use a CSV
EDITOR_ROLES = (Role.sales, Role.admin)
ORDERABLE_SOURCES = ("catalog", "reorder", "award")

_UNSET = object()


# --------------------------------------------------------------------------------------------- access

def can_edit(user: User) -> bool:
    return bool(user.company.is_supplier and user.has_role(*EDITOR_ROLES))


def can_order(user: User) -> bool:
    return bool(user.company.is_buyer and user.has_role(Role.procurement))


def _require_editor(actor: User) -> None:
    if not can_edit(actor):
        raise Forbidden(_l("Only the supplier's sales or admin people can change its catalog."))


def _require_buyer(actor: User) -> None:
    if not can_order(actor):
        raise Forbidden(_l("Only a buyer's procurement people can order from a catalog."))


def own_item(actor: User, item_id, *, for_update: bool = False) -> CatalogItem:
    """One item of the actor's own catalog, or NotFound (another supplier's item does not exist for you)."""
    try:
        item_id = int(item_id)
    except (TypeError, ValueError):
        raise NotFound(_l("No such catalog item."))
    stmt = sa.select(CatalogItem).where(CatalogItem.id == item_id,
                                        CatalogItem.supplier_company_id == actor.company_id)
    if for_update:
        stmt = stmt.with_for_update(of=CatalogItem)
    item = db.session.scalar(stmt)
    if item is None:
        raise NotFound(_l("No such catalog item."))
    return item


# --------------------------------------------------------------------------------------------- queries

@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _page_number(page) -> int:
    from portal.viewutil import page_number

    return page_number(page)


def _search(stmt, q: str | None, category: str | None):
    q = (q or "").strip()
    if q:
        like = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(sa.or_(sa.func.lower(CatalogItem.sku).like(like, escape="\\"),
                                 sa.func.lower(CatalogItem.name).like(like, escape="\\"),
                                 sa.func.lower(CatalogItem.description).like(like, escape="\\")))
    if category:
        stmt = stmt.where(CatalogItem.category == category)
    return stmt


def _paginate(stmt, page) -> Page:
    page = _page_number(page)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())) or 0
    # Stable order: SKU is unique per supplier; the id breaks any remaining tie.
    items = list(db.session.scalars(stmt.order_by(CatalogItem.sku, CatalogItem.id)
                                    .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    return Page(items=items, total=total, page=page)


def list_items(supplier_id: int, *, q: str | None = None, status: str | None = None, category: str | None = None,
               page=1) -> Page:
    """The supplier's own list: all items, filterable by active/inactive and category, 50 per page."""
    stmt = sa.select(CatalogItem).where(CatalogItem.supplier_company_id == supplier_id)
    if status == "active":
        stmt = stmt.where(CatalogItem.active.is_(True))
    elif status == "inactive":
        stmt = stmt.where(CatalogItem.active.is_(False))
    return _paginate(_search(stmt, q, category), page)


def categories(supplier_id: int, *, active_only: bool = False) -> list[str]:
    stmt = (sa.select(CatalogItem.category).distinct()
            .where(CatalogItem.supplier_company_id == supplier_id, CatalogItem.category != ""))
    if active_only:
        stmt = stmt.where(CatalogItem.active.is_(True))
    return sorted(c for c in db.session.scalars(stmt) if c)


def counts(supplier_id: int) -> dict[str, int]:
    rows = db.session.execute(sa.select(CatalogItem.active, sa.func.count())
                              .where(CatalogItem.supplier_company_id == supplier_id)
                              .group_by(CatalogItem.active)).all()
    out = {"active": 0, "inactive": 0}
    for active, n in rows:
        out["active" if active else "inactive"] += n
    return out


def buyer_directory(exclude_company_id: int | None = None) -> list[Company]:
    """Buyer companies a supplier can give a special price to."""
    stmt = (sa.select(Company).where(Company.kind.in_([CompanyKind.buyer, CompanyKind.both]))
            .order_by(Company.display_name, Company.id))
    if exclude_company_id:
        stmt = stmt.where(Company.id != exclude_company_id)
    return list(db.session.scalars(stmt))


def suppliers_with_catalogs(buyer_company_id: int) -> list[tuple[Company, int]]:
    """Suppliers with at least one active item, with the number of active items (one query)."""
    n = sa.func.count(CatalogItem.id)
    rows = db.session.execute(
        sa.select(Company, n).join(CatalogItem, CatalogItem.supplier_company_id == Company.id)
        .where(CatalogItem.active.is_(True), Company.id != buyer_company_id)
        .group_by(Company.id).order_by(Company.display_name, Company.id)).all()
    return [(c, cnt) for c, cnt in rows]


def catalog_supplier(supplier_id, buyer_company_id: int) -> Company:
    """A supplier whose catalog a buyer may open (a supplier company other than the buyer itself)."""
    try:
        supplier_id = int(supplier_id)
    except (TypeError, ValueError):
        raise NotFound(_l("No such supplier."))
    company = db.session.get(Company, supplier_id)
    if company is None or not company.is_supplier or company.id == buyer_company_id:
        raise NotFound(_l("No such supplier."))
    return company


def buyer_prices_for(buyer_company_id: int, item_ids) -> dict[int, CatalogBuyerPrice]:
    """The buyer's own special prices for these items, in one query."""
    item_ids = list(item_ids)
    if not item_ids:
        return {}
    rows = db.session.scalars(sa.select(CatalogBuyerPrice).where(
        CatalogBuyerPrice.buyer_company_id == buyer_company_id, CatalogBuyerPrice.item_id.in_(item_ids)))
    return {bp.item_id: bp for bp in rows}


@dataclass
class BuyerRow:
    item: CatalogItem
    unit_price: Decimal
    price_breaks: list
    special: bool


def buyer_catalog(buyer_company_id: int, supplier_id: int, *, q=None, category=None, page=1):
    """A supplier's active items as a buyer sees them: two queries for the page (+ one count)."""
    stmt = sa.select(CatalogItem).where(CatalogItem.supplier_company_id == supplier_id,
                                        CatalogItem.active.is_(True))
    pg = _paginate(_search(stmt, q, category), page)
    prices = buyer_prices_for(buyer_company_id, [i.id for i in pg.items])
    rows = []
    for it in pg.items:
        price, breaks, special = terms_for(it, prices.get(it.id))
        rows.append(BuyerRow(it, price, breaks, special))
    pg.items = rows
    return pg


# --------------------------------------------------------------------------------------------- pricing

def _unit_price_at(quantity: Decimal, base: Decimal, breaks) -> Decimal:
    try:
        from portal.quotes.pricing import unit_price_at
    except ImportError:  # pragma: no cover - only before the comparison engineer's module lands
        best = None
        for b in breaks or ():
            mq, pr = Decimal(str(b["min_quantity"])), Decimal(str(b["unit_price"]))
            if mq <= quantity and (best is None or mq >= best[0]):
                best = (mq, pr)
        return best[1] if best else Decimal(base)
    return unit_price_at(quantity, base, breaks)


def terms_for(item: CatalogItem, buyer_price: CatalogBuyerPrice | None):
    """(base unit price, breaks, special?) for one buyer: its own price replaces list price and breaks."""
    if buyer_price is not None:
        return buyer_price.unit_price, list(buyer_price.price_breaks or []), True
    return item.unit_price, list(item.price_breaks or []), False


def price_for(item: CatalogItem, buyer_company_id: int | None, quantity, *, buyer_price=_UNSET) -> Decimal:
    """The unit price this buyer pays for ``quantity`` of ``item``.

    The buyer's own price (with its breaks) if one exists, else the list price with breaks; within those, the
    price of the highest break whose min_quantity <= quantity. Pass ``buyer_price`` (possibly None) when it is
    already loaded, to avoid a query.
    """
    if buyer_price is _UNSET:
        buyer_price = None
        if buyer_company_id is not None:
            buyer_price = db.session.scalar(sa.select(CatalogBuyerPrice).where(
                CatalogBuyerPrice.item_id == item.id, CatalogBuyerPrice.buyer_company_id == buyer_company_id))
    base, breaks, _ = terms_for(item, buyer_price)
    return _unit_price_at(Decimal(quantity), base, breaks)


def quantity_problem(sku: str, quantity: Decimal, moq, pack_size, unit: str = "pcs") -> str | None:
    """A sentence saying what would be valid, or None when the quantity fits MOQ and pack size."""
    fq = format_quantity
    if quantity <= 0:
        return f"The quantity for SKU {sku} must be greater than zero; you entered {fq(quantity)}."
    if moq is not None and quantity < moq:
        return f"Minimum order for SKU {sku} is {fq(moq)} {unit}; you entered {fq(quantity)}."
    if pack_size:
        packs = quantity / pack_size
        if packs != packs.to_integral_value():
            lower = int(packs) * pack_size
            upper = lower + pack_size
            if lower <= 0 or (moq is not None and lower < moq):
                return f"SKU {sku} is sold in packs of {fq(pack_size)}: order {fq(upper)}."
            return f"SKU {sku} is sold in packs of {fq(pack_size)}: order {fq(lower)} or {fq(upper)}."
    return None


# --------------------------------------------------------------------------------------------- item CRUD

def _clean_or_raise(fields: dict) -> dict:
    clean, errors = csvio.clean_item(fields)
    if errors:
        first = next(iter(errors.values()))
        raise ValidationFailed(first if len(errors) == 1 else
                               f"Please correct the {len(errors)} marked fields. {first}", errors=errors)
    return clean


def _sku_taken(supplier_id: int, sku: str, exclude_id: int | None = None) -> bool:
    stmt = sa.select(CatalogItem.id).where(CatalogItem.supplier_company_id == supplier_id,
                                           sa.func.lower(CatalogItem.sku) == sku.lower())
    if exclude_id:
        stmt = stmt.where(CatalogItem.id != exclude_id)
    return db.session.scalar(stmt.limit(1)) is not None


def _dup_sku(sku: str) -> ValidationFailed:
    msg = say(_l("Your catalog already has an item with SKU %(sku)s; choose another SKU or edit that item."), sku=sku)
    return ValidationFailed(msg, errors={"sku": msg})


def create_item(actor: User, fields: dict) -> CatalogItem:
    _require_editor(actor)
    clean = _clean_or_raise(fields)
    if _sku_taken(actor.company_id, clean["sku"]):
        raise _dup_sku(clean["sku"])
    item = CatalogItem(supplier_company_id=actor.company_id, **clean)
    db.session.add(item)
    try:
        db.session.flush()
        record("catalog_item", item.id, "created", actor=actor, company_id=actor.company_id,
               detail=item.sku, visible_to_company_id=actor.company_id)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise _dup_sku(clean["sku"])
    return item


def update_item(actor: User, item_id, fields: dict) -> CatalogItem:
    _require_editor(actor)
    item = own_item(actor, item_id)
    clean = _clean_or_raise(fields)
    if clean["sku"] != item.sku and _sku_taken(actor.company_id, clean["sku"], exclude_id=item.id):
        raise _dup_sku(clean["sku"])
    for k, v in clean.items():
        setattr(item, k, v)
    try:
        record("catalog_item", item.id, "updated", actor=actor, company_id=actor.company_id,
               detail=item.sku, visible_to_company_id=actor.company_id)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise _dup_sku(clean["sku"])
    return item


def set_active(actor: User, item_id, active: bool) -> CatalogItem:
    _require_editor(actor)
    item = own_item(actor, item_id)
    if item.active != bool(active):
        item.active = bool(active)
        record("catalog_item", item.id, "activated" if active else "deactivated", actor=actor,
               company_id=actor.company_id, detail=item.sku, visible_to_company_id=actor.company_id)
        db.session.commit()
    return item


# --------------------------------------------------------------------------------------------- buyer prices

def item_buyer_prices(actor: User, item: CatalogItem) -> list[CatalogBuyerPrice]:
    return list(db.session.scalars(
        sa.select(CatalogBuyerPrice).where(CatalogBuyerPrice.item_id == item.id)
        .options(sa.orm.joinedload(CatalogBuyerPrice.buyer))
        .join(Company, Company.id == CatalogBuyerPrice.buyer_company_id)
        .order_by(Company.display_name, CatalogBuyerPrice.id)))


def set_buyer_price(actor: User, item_id, buyer_company_id, unit_price: str, price_breaks: str = "") \
        -> CatalogBuyerPrice:
    """Create or replace the special price of one buyer company for one of the actor's items."""
    _require_editor(actor)
    item = own_item(actor, item_id)
    errors = {}
    buyer = None
    try:
        buyer = db.session.get(Company, int(buyer_company_id))
    except (TypeError, ValueError):
        pass
    if buyer is None or not buyer.is_buyer or buyer.id == actor.company_id:
        errors["buyer_company_id"] = "Choose a buyer company from the directory."
    price = breaks = None
    try:
        if not (unit_price or "").strip():
            raise ValidationFailed(_l("The unit price is required."))
        price = csvio.parse_decimal(unit_price, "The unit price", nonneg=True)
    except ValidationFailed as exc:
        errors["unit_price"] = exc.message
    try:
        breaks = csvio.parse_breaks(price_breaks)
    except ValidationFailed as exc:
        errors["price_breaks"] = exc.message
    if errors:
        raise ValidationFailed(next(iter(errors.values())), errors=errors)
    bp = db.session.scalar(sa.select(CatalogBuyerPrice).where(CatalogBuyerPrice.item_id == item.id,
                                                              CatalogBuyerPrice.buyer_company_id == buyer.id))
    action = "buyer_price_changed" if bp else "buyer_price_set"
    if bp is None:
        bp = CatalogBuyerPrice(item_id=item.id, buyer_company_id=buyer.id, unit_price=price, price_breaks=breaks)
        db.session.add(bp)
    else:
        bp.unit_price, bp.price_breaks = price, breaks
    record("catalog_item", item.id, action, actor=actor, company_id=actor.company_id,
           detail=f"{buyer.display_name}: {csvio.fmt_decimal(price)} {item.currency}",
           visible_to_company_id=actor.company_id)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ValidationFailed(_l("This buyer's price was changed at the same moment; reload and try again."))
    return bp


def delete_buyer_price(actor: User, item_id, price_id) -> None:
    _require_editor(actor)
    item = own_item(actor, item_id)
    from portal.tenancy import get_child

    bp = get_child(CatalogBuyerPrice, price_id, "buyer price", CatalogBuyerPrice.item_id == item.id)
    record("catalog_item", item.id, "buyer_price_removed", actor=actor, company_id=actor.company_id,
           detail=bp.buyer.display_name if bp.buyer else "", visible_to_company_id=actor.company_id)
    db.session.delete(bp)
    db.session.commit()


# --------------------------------------------------------------------------------------------- CSV import

@dataclass
class ImportPreview:
    rows: list[dict] = field(default_factory=list)
    errors: list = field(default_factory=list)
    creates: int = 0
    updates: int = 0
    existing: dict = field(default_factory=dict)  # sku -> CatalogItem
    total: int = 0

    @property
    def ok(self) -> bool:
        return bool(self.rows) and not self.errors


def _existing_by_sku(supplier_id: int, skus) -> dict[str, CatalogItem]:
    """The supplier's items for these SKUs, in one query (whatever the number of rows)."""
    skus = {s for s in skus}
    if not skus:
        return {}
    items = db.session.scalars(sa.select(CatalogItem).where(CatalogItem.supplier_company_id == supplier_id))
    # One query for the whole catalog of this supplier (a few thousand rows at most) beats an IN list of
    # thousands of bound parameters; only the matching SKUs are kept.
    return {it.sku: it for it in items if it.sku in skus}


def preview_import(actor: User, data: bytes) -> ImportPreview:
    """Parse and check a catalog CSV without saving anything."""
    _require_editor(actor)
    parsed = csvio.parse_catalog(data)
    existing = _existing_by_sku(actor.company_id, [r["sku"] for r in parsed.rows])
    prev = ImportPreview(rows=parsed.rows, errors=parsed.errors, existing=existing, total=parsed.total)
    lowered = {s.lower(): s for s in existing}
    for r in parsed.rows:
        match = r["sku"] if r["sku"] in existing else None
        if match is None and r["sku"].lower() in lowered:
            prev.errors.append(csvio.RowError(r["__line__"], "sku",
                                              f"Your catalog has {lowered[r['sku'].lower()]} already; write the "
                                              "SKU exactly as it is (letter case) to update it."))
            continue
        if match:
            prev.updates += 1
            r["__action__"] = "update"
        else:
            prev.creates += 1
            r["__action__"] = "create"
    prev.errors.sort(key=lambda e: (e.row, e.column))
    return prev


def apply_import(actor: User, data: bytes) -> ImportPreview:
    """Check the file again and, only if it has no errors, upsert every row by SKU in one transaction."""
    prev = preview_import(actor, data)
    if prev.errors:
        raise ValidationFailed(_l("The file has %(count)s problem(s); nothing was imported. Correct them and upload "
                                  "the file again."), count=len(prev.errors))
    if not prev.rows:
        raise ValidationFailed(_l("The file has no rows to import."))
    try:
        new_items = []
        for r in prev.rows:
            fields = {k: v for k, v in r.items() if not k.startswith("__")}
            item = prev.existing.get(r["sku"])
            if item is None:
                new_items.append(CatalogItem(supplier_company_id=actor.company_id, **fields))
            else:
                for k, v in fields.items():
                    if getattr(item, k) != v:
                        setattr(item, k, v)
        db.session.add_all(new_items)
        record("catalog", actor.company_id, "imported", actor=actor, company_id=actor.company_id,
               detail=f"{prev.creates} created, {prev.updates} updated", visible_to_company_id=actor.company_id)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ValidationFailed(_l("Someone changed the catalog while you imported (a SKU now exists twice); nothing "
                                  "was imported. Upload the file again."))
    return prev


def export_csv(actor: User) -> str:
    _require_editor(actor)
    items = db.session.scalars(sa.select(CatalogItem).where(CatalogItem.supplier_company_id == actor.company_id)
                               .order_by(CatalogItem.sku, CatalogItem.id))
    return csvio.export_rows(items)


# Staging an uploaded file between the preview and the confirm step (a form field could not carry 2 MB). Kept in
# the document storage (portal/storage), so the confirm may reach another web host than the preview did.

def _stage_key(company_id: int, token: str) -> str:
    return f"staging/catalog-imports/{int(company_id)}/{token}.csv"


def stage_upload(company_id: int, data: bytes) -> str:
    from portal.storage import get_storage

    token = secrets.token_hex(16)
    get_storage().put_bytes(_stage_key(company_id, token), data, content_type="text/csv")
    return token


def load_staged(company_id: int, token: str) -> bytes:
    from portal.storage import MissingObject, get_storage

    if not re.fullmatch(r"[0-9a-f]{32}", token or ""):
        raise ValidationFailed(_l("The preview expired; upload the file again."))
    try:
        return get_storage().read(_stage_key(company_id, token))
    except MissingObject:
        raise ValidationFailed(_l("The preview expired; upload the file again.")) from None


def drop_staged(company_id: int, token: str) -> None:
    from portal.storage import get_storage

    if re.fullmatch(r"[0-9a-f]{32}", token or ""):
        try:
            get_storage().delete(_stage_key(company_id, token))
        except Exception:  # noqa: BLE001 - a leftover staging object is harmless
            pass


# --------------------------------------------------------------------------------------------- ordering

@dataclass
class PricedRows:
    """Order rows checked and priced: the lines, the sentences about merged SKUs, and the bad rows."""
    lines: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: dict = field(default_factory=dict)
    row_count: int = 0


def _rows_text(numbers: list[int], word: str = "rows", limit: int = 8) -> str:
    shown = ", ".join(str(n) for n in numbers[:limit])
    return f"{word} {shown}" + (", …" if len(numbers) > limit else "")


def _break_label(quantity: Decimal, base: Decimal, breaks, special: bool) -> str:
    """Which price applies at ``quantity``: "the 2,000+ break" or the base price (list or the buyer's own)."""
    best = None
    for b in breaks or ():
        mq = Decimal(str(b["min_quantity"]))
        if mq <= quantity and (best is None or mq > best):
            best = mq
    if best is not None:
        return f"the {format_quantity(best)}+ break"
    return "your special price" if special else "the list price"


def _unit_price_text(amount: Decimal, currency: str) -> str:
    from babel.numbers import format_currency

    return format_currency(Decimal(amount).normalize(), currency, locale="en_GB", decimal_quantization=False)


def price_order_rows(buyer_company_id: int, supplier_id: int, rows) -> PricedRows:
    """The one rule for order rows from a catalog (quick order, CSV, API, reorder).

    Rows are [(sku, quantity text, row number)]. Each row is checked alone (SKU known and active, quantity a
    positive number); rows naming the same SKU are then merged into ONE line on the total quantity, which is
    what the MOQ, the pack size and the price breaks apply to (eight lines of 650 pcs are one line of 5,200
    pcs at the 2,000+ break). Each merge is told in ``notes``. Never raises for a bad row: the rows in error
    are in ``errors`` (row number -> sentence). Two queries whatever the number of rows.
    """
    rows = [(str(s or "").strip(), str(q or "").strip(), n) for s, q, n in rows]
    rows = [r for r in rows if r[0] or r[1]]
    out = PricedRows(row_count=len(rows))
    errors = out.errors
    wanted = {sku.lower() for sku, _, _ in rows if sku}
    by_sku: dict[str, CatalogItem] = {}
    if wanted:
        items = db.session.scalars(sa.select(CatalogItem).where(
            CatalogItem.supplier_company_id == supplier_id, sa.func.lower(CatalogItem.sku).in_(sorted(wanted))))
        for it in items:
            # exact spelling wins over a case-insensitive match
            if it.sku.lower() not in by_sku or it.sku in {s for s, _, _ in rows}:
                by_sku[it.sku.lower()] = it
    prices = buyer_prices_for(buyer_company_id, [it.id for it in by_sku.values() if it.active])
    # 1. each row alone; good rows gathered per item in the order the item first appears
    groups: dict[int, list[tuple[int, Decimal]]] = {}
    item_of: dict[int, CatalogItem] = {}
    for sku, qty_text, n in rows:
        if not sku:
            errors[n] = f"Row {n}: enter a SKU for the quantity {qty_text[:20]}."
            continue
        item = by_sku.get(sku.lower())
        if item is None:
            errors[n] = f"Row {n}: SKU {sku[:64]} is not in this supplier's catalog."
            continue
        if not item.active:
            errors[n] = f"Row {n}: SKU {item.sku} is no longer offered (inactive)."
            continue
        if not qty_text:
            errors[n] = f"Row {n}: enter a quantity for SKU {item.sku}."
            continue
        try:
            qty = csvio.parse_decimal(qty_text, f"The quantity for SKU {item.sku}")
        except ValidationFailed as exc:
            errors[n] = f"Row {n}: {exc.message}"
            continue
        if qty <= 0:
            errors[n] = f"Row {n}: {quantity_problem(item.sku, qty, None, None, item.unit)}"
            continue
        groups.setdefault(item.id, []).append((n, qty))
        item_of[item.id] = item
    # 2. one line per item on the total quantity
    currency = None
    for item_id, parts in groups.items():
        item = item_of[item_id]
        numbers = [n for n, _ in parts]
        qty = sum((q for _, q in parts), Decimal(0))
        problem = quantity_problem(item.sku, qty, item.moq, item.pack_size, item.unit)
        if problem:
            if len(parts) > 1:
                problem = (f"SKU {item.sku} is on {_rows_text(numbers)}, {format_quantity(qty)} {item.unit} "
                           f"together. {problem}")
            for n in numbers:
                errors[n] = f"Row {n}: {problem}"
            continue
        if currency is None:
            currency = item.currency
        elif item.currency != currency:
            for n in numbers:
                errors[n] = (f"Row {n}: SKU {item.sku} is priced in {item.currency}, the other lines in "
                             f"{currency}; an order has one currency.")
            continue
        bp = prices.get(item.id)
        price = price_for(item, buyer_company_id, qty, buyer_price=bp)
        out.lines.append({"catalog_item_id": item.id, "sku": item.sku, "description": item.name,
                          "unit": item.unit, "quantity": qty, "unit_price": price, "moq": item.moq,
                          "pack_size": item.pack_size, "currency": item.currency})
        if len(parts) > 1:
            base, breaks, special = terms_for(item, bp)
            out.notes.append(
                f"SKU {item.sku} appeared on {len(parts)} lines ({_rows_text(numbers)}): merged into one "
                f"line of {format_quantity(qty)} {item.unit}, priced at "
                f"{_break_label(qty, base, breaks, special)} "
                f"({_unit_price_text(price, item.currency)} each).")
    return out


def build_order_lines(buyer_company_id: int, supplier_id: int, rows) -> list[dict]:
    """Validate and price order rows [(sku, quantity text, row number)] against a supplier's catalog.

    Returns the line dicts for orders.services.create_draft_order (repeated SKUs merged into one line, see
    ``price_order_rows``), or raises ValidationFailed whose ``errors`` maps each bad row number to a sentence.
    Blank rows are ignored.
    """
    return _checked(price_order_rows(buyer_company_id, supplier_id, rows)).lines


def _checked(priced: PricedRows) -> PricedRows:
    if not priced.row_count:
        raise ValidationFailed(_l("Enter at least one SKU and quantity."), errors={})
    if priced.errors:
        raise ValidationFailed(_l("%(count)s of %(row_count)s line(s) need attention; nothing was ordered."),
                               count=len(priced.errors), row_count=priced.row_count, errors=dict(sorted(priced.errors.items())))
    return priced


def merge_notes(actor: User, supplier_id, rows) -> list[str]:
    """The merge sentences for rows not yet ordered (the quick order's "add as rows" preview)."""
    _require_buyer(actor)
    supplier = catalog_supplier(supplier_id, actor.company_id)
    return price_order_rows(actor.company_id, supplier.id, rows).notes


def _create_draft(actor: User, supplier_id: int, lines: list[dict], **kw):
    try:
        from portal.orders.services import create_draft_order
    except ImportError:
        raise ValidationFailed(_l("Ordering is not available yet; your lines are valid but no order was created."))
    return create_draft_order(actor, supplier_id, lines, **kw)


def order_from_rows(actor: User, supplier_id, rows, *, source: str = "catalog"):
    """Quick order / CSV order / API: validate every row, then create one draft order with this supplier.

    Returns (order, notes): ``notes`` says which repeated SKUs were merged into one line and at which
    price."""
    _require_buyer(actor)
    supplier = catalog_supplier(supplier_id, actor.company_id)
    if len(rows) > csvio.MAX_ORDER_ROWS:
        raise ValidationFailed(_l("An order takes at most %(max_order_rows)s lines; split it."),
                               max_order_rows=csvio.MAX_ORDER_ROWS)
    priced = _checked(price_order_rows(actor.company_id, supplier.id, rows))
    return _create_draft(actor, supplier.id, priced.lines, source=source), priced.notes


def reorderable_orders(actor: User, limit: int = 50):
    from portal.orders.models import OrderSource, PurchaseOrder

    _require_buyer(actor)
    return list(db.session.scalars(
        sa.select(PurchaseOrder).where(PurchaseOrder.buyer_company_id == actor.company_id,
                                       PurchaseOrder.source.in_([OrderSource(s) for s in ORDERABLE_SOURCES]))
        .order_by(PurchaseOrder.id.desc()).limit(limit)))


def prepare_reorder(actor: User, order_id) -> tuple[object, list[dict], list[str], list[str]]:
    """(past order, priced lines at today's prices, sentences for the lines that cannot be reordered,
    sentences for repeated SKUs merged into one line)."""
    from portal.orders.models import OrderSource, PurchaseOrder

    _require_buyer(actor)
    try:
        order_id = int(order_id)
    except (TypeError, ValueError):
        raise NotFound(_l("No such order."))
    order = db.session.scalar(sa.select(PurchaseOrder).where(PurchaseOrder.id == order_id,
                                                             PurchaseOrder.buyer_company_id == actor.company_id))
    if order is None:
        raise NotFound(_l("No such order."))
    if order.source not in [OrderSource(s) for s in ORDERABLE_SOURCES]:
        raise ValidationFailed(_l("Only orders from a catalog, a reorder or an award can be reordered."))
    item_ids = [ln.catalog_item_id for ln in order.lines if ln.catalog_item_id]
    skus = [ln.sku for ln in order.lines if ln.sku and not ln.catalog_item_id]
    items_by_id: dict[int, CatalogItem] = {}
    items_by_sku: dict[str, CatalogItem] = {}
    if item_ids or skus:
        cond = []
        if item_ids:
            cond.append(CatalogItem.id.in_(item_ids))
        if skus:
            cond.append(CatalogItem.sku.in_(skus))
        for it in db.session.scalars(sa.select(CatalogItem).where(
                CatalogItem.supplier_company_id == order.supplier_company_id, sa.or_(*cond))):
            items_by_id[it.id] = it
            items_by_sku[it.sku] = it
    rows, skipped = [], []
    for ln in order.lines:
        label = f"Line {ln.position}" + (f" (SKU {ln.sku})" if ln.sku else f" ({ln.description[:60]})")
        item = items_by_id.get(ln.catalog_item_id) if ln.catalog_item_id else items_by_sku.get(ln.sku or "")
        if item is None:
            skipped.append(f"{label}: the item is no longer in the catalog of {order.supplier.display_name}.")
            continue
        if not item.active:
            skipped.append(f"{label}: SKU {item.sku} is no longer offered (inactive).")
            continue
        rows.append((item.sku, csvio.fmt_decimal(ln.quantity), ln.position))
    lines: list[dict] = []
    notes: list[str] = []
    if rows:
        # Keep what is still orderable; report the rest (e.g. the supplier raised its MOQ since).
        priced = price_order_rows(actor.company_id, order.supplier_company_id, rows)
        for n, msg in sorted(priced.errors.items()):
            skipped.append(msg.replace(f"Row {n}:", f"Line {n}:", 1))
        lines, notes = priced.lines, [nt.replace("(rows ", "(lines ") for nt in priced.notes]
    return order, lines, skipped, notes


def reorder(actor: User, order_id):
    """A new draft with the same SKUs and quantities at today's prices: (new order, skipped sentences,
    merge sentences)."""
    order, lines, skipped, notes = prepare_reorder(actor, order_id)
    if not lines:
        raise ValidationFailed(_l("Nothing from %(po_number)s can be reordered. %(skipped)s"),
                               po_number=order.po_number, skipped=" ".join(skipped))
    new = _create_draft(actor, order.supplier_company_id, lines, source="reorder", reorder_of_id=order.id)
    return new, skipped, notes


__all__ = ["price_for", "build_order_lines", "create_item", "update_item", "set_active", "set_buyer_price",
           "delete_buyer_price", "preview_import", "apply_import", "export_csv", "order_from_rows", "reorder",
           "DomainError"]
