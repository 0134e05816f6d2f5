"""Pricing rules: ordered quantity (MOQ, pack size), tier price, rounded line total, quantity checks."""

from decimal import Decimal as D

import pytest

from portal.errors import ValidationFailed
from portal.quotes import pricing

pytestmark = pytest.mark.dialect_free  # sends no SQL: make test runs it in one of its two runs (tests/conftest.py)


@pytest.fixture(autouse=True)
def app_ctx():
    """Pure functions: no app context and no database clean-up needed (overrides tests/conftest.py's)."""
    yield


BREAKS = [
    {"min_quantity": "100", "unit_price": "0.95"},
    {"min_quantity": "500", "unit_price": "0.80"},
    {"min_quantity": "1000", "unit_price": "0.70"},
]


# ------------------------------------------------------------------------------------------ ordered quantity


@pytest.mark.parametrize(
    "requested, moq, pack, expected",
    [
        ("480", None, None, "480"),  # no terms: as requested
        ("480", "500", None, "500"),  # below MOQ: raised to the MOQ
        ("600", "500", None, "600"),  # above MOQ: unchanged
        ("500", "500", None, "500"),  # exactly the MOQ
        ("480", None, "25", "500"),  # rounded UP to whole packs
        ("475", None, "25", "475"),  # already whole packs
        ("1", None, "25", "25"),  # one pack at least
        ("480", "510", "25", "525"),  # MOQ first, then packs
        ("480", "450", "25", "500"),  # MOQ below request: packs of the request
        ("10.5", None, "0.25", "10.5"),  # fractional packs (kg)
        ("10.6", None, "0.25", "10.75"),
        ("1", None, "0.3", "1.2"),
        ("0.0001", "1", None, "1"),
        ("100", "", "", "100"),  # empty strings are "no term"
    ],
)
def test_ordered_quantity(requested, moq, pack, expected):
    assert pricing.ordered_quantity(D(requested), moq and D(moq) or moq, pack and D(pack) or pack) == D(
        expected
    )


def test_ordered_quantity_is_a_decimal_and_accepts_decimal_strings():
    q = pricing.ordered_quantity("480", "500", "25")
    assert isinstance(q, D) and q == D("500")


@pytest.mark.parametrize(
    "requested, moq, pack",
    [
        ("0", None, None),
        ("-5", None, None),
        ("10", "0", None),
        ("10", None, "0"),
        ("10", None, "-25"),
        ("abc", None, None),
        ("NaN", None, None),
        ("Infinity", None, None),
    ],
)
def test_ordered_quantity_refuses_nonsense(requested, moq, pack):
    with pytest.raises(ValueError):
        pricing.ordered_quantity(requested, moq, pack)


def test_floats_are_refused_everywhere():
    with pytest.raises(TypeError):
        pricing.ordered_quantity(480.0)
    with pytest.raises(TypeError):
        pricing.unit_price_at(D("10"), 1.5)
    with pytest.raises(TypeError):
        pricing.line_total(D("3"), 0.1, "EUR")


# ------------------------------------------------------------------------------------------ tier price


@pytest.mark.parametrize(
    "qty, expected",
    [
        ("1", "1.00"),
        ("99", "1.00"),
        ("99.9999", "1.00"),
        ("100", "0.95"),
        ("499", "0.95"),
        ("500", "0.80"),
        ("999", "0.80"),
        ("1000", "0.70"),
        ("100000", "0.70"),
    ],
)
def test_unit_price_is_the_highest_break_at_or_below_the_quantity(qty, expected):
    assert pricing.unit_price_at(D(qty), D("1.00"), BREAKS) == D(expected)


def test_breaks_in_any_order_give_the_same_price():
    assert pricing.unit_price_at(D("600"), D("1"), list(reversed(BREAKS))) == D("0.80")


def test_no_breaks_means_the_base_price():
    assert pricing.unit_price_at(D("5000"), D("1.2345"), []) == D("1.2345")
    assert pricing.unit_price_at(D("5000"), D("1.2345"), None) == D("1.2345")


def test_a_break_applies_even_without_base_price():
    assert pricing.unit_price_at(D("500"), None, BREAKS) == D("0.80")
    with pytest.raises(ValueError):
        pricing.unit_price_at(D("50"), None, BREAKS)


@pytest.mark.parametrize(
    "bad",
    [
        [{"min_quantity": "10"}],
        [{"unit_price": "1"}],
        ["x"],
        [{"min_quantity": "10", "unit_price": "-1"}],
        [{"min_quantity": "ten", "unit_price": "1"}],
    ],
)
def test_malformed_breaks_are_refused(bad):
    with pytest.raises((ValueError, TypeError)):
        pricing.unit_price_at(D("100"), D("1"), bad)


def test_tier_price_is_taken_at_the_ordered_quantity_not_the_requested_one():
    ordered = pricing.ordered_quantity(D("480"), D("500"), None)
    assert pricing.unit_price_at(ordered, D("1.00"), BREAKS) == D("0.80")


