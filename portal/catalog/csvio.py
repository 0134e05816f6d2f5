"""Catalog CSV in and out, and the buyer's order lines from CSV or pasted text.

Pure functions on text/bytes (no database): the services add the checks that need the database (duplicate
SKUs against the catalog are an upsert, not an error; SKUs on an order must exist).

Catalog import columns: sku,name,description,category,unit,pack_size,moq,unit_price,currency,active,price_breaks
with price_breaks written as ``500:0.95;1000:0.90`` (min quantity : unit price, separated by semicolons).
Every problem is reported as a RowError (row number as a spreadsheet shows it, header = row 1; column; sentence).
Cells that look like formulas (=, +, -, @) are accepted as plain text; a leading apostrophe that our own export
added to neutralise a formula is removed again, so an export re-imports unchanged.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal

from babel.numbers import list_currencies
from flask_babel import gettext

from portal.csvutil import FORMULA_PREFIXES, read_csv, safe_cell
from portal.errors import ValidationFailed
from portal.i18n import _l
from portal.errors import number_fig
from portal.money import to_decimal

COLUMNS = ["sku", "name", "description", "category", "unit", "pack_size", "moq", "unit_price", "currency",
           "active", "price_breaks"]
REQUIRED = ["sku", "name", "unit_price", "currency"]
OPTIONAL = [c for c in COLUMNS if c not in REQUIRED]
ORDER_COLUMNS = ["sku", "quantity"]

MAX_BYTES = 2 * 1024 * 1024  # 2 MB: ~10,000 catalog rows; far above a normal catalog upload
MAX_ROWS = 5000
MAX_ORDER_ROWS = 2000
MAX_BREAKS = 10
PLACES = 4
LIMIT = Decimal(10) ** 14

MAX_LEN = {"sku": 64, "name": 200, "category": 100, "unit": 16, "description": 5000}
TRUE_WORDS = {"1", "true", "yes", "y", "active", "ja", "x"}
FALSE_WORDS = {"0", "false", "no", "n", "inactive", "nein"}
KNOWN_CURRENCIES = frozenset(list_currencies())

TEMPLATE_ROWS = [
    ["NS-HB-M12-60-88Z", "Hex bolt M12x60 DIN 933 8.8 zinc plated", "Fully threaded, zinc plated",
     "Bolts", "pcs", "100", "500", "0.2100", "EUR", "yes", "1000:0.19;5000:0.17"],
    ["NS-HN-M12-8Z", "Hex nut M12 DIN 934 8 zinc plated", "", "Nuts", "pcs", "200", "", "0.0600", "EUR",
     "yes", ""],
]


@dataclass
class RowError:
    row: int  # spreadsheet row number (header = 1) or the line number of pasted text
    column: str  # "" when the whole row is wrong
    message: str

    def __str__(self) -> str:
        where = f"Row {self.row}" + (f", column “{self.column}”" if self.column else "")
        return f"{where}: {self.message}"


@dataclass
class ParsedCatalog:
    rows: list[dict] = field(default_factory=list)  # clean item fields keyed like CatalogItem columns
    errors: list[RowError] = field(default_factory=list)
    total: int = 0  # rows read from the file

    @property
    def ok(self) -> bool:
        return bool(self.rows) and not self.errors


# --------------------------------------------------------------------------------------------- cells

def plain_text(value: str) -> str:
    """A cell as plain text; undo the apostrophe our export puts before formula-looking text."""
    text = (value or "").strip()
    if len(text) > 1 and text[0] == "'" and text[1:].startswith(FORMULA_PREFIXES):
        return text[1:]
    return text


def fmt_decimal(value) -> str:
    """A Decimal as plain text without exponent or trailing zeros ("0.9500" -> "0.95", "100" -> "100")."""
    if value is None:
        return ""
    d = Decimal(value)
    if d == d.to_integral_value():
        return str(d.quantize(Decimal(1)))
    return format(d.normalize(), "f")


def parse_decimal(text: str, label: str, *, positive=False, nonneg=False) -> Decimal:
    """Parse one number cell or field; raise ValidationFailed with a sentence (no field name inside)."""
    text = (text or "").strip()
    if text.startswith("'"):
        text = text[1:]
    try:
        d = to_decimal(text, label, places=PLACES)
    except ValidationFailed as exc:
        if "decimal places" in exc.english:
            raise ValidationFailed(_l("%(label)s has more than %(places)s decimal places (%(text)s); use at most "
                                      "%(places)s."),
                                   label=label, places=PLACES, text=text)
        if "too large" in exc.english:
            raise ValidationFailed(_l("%(label)s is too large (%(text)s)."), label=label, text=text)
        raise ValidationFailed(_l("%(label)s must be a number such as 12.50, not “%(text)s”."),
                               label=label, text=text[:40])
    if d.is_signed() and d == 0:
        d = Decimal(0)
    if positive and d <= 0:
        raise ValidationFailed(_l("%(label)s must be greater than zero (you gave %(text)s)."), label=label, text=text)
    if nonneg and d < 0:
        raise ValidationFailed(_l("%(label)s cannot be negative (you gave %(text)s)."), label=label, text=text)
    return d


def parse_breaks(text: str) -> list[dict]:
    """``500:0.95;1000:0.90`` -> [{"min_quantity": "500", "unit_price": "0.95"}, ...] sorted ascending."""
    text = (text or "").strip()
    if not text:
        return []
    out: dict[Decimal, Decimal] = {}
    parts = [p.strip() for p in re.split(r"[;\n]", text) if p.strip()]
    if len(parts) > MAX_BREAKS:
        raise ValidationFailed(_l("At most %(max_breaks)s price breaks are allowed; you gave %(count)s."),
                               max_breaks=MAX_BREAKS, count=len(parts))
    for part in parts:
        if ":" not in part:
            raise ValidationFailed(_l("Write each price break as quantity:price, e.g. 500:0.95 — “%(part)s” is not."),
                                   part=part[:40])
        qty_text, price_text = (s.strip() for s in part.split(":", 1))
        qty = parse_decimal(qty_text, "A price break quantity", positive=True)
        price = parse_decimal(price_text, "A price break price", nonneg=True)
        if qty in out:
            raise ValidationFailed(_l("The price break quantity %(fmt_decimal)s appears twice."),
                                   fmt_decimal=fmt_decimal(qty))
        out[qty] = price
    return [{"min_quantity": fmt_decimal(q), "unit_price": fmt_decimal(out[q])} for q in sorted(out)]


def format_breaks(breaks) -> str:
    return ";".join(f"{b['min_quantity']}:{b['unit_price']}" for b in breaks or ())


def parse_active(text: str) -> bool:
    t = (text or "").strip().lower()
    if t == "" or t in TRUE_WORDS:
        return True
    if t in FALSE_WORDS:
        return False
    raise ValidationFailed(_l("Write yes or no for active, not “%(text)s”."), text=text[:20])


def parse_currency(text: str) -> str:
    code = (text or "").strip().upper()
    if not code:
        raise ValidationFailed(_l("The currency is required (a three-letter code such as EUR)."))
    if code not in KNOWN_CURRENCIES:
        raise ValidationFailed(_l("“%(text)s” is not a currency we know; use a code such as EUR, USD or PLN."),
                               text=text[:10])
    return code


# --------------------------------------------------------------------------------------------- item fields

FIELD_LABELS = {"sku": "SKU", "name": "Name", "description": "Description", "category": "Category",
                "unit": "Unit", "pack_size": "Pack size", "moq": "Minimum order quantity (MOQ)",
                "unit_price": "Unit price", "currency": "Currency", "active": "Active",
                "price_breaks": "Price breaks"}


def clean_item(raw: dict) -> tuple[dict, dict[str, str]]:
    """Validate one item's text fields (from the form or a CSV row). Returns (clean fields, {field: sentence})."""
    out: dict = {}
    errors: dict[str, str] = {}
    for key in ("sku", "name", "description", "category", "unit"):
        value = plain_text(raw.get(key) or "")
        if key == "sku":
            value = value.strip()
            if not value:
                errors[key] = "The SKU is required."
                continue
            if re.search(r"\s", value):
                errors[key] = f"The SKU “{value[:40]}” contains spaces; SKUs are single words such as NS-HB-M12."
                continue
        if key == "name" and not value:
            errors[key] = "The name is required."
            continue
        if key == "unit" and not value:
            value = "pcs"
        if len(value) > MAX_LEN[key]:
            errors[key] = f"{FIELD_LABELS[key]} is too long ({len(value)} characters; at most {MAX_LEN[key]})."
            continue
        out[key] = value
    for key, kw in (("pack_size", {"positive": True}), ("moq", {"positive": True})):
        text = (raw.get(key) or "").strip()
        if not text:
            out[key] = None
            continue
        try:
            out[key] = parse_decimal(text, FIELD_LABELS[key], **kw)
        except ValidationFailed as exc:
            msg = exc.message
            if key == "moq" and "greater than zero" in exc.english:
                msg = gettext("%(problem)s Leave it empty for no minimum.", problem=msg)
            errors[key] = msg
    try:
        out["unit_price"] = parse_decimal(raw.get("unit_price") or "", "The unit price", nonneg=True)
    except ValidationFailed as exc:
        errors["unit_price"] = ("The unit price is required." if not (raw.get("unit_price") or "").strip()
                                else exc.message)
    try:
        out["currency"] = parse_currency(raw.get("currency") or "")
    except ValidationFailed as exc:
        errors["currency"] = exc.message
    active = raw.get("active")
    if isinstance(active, bool):
        out["active"] = active
    else:
        try:
            out["active"] = parse_active(active or "")
        except ValidationFailed as exc:
            errors["active"] = exc.message
    try:
        out["price_breaks"] = parse_breaks(raw.get("price_breaks") or "")
    except ValidationFailed as exc:
        errors["price_breaks"] = exc.message
    return out, errors


