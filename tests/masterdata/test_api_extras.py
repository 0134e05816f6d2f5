"""RFQ questions and answers, purchase-order and delivery-note PDFs through the API."""
from __future__ import annotations

from tests import factories
from tests.webhooks.conftest import banked, shipped  # noqa: F401  (fixtures)


def ok(r, status=200):
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:2000])
    return r.get_json()


def test_questions_and_answers_keep_who_asked_from_the_other_suppliers(client, world, token_for):
    rfq = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a, world.supplier_b])
    a, b, buyer = token_for(world.sales_a), token_for(world.sales_b), token_for(world.procurement)
    q = ok(client.post(f"/api/v1/rfqs/{rfq.id}/questions", headers=a, json={"question": "Zinc plated?"}), 201)
    assert q["asked_by_you"] is True and q["answer"] is None
    assert ok(client.get(f"/api/v1/rfqs/{rfq.id}/questions", headers=b))["items"] == []  # unanswered, not B's
    seen = ok(client.get(f"/api/v1/rfqs/{rfq.id}/questions", headers=buyer))["items"]
    assert [x["asked_by_company_id"] for x in seen] == [world.supplier_a.id]
    assert client.post(f"/api/v1/rfqs/{rfq.id}/questions/{q['id']}/answer", headers=a,
                       json={"answer": "x"}).status_code in (403, 404)
    ans = ok(client.post(f"/api/v1/rfqs/{rfq.id}/questions/{q['id']}/answer", headers=buyer,
                         json={"answer": "Yes, zinc plated."}))
    assert ans["answer"] == "Yes, zinc plated."
    (for_b,) = ok(client.get(f"/api/v1/rfqs/{rfq.id}/questions", headers=b))["items"]
    assert for_b["answer"] == "Yes, zinc plated." and for_b["asked_by_company_id"] is None
    assert for_b["asked_by_you"] is False
    again = client.post(f"/api/v1/rfqs/{rfq.id}/questions/{q['id']}/answer", headers=buyer, json={"answer": "y"})
    assert again.status_code == 409 and again.mimetype == "application/problem+json"
    other = factories.company("supplier", name="Uninvited Ltd", country="NL")
    r = client.get(f"/api/v1/rfqs/{rfq.id}/questions", headers=token_for(factories.user(other, "sales")))
    assert r.status_code == 404


def test_purchase_order_and_delivery_note_pdfs(client, shipped, token_for, run_jobs):
    w = shipped.world
    buyer, sales = token_for(w.procurement), token_for(w.sales_a)
    sid = shipped.shipment.id
    pending = client.get(f"/api/v1/shipments/{sid}/delivery-note", headers=buyer)
    assert pending.status_code == 202 and pending.headers["Retry-After"]
    run_jobs(queues=["documents"])
    pdf = client.get(f"/api/v1/shipments/{sid}/delivery-note", headers=sales)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF-")
    assert client.get(f"/api/v1/shipments/{sid}/delivery-note", headers=token_for(w.sales_b)).status_code == 404
    draft = factories.order(w.buyer, w.supplier_a, w.procurement)
    r = client.get(f"/api/v1/orders/{draft.id}/pdf", headers=buyer)
    assert r.status_code == 409 and "placed" in r.get_json()["detail"]
    assert client.get(f"/api/v1/orders/{draft.id}/pdf", headers=sales).status_code == 404  # a draft: not theirs


def test_the_purchase_order_pdf_once_rendered(client, world, token_for):
    from portal.db import db, utcnow
    from portal.orders.jobs import po_pdf_job

    order = factories.order(world.buyer, world.supplier_a, world.procurement, status="placed")
    order.placed_at = utcnow()
    db.session.commit()
    buyer = token_for(world.procurement)
    assert client.get(f"/api/v1/orders/{order.id}/pdf", headers=buyer).status_code == 202
    po_pdf_job(order.id)
    pdf = client.get(f"/api/v1/orders/{order.id}/pdf", headers=token_for(world.sales_a))
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-") and pdf.headers["X-Content-SHA256"]


def test_discard_a_quote_draft_and_a_draft_invoice(client, shipped, token_for):
    from portal.db import db
    from portal.invoices import services as invoice_services
    from portal.invoices.models import Invoice
    from portal.quotes.models import Quote

    w = shipped.world
    rfq = factories.rfq(w.buyer, w.procurement, suppliers=[w.supplier_a])
    draft = factories.quote(rfq, w.supplier_a, w.sales_a, submitted=False)
    draft_id = draft.id
    sales = token_for(w.sales_a)
    # a draft never submitted is the supplier's alone: the buyer does not even see it
    assert client.delete(f"/api/v1/quotes/{draft.id}/draft", headers=token_for(w.procurement)).status_code == 404
    assert client.delete(f"/api/v1/quotes/{draft.id}/draft?lock_version=999", headers=sales).status_code == 409
    assert client.delete(f"/api/v1/quotes/{draft.id}/draft", headers=sales).status_code == 204
    db.session.expire_all()
    assert db.session.get(Quote, draft_id) is None  # never submitted: gone
    submitted = factories.quote(factories.rfq(w.buyer, w.procurement, suppliers=[w.supplier_a]), w.supplier_a,
                                w.sales_a)
    r = client.delete(f"/api/v1/quotes/{submitted.id}/draft", headers=sales)
    assert r.status_code == 409 and "no draft" in r.get_json()["detail"]

    inv = invoice_services.create_draft(w.accounts_a, shipment_id=shipped.shipment.id)
    inv_id = inv.id
    accounts = token_for(w.accounts_a)
    assert client.delete(f"/api/v1/invoices/{inv_id}", headers=token_for(w.buyer_accounts)).status_code == 404
    assert client.delete(f"/api/v1/invoices/{inv_id}", headers=accounts).status_code == 204
    db.session.expire_all()
    assert db.session.get(Invoice, inv_id) is None
    inv = invoice_services.create_draft(w.accounts_a, shipment_id=shipped.shipment.id)
    inv = invoice_services.issue(inv, w.accounts_a, inv.lock_version)
    r = client.delete(f"/api/v1/invoices/{inv.id}", headers=accounts)
    assert r.status_code == 409 and "never deleted" in r.get_json()["detail"]


def test_confirming_a_quote_needs_an_amendment(client, world, token_for):
    rfq = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a])
    quote = factories.quote(rfq, world.supplier_a, world.sales_a)
    r = client.post(f"/api/v1/quotes/{quote.id}/confirm", headers=token_for(world.sales_a), json={})
    assert r.status_code == 409 and r.mimetype == "application/problem+json"
    from portal.rfq import services as rfq_services
    from datetime import timedelta

    rfq_services.extend_deadline(world.procurement, rfq.id, deadline=rfq.deadline + timedelta(days=3))
    got = client.post(f"/api/v1/quotes/{quote.id}/confirm", headers=token_for(world.sales_a), json={})
    assert got.status_code == 200, got.get_data(as_text=True)
    assert got.get_json()["version"] == 2
