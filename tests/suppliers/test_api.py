"""The supplier onboarding API: invitations, statuses (tenancy: the buyer's is the buyer's; the supplier sees its
own), qualification documents (expiry in the past 422, nothing saved), questionnaire answers and reviews."""
from __future__ import annotations

from datetime import timedelta

from portal.db import utcnow
from portal.suppliers.models import QualificationDocument, SupplierInvitation
from tests import factories
from tests.suppliers.conftest import count

API = "/api/v1"


def test_invitations_through_the_api(world, client, token_for, open_rfq):
    h = token_for(world.procurement)
    resp = client.post(f"{API}/supplier-invitations", headers=h,
                       json={"email": "nora@neuland.test", "company_name": "Neuland", "rfq_id": open_rfq.id})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["state"] == "pending" and body["rfq_id"] == open_rfq.id and resp.headers["Location"].endswith(
        f"/supplier-invitations/{body['id']}")
    assert client.get(resp.headers["Location"], headers=h).get_json()["email"] == "nora@neuland.test"
    listed = client.get(f"{API}/supplier-invitations", headers=h).get_json()
    assert [i["id"] for i in listed["items"]] == [body["id"]]
    # another company's invitation does not exist for you
    assert client.get(f"{API}/supplier-invitations/{body['id']}", headers=token_for(world.sales_a)).status_code == 404
    # an e-mail already on the portal: 409 naming the company to invite instead, nothing saved
    resp = client.post(f"{API}/supplier-invitations", headers=h, json={"email": world.sales_b.email})
    assert resp.status_code == 409 and resp.mimetype == "application/problem+json"
    assert resp.get_json()["errors"]["company_id"] == str(world.supplier_b.id)
    assert "Invite Supplier Beta SAS instead" in resp.get_json()["detail"]
    assert count(SupplierInvitation) == 1
    resp = client.post(f"{API}/supplier-invitations/{body['id']}/revoke", headers=h)
    assert resp.status_code == 200 and resp.get_json()["state"] == "revoked"


def test_statuses_tenancy(world, client, token_for):
    h = token_for(world.procurement)
    resp = client.put(f"{API}/suppliers/{world.supplier_a.id}/status", headers=h,
                      json={"status": "blocked", "reason": ""})
    assert resp.status_code == 422 and "reason" in resp.get_json()["detail"]
    resp = client.put(f"{API}/suppliers/{world.supplier_a.id}/status", headers=h,
                      json={"status": "approved", "reason": "Audit passed"})
    assert resp.status_code == 200
    st = resp.get_json()
    assert st["status"] == "approved" and [x["to_status"] for x in st["history"]] == ["approved", "new"]
    stale = client.put(f"{API}/suppliers/{world.supplier_a.id}/status", headers=h,
                       json={"status": "blocked", "reason": "x", "lock_version": st["lock_version"] - 1})
    assert stale.status_code == 409
    # the supplier sees its own status with this buyer; another supplier and another buyer do not
    mine = client.get(f"{API}/supplier-statuses", headers=token_for(world.sales_a)).get_json()
    assert [(i["buyer_company_id"], i["status"]) for i in mine["items"]] == [(world.buyer.id, "approved")]
    assert client.get(f"{API}/supplier-statuses/{st['id']}", headers=token_for(world.sales_b)).status_code == 404
    other = factories.user(factories.company("buyer", name="Other"), "procurement")
    assert client.get(f"{API}/supplier-statuses/{st['id']}", headers=token_for(other)).status_code == 404
    assert client.get(f"{API}/supplier-statuses", headers=token_for(other)).get_json()["items"] == []
    # suppliers cannot set statuses
    assert client.put(f"{API}/suppliers/{world.supplier_b.id}/status", headers=token_for(world.sales_a),
                      json={"status": "approved"}).status_code == 403


