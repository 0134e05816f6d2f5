"""CSV in and out, safely: formula injection neutralised on export, encodings and sizes checked on import."""
from __future__ import annotations

import csv
import io

from portal.errors import ValidationFailed
from portal.i18n import _l

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """Neutralise spreadsheet formulas (=HYPERLINK(...), +cmd, @SUM) by prefixing a quote."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES):
        # Plain negative numbers stay numbers.
        if text[0] == "-" and _is_number(text):
            return text
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def read_csv(data: bytes | str, *, required: list[str], optional: list[str] = (), max_rows: int = 5000,
             max_bytes: int = 2 * 1024 * 1024) -> list[dict]:
    """Decode and parse an uploaded CSV into dicts keyed by lower-case header. Raises ValidationFailed."""
    if isinstance(data, bytes):
        if len(data) > max_bytes:
            raise ValidationFailed(_l("The file is too large (%(count)s KB); the limit is %(max_bytes)s KB."),
                                   count=len(data) // 1024, max_bytes=max_bytes // 1024)
        if b"\x00" in data[:4096]:
            raise ValidationFailed(_l("This is not a text CSV file (it contains binary data)."))
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationFailed(_l("The file is not UTF-8 encoded. Save it as 'CSV UTF-8' and upload again."))
    else:
        text = data
        if len(text) > max_bytes:
            raise ValidationFailed(_l("The pasted text is too large."))
    text = text.strip("\n\r ")
    if not text:
        raise ValidationFailed(_l("The file is empty."))
    try:
        dialect = csv.Sniffer().sniff(text[:2048], delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except (StopIteration, csv.Error):
        raise ValidationFailed(_l("The file has no header row."))
    missing = [c for c in required if c not in header]
    unknown = [h for h in header if h and h not in required and h not in optional]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing column(s): {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column(s): {', '.join(unknown)}")
        raise ValidationFailed(_l("The header row is wrong — %(problems)s. Expected: %(expected)s."),
                               problems="; ".join(parts), expected=", ".join(list(required) + list(optional)))
    rows = []
    try:
        for raw in reader:
            if not any(c.strip() for c in raw):
                continue
            if len(rows) >= max_rows:
                raise ValidationFailed(_l("The file has more than %(max_rows)s rows."), max_rows=max_rows)
            if len(raw) > len(header):
                rows.append({"__error__": f"has {len(raw)} columns, the header has {len(header)}",
                             "__line__": reader.line_num})
                continue
            row = {h: (raw[i].strip() if i < len(raw) else "") for i, h in enumerate(header) if h}
            row["__line__"] = reader.line_num
            rows.append(row)
    except csv.Error as exc:
        raise ValidationFailed(_l("The CSV is malformed near line %(line_num)s: %(exc)s."),
                               line_num=reader.line_num, exc=exc)
    if not rows:
        raise ValidationFailed(_l("The file has a header but no rows."))
    return rows
