"""A per-line (split) award can also become framework agreements instead of one-off orders: one agreement per
awarded supplier, each with its awarded lines at the awarded prices; call-offs go to that supplier; the
comparison page says beforehand what will be made and afterwards that agreements (not orders) were made."""
from __future__ import annotations

import html
from datetime import timedelta
from decimal import Decimal as D

import pytest

from portal.db import db, utcnow
from portal.errors import InvalidTransition
from portal.frameworks import services as fa
from portal.frameworks.models import FrameworkAgreement
from portal.quotes import award as award_service
from portal.quotes.models import Award
from tests.accounts.helpers import _isolated_requests  # noqa: F401  (one app context per request)
from tests.frameworks.helpers import closed_with_quotes, fresh


def split(world):
    """Lines 1 and 3 (100 and 300 pcs) to Beta at 0.90 and 2.80, line 2 (200 pcs) to Alpha at 2.00."""
    r, qa, qb = closed_with_quotes(world)
    award = award_service.award_split(r, world.procurement, {r.lines[0].id: qb.id, r.lines[1].id: qa.id,
                                                             r.lines[2].id: qb.id})
    return r, award


def make(world, award):
    today = utcnow().date()
    return fa.create_from_award(award.id, world.procurement, valid_from=today, valid_until=today + timedelta(days=90))


def test_a_split_award_makes_one_agreement_per_supplier_with_its_lines(world):
    r, award = split(world)
    agreements = {a.supplier_company_id: fresh(a) for a in make(world, award)}
    assert set(agreements) == {world.supplier_a.id, world.supplier_b.id}
    by_line = {al.rfq_line_id: al for al in fresh(award).lines}

    def items(a):
        return [(fl.description, fl.unit_price, fl.max_quantity, fl.award_line_id) for fl in a.lines]

    lines = r.lines
    assert items(agreements[world.supplier_b.id]) == [
        (lines[0].description, D("0.90"), D("100"), by_line[lines[0].id].id),
        (lines[2].description, D("2.80"), D("300"), by_line[lines[2].id].id)]
    assert items(agreements[world.supplier_a.id]) == [
        (lines[1].description, D("2.00"), D("200"), by_line[lines[1].id].id)]
    assert db.session.get(Award, award.id).orders_created_at is not None  # no one-off orders as well
    with pytest.raises(InvalidTransition):
        make(world, award)


def test_call_offs_of_a_split_award_go_to_each_supplier_at_its_price(world):
    _, award = split(world)
    agreements = {a.supplier_company_id: a for a in make(world, award)}
    b = fresh(agreements[world.supplier_b.id])
    res = fa.call_off(b, world.procurement, {b.lines[0].id: "50", b.lines[1].id: "10"})
    assert res.order.supplier_company_id == world.supplier_b.id
    assert res.order.total_net == D("50") * D("0.90") + D("10") * D("2.80")  # 73.00
    assert [ol.award_line_id for ol in res.order.lines] == [b.lines[0].award_line_id, b.lines[1].award_line_id]
    a = fresh(agreements[world.supplier_a.id])
    res = fa.call_off(a, world.procurement, {a.lines[0].id: "200"})
    assert (res.order.supplier_company_id, res.order.total_net) == (world.supplier_a.id, D("400.00"))


def test_the_comparison_page_makes_the_choice_clear(world, login):
    r, award = split(world)
    c = login(world.procurement)
    page = html.unescape(c.get(f"/rfqs/{r.id}/comparison").get_data(as_text=True))
    assert "Create purchase orders" in page and 'data-testid="or-framework"' in page
    preview = page.split('data-testid="framework-preview">', 1)[1].split("</p>", 1)[0]
    assert "This makes 2 agreements, one per awarded supplier" in preview
    assert f"<strong>{world.supplier_b.display_name}</strong> (lines 1, 3)" in preview
    assert f"<strong>{world.supplier_a.display_name}</strong> (line 2)" in preview
    made = make(world, award)
    page = html.unescape(c.get(f"/rfqs/{r.id}/comparison").get_data(as_text=True))
    refs = sorted(a.reference for a in made)
    assert 'data-testid="agreements-made"' in page and all(ref in page for ref in refs)
    assert "Purchase orders created" not in page and 'data-testid="framework-form"' not in page
    assert db.session.query(FrameworkAgreement).count() == 2
