"""The API of weighted scoring and framework agreements: criteria and scores (bad input is a typed 422 with a
sentence, nothing saved), agreements list/get for both sides, call-offs, tenancy 404."""
from __future__ import annotations

from decimal import Decimal as D

import sqlalchemy as sa

from portal.db import db
from portal.frameworks.models import CallOff
from portal.quotes.scoring_models import ScoringCriterion
from tests.frameworks.helpers import agreement, closed_with_quotes


def count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_criteria_scores_and_ranking(client, world, token_for):
    r, qa, qb = closed_with_quotes(world)
    h = token_for(world.procurement)
    bad = client.put(f"/api/v1/rfqs/{r.id}/scoring/criteria", headers=h, json={"criteria": [
        {"kind": "price", "weight": "60"}, {"kind": "custom", "name": "Quality", "weight": "30"}]})
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    assert "add up to 90 %" in bad.get_json()["detail"]
    assert count(ScoringCriterion) == 0
    ok = client.put(f"/api/v1/rfqs/{r.id}/scoring/criteria", headers=h, json={"criteria": [
        {"kind": "price", "weight": "60"}, {"kind": "custom", "name": "Quality", "weight": "40"}]})
    assert ok.status_code == 200, ok.get_json()
    body = ok.get_json()
    quality = body["criteria"][1]["id"]
    assert [c["weight"] for c in body["criteria"]] == ["60.00", "40.00"]
    out = client.put(f"/api/v1/rfqs/{r.id}/scoring/scores", headers=h, json={"scores": [
        {"criterion_id": quality, "quote_id": qa.id, "score": 6}]})
    assert out.status_code == 422 and "outside 1–5" in out.get_json()["detail"]
    scored = client.put(f"/api/v1/rfqs/{r.id}/scoring/scores", headers=h, json={"scores": [
        {"criterion_id": quality, "quote_id": qa.id, "score": 5},
        {"criterion_id": quality, "quote_id": qb.id, "score": 1}]}).get_json()
    ranking = scored["ranking"]
    expected_a = D(60) * D("1350.00") / D("1440.00") + D(40)
    assert ranking[0]["quote_id"] == qa.id
    assert ranking[0]["score"] == str(expected_a.quantize(D("0.01")))
    assert ranking[1]["score"] == str((D(60) + D(40) * D(1) / D(5)).quantize(D("0.01")))
    assert client.get(f"/api/v1/rfqs/{r.id}/scoring", headers=h).get_json() == scored
    # suppliers do not see the buyer's scoring
    assert client.get(f"/api/v1/rfqs/{r.id}/scoring", headers=token_for(world.sales_a)).status_code == 404


def test_agreements_for_both_sides_and_call_off(client, world, token_for):
    a = agreement(world, max_value="1000")
    buyer, supplier, other = token_for(world.procurement), token_for(world.sales_a), token_for(world.sales_b)
    listing = client.get("/api/v1/framework-agreements", headers=buyer).get_json()
    assert [x["reference"] for x in listing["items"]] == [a.reference]
    assert client.get("/api/v1/framework-agreements", headers=supplier).get_json()["total"] == 1
    assert client.get("/api/v1/framework-agreements", headers=other).get_json()["total"] == 0
    assert client.get(f"/api/v1/framework-agreements/{a.id}", headers=other).status_code == 404
    line = a.lines[0].id
    over = client.post(f"/api/v1/framework-agreements/{a.id}/call-offs", headers=buyer,
                       json={"lines": [{"line_id": line, "quantity": "150"}]})
    assert over.status_code == 422 and "would exceed the agreed 100 pcs" in over.get_json()["detail"]
    assert count(CallOff) == 0
    made = client.post(f"/api/v1/framework-agreements/{a.id}/call-offs", headers=buyer,
                       json={"lines": [{"line_id": line, "quantity": "85"}]})
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert made.headers["Location"].endswith(f"/api/v1/orders/{body['order_id']}")
    assert body["warnings"] == ["Item 1: 85 % of the agreed quantity is now used"]
    ag = body["agreement"]
    assert ag["consumed_value"] == {"amount": "85.00", "currency": "EUR"}
    assert ag["remaining_value"] == {"amount": "915.00", "currency": "EUR"}
    assert ag["lines"][0]["consumed_quantity"] == "85" and ag["lines"][0]["remaining_quantity"] == "15"
    assert ag["used_percent"] == 85 and ag["warning"] is True
    # the supplier reads, cannot call off; a draft call-off is not shown to it yet
    sup = client.get(f"/api/v1/framework-agreements/{a.id}", headers=supplier).get_json()
    assert sup["call_offs"] == [] and sup["award_id"] is None
    assert client.post(f"/api/v1/framework-agreements/{a.id}/call-offs", headers=supplier,
                       json={"lines": [{"line_id": line, "quantity": "1"}]}).status_code == 403
    assert client.post(f"/api/v1/framework-agreements/{a.id}/call-offs", headers=other,
                       json={"lines": [{"line_id": line, "quantity": "1"}]}).status_code == 404
    assert count(CallOff) == 1