# ------------------------------------------------------------------------------------------ line total


@pytest.mark.parametrize(
    "qty, price, currency, expected",
    [
        ("3", "0.335", "EUR", "1.01"),  # 1.005 -> 1.01 (half up, not banker's 1.00)
        ("1", "2.345", "EUR", "2.35"),
        ("1", "2.344", "EUR", "2.34"),
        ("7", "1.2345", "EUR", "8.64"),  # 8.6415
        ("3", "0.5", "JPY", "2"),  # 1.5 -> 2 (no minor unit)
        ("1", "1.2345", "KWD", "1.235"),  # 3 decimals (1.2345 -> 1.235 half up)
        ("1000", "0.70", "EUR", "700.00"),
        ("0.25", "10", "EUR", "2.50"),
    ],
)
def test_line_total_is_rounded_half_up_to_the_currency(qty, price, currency, expected):
    total = pricing.line_total(D(qty), D(price), currency)
    assert total == D(expected) and str(total) == expected


def test_line_total_keeps_precision_for_large_amounts():
    # 999999989999.00000001 exactly: no float, no loss of the high digits
    assert str(pricing.line_total(D("99999999.9999"), D("9999.9999"), "EUR")) == "999999989999.00"


# ------------------------------------------------------------------------------------------ check_quantity


def test_check_quantity_accepts_valid_quantities():
    assert pricing.check_quantity(D("500"), D("500"), D("25")) is None
    assert pricing.check_quantity(D("525"), D("500"), D("25")) is None
    assert pricing.check_quantity(D("7"), None, None) is None
    assert pricing.check_quantity(D("10.5"), None, D("0.25")) is None


def test_check_quantity_below_moq_says_the_minimum():
    with pytest.raises(ValidationFailed) as exc:
        pricing.check_quantity(D("480"), D("500"), None)
    assert exc.value.message == "Minimum order is 500 pcs; 480 is below it."
    assert exc.value.errors["quantity"] == exc.value.message


def test_check_quantity_not_a_pack_multiple_offers_both_neighbours():
    with pytest.raises(ValidationFailed) as exc:
        pricing.check_quantity(D("480"), None, D("25"))
    assert exc.value.message == "Sold in packs of 25: order 475 or 500."


def test_check_quantity_below_one_pack_offers_one_pack():
    with pytest.raises(ValidationFailed) as exc:
        pricing.check_quantity(D("10"), None, D("25"))
    assert exc.value.message == "Sold in packs of 25: order 25."


def test_check_quantity_lower_neighbour_below_moq_is_not_offered():
    with pytest.raises(ValidationFailed) as exc:
        pricing.check_quantity(D("515"), D("510"), D("25"))
    assert exc.value.message == "Sold in packs of 25: order 525."


def test_check_quantity_lower_neighbour_at_moq_is_offered():
    with pytest.raises(ValidationFailed) as exc:
        pricing.check_quantity(D("510"), D("500"), D("25"))
    assert exc.value.message == "Sold in packs of 25: order 500 or 525."


def test_check_quantity_moq_not_a_pack_multiple_names_the_smallest_valid_order():
    with pytest.raises(ValidationFailed) as exc:
        pricing.check_quantity(D("480"), D("510"), D("25"))
    assert exc.value.message == (
        "Minimum order is 510 pcs, sold in packs of 25; 480 is below it: order at least 525."
    )


def test_check_quantity_uses_the_unit_and_thousands_separators():
    with pytest.raises(ValidationFailed) as exc:
        pricing.check_quantity(D("1200"), D("2500"), None, unit="kg")
    assert exc.value.message == "Minimum order is 2,500 kg; 1,200 is below it."


@pytest.mark.parametrize("q", ["0", "-1"])
def test_check_quantity_refuses_zero_and_negative(q):
    with pytest.raises(ValidationFailed, match="greater than zero"):
        pricing.check_quantity(D(q), None, None)


def test_ordered_quantity_always_passes_check_quantity():
    for requested in range(1, 700, 7):
        for moq, pack in [
            (None, None),
            (D("500"), None),
            (None, D("25")),
            (D("510"), D("25")),
            (D("3"), D("7")),
        ]:
            q = pricing.ordered_quantity(D(requested), moq, pack)
            pricing.check_quantity(q, moq, pack)
            assert q >= D(requested)


# ------------------------------------------------------------------------------------------ adjustment note


def test_adjustment_note_explains_the_change():
    assert pricing.adjustment_note(D("480"), D("480")) is None
    assert (
        pricing.adjustment_note(D("480"), D("500"), D("500"), None)
        == "500 pcs instead of 480 (minimum order 500 pcs)"
    )
    assert (
        pricing.adjustment_note(D("480"), D("500"), None, D("25")) == "500 pcs instead of 480 (packs of 25)"
    )
    assert pricing.adjustment_note(D("480"), D("525"), D("510"), D("25")) == (
        "525 pcs instead of 480 (minimum order 510 pcs and packs of 25)"
    )
