"""Bad input of the quote: each bad cell gets its own sentence, and nothing is saved."""
from datetime import timedelta
from decimal import Decimal

import pytest

from portal.db import utcnow
from portal.errors import ValidationFailed
from portal.quotes import services
from tests.quotes.helpers import draft_with, fresh, header, lines

pytestmark = pytest.mark.usefixtures("isolated_requests")


LINE_CASES = [
    # (field, value, message fragment)
    ("unit_price", "-1", "Must be 0 or more."),
    ("unit_price", "1.23456", "Use at most 4 decimal places."),
    ("unit_price", "100000000000000", "This number is too large."),  # 10^14
    ("unit_price", "12,50", "Enter a price such as 12.50."),
    ("unit_price", "abc", "Enter a price such as 12.50."),
    ("unit_price", "NaN", "finite"),
    ("price_breaks", "1000:0.9; 500:0.95", "Break quantities must increase: 1000 is followed by 500."),
    ("price_breaks", "500:0.9; 500:0.85", "Break quantity 500 appears twice."),
    ("price_breaks", "0:0.9", "Must be more than 0."),
    ("price_breaks", "500:-0.9", "Must be 0 or more."),
    ("price_breaks", "500-0.9", "is not quantity:price"),
    ("price_breaks", "500:0.12345", "Use at most 4 decimal places."),
    ("moq", "0", "Must be more than 0."),
    ("moq", "-5", "Must be more than 0."),
    ("pack_size", "-10", "Must be more than 0."),
    ("pack_size", "0", "Must be more than 0."),
    ("lead_time_days", "2.5", "Whole days only"),
    ("lead_time_days", "-3", "Whole days only"),
    ("lead_time_days", "ten", "Whole days only"),
    ("lead_time_days", "99999", "At most 3650 days."),
]


def test_each_bad_line_cell_is_named_and_nothing_is_saved(world, open_rfq):
    q = fresh(draft_with(open_rfq, world.sales_a, ["1", "2", "3"]))
    key_of = lambda field: f"lines.{open_rfq.lines[1].id}.{field}"  # noqa: E731
    for field, value, fragment in LINE_CASES:
        case = f"{field}={value!r}"
        bad = lines(open_rfq, ["9", "9", "9"], **{field: {1: value}})
        with pytest.raises(ValidationFailed) as exc:
            services.save_draft(q, world.sales_a, header(shipping="77"), bad, q.lock_version)
        assert list(exc.value.errors) == [key_of(field)], case
        assert fragment in exc.value.errors[key_of(field)], (case, exc.value.errors)
        assert "Nothing was saved" in exc.value.message and "line 2" in exc.value.message, case
        v = fresh(q).draft_version
        assert sorted(ql.unit_price for ql in v.lines) == [Decimal(1), Decimal(2), Decimal(3)], case
        assert v.shipping_cost == Decimal("25"), case
        q = fresh(q)


def test_a_price_just_below_the_limit_is_fine(world, open_rfq):
    # (validated, not stored: SQLite keeps NUMERIC as a float and would round 18 digits)
    _, clean = services.validate_input(open_rfq, world.sales_a, {},
                                       lines(open_rfq, ["99999999999999.9999", "0", "0.0001"]))
    assert sorted(c["unit_price"] for c in clean) == [Decimal("0"), Decimal("0.0001"),
                                                      Decimal("99999999999999.9999")]


def test_declining_needs_a_reason(world, open_rfq):
    q = fresh(draft_with(open_rfq, world.sales_a, ["1", "2", "3"]))
    with pytest.raises(ValidationFailed) as exc:
        services.save_draft(q, world.sales_a, {}, lines(open_rfq, ["1", None, "3"], declined={1: True}),
                            q.lock_version)
    assert exc.value.errors == {f"lines.{open_rfq.lines[1].id}.decline_reason": "Give a reason for declining this line."}


def test_a_declined_line_drops_its_prices(world, open_rfq):
    q = fresh(draft_with(open_rfq, world.sales_a, ["1", "2", "3"], declined={1: True},
                         decline_reason={1: "Obsolete part"}, moq={1: "5"}))
    ql = next(x for x in q.draft_version.lines if x.rfq_line_id == open_rfq.lines[1].id)
    assert ql.declined and ql.decline_reason == "Obsolete part" and ql.unit_price is None and ql.moq is None


