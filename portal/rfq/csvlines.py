"""RFQ lines in and out of CSV: parse and check every row before anything is saved; export safely.

The import is two-step: ``parse`` returns the parsed rows *and* one sentence per bad cell (row number as
the spreadsheet shows it, column name); the person confirms only an error-free preview, and the confirm step
parses the same text again (no server memory). Structural problems (binary data, wrong encoding, wrong
header, too large) raise ValidationFailed with one clear sentence.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from portal.csvutil import read_csv, safe_cell
from portal.errors import ValidationFailed
from portal.i18n import _l
from portal.errors import number_fig
from portal.money import example_number, parse_number, to_decimal

REQUIRED = ["description", "quantity"]
OPTIONAL = ["unit", "part_number", "target_price", "notes"]
COLUMNS = ["description", "quantity", "unit", "part_number", "target_price", "notes"]

MAX_BYTES = 2 * 1024 * 1024  # 2 MB of CSV is ~20,000 ordinary lines; far above what an RFQ needs
MAX_ROWS = 2000

# Column limits (the rfq_lines table): description 500, part number 64, unit 16; quantities and prices are
# Numeric(18, 4): at most 4 decimals and below 10^14.
MAX_DESCRIPTION = 500
MAX_PART_NUMBER = 64
MAX_UNIT = 16
MAX_NOTES = 2000
PLACES = 4
LIMIT = Decimal(10) ** 14

TEMPLATE_ROWS = [
    ["Hex bolt M12x60 DIN 933 8.8 zinc plated", "2000", "pcs", "HB-M12-60", "0.21", ""],
    ["Hex nut M12 DIN 934 8 zinc plated", "2000", "pcs", "HN-M12", "0.06", "Delivered in 500 pcs boxes"],
    ["Threaded rod M10 1 m 4.6 zinc", "150", "m", "", "", ""],
]


@dataclass
class RowError:
    row: int  # the row number as a spreadsheet shows it (the header is row 1)
    column: str  # "" when the whole row is wrong
    message: str

    def __str__(self) -> str:
        where = f"Row {self.row}" + (f", column “{self.column}”" if self.column else "")
        return f"{where}: {self.message}"


@dataclass
class ParsedLines:
    rows: list[dict] = field(default_factory=list)  # clean values, ready for RfqLine(**row)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.rows) and not self.errors


# --------------------------------------------------------------------------------------------- input

def decode_upload(data: bytes) -> str:
    """Turn an uploaded file into text, refusing binary data, non-UTF-8 encodings and oversized files."""
    if len(data) > MAX_BYTES:
        raise ValidationFailed(_l("The file is too large (%(count)s KB); the limit for a CSV of lines is "
                                  "%(max_bytes)s KB."),
                               count=number_fig(len(data) // 1024), max_bytes=number_fig(MAX_BYTES // 1024),
                               errors={"file": _l("File too large.")})
    if not data.strip():
        raise ValidationFailed(_l("The file is empty."), errors={"file": _l("The file is empty.")})
    if b"\x00" in data[:8192] or _looks_binary(data[:8192]):
        raise ValidationFailed(_l("This is not a text CSV file (it contains binary data). Export the spreadsheet as "
                                  "“CSV UTF-8” and upload that."),
                               errors={"file": _l("Not a CSV text file.")})
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed(_l("The file is not UTF-8 encoded. In your spreadsheet choose “Save as… CSV UTF-8” "
                                  "and upload it again."), errors={"file": _l("Not UTF-8 encoded.")})


def _looks_binary(head: bytes) -> bool:
    """Control characters other than tab/newline/carriage return are not in a CSV someone typed."""
    if not head:
        return False
    bad = sum(1 for b in head if b < 32 and b not in (9, 10, 13))
    return bad > max(2, len(head) // 100)


def check_text(text: str) -> str:
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ValidationFailed(_l("The pasted text is too large; the limit is %(max_bytes)s KB."),
                               max_bytes=number_fig(MAX_BYTES // 1024),
                               errors={"text": _l("Too large.")})
    if "\x00" in text or _looks_binary(text[:8192].encode("utf-8", "replace")):
        raise ValidationFailed(_l("The pasted text contains binary data; paste rows copied from a spreadsheet."),
                               errors={"text": _l("Not CSV text.")})
    if not text.strip():
        raise ValidationFailed(_l("Paste some lines or choose a CSV file."),
                               errors={"text": _l("Nothing to import.")})
    return text


def parse(text: str) -> ParsedLines:
    """Parse CSV text of lines. Raises ValidationFailed for a file that is not a CSV of lines at all; returns
    every row-level problem in ``errors`` (and the good rows in ``rows``)."""
    check_text(text)
    raw_rows = read_csv(text, required=REQUIRED, optional=OPTIONAL, max_rows=MAX_ROWS, max_bytes=MAX_BYTES)
    out = ParsedLines()
    for raw in raw_rows:
        row_no = raw.get("__line__", 0)
        if "__error__" in raw:
            out.errors.append(RowError(row_no, "", f"the row {raw['__error__']} (a comma inside a "
                                                   "description needs quotes around the text)."))
            continue
        clean, errors = clean_line(raw)
        for column, message in errors.items():
            out.errors.append(RowError(row_no, column, message))
        if not errors:
            clean["row"] = row_no
            out.rows.append(clean)
    return out


def clean_line(raw: dict) -> tuple[dict, dict[str, str]]:
    """Check one line's values (from a CSV row or the line form).

    Returns (clean values, {column: sentence})."""
    errors: dict[str, str] = {}
    description = (raw.get("description") or "").strip()
    if not description:
        errors["description"] = "a description is required."
    elif len(description) > MAX_DESCRIPTION:
        errors["description"] = f"the description is {len(description)} characters long; at most " \
                                f"{MAX_DESCRIPTION} are allowed."
    quantity = _number(raw.get("quantity"), "quantity", errors, required=True)
    if quantity is not None and quantity <= 0:
        shown = str(raw.get("quantity", "")).strip()
        errors["quantity"] = f"the quantity must be greater than zero (it is {shown})."
        quantity = None
    unit = (raw.get("unit") or "").strip() or "pcs"
    if len(unit) > MAX_UNIT:
        errors["unit"] = (f"the unit “{unit[:40]}” is too long; use at most {MAX_UNIT} characters "
                          "(e.g. pcs, kg, m).")
    part_number = (raw.get("part_number") or "").strip() or None
    if part_number and len(part_number) > MAX_PART_NUMBER:
        errors["part_number"] = f"the part number is too long; at most {MAX_PART_NUMBER} characters."
    target = _number(raw.get("target_price"), "target_price", errors, required=False)
    if target is not None and target < 0:
        errors["target_price"] = "the target unit price cannot be negative."
        target = None
    notes = (raw.get("notes") or "").strip()
    if len(notes) > MAX_NOTES:
        errors["notes"] = f"the notes are too long; at most {MAX_NOTES} characters."
    clean = {"description": description, "quantity": quantity, "unit": unit, "part_number": part_number,
             "target_price": target, "notes": notes}
    return clean, errors


def _number(value, column: str, errors: dict, *, required: bool) -> Decimal | None:
    label = "quantity" if column == "quantity" else "target unit price"
    text = ("" if value is None else str(value)).strip().replace(" ", "").replace("\u00a0", "")
    if text == "":
        if required:
            errors[column] = f"a {label} is required."
        return None
    try:
        d = parse_number(text)  # in a web form, the person's decimal comma is understood
    except InvalidOperation:
        example = example_number("12.5")
        hint = (" — use a point as the decimal separator (e.g. 12.5)" if "," in text and example == "12.5"
                else f" (e.g. {example})")
        errors[column] = f"“{text[:40]}” is not a number{hint}."
        return None
    if not d.is_finite():
        errors[column] = f"“{text[:40]}” is not a number (e.g. 12.5)."
        return None
    exponent = d.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > PLACES:
        errors[column] = f"the {label} {text} has more than {PLACES} decimal places."
        return None
    if abs(d) >= LIMIT:
        errors[column] = f"the {label} {text} is too large (it must be below 100,000,000,000,000)."
        return None
    return to_decimal(d, column, places=PLACES)  # the portal's one parser agrees (never raises here)


# --------------------------------------------------------------------------------------------- output

def _plain(d: Decimal | None) -> str:
    if d is None:
        return ""
    d = Decimal(d).normalize()
    return format(d, "f")


def template_csv() -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(COLUMNS)
    w.writerows(TEMPLATE_ROWS)
    return buf.getvalue()


def export_lines(lines) -> str:
    """The RFQ's lines as CSV in the import format, every cell neutralised against spreadsheet formulas."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(COLUMNS)
    for ln in lines:
        w.writerow([safe_cell(v) for v in (
            ln.description, _plain(ln.quantity), ln.unit, ln.part_number or "", _plain(ln.target_price),
            ln.notes or "")])
    return "\ufeff" + buf.getvalue()  # BOM: spreadsheets then read UTF-8 correctly
