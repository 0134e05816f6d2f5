"""Codes of EN 16931 in one module: UN/ECE Rec 20 units, VAT categories and exemption reasons, countries,
currencies, document and payment-means types.

The full lists (``code_lists``) are generated from the official CEN validation artefacts; this module maps the
portal's free-text units and its tax facts (rate, reverse charge) onto them. tests/einvoice/test_codes.py checks
both against the artefacts.
"""
from __future__ import annotations

from decimal import Decimal

from portal.einvoice.code_lists import (COUNTRY_CODES, CURRENCY_CODES, DOCUMENT_TYPE_CODES, EAS_CODES,  # noqa: F401
                                        PAYMENT_MEANS_CODES, UNIT_CODES, VAT_CATEGORY_CODES, VATEX_CODES)

INVOICE = "380"  # UNTDID 1001 commercial invoice
CREDIT_NOTE = "381"  # UNTDID 1001 credit note
CREDIT_TRANSFER_SEPA = "58"  # UNTDID 4461 SEPA credit transfer
DEFAULT_UNIT = "C62"  # "one": a unit we cannot name is counted as one

# The portal's unit words (case-insensitive) -> Rec 20 codes.
UNIT_ALIASES = {
    "": "C62", "pcs": "H87", "pc": "H87", "piece": "H87", "pieces": "H87", "stk": "H87", "st": "H87",
    "ea": "EA", "each": "EA", "unit": "C62", "units": "C62", "one": "C62", "flat": "C62", "lump": "LS",
    "lump sum": "LS", "set": "SET", "sets": "SET", "pair": "PR", "pairs": "PR", "dozen": "DZN", "doz": "DZN",
    "box": "XBX", "boxes": "XBX", "carton": "XCT", "pallet": "XPX", "pallets": "XPX", "pack": "XPK",
    "packs": "XPK", "roll": "XRO", "rolls": "XRO", "bag": "XBG", "bags": "XBG", "drum": "XDR",
    "kg": "KGM", "kgs": "KGM", "kilogram": "KGM", "g": "GRM", "gram": "GRM", "t": "TNE", "tonne": "TNE",
    "ton": "TNE", "mg": "MGM", "lb": "LBR",
    "m": "MTR", "metre": "MTR", "meter": "MTR", "cm": "CMT", "mm": "MMT", "km": "KMT",
    "m2": "MTK", "m²": "MTK", "sqm": "MTK", "m3": "MTQ", "m³": "MTQ", "cbm": "MTQ",
    "l": "LTR", "litre": "LTR", "liter": "LTR", "ml": "MLT", "hl": "HLT",
    "h": "HUR", "hr": "HUR", "hrs": "HUR", "hour": "HUR", "hours": "HUR", "min": "MIN", "day": "DAY",
    "days": "DAY", "week": "WEE", "month": "MON", "year": "ANN", "kwh": "KWH",
}
# Reverse: for imported lines, a Rec 20 code -> the word the portal shows.
UNIT_WORDS = {"H87": "pcs", "C62": "pcs", "EA": "pcs", "KGM": "kg", "GRM": "g", "TNE": "t", "MTR": "m",
              "CMT": "cm", "MMT": "mm", "MTK": "m2", "MTQ": "m3", "LTR": "l", "MLT": "ml", "HUR": "h",
              "DAY": "day", "SET": "set", "PR": "pair", "XBX": "box", "XPX": "pallet", "LS": "flat"}

# VAT categories the portal writes, with the exemption reason each needs (BR-AE-10, BR-IC-10, BR-E-10).
STANDARD = "S"
ZERO_RATED = "Z"
EXEMPT = "E"
REVERSE_CHARGE = "AE"
INTRA_COMMUNITY = "K"
EXPORT = "G"
NOT_SUBJECT = "O"
EXEMPTION_REASONS = {
    REVERSE_CHARGE: ("VATEX-EU-AE", "Reverse charge"),
    INTRA_COMMUNITY: ("VATEX-EU-IC", "Intra-community supply"),
    EXPORT: ("VATEX-EU-G", "Export outside the EU"),
    NOT_SUBJECT: ("VATEX-EU-O", "Not subject to VAT"),
    EXEMPT: ("", "Exempt from VAT"),
}
# Categories whose rate is 0 and whose tax amount is 0 by definition.
ZERO_CATEGORIES = {ZERO_RATED, EXEMPT, REVERSE_CHARGE, INTRA_COMMUNITY, EXPORT, NOT_SUBJECT}


def unit_code(unit: str | None) -> str:
    """The Rec 20 code for a portal unit: an alias, or the text itself when it is a Rec 20 code, else C62."""
    text = (unit or "").strip()
    alias = UNIT_ALIASES.get(text.lower())
    if alias:
        return alias
    if text.upper() in UNIT_CODES:
        return text.upper()
    return DEFAULT_UNIT


def unit_word(code: str) -> str:
    return UNIT_WORDS.get(code, code.lower())


def vat_category(rate, *, reverse_charge: bool = False, exempt: bool = False) -> str:
    """The category of a line from the portal's facts: intra-EU reverse charge is an intra-community supply of
    goods (K); a positive rate is standard (S); a zero rate is zero-rated (Z) unless marked exempt (E)."""
    if reverse_charge:
        return INTRA_COMMUNITY
    if Decimal(str(rate or 0)) > 0:
        return STANDARD
    return EXEMPT if exempt else ZERO_RATED


def exemption(category: str, text: str | None = None) -> tuple[str, str]:
    """(VATEX code, reason text) for a zero category; ("", "") for S and Z."""
    code, default = EXEMPTION_REASONS.get(category, ("", ""))
    return code, (text or default)


def country_ok(code: str | None) -> bool:
    return (code or "") in COUNTRY_CODES


def vat_country(vat_number: str | None) -> str:
    """The country prefix of a VAT id ("DE123..." -> "DE"; Greece uses EL)."""
    prefix = (vat_number or "")[:2].upper()
    return "GR" if prefix == "EL" else prefix


def normalise_vat(vat_number: str | None) -> str:
    return "".join(ch for ch in (vat_number or "").upper() if ch.isalnum())
