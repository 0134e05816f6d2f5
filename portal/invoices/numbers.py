"""Invoice and credit-note numbers: INV-2026-000001 / CRN-2026-000001, per supplier, series and year.

Numbers come from portal.numbering.next_number: a counter row updated (UPDATE ... RETURNING) inside the
issuing transaction. The UPDATE holds the row lock until that transaction commits or rolls back, so two
issues at the same moment queue behind each other, and a failed issue rolls the increment back with
everything else — unique and without gaps.
"""
from __future__ import annotations

from portal.numbering import format_reference, next_number

SERIES = {"invoice": "INV", "credit_note": "CRN"}
WIDTH = 6


def series_for(kind) -> str:
    return SERIES[getattr(kind, "value", kind)]


def draw(supplier_company_id: int, series: str, year: int) -> tuple[int, str]:
    """The next sequence and its formatted number. Call inside the issuing transaction only."""
    seq = next_number(supplier_company_id, series, year)
    return seq, format_reference(series, year, seq, WIDTH)