def test_terms_without_a_price_ask_for_the_price(world, open_rfq):
    q = fresh(draft_with(open_rfq, world.sales_a, ["1", "2", "3"]))
    with pytest.raises(ValidationFailed) as exc:
        services.save_draft(q, world.sales_a, {}, lines(open_rfq, ["1", None, "3"], moq={1: "10"}), q.lock_version)
    assert exc.value.errors == {f"lines.{open_rfq.lines[1].id}.unit_price": "Enter a unit price, or decline the line."}


def test_every_bad_cell_is_reported_at_once(world, open_rfq):
    q = fresh(draft_with(open_rfq, world.sales_a, ["1", "2", "3"]))
    bad = lines(open_rfq, ["-1", "x", "1.00001"], moq={0: "0"}, lead_time_days={2: "1.5"})
    with pytest.raises(ValidationFailed) as exc:
        services.save_draft(q, world.sales_a, {"valid_until": "yesterday"}, bad, q.lock_version)
    assert len(exc.value.errors) == 6
    assert "lines 1, 2, 3" in exc.value.message and "valid until" in exc.value.message


HEADER_CASES = [
    ("valid_until", (utcnow() - timedelta(days=1)).date().isoformat(), "The validity date cannot be in the past."),
    ("valid_until", "31.12.2027", "Enter a date like 2027-03-31."),
    ("shipping_cost", "-5", "Must be 0 or more."),
    ("shipping_cost", "10.123", "EUR amounts have at most 2 decimal places."),
    ("shipping_cost", "lots", "Enter an amount such as 120.00."),
    ("delivery_terms", "x" * 201, "under 200 characters"),
    ("notes", "x" * 5001, "under 5000 characters"),
]


def test_each_bad_header_field_is_named_and_nothing_is_saved(world, open_rfq):
    q = fresh(draft_with(open_rfq, world.sales_a, ["1", "2", "3"]))
    for field, value, fragment in HEADER_CASES:
        case = f"{field}={value[:20]!r}"
        with pytest.raises(ValidationFailed) as exc:
            services.save_draft(q, world.sales_a, {**header(shipping="50"), field: value},
                                lines(open_rfq, ["5", "5", "5"]), q.lock_version)
        assert list(exc.value.errors) == [field] and fragment in exc.value.errors[field], (case, exc.value.errors)
        v = fresh(q).draft_version
        assert v.shipping_cost == Decimal("25") and {ql.unit_price for ql in v.lines} != {Decimal(5)}, case
        q = fresh(q)


def test_today_is_a_valid_validity_date(world, open_rfq):
    q = fresh(draft_with(open_rfq, world.sales_a, ["1", "2", "3"], hdr={"valid_until": utcnow().date().isoformat()}))
    assert q.draft_version.valid_until == utcnow().date()


def test_unknown_and_duplicate_rfq_lines_are_refused(world, open_rfq):
    q = fresh(draft_with(open_rfq, world.sales_a, ["1", "2", "3"]))
    data = lines(open_rfq, ["1", "2", "3"]) + [{"rfq_line_id": 999999, "unit_price": "1"},
                                               {"rfq_line_id": open_rfq.lines[0].id, "unit_price": "4"}]
    with pytest.raises(ValidationFailed) as exc:
        services.save_draft(q, world.sales_a, {}, data, q.lock_version)
    assert "Unknown RFQ line id(s): 999999." in exc.value.errors["lines"]
    assert exc.value.errors[f"lines.{open_rfq.lines[0].id}.unit_price"] == "This line is given twice."


# --------------------------------------------------------------------------------------------- price breaks

BREAK_CASES = [
    ("", []),
    ("500:0.95", [{"min_quantity": "500", "unit_price": "0.95"}]),
    ("500:0.95; 1000:0.90", [{"min_quantity": "500", "unit_price": "0.95"},
                             {"min_quantity": "1000", "unit_price": "0.9"}]),
    (" 500 : 0.95 ;1000=0.9;\n2500@0.8 ;", [{"min_quantity": "500", "unit_price": "0.95"},
                                            {"min_quantity": "1000", "unit_price": "0.9"},
                                            {"min_quantity": "2500", "unit_price": "0.8"}]),
    ("12.5:3", [{"min_quantity": "12.5", "unit_price": "3"}]),
    ([{"min_quantity": "10", "unit_price": "1"}], [{"min_quantity": "10", "unit_price": "1"}]),
]


def test_parse_price_breaks():
    for text, expected in BREAK_CASES:
        assert services.parse_price_breaks(text) == expected, text


def test_price_breaks_round_trip_through_the_text_cell():
    breaks = services.parse_price_breaks("500:0.95; 1000:0.90")
    assert services.parse_price_breaks(services.format_breaks(breaks)) == breaks
