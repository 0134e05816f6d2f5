"""Events of the session's new domains (requisitions, framework agreements, supplier onboarding): each is emitted
once, to the companies party to it only, and reads through GET /api/v1/events."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from portal.db import db, utcnow
from portal.events.models import Event
from tests.requisitions.conftest import line, raise_req, rw  # noqa: F401 - the requisition world fixture


def events(company_id, type_):
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Event).where(Event.company_id == company_id, Event.type == type_)
                                   .order_by(Event.id)))


def feed(client, headers, type_):
    r = client.get(f"/api/v1/events?type={type_}", headers=headers)
    assert r.status_code == 200, r.get_data(as_text=True)[:1000]
    return r.get_json()["items"]


def others(world, *party_ids):
    return [c.id for c in (world.buyer, world.supplier_a, world.supplier_b) if c.id not in party_ids]


def test_requisition_submitted_approved_rejected_once_for_the_buyer_only(rw, client, token_for):  # noqa: F811
    from portal.requisitions import services

    req = raise_req(rw, line(qty="3", price="20", cc=rw.cc, gl=rw.gl))
    (ev,) = events(rw.buyer.id, "requisition.submitted")
    assert ev.resource_type == "requisition" and ev.resource_id == req.id and ev.data["status"] == "submitted"
    assert ev.data["total_estimated"] == {"amount": "60.00", "currency": "EUR"}
    services.decide(rw.owner, req.id, None, "approved")
    (ev,) = events(rw.buyer.id, "requisition.approved")
    assert ev.data["path"] == f"/api/v1/requisitions/{req.id}"
    other = raise_req(rw, title="Gloves")
    services.decide(rw.owner, other.id, None, "rejected", comment="Use stock first")
    (ev,) = events(rw.buyer.id, "requisition.rejected")
    assert ev.resource_id == other.id and ev.data["decision_note"] == "Use stock first"
    assert len(events(rw.buyer.id, "requisition.submitted")) == 2
    for cid in others(rw, rw.buyer.id):
        for t in ("requisition.submitted", "requisition.approved", "requisition.rejected"):
            assert events(cid, t) == []
    # the events API: the buyer reads them, a supplier reads none
    assert [e["resource_id"] for e in feed(client, token_for(rw.procurement), "requisition.approved")] == [req.id]
    assert feed(client, token_for(rw.sales_a), "requisition.approved") == []


def test_requisition_ordered_once_when_its_order_is_sent(rw):  # noqa: F811
    from portal.orders.states import OrderStatus
    from portal.requisitions import services
    from tests import factories

    factories.catalog_item(rw.supplier_a, sku="BRG-6204", price="4.00")
    req = raise_req(rw, line(desc="", qty="25", price="", cc=rw.cc, gl=rw.gl, sku="brg-6204"))
    services.decide(rw.owner, req.id, None, "approved")
    (order,) = services.to_orders(rw.procurement, [req.id])
    assert events(rw.buyer.id, "requisition.ordered") == []  # a draft order is not ordered
    order.sent_at = utcnow()
    order.status = OrderStatus.submitted
    db.session.commit()
    (ev,) = events(rw.buyer.id, "requisition.ordered")
    assert ev.resource_id == req.id and ev.data["status"] == "ordered"
    order.status = OrderStatus.placed
    db.session.commit()
    assert len(events(rw.buyer.id, "requisition.ordered")) == 1
    assert events(rw.supplier_a.id, "requisition.ordered") == []


def test_framework_agreement_events(world, client, token_for):
    from portal.frameworks import services as fa
    from tests.frameworks.helpers import agreement

    a = agreement(world, days=30)
    parties = (world.buyer.id, world.supplier_a.id)
    for cid in parties:
        (ev,) = events(cid, "framework_agreement.created")
        assert ev.resource_type == "framework_agreement" and ev.resource_id == a.id
        assert ev.data["reference"] == a.reference
    assert all(events(cid, "framework_agreement.created") == [] for cid in others(world, *parties))

    fa.call_off(a, world.procurement, {a.lines[0].id: "10"})
    assert len(events(world.buyer.id, "framework_agreement.called_off")) == 1
    assert events(world.supplier_a.id, "framework_agreement.called_off") == []  # a draft order: not the supplier's

    today = utcnow().date()
    assert fa.sweep(today)["noticed"] == 1
    assert fa.sweep(today)["noticed"] == 0
    for cid in parties:
        assert len(events(cid, "framework_agreement.expiring")) == 1
    assert fa.sweep(today + timedelta(days=31))["expired"] == 1
    fa.sweep(today + timedelta(days=32))
    for cid in parties:
        (ev,) = events(cid, "framework_agreement.expired")
        assert ev.data["status"] == "expired"
    assert all(events(cid, "framework_agreement.expired") == [] for cid in others(world, *parties))
    assert len(feed(client, token_for(world.sales_a), "framework_agreement.expired")) == 1
    assert feed(client, token_for(world.sales_b), "framework_agreement.expired") == []


def test_supplier_status_and_certificate_events(world, client, token_for):
    from portal.suppliers import services

    services.set_status(world.procurement, world.supplier_a.id, "approved")
    for cid in (world.buyer.id, world.supplier_a.id):
        (ev,) = events(cid, "supplier_status.changed")
        assert ev.resource_type == "supplier_relation" and ev.data["status"] == "approved"
    assert events(world.supplier_b.id, "supplier_status.changed") == []
    assert feed(client, token_for(world.sales_b), "supplier_status.changed") == []

    doc = services.add_document(world.sales_a, cert_type="iso9001", number="Q-1", issuer="TÜV",
                                valid_until=utcnow().date() + timedelta(days=20))
    assert services.remind_expiring_certificates() == 1
    assert services.remind_expiring_certificates() == 0
    for cid in (world.buyer.id, world.supplier_a.id):
        (ev,) = events(cid, "certificate.expiring")
        assert ev.resource_id == doc.id and ev.data["number"] == "Q-1"
    assert events(world.supplier_b.id, "certificate.expiring") == []
    assert [e["resource_id"] for e in feed(client, token_for(world.procurement), "certificate.expiring")] == [doc.id]


def test_supplier_invitation_accepted_reaches_the_inviting_buyer(world):
    from portal.suppliers import services

    inv, token = services.invite_new_supplier(world.procurement, email="nora@neuland.test")
    services.register_supplier(token, company_fields={
        "legal_name": "Neuland Metallbau GmbH", "display_name": "Neuland Metall", "country": "DE",
        "vat_number": "DE136695976", "address_line1": "Werkstraße 5", "postcode": "12345", "city": "Kassel",
        "currency": "EUR"}, name="Nora Lang", password="Blech-und-Stahl-2026")
    (ev,) = events(world.buyer.id, "supplier_invitation.accepted")
    assert ev.resource_type == "supplier_invitation" and ev.resource_id == inv.id
    assert ev.data["supplier_company_id"] is not None
    for cid in others(world, world.buyer.id) + [ev.data["supplier_company_id"]]:
        assert events(cid, "supplier_invitation.accepted") == []
