"""The pages: scoring on the comparison page, agreements for both sides (supplier reads only), tenancy 404."""
from __future__ import annotations

import html

import sqlalchemy as sa

from portal.db import db
from portal.frameworks.models import CallOff, FrameworkAgreement
from portal.orders.models import PurchaseOrder
from portal.quotes import award as award_service
from portal.quotes.scoring_models import QuoteScore, ScoringCriterion
from tests import factories
from tests.accounts.helpers import _isolated_requests  # noqa: F401  (one app context per request)
from tests.frameworks.helpers import agreement, closed_with_quotes


def text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


def count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_buyer_sets_weights_scores_and_sees_the_ranking(world, login):
    r, qa, qb = closed_with_quotes(world)
    c = login(world.procurement)
    page = c.get(f"/rfqs/{r.id}/comparison")
    assert page.status_code == 200 and "Weighted scoring" in text(page)
    form = {"kind-0": "price", "name-0": "Price", "weight-0": "50", "kind-1": "lead_time", "weight-1": "",
            "kind-2": "custom", "name-2": "Quality", "weight-2": "30", "kind-3": "custom", "name-3": "",
            "weight-3": "10"}
    resp = c.post(f"/rfqs/{r.id}/scoring/criteria", data=form, follow_redirects=True)
    assert "name the free criterion" in text(resp)
    assert count(ScoringCriterion) == 0
    form.update({"name-3": "Service", "weight-3": "20"})
    resp = c.post(f"/rfqs/{r.id}/scoring/criteria", data=form, follow_redirects=True)
    assert "Scoring criteria saved." in text(resp)
    quality = db.session.scalar(sa.select(ScoringCriterion).where(ScoringCriterion.name == "Quality"))
    resp = c.post(f"/rfqs/{r.id}/scoring/scores", data={f"score-{quality.id}-{qa.id}": "9"}, follow_redirects=True)
    assert "outside 1–5" in text(resp) and count(QuoteScore) == 0
    resp = c.post(f"/rfqs/{r.id}/scoring/scores", data={f"score-{quality.id}-{qa.id}": "5",
                                                         f"score-{quality.id}-{qb.id}": "1"}, follow_redirects=True)
    body = text(resp)
    assert "Your scores are saved (2 changed)." in body
    assert f'data-testid="score-{qa.id}"' in body and "Rank" in body


def test_scoring_is_the_buyers_procurement_only(world, login):
    r, _, _ = closed_with_quotes(world)
    assert login(world.sales_a).post(f"/rfqs/{r.id}/scoring/criteria", data={}).status_code == 404
    assert login(world.approver).post(f"/rfqs/{r.id}/scoring/criteria", data={}).status_code == 403


def test_award_as_framework_agreement_and_call_off_in_the_browser_forms(world, login):
    r, qa, _ = closed_with_quotes(world)
    award = award_service.award_whole(r, world.procurement, qa.id)
    c = login(world.procurement)
    page = text(c.get(f"/rfqs/{r.id}/comparison"))
    assert "Make framework agreement" in page
    bad = c.post(f"/frameworks/from-award/{award.id}", data={"valid_from": "2026-01-10", "valid_until": "2026-01-01"},
                 follow_redirects=True)
    assert "end on or after" in text(bad) and count(FrameworkAgreement) == 0
    from portal.db import utcnow
    from datetime import timedelta
    today = utcnow().date()
    resp = c.post(f"/frameworks/from-award/{award.id}",
                  data={"valid_from": today.isoformat(), "valid_until": (today + timedelta(days=90)).isoformat(),
                        "max_value": "1000", "cap_quantities": "1"})
    assert resp.status_code == 302
    a = db.session.scalar(sa.select(FrameworkAgreement))
    detail = text(c.get(f"/frameworks/{a.id}"))
    assert a.reference in detail and "Place call-off" in detail
    l1 = a.lines[0].id
    over = c.post(f"/frameworks/{a.id}/call-offs", data={f"qty-{l1}": "101"})
    assert over.status_code == 422 and "would exceed the agreed 100 pcs" in text(over)
    assert count(PurchaseOrder) == 0
    ok = c.post(f"/frameworks/{a.id}/call-offs", data={f"qty-{l1}": "90"}, follow_redirects=True)
    assert ok.status_code == 200
    body = text(ok)
    assert "created as a draft purchase order" in body and "90 % of the agreed quantity is now used" in body
    assert count(CallOff) == 1
    listing = text(c.get("/frameworks/"))
    assert a.reference in listing


def test_supplier_sees_the_agreement_read_only_and_others_get_404(world, login):
    a = agreement(world)
    sup = login(world.sales_a)
    page = sup.get(f"/frameworks/{a.id}")
    assert page.status_code == 200
    assert "Place call-off" not in text(page) and a.reference in text(page)
    from portal.frameworks import services as fa
    order = fa.call_off(a, world.procurement, {a.lines[0].id: "5"}).order
    assert order.po_number not in text(sup.get(f"/frameworks/{a.id}"))  # the buyer's draft stays the buyer's
    assert order.po_number in text(login(world.procurement).get(f"/frameworks/{a.id}"))
    assert sup.post(f"/frameworks/{a.id}/call-offs", data={f"qty-{a.lines[0].id}": "1"}).status_code == 403
    assert count(PurchaseOrder) == 1
    assert a.reference in text(sup.get("/frameworks/"))
    other = login(world.sales_b)
    assert other.get(f"/frameworks/{a.id}").status_code == 404
    assert other.post(f"/frameworks/{a.id}/call-offs", data={}).status_code == 404
    assert a.reference not in text(other.get("/frameworks/"))
    stranger = factories.company("buyer", name="Other Buyer AG")
    them = factories.user(stranger, "procurement", email="p@other.test")
    assert login(them).get(f"/frameworks/{a.id}").status_code == 404
    assert login(them).post(f"/frameworks/from-award/{a.award_id}", data={}).status_code == 404
