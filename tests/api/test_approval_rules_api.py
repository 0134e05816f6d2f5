"""The buyer admin's approval rules through the API: the page's checks (the same sentence for a rule needing
more approvers than the company has), 409 for a taken threshold, tenancy 404, roles 403, nothing half-saved."""
from __future__ import annotations

import sqlalchemy as sa

from portal.db import db


def eur(amount):
    return {"amount": amount, "currency": "EUR"}


def _rules(company_id):
    from portal.orders.models import ApprovalRule

    db.session.expire_all()
    return [(format(r.threshold.normalize(), "f"), r.approvals_required) for r in db.session.scalars(
        sa.select(ApprovalRule).where(ApprovalRule.buyer_company_id == company_id).order_by(ApprovalRule.threshold))]


def test_create_list_get_update_delete(client, world, token_for):
    h = token_for(world.buyer_admin)
    created = client.post("/api/v1/approval-rules", headers=h, json={"threshold": eur("1000.00"),
                                                                      "approvals_required": 1})
    assert created.status_code == 201, created.get_data(as_text=True)
    rule = created.get_json()
    assert rule["threshold"] == eur("1000.00") and rule["approvals_required"] == 1 and rule["reachable"] is True
    assert created.headers["Location"] == f"/api/v1/approval-rules/{rule['id']}"
    listed = client.get("/api/v1/approval-rules", headers=h).get_json()
    assert listed == {"items": [rule], "active_approvers": 1, "warning": None}
    assert client.get(f"/api/v1/approval-rules/{rule['id']}", headers=h).get_json() == rule
    changed = client.patch(f"/api/v1/approval-rules/{rule['id']}", headers=h, json={"threshold": eur("2500")})
    assert changed.status_code == 200 and changed.get_json()["threshold"] == eur("2500.00")
    assert changed.get_json()["approvals_required"] == 1
    assert client.delete(f"/api/v1/approval-rules/{rule['id']}", headers=h).status_code == 204
    assert _rules(world.buyer.id) == []
    assert client.get(f"/api/v1/approval-rules/{rule['id']}", headers=h).status_code == 404


def test_more_approvals_than_approvers_is_refused_with_the_pages_sentence(client, world, token_for):
    from portal.errors import ValidationFailed
    from portal.orders import approvals

    h = token_for(world.buyer_admin)
    resp = client.post("/api/v1/approval-rules", headers=h, json={"threshold": eur("5000.00"),
                                                                   "approvals_required": 2})
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
    try:  # the page's service, same input: the same sentence
        approvals.save_rule(world.buyer_admin, "5000.00", "2", "EUR")
    except ValidationFailed as exc:
        page_sentence = exc.message
    assert resp.get_json()["detail"] == page_sentence
    assert "needs 2 approvals" in page_sentence and resp.get_json()["errors"] == {
        "approvals_required": "At most 1 (the active approvers)."}
    assert _rules(world.buyer.id) == []
    # an update to too many is refused the same way and changes nothing
    ok = client.post("/api/v1/approval-rules", headers=h, json={"threshold": eur("100"), "approvals_required": 1})
    rid = ok.get_json()["id"]
    bad = client.patch(f"/api/v1/approval-rules/{rid}", headers=h, json={"approvals_required": 2,
                                                                         "threshold": eur("200")})
    assert bad.status_code == 422 and bad.get_json()["detail"] == page_sentence
    assert _rules(world.buyer.id) == [("100", 1)]
    for body in ({"threshold": eur("-1"), "approvals_required": 1}, {"threshold": eur("10"), "approvals_required": 9},
                 {"threshold": eur("10.001"), "approvals_required": 1}):
        assert client.post("/api/v1/approval-rules", headers=h, json=body).status_code == 422, body
    assert _rules(world.buyer.id) == [("100", 1)]


def test_a_taken_threshold_is_409(client, world, token_for):
    h = token_for(world.buyer_admin)
    a = client.post("/api/v1/approval-rules", headers=h, json={"threshold": eur("100"), "approvals_required": 1})
    b = client.post("/api/v1/approval-rules", headers=h, json={"threshold": eur("200"), "approvals_required": 1})
    again = client.post("/api/v1/approval-rules", headers=h, json={"threshold": eur("100.00"),
                                                                    "approvals_required": 1})
    assert again.status_code == 409 and f"rule {a.get_json()['id']}" in again.get_json()["detail"]
    onto = client.patch(f"/api/v1/approval-rules/{b.get_json()['id']}", headers=h, json={"threshold": eur("100")})
    assert onto.status_code == 409
    assert _rules(world.buyer.id) == [("100", 1), ("200", 1)]


def test_only_buyer_admins_and_only_their_companys_rules(client, world, token_for, outsiders):
    h = token_for(world.buyer_admin)
    rid = client.post("/api/v1/approval-rules", headers=h, json={"threshold": eur("100"),
                                                                  "approvals_required": 1}).get_json()["id"]
    for who in (world.procurement, world.approver, world.admin_a):
        other = token_for(who)
        assert client.get("/api/v1/approval-rules", headers=other).status_code == 403, who.email
        assert client.post("/api/v1/approval-rules", headers=other, json={
            "threshold": eur("5"), "approvals_required": 1}).status_code == 403
    foreign = token_for(outsiders.buyer)  # another buying company's admin
    assert client.get(f"/api/v1/approval-rules/{rid}", headers=foreign).status_code == 404
    assert client.patch(f"/api/v1/approval-rules/{rid}", headers=foreign,
                        json={"approvals_required": 1}).status_code == 404
    assert client.delete(f"/api/v1/approval-rules/{rid}", headers=foreign).status_code == 404
    assert client.get("/api/v1/approval-rules", headers=foreign).get_json()["items"] == []
    assert _rules(world.buyer.id) == [("100", 1)]


def test_the_list_warns_when_rules_can_no_longer_be_approved(client, world, token_for):
    from portal.accounts.models import Role, UserRole

    h = token_for(world.buyer_admin)
    client.post("/api/v1/approval-rules", headers=h, json={"threshold": eur("100"), "approvals_required": 1})
    db.session.execute(sa.delete(UserRole).where(UserRole.user_id == world.approver.id,
                                                 UserRole.role == Role.approver))
    db.session.commit()
    listed = client.get("/api/v1/approval-rules", headers=h).get_json()
    assert listed["active_approvers"] == 0 and listed["items"][0]["reachable"] is False
    assert "can no longer be approved" in listed["warning"]


def test_an_old_token_sends_the_threshold_as_a_bare_string(client, world):
    from portal.api.auth import create_token

    _, raw = create_token(world.buyer_admin, "old", api_version="2026-11-01")
    resp = client.post("/api/v1/approval-rules", headers={"Authorization": f"Bearer {raw}"},
                       json={"threshold": "750", "approvals_required": 1})
    assert resp.status_code == 201 and resp.get_json()["threshold"] == eur("750.00")


def test_the_escalation_setting(client, world, token_for):
    h = token_for(world.buyer_admin)
    url = "/api/v1/approval-rules/escalation"
    assert client.put(url, headers=h, json={"escalation_days": 5}).get_json() == {"escalation_days": 5}
    assert client.get(url, headers=h).get_json() == {"escalation_days": 5}
    bad = client.put(url, headers=h, json={"escalation_days": 31})
    assert bad.status_code == 422 and bad.get_json()["detail"] == (
        "Escalate after a whole number of working days from 1 to 30.")
    assert client.get(url, headers=h).get_json() == {"escalation_days": 5}
    assert client.get(url, headers=token_for(world.procurement)).status_code == 403
