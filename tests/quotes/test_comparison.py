"""The comparison: cells after MOQ/pack/breaks, best value per line, totals, cheapest complete and split."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest

from portal.db import db, utcnow
from portal.errors import Forbidden, NotFound
from portal.quotes import comparison
from portal.quotes.models import QuoteLine, QuoteVersion
from tests import factories
from tests.accounts.helpers import _isolated_requests  # noqa: F401  (one app context per request)


@pytest.fixture
def rfq3(world):
    """Closed RFQ, 3 lines of 100 / 200 / 300 pcs, suppliers A and B invited."""
    return factories.closed_rfq(
        world.buyer, world.procurement, suppliers=[world.supplier_a, world.supplier_b]
    )


def extra_supplier(name):
    c = factories.company("supplier", name=name)
    return c, factories.user(c, "sales")


def build(rfq):
    db.session.expire_all()
    return comparison.build(rfq)


# ------------------------------------------------------------------------------------------ cells


def test_cells_apply_moq_pack_size_and_quantity_breaks(world):
    r = factories.closed_rfq(world.buyer, world.procurement, quantities=[D("480"), D("100"), D("1000")])
    factories.quote(
        r,
        world.supplier_a,
        world.sales_a,
        prices=["1.00", "2.00", "3.00"],
        moq=D("500"),
        pack_size=D("25"),
        breaks={
            0: [{"min_quantity": "500", "unit_price": "0.80"}],
            2: [{"min_quantity": "1000", "unit_price": "2.50"}],
        },
    )
    cmp = build(r)
    c0, c1, c2 = (row.cells[0] for row in cmp.lines)
    # 480 requested, MOQ 500 -> 500 ordered, so the 500+ break applies
    assert (c0.requested_qty, c0.ordered_qty, c0.unit_price, c0.line_total) == (
        D("480"),
        D("500"),
        D("0.80"),
        D("400.00"),
    )
    assert c0.adjusted and c0.note == "500 pcs instead of 480 (minimum order 500 pcs)"
    assert (c1.ordered_qty, c1.unit_price, c1.line_total) == (D("500"), D("2.00"), D("1000.00"))
    assert (c2.ordered_qty, c2.unit_price, c2.line_total) == (D("1000"), D("2.50"), D("2500.00"))
    assert not c2.adjusted and c2.note is None
    assert c0.lead_time_days == 10


def test_line_totals_are_rounded_half_up_per_line(world):
    r = factories.closed_rfq(world.buyer, world.procurement, quantities=[D("3"), D("1")])
    factories.quote(r, world.supplier_a, world.sales_a, prices=["0.335", "2.345"])
    cmp = build(r)
    assert [row.cells[0].line_total for row in cmp.lines] == [D("1.01"), D("2.35")]
    assert cmp.quotes[0].lines_total == D("3.36")


def test_declined_and_missing_lines(world, rfq3):
    factories.quote(rfq3, world.supplier_a, world.sales_a, declined=(1,))
    qb = factories.quote(rfq3, world.supplier_b, world.sales_b)
    # B's quote has no line for the third RFQ line (e.g. added by an amendment after B submitted)
    db.session.delete(qb.current_version.lines[2])
    db.session.commit()
    cmp = build(rfq3)
    a, b = cmp.quote_for_supplier(world.supplier_a.id), cmp.quote_for_supplier(world.supplier_b.id)
    cell_a1 = cmp.cell(cmp.lines[1].id, a.quote_id)
    assert (
        cell_a1.state == "declined"
        and cell_a1.decline_reason == "Not in our range"
        and cell_a1.line_total is None
    )
    assert cmp.cell(cmp.lines[2].id, b.quote_id).state == "missing"
    assert (a.lines_quoted, a.lines_declined, a.missing_positions, a.complete) == (2, 1, [2], False)
    assert (b.lines_quoted, b.missing_positions, b.complete) == (2, [3], False)
    assert cmp.cheapest_complete is None


# ------------------------------------------------------------------------------------------ best value


def test_best_value_is_the_lowest_line_total(world, rfq3):
    factories.quote(rfq3, world.supplier_a, world.sales_a, prices=["1.00", "5.00", "3.00"])
    factories.quote(rfq3, world.supplier_b, world.sales_b, prices=["2.00", "4.00", "3.50"])
    cmp = build(rfq3)
    best = [cmp.quote(row.best_quote_id).supplier_id for row in cmp.lines]
    assert best == [world.supplier_a.id, world.supplier_b.id, world.supplier_a.id]
    for row in cmp.lines:
        assert sum(1 for c in row.cells if c.best) == 1
        assert row.best.quote_id == row.best_quote_id


def test_best_value_compares_totals_after_moq_not_unit_prices(world):
    r = factories.closed_rfq(world.buyer, world.procurement, quantities=[D("100")])
    factories.quote(r, world.supplier_a, world.sales_a, prices=["1.00"], moq=D("1000"))  # 1000 x 1.00
    factories.quote(r, world.supplier_b, world.sales_b, prices=["1.50"])  # 100 x 1.50
    cmp = build(r)
    assert cmp.quote(cmp.lines[0].best_quote_id).supplier_id == world.supplier_b.id


def test_declined_lines_are_never_best(world, rfq3):
    factories.quote(rfq3, world.supplier_a, world.sales_a, prices=["0.01", "0.01", "0.01"], declined=(0,))
    factories.quote(rfq3, world.supplier_b, world.sales_b, prices=["9", "9", "9"])
    cmp = build(rfq3)
    assert cmp.quote(cmp.lines[0].best_quote_id).supplier_id == world.supplier_b.id


def test_a_tie_goes_to_the_shorter_lead_time(world, rfq3):
    factories.quote(rfq3, world.supplier_a, world.sales_a, lead_time_days=20)
    factories.quote(rfq3, world.supplier_b, world.sales_b, lead_time_days=5)
    cmp = build(rfq3)
    assert {cmp.quote(row.best_quote_id).supplier_id for row in cmp.lines} == {world.supplier_b.id}


def test_an_unknown_lead_time_loses_a_tie(world, rfq3):
    factories.quote(rfq3, world.supplier_a, world.sales_a, lead_time_days=None)
    factories.quote(rfq3, world.supplier_b, world.sales_b, lead_time_days=30)
    cmp = build(rfq3)
    assert {cmp.quote(row.best_quote_id).supplier_id for row in cmp.lines} == {world.supplier_b.id}


def test_a_full_tie_goes_to_the_lower_supplier_id(world, rfq3):
    first, second = sorted([world.supplier_a, world.supplier_b], key=lambda c: c.id)
    people = {world.supplier_a.id: world.sales_a, world.supplier_b.id: world.sales_b}
    factories.quote(rfq3, second, people[second.id])  # created first, so not winning by quote id
    factories.quote(rfq3, first, people[first.id])
    cmp = build(rfq3)
    assert {cmp.quote(row.best_quote_id).supplier_id for row in cmp.lines} == {first.id}


def test_expired_quotes_are_marked_and_never_best_or_cheapest(world, rfq3):
    factories.quote(rfq3, world.supplier_a, world.sales_a, prices=["0.50"] * 3, valid_days=-1)
    factories.quote(rfq3, world.supplier_b, world.sales_b, prices=["9"] * 3)
    cmp = build(rfq3)
    a = cmp.quote_for_supplier(world.supplier_a.id)
    assert a.expired and a.complete and not a.awardable
    assert all(c.expired for row in cmp.lines for c in row.cells if c.quote_id == a.quote_id)
    assert {row.best_quote_id for row in cmp.lines} == {cmp.quote_for_supplier(world.supplier_b.id).quote_id}
    assert cmp.cheapest_complete.supplier_id == world.supplier_b.id
    assert cmp.quotes[-1].quote_id == a.quote_id  # expired quotes are listed last


def test_a_quote_valid_until_today_is_not_expired(world, rfq3):
    factories.quote(rfq3, world.supplier_a, world.sales_a, valid_days=0)
    assert not build(rfq3).quotes[0].expired


# ------------------------------------------------------------------------------------------ totals


def test_quote_totals_include_shipping_and_count_lines(world, rfq3):
    factories.quote(rfq3, world.supplier_a, world.sales_a, prices=["1", "2", "3"], shipping="25.50")
    q = build(rfq3).quotes[0]
    # 100x1 + 200x2 + 300x3
    assert (q.lines_total, q.shipping, q.total) == (D("1400.00"), D("25.50"), D("1425.50"))
    assert (q.lines_quoted, q.complete, q.best_lines) == (3, True, 3)


def test_cheapest_complete_and_cheapest_split_with_their_saving(world, rfq3):
    c, sales_c = extra_supplier("Supplier Gamma AG")
    # A: complete, 100x1 + 200x5 + 300x3 = 2000 + 50 shipping = 2050
    factories.quote(rfq3, world.supplier_a, world.sales_a, prices=["1", "5", "3"], shipping="50")
    # B: complete, 100x2 + 200x4 + 300x3.5 = 2050 + 10 shipping = 2060
    factories.quote(rfq3, world.supplier_b, world.sales_b, prices=["2", "4", "3.5"], shipping="10")
    # C: only line 2, cheapest there: 200x3 = 600, shipping 20
    factories.quote(rfq3, c, sales_c, prices=["9", "3", "9"], declined=(0, 2), shipping="20")
    cmp = build(rfq3)
    assert cmp.cheapest_complete.supplier_id == world.supplier_a.id
    assert cmp.cheapest_complete.total == D("2050.00")
    split = cmp.split
    a, cq = cmp.quote_for_supplier(world.supplier_a.id), cmp.quote_for_supplier(c.id)
    assert split.choices == {
        rfq3.lines[0].id: a.quote_id,
        rfq3.lines[1].id: cq.quote_id,
        rfq3.lines[2].id: a.quote_id,
    }
    # best lines 100 + 600 + 900, shipping of A and C (B is not used)
    assert (split.lines_total, split.shipping_total, split.total) == (D("1600.00"), D("70.00"), D("1670.00"))
    assert split.covers_all and cmp.saving == D("380.00")
    assert [q.supplier_id for q in cmp.quotes][:2] == [
        world.supplier_a.id,
        world.supplier_b.id,
    ]  # cheapest first


def test_the_saving_can_be_negative_when_extra_shipping_outweighs_it(world, rfq3):
    factories.quote(rfq3, world.supplier_a, world.sales_a, prices=["1", "1", "1"], shipping="0")
    factories.quote(rfq3, world.supplier_b, world.sales_b, prices=["0.99", "2", "2"], shipping="100")
    cmp = build(rfq3)
    assert cmp.cheapest_complete.total == D("600.00")
    assert cmp.split.total == D("699.00") and cmp.saving == D("-99.00")


def test_split_lists_lines_nobody_quoted_and_has_no_saving(world, rfq3):
    factories.quote(rfq3, world.supplier_a, world.sales_a, declined=(2,))
    cmp = build(rfq3)
    assert cmp.split.uncovered_positions == [3] and not cmp.split.covers_all
    assert cmp.cheapest_complete is None and cmp.saving is None


def test_only_submitted_quotes_count(world, rfq3):
    c, sales_c = extra_supplier("Supplier Draft GmbH")
    factories.quote(rfq3, world.supplier_a, world.sales_a, prices=["5"] * 3)
    factories.withdraw_quote(factories.quote(rfq3, world.supplier_b, world.sales_b, prices=["1"] * 3))
    factories.quote(rfq3, c, sales_c, prices=["1"] * 3, submitted=False)
    cmp = build(rfq3)
    assert [q.supplier_id for q in cmp.quotes] == [world.supplier_a.id]
    assert all(len(row.cells) == 1 for row in cmp.lines)


def test_the_current_version_counts_not_older_ones(world, rfq3):
    q = factories.quote(rfq3, world.supplier_a, world.sales_a, prices=["5"] * 3)
    v2 = QuoteVersion(
        quote_id=q.id,
        number=2,
        created_by_id=world.sales_a.id,
        submitted_at=utcnow(),
        submitted_by_id=world.sales_a.id,
        shipping_cost=D("7"),
        valid_until=(utcnow() + timedelta(days=30)).date(),
    )
    for line in rfq3.lines:
        v2.lines.append(QuoteLine(rfq_line_id=line.id, unit_price=D("2"), lead_time_days=3))
    db.session.add(v2)
    db.session.flush()
    q.current_version = v2
    db.session.commit()
    cmp = build(rfq3)
    col = cmp.quotes[0]
    assert (col.version_number, col.total) == (2, D("1207.00"))
    assert {c.quote_line_id for row in cmp.lines for c in row.cells} == {ln.id for ln in v2.lines}


def test_other_rfqs_quotes_do_not_leak_in(world, rfq3):
    other = factories.closed_rfq(world.buyer, world.procurement)
    factories.quote(other, world.supplier_a, world.sales_a)
    factories.quote(rfq3, world.supplier_b, world.sales_b)
    cmp = build(rfq3)
    assert [q.supplier_id for q in cmp.quotes] == [world.supplier_b.id]


def test_no_quotes_gives_an_empty_comparison(world, rfq3):
    cmp = build(rfq3)
    assert cmp.quotes == [] and cmp.split is None and cmp.cheapest_complete is None
    assert len(cmp.lines) == 3 and all(row.cells == [] for row in cmp.lines)


# ------------------------------------------------------------------------------------------ queries


def _rfq_with(world, lines, suppliers):
    r = factories.closed_rfq(world.buyer, world.procurement, lines=lines)
    for i in range(suppliers):
        c, person = extra_supplier(f"Bulk Supplier {lines}-{i}")
        factories.quote(
            r,
            c,
            person,
            prices=[str(1 + i + k % 7) for k in range(lines)],
            declined=(1,),
            breaks={0: [{"min_quantity": "50", "unit_price": "0.5"}]},
        )
    return r


def test_build_issues_a_constant_number_of_queries(world, count_queries):
    small = _rfq_with(world, 3, 2)
    large = _rfq_with(world, 60, 6)
    counts = []
    for r in (small, large):
        db.session.expire_all()
        r = db.session.get(type(r), r.id)
        with count_queries() as q:
            cmp = comparison.build(r)
            # touch everything a page or the PDF reads
            for row in cmp.lines:
                for c in row.cells:
                    (c.line_total, c.decline_reason, c.lead_time_days)
            [(col.supplier_name, col.total, col.expired) for col in cmp.quotes]
        counts.append(q.count)
    assert counts[0] == counts[1] == 3, counts


# ------------------------------------------------------------------------------------------ access & snapshot


def test_only_the_buyers_procurement_may_compare(world, rfq3):
    comparison.check_viewer(rfq3, world.procurement)
    with pytest.raises(NotFound):
        comparison.check_viewer(rfq3, world.sales_a)
    with pytest.raises(Forbidden):
        comparison.check_viewer(rfq3, world.approver)


def test_sealed_prices_stay_hidden_until_opened(world):
    r = factories.rfq(world.buyer, world.procurement, sealed=True, status="open")
    assert not r.prices_visible_to_buyer
    with pytest.raises(Forbidden, match="Sealed bids: prices are revealed when the RFQ closes at"):
        comparison.ensure_prices_visible(r)
    with pytest.raises(Forbidden):
        comparison.start_pdf(r, world.procurement)


def test_snapshot_is_plain_data(world, rfq3):
    import json

    factories.quote(rfq3, world.supplier_a, world.sales_a, prices=["1", "2", "3"], shipping="5")
    snap = comparison.snapshot(build(rfq3), rfq3, generated_by="Me")
    again = json.loads(json.dumps(snap))
    assert again == snap
    assert snap["rfq"]["reference"] == rfq3.reference and snap["cheapest_complete"]["total"] == "1405.00"
    assert D(snap["lines"][0]["best"]["unit_price"]) == D("1")