def test_documents_and_questionnaire(world, client, token_for):
    hb, hs = token_for(world.procurement), token_for(world.sales_a)
    client.put(f"{API}/suppliers/{world.supplier_a.id}/status", headers=hb, json={"status": "approved"})
    past = (utcnow().date() - timedelta(days=1)).isoformat()
    resp = client.post(f"{API}/qualification-documents", headers=hs,
                       json={"cert_type": "iso9001", "number": "Q-1", "issuer": "TÜV", "valid_until": past})
    assert resp.status_code == 422 and "expired on" in resp.get_json()["detail"]
    assert count(QualificationDocument) == 0
    future = (utcnow().date() + timedelta(days=300)).isoformat()
    resp = client.post(f"{API}/qualification-documents", headers=hs,
                       json={"cert_type": "iso9001", "number": "Q-1", "issuer": "TÜV", "valid_until": future})
    assert resp.status_code == 201
    doc = resp.get_json()
    assert client.get(f"{API}/qualification-documents/{doc['id']}", headers=hb).status_code == 200
    assert client.get(f"{API}/qualification-documents/{doc['id']}", headers=token_for(world.sales_b)).status_code == 404
    assert [d["number"] for d in client.get(f"{API}/qualification-documents", headers=hb).get_json()["items"]] == ["Q-1"]

    q = client.post(f"{API}/supplier-questions", headers=hb, json={"text": "ISO 14001 planned?"}).get_json()
    assert [x["id"] for x in client.get(f"{API}/supplier-questions", headers=hs).get_json()["items"]] == [q["id"]]
    assert client.get(f"{API}/supplier-questions", headers=token_for(world.sales_b)).get_json()["items"] == []
    ans = client.put(f"{API}/supplier-questions/{q['id']}/answer", headers=hs, json={"answer": "In 2027."})
    assert ans.status_code == 200 and ans.get_json()["review"] == "pending"
    assert client.put(f"{API}/supplier-questions/{q['id']}/answer", headers=token_for(world.sales_b),
                      json={"answer": "x"}).status_code == 404
    aid = ans.get_json()["id"]
    resp = client.post(f"{API}/questionnaire-answers/{aid}/review", headers=hb, json={"decision": "accepted"})
    assert resp.status_code == 200 and resp.get_json()["review"] == "accepted"
    assert client.get(f"{API}/questionnaire-answers", headers=hs).get_json()["items"][0]["review"] == "accepted"


def test_named_enums_in_the_document(client):
    spec = client.get(f"{API}/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    assert schemas["SupplierStatusOut"]["properties"]["status"] == {"$ref": "#/components/schemas/SupplierStatus"}
    assert schemas["QualificationDocumentOut"]["properties"]["cert_type"] == {"$ref": "#/components/schemas/CertificateType"}


PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def _upload_file(client, headers, doc_id, data, name="iso9001.pdf"):
    from io import BytesIO

    return client.post(f"{API}/qualification-documents/{doc_id}/file", headers=headers,
                       data={"file": (BytesIO(data), name)}, content_type="multipart/form-data")


def test_a_certificates_file_is_uploaded_through_the_api_with_the_pages_checks(world, client, token_for):
    from portal.db import db
    from portal.suppliers import services

    services.set_status(world.procurement, world.supplier_a.id, "approved")
    supplier = token_for(world.sales_a)
    until = (utcnow().date() + timedelta(days=300)).isoformat()
    doc = client.post(f"{API}/qualification-documents", headers=supplier,
                      json={"cert_type": "iso9001", "number": "Q-7", "issuer": "TÜV", "valid_until": until})
    assert doc.status_code == 201, doc.get_json()
    doc_id = doc.get_json()["id"]
    assert doc.get_json()["has_file"] is False
    # not multipart: 415; no file field: 422; bytes that are not what the name says: 422, nothing stored
    resp = client.post(f"{API}/qualification-documents/{doc_id}/file", headers=supplier, json={})
    assert resp.status_code == 415
    resp = client.post(f"{API}/qualification-documents/{doc_id}/file", headers=supplier, data={},
                       content_type="multipart/form-data")
    assert resp.status_code == 422, resp.get_json()
    resp = _upload_file(client, supplier, doc_id, b"MZ...")
    assert resp.status_code == 422 and "does not contain what its name says" in resp.get_json()["detail"]
    db.session.expire_all()
    assert db.session.get(QualificationDocument, doc_id).file_id is None
    # another supplier: 404; the buyer did not record it: 403
    assert _upload_file(client, token_for(world.sales_b), doc_id, PDF).status_code == 404
    assert _upload_file(client, token_for(world.procurement), doc_id, PDF).status_code == 403
    resp = _upload_file(client, supplier, doc_id, PDF)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["has_file"] is True
    # once: a second file is 409
    assert _upload_file(client, supplier, doc_id, PDF).status_code == 409
    # both sides download it; another company gets 404
    for who in (world.sales_a, world.procurement):
        dl = client.get(f"{API}/qualification-documents/{doc_id}/file", headers=token_for(who))
        assert dl.status_code == 200 and dl.data == PDF and dl.mimetype == "application/pdf"
    assert client.get(f"{API}/qualification-documents/{doc_id}/file",
                      headers=token_for(world.sales_b)).status_code == 404


def test_the_buyer_who_recorded_a_certificate_uploads_its_file(world, client, token_for):
    buyer = token_for(world.procurement)
    until = (utcnow().date() + timedelta(days=300)).isoformat()
    doc = client.post(f"{API}/qualification-documents", headers=buyer,
                      json={"cert_type": "iso9001", "number": "Q-8", "issuer": "TÜV", "valid_until": until,
                            "supplier_company_id": world.supplier_a.id}).get_json()
    resp = _upload_file(client, buyer, doc["id"], PDF, "scan.pdf")
    assert resp.status_code == 200 and resp.get_json()["has_file"] is True
    dl = client.get(f"{API}/qualification-documents/{doc['id']}/file", headers=token_for(world.sales_a))
    assert dl.status_code == 200 and dl.data == PDF
