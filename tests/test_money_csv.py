"""portal.money (one rounding rule, Decimal at the edges) and portal.csvutil (safe CSV in and out)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from portal.csvutil import read_csv, safe_cell
from portal.errors import ValidationFailed
from portal.money import format_money, format_quantity, minor_unit, quantize, to_decimal

pytestmark = pytest.mark.dialect_free  # sends no SQL: make test runs it in one of its two runs (tests/conftest.py)

D = Decimal


# ------------------------------------------------------------------------------------------- money

@pytest.mark.parametrize("amount, currency, expected", [
    ("2.345", "EUR", "2.35"),    # half-up: banker's rounding would give 2.34
    ("2.355", "EUR", "2.36"),
    ("2.344999", "EUR", "2.34"),
    ("-2.345", "EUR", "-2.35"),  # half away from zero for credits too
    ("0.005", "EUR", "0.01"),
    ("10", "EUR", "10.00"),
    ("1234.5", "JPY", "1235"),
    ("1234.4999", "JPY", "1234"),
    ("2.5", "JPY", "3"),
    ("1.2345", "KWD", "1.235"),
    ("1.005", "XXQ", "1.01"),    # unknown code: two places
])
def test_quantize_rounds_half_up_to_the_minor_unit(amount, currency, expected):
    result = quantize(D(amount), currency)
    assert result == D(expected)
    assert str(result) == expected  # and carries exactly the currency's number of places


def test_minor_units():
    assert (minor_unit("EUR"), minor_unit("JPY"), minor_unit("KWD"), minor_unit("CHF")) == (2, 0, 3, 2)


@pytest.mark.parametrize("raw, expected", [
    ("12.50", D("12.50")),
    (" 1 234.5 ", D("1234.5")),
    (0.1, D("0.1")),  # through str(): never the float's binary garbage
    (7, D("7")),
    (D("3.1415"), D("3.1415")),
    ("-0.0001", D("-0.0001")),
    ("99999999999999.9999", D("99999999999999.9999")),
])
def test_to_decimal_accepts(raw, expected):
    assert to_decimal(raw) == expected


@pytest.mark.parametrize("raw, message", [
    ("NaN", "must be a finite number"),
    (D("NaN"), "must be a finite number"),
    ("sNaN", "must be a finite number"),
    ("Infinity", "must be a finite number"),
    ("-inf", "must be a finite number"),
    ("1e400", "is too large"),
    ("100000000000000", "is too large"),
    ("1.23456", "has more than 4 decimal places"),
    ("abc", "is not a number"),
    ("12,50", "is not a number"),
    ("", "is required"),
])
def test_to_decimal_refuses(raw, message):
    with pytest.raises(ValidationFailed, match=message) as info:
        to_decimal(raw, "unit_price")
    assert info.value.message.startswith("unit_price")
    assert "unit_price" in info.value.errors  # the field gets its own sentence


def test_to_decimal_places_is_configurable():
    assert to_decimal("1.23", places=2) == D("1.23")
    with pytest.raises(ValidationFailed, match="more than 2 decimal places"):
        to_decimal("1.234", places=2)


def test_format_money_and_quantity():
    assert format_money(D("1234.5"), "EUR", "en_GB") == "€1,234.50"
    assert format_money(D("1234.5"), "EUR", "de_DE") == "1.234,50\xa0€"
    assert format_money(D("1234"), "JPY", "en_GB") == "JP¥1,234"
    assert format_money(None, "EUR") == "—"
    assert format_quantity(D("12.5000")) == "12.5"
    assert format_quantity(D("3.0000")) == "3"
    assert format_quantity(D("1234.25"), "de_DE") == "1.234,25"
    assert format_quantity(None) == "—"


# ------------------------------------------------------------------------------------------- safe_cell

@pytest.mark.parametrize("value, expected", [
    ('=HYPERLINK("http://evil.example","click")', '\'=HYPERLINK("http://evil.example","click")'),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("-2+3", "'-2+3"),
    ("-cmd", "'-cmd"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("-5", "-5"),          # plain negative numbers stay numbers
    ("-12.75", "-12.75"),
    ("Acme GmbH", "Acme GmbH"),
    ("a=b", "a=b"),
    (None, ""),
    (42, "42"),
])
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


# ------------------------------------------------------------------------------------------- read_csv

REQUIRED = ["sku", "quantity"]
OPTIONAL = ["note"]


def test_read_csv_parses_utf8_with_bom_and_semicolons():
    data = "\ufeffSKU ; Quantity;Note\nM8-20;100;Müller's pick\n\nM10-30;5;\n".encode("utf-8")
    rows = read_csv(data, required=REQUIRED, optional=OPTIONAL)
    assert [(r["sku"], r["quantity"], r["note"], r["__line__"]) for r in rows] == [
        ("M8-20", "100", "Müller's pick", 2), ("M10-30", "5", "", 4)]


def test_read_csv_accepts_pasted_text_and_missing_optional_columns():
    rows = read_csv("sku,quantity\nA-1,3\n", required=REQUIRED, optional=OPTIONAL)
    assert rows == [{"sku": "A-1", "quantity": "3", "__line__": 2}]


def test_read_csv_flags_rows_with_too_many_columns():
    rows = read_csv(b"sku,quantity\nA-1,3,surprise\nB-2,4\n", required=REQUIRED)
    assert rows[0] == {"__error__": "has 3 columns, the header has 2", "__line__": 2}
    assert rows[1]["sku"] == "B-2"


def test_read_csv_refuses_binary():
    with pytest.raises(ValidationFailed, match="not a text CSV file"):
        read_csv(b"PK\x03\x04\x00\x00binary zip", required=REQUIRED)


def test_read_csv_refuses_non_utf8():
    data = "sku,quantity,note\nA-1,3,Müller\n".encode("latin-1")
    with pytest.raises(ValidationFailed) as info:
        read_csv(data, required=REQUIRED, optional=OPTIONAL)
    assert info.value.message == "The file is not UTF-8 encoded. Save it as 'CSV UTF-8' and upload again."


def test_read_csv_names_missing_and_unknown_columns():
    with pytest.raises(ValidationFailed) as info:
        read_csv(b"SKU,qty,colour\nA-1,3,red\n", required=REQUIRED, optional=OPTIONAL)
    assert info.value.message == ("The header row is wrong — missing column(s): quantity; "
                                  "unknown column(s): qty, colour. Expected: sku, quantity, note.")


@pytest.mark.parametrize("data, message", [
    (b"", "The file is empty."),
    (b"\n\n  \r\n", "The file is empty."),
    (b"sku,quantity\n", "The file has a header but no rows."),
    (b"sku,quantity\n,\n", "The file has a header but no rows."),
])
def test_read_csv_refuses_empty(data, message):
    with pytest.raises(ValidationFailed) as info:
        read_csv(data, required=REQUIRED)
    assert info.value.message == message


def test_read_csv_limits_rows_and_size():
    many = b"sku,quantity\n" + b"A,1\n" * 6
    assert len(read_csv(many, required=REQUIRED, max_rows=6)) == 6
    with pytest.raises(ValidationFailed, match="more than 5 rows"):
        read_csv(many, required=REQUIRED, max_rows=5)
    with pytest.raises(ValidationFailed, match="too large"):
        read_csv(b"sku,quantity\n" + b"A,1\n" * 1000, required=REQUIRED, max_bytes=1024)
    with pytest.raises(ValidationFailed, match="too large"):
        read_csv("sku,quantity\n" + "A,1\n" * 1000, required=REQUIRED, max_bytes=1024)


def test_read_csv_reports_malformed_csv_as_a_sentence():
    data = b"sku,quantity\nA-1,3\n" + b"B" * 140_000 + b",4\n"  # a field beyond the csv module's limit
    with pytest.raises(ValidationFailed, match="The CSV is malformed near line 3"):
        read_csv(data, required=REQUIRED)
