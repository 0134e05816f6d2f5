"""A new-domain event (supplier_status.changed) delivered to the supplier's endpoint, verified by the receiver
with `standardwebhooks`."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.usefixtures("allow_private")


def test_supplier_status_changed_reaches_the_suppliers_receiver_signed(client, world, receiver, token_for,
                                                                         run_jobs):
    from portal.suppliers import services

    r = client.post("/api/v1/webhook-endpoints", headers=token_for(world.admin_a),
                    json={"url": receiver.url, "event_types": ["supplier_status.changed"], "description": "ERP"})
    assert r.status_code == 201, r.get_data(as_text=True)
    receiver.use_secret(r.get_json()["secret"])
    services.set_status(world.procurement, world.supplier_a.id, "blocked", reason="Late deliveries")
    run_jobs(queues=["webhooks"])
    (req,) = receiver.requests()
    assert req["verified"] is True, req
    body = req["json"]
    assert body["type"] == "supplier_status.changed" and req["headers"]["webhook-id"] == body["id"]
    assert body["data"]["status"] == "blocked" and body["data"]["supplier_company_id"] == world.supplier_a.id
    assert body["data"]["reason"] == "Late deliveries"
