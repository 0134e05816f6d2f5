"""Requisitions and budgets over the API: the flow, typed 422s for business rules, 404 for other companies' ids."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.db import db
from portal.requisitions.models import Requisition
from tests import factories


@pytest.fixture
def token_for():
    from portal.api.auth import create_token

    def _make(user, name="test"):
        _, raw = create_token(user, name)
        return {"Authorization": f"Bearer {raw}"}

    return _make


def test_raise_approve_and_turn_into_an_rfq(client, rw, token_for):
    eng, owner, buyer = token_for(rw.engineer), token_for(rw.owner), token_for(rw.procurement)
    body = {"title": "Safety gear", "submit": True,
            "lines": [{"description": "Helmet", "quantity": "3", "estimated_price": "25.00",
                       "cost_centre_id": rw.cc.id, "gl_account_id": rw.gl.id}]}
    resp = client.post("/api/v1/requisitions", json=body, headers=eng)
    assert resp.status_code == 201, resp.get_json()
    req = resp.get_json()
    assert req["status"] == "submitted" and req["total_estimated"] == {"amount": "75.00", "currency": "EUR"}
    assert resp.headers["Location"].endswith(f"/requisitions/{req['id']}")
    impact = client.get(f"/api/v1/requisitions/{req['id']}/budget-impact", headers=owner).get_json()
    assert impact["rows"][0]["available_after"] == {"amount": "925.00", "currency": "EUR"}
    resp = client.post(f"/api/v1/requisitions/{req['id']}/decision", json={"decision": "approved"}, headers=owner)
    assert resp.status_code == 200 and resp.get_json()["status"] == "approved"
    budgets = client.get("/api/v1/budgets", headers=buyer).get_json()["items"]
    assert budgets[0]["committed"] == {"amount": "75.00", "currency": "EUR"}
    resp = client.post("/api/v1/requisitions/rfq", json={"requisition_ids": [req["id"]]}, headers=buyer)
    assert resp.status_code == 201 and resp.get_json()["reference"].startswith("RFQ-")
    listed = client.get("/api/v1/requisitions?status=sourcing", headers=buyer).get_json()
    assert [r["id"] for r in listed["items"]] == [req["id"]]


def test_business_rules_are_typed_422_and_nothing_saved(client, rw, token_for):
    admin = token_for(rw.buyer_admin)
    assert client.put("/api/v1/budget-settings", json={"cost_centre_required": True, "budget_mode": "block"},
                      headers=admin).status_code == 200
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Requisition))
    resp = client.post("/api/v1/requisitions", headers=token_for(rw.engineer), json={
        "title": "Gloves", "submit": True, "lines": [{"description": "Gloves", "quantity": "5",
                                                      "estimated_price": "2.00"}]})
    assert resp.status_code == 422 and "cost centre" in resp.get_json()["detail"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Requisition)) == before
    resp = client.post("/api/v1/budgets", headers=admin, json={
        "cost_centre_id": rw.cc.id, "period_kind": "month", "period_start": f"{rw.budget.period_start.year}-03-01",
        "amount": "10.00"})
    assert resp.status_code == 422 and "overlaps" in resp.get_json()["detail"]
    resp = client.post("/api/v1/requisitions", headers=token_for(rw.engineer), json={
        "title": "Gloves", "lines": [{"description": "Gloves", "quantity": 5, "estimated_price": "2.00"}]})
    assert resp.status_code == 422  # a JSON number for a decimal is a schema error


def test_other_companies_ids_are_404(client, rw, token_for):
    from tests.requisitions.conftest import raise_req

    req = raise_req(rw)
    other = factories.company("buyer")
    stranger = token_for(factories.user(other, "admin", "approver"))
    assert client.get(f"/api/v1/requisitions/{req.id}", headers=stranger).status_code == 404
    assert client.post(f"/api/v1/requisitions/{req.id}/decision", json={"decision": "approved"},
                       headers=stranger).status_code == 404
    assert client.get(f"/api/v1/budgets/{rw.budget.id}", headers=stranger).status_code == 404
    assert client.put(f"/api/v1/cost-centres/{rw.cc.id}", json={"code": "X", "name": "X", "owner_id": rw.owner.id},
                      headers=stranger).status_code == 404
    resp = client.post("/api/v1/requisitions", headers=stranger, json={
        "title": "X", "lines": [{"description": "X", "quantity": "1", "estimated_price": "1", "cost_centre_id": rw.cc.id}]})
    assert resp.status_code == 404