# --------------------------------------------------------------------------------------------- catalog CSV

def decode_upload(data: bytes, *, max_bytes: int = MAX_BYTES) -> str:
    """Refuse binary data, non-UTF-8 encodings and oversized files with one sentence each."""
    if len(data) > max_bytes:
        raise ValidationFailed(_l("The file is too large (%(count)s KB); the limit is %(max_bytes)s KB."),
                               count=number_fig(len(data) // 1024), max_bytes=number_fig(max_bytes // 1024),
                               errors={"file": _l("File too large.")})
    if not data.strip():
        raise ValidationFailed(_l("The file is empty."), errors={"file": _l("The file is empty.")})
    head = data[:8192]
    if b"\x00" in head or sum(b < 9 or 13 < b < 32 for b in head) > len(head) // 100 + 1:
        raise ValidationFailed(_l("This is not a text CSV file (it contains binary data). Export the spreadsheet as "
                                  "“CSV UTF-8” and upload that."), errors={"file": _l("Not a CSV text file.")})
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed(_l("The file is not UTF-8 encoded. In your spreadsheet choose “Save as… CSV UTF-8” "
                                  "and upload it again."), errors={"file": _l("Not UTF-8 encoded.")})


def parse_catalog(data: bytes | str) -> ParsedCatalog:
    """Parse a catalog CSV: every bad cell reported; duplicate SKUs inside the file are errors."""
    text = decode_upload(data) if isinstance(data, bytes) else data
    raw_rows = read_csv(text, required=REQUIRED, optional=OPTIONAL, max_rows=MAX_ROWS, max_bytes=MAX_BYTES)
    result = ParsedCatalog(total=len(raw_rows))
    first_row_of: dict[str, int] = {}
    for raw in raw_rows:
        line = raw["__line__"]
        if "__error__" in raw:
            result.errors.append(RowError(line, "", f"The row {raw['__error__']}."))
            continue
        clean, errors = clean_item(raw)
        for col, msg in errors.items():
            result.errors.append(RowError(line, col, msg))
        sku = clean.get("sku")
        if sku:
            key = sku.lower()
            if key in first_row_of:
                result.errors.append(RowError(line, "sku", f"The SKU {sku} appears twice in the file (first on "
                                                           f"row {first_row_of[key]}); keep one row per SKU."))
            else:
                first_row_of[key] = line
        if not errors:
            clean["__line__"] = line
            result.rows.append(clean)
    return result


def export_rows(items) -> str:
    """Catalog items as CSV text, formulas neutralised."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(COLUMNS)
    for it in items:
        w.writerow([safe_cell(v) for v in (
            it.sku, it.name, it.description or "", it.category or "", it.unit, fmt_decimal(it.pack_size),
            fmt_decimal(it.moq), fmt_decimal(it.unit_price), it.currency, "yes" if it.active else "no",
            format_breaks(it.price_breaks))])
    return buf.getvalue()


def template_csv() -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(COLUMNS)
    for row in TEMPLATE_ROWS:
        w.writerow(row)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------- order lines

def parse_order_csv(data: bytes) -> list[tuple[str, str, int]]:
    """An order CSV (sku,quantity) -> [(sku, quantity text, row number)]. Structural problems raise."""
    text = decode_upload(data)
    raw_rows = read_csv(text, required=ORDER_COLUMNS, optional=["description", "name", "unit", "unit_price"],
                        max_rows=MAX_ORDER_ROWS, max_bytes=MAX_BYTES)
    rows, errors = [], {}
    for raw in raw_rows:
        if "__error__" in raw:
            errors[raw["__line__"]] = f"Row {raw['__line__']}: the row {raw['__error__']}."
            continue
        rows.append((plain_text(raw.get("sku", "")), raw.get("quantity", ""), raw["__line__"]))
    if errors:
        raise ValidationFailed(_l("%(count)s row(s) of the file are malformed; nothing was ordered."),
                               count=len(errors),
                               errors=errors)
    return rows


_PASTE_SPLIT = re.compile(r"\s*[,;\t]\s*|\s+")


def parse_paste(text: str, start: int = 1) -> list[tuple[str, str, int]]:
    """Pasted "SKU, qty" lines (comma, semicolon, tab or space separated) -> [(sku, qty text, row no)].

    Row numbers continue from ``start``; blank lines are skipped; a header line "sku,quantity" is ignored.
    """
    rows = []
    n = start
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        parts = [p for p in _PASTE_SPLIT.split(line, maxsplit=1) if p != ""]
        sku = plain_text(parts[0]) if parts else ""
        qty = parts[1].strip() if len(parts) > 1 else ""
        if n == start and sku.lower() == "sku":
            continue
        rows.append((sku, qty, n))
        n += 1
    return rows
