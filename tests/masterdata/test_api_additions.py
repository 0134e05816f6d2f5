"""Browser-only actions that gained API endpoints: GET /shipments/{id}, invoice approval, notifications read-all."""
from __future__ import annotations

from portal.db import db
from portal.notifications.models import Notification
from tests.webhooks.conftest import banked, issue_invoice, shipped  # noqa: F401  (fixtures)


def ok(r, status=200):
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:2000])
    return r.get_json()


def test_get_shipment_for_both_parties_only(client, shipped, token_for):
    w = shipped.world
    sid = shipped.shipment.id
    for person in (w.procurement, w.sales_a):
        got = ok(client.get(f"/api/v1/shipments/{sid}", headers=token_for(person)))
        assert got["id"] == sid and got["order_id"] == shipped.order.id and got["lines"]
    r = client.get(f"/api/v1/shipments/{sid}", headers=token_for(w.sales_b))
    assert r.status_code == 404 and r.mimetype == "application/problem+json"


def test_the_buyer_approves_an_invoice_for_payment(client, shipped, token_for):
    w = shipped.world
    inv = issue_invoice(shipped)
    buyer_accounts = token_for(w.buyer_accounts)
    assert client.post(f"/api/v1/invoices/{inv.id}/approve", headers=token_for(w.accounts_a),
                       json={}).status_code == 404  # the supplier does not approve its own invoice
    assert client.post(f"/api/v1/invoices/{inv.id}/approve", headers=token_for(w.procurement),
                       json={}).status_code == 403
    r = client.post(f"/api/v1/invoices/{inv.id}/approve", headers=buyer_accounts, json={"lock_version": 999})
    assert r.status_code == 409
    got = client.post(f"/api/v1/invoices/{inv.id}/approve", headers=buyer_accounts, json={})
    # not received yet: the three-way match shows it, and approving anyway needs a reason
    assert got.status_code == 422 and "does not match" in got.get_json()["detail"]
    no_reason = client.post(f"/api/v1/invoices/{inv.id}/approve", headers=buyer_accounts,
                            json={"despite_mismatches": True})
    assert no_reason.status_code == 422 and "comment" in no_reason.get_json()["errors"]
    got = client.post(f"/api/v1/invoices/{inv.id}/approve", headers=buyer_accounts,
                          json={"despite_mismatches": True, "comment": "Goods arrived, receipt follows."})
    # one endpoint (portal/api/payables.py): it answers the match, with the tolerances applied
    assert ok(got)["invoice_id"] == inv.id and ok(got)["approved_for_payment_at"]
    db.session.expire_all()
    from portal.invoices.models import Invoice

    assert db.session.get(Invoice, inv.id).approved_for_payment_at is not None


def test_notifications_read_all(client, world, token_for):
    for i in range(3):
        db.session.add(Notification(user_id=world.procurement.id, company_id=world.buyer.id, kind="t",
                                    title=f"N{i}"))
    db.session.add(Notification(user_id=world.approver.id, company_id=world.buyer.id, kind="t", title="other"))
    db.session.commit()
    h = token_for(world.procurement)
    assert ok(client.post("/api/v1/notifications/read-all", headers=h, json={})) == {"marked": 3, "unread_count": 0}
    assert ok(client.post("/api/v1/notifications/read-all", headers=h, json={}))["marked"] == 0
    assert ok(client.get("/api/v1/notifications?unread=true", headers=token_for(world.approver)))["total"] == 1
