"""The document routes of the domains, once per storage backend: a rendered invoice PDF downloaded by both
parties, the invoice ZIP export (streamed into the store), an RFQ attachment uploaded and downloaded; another
company gets 404."""
from __future__ import annotations

import hashlib
import io
import zipfile

import sqlalchemy as sa

from portal.db import db
from portal.documents.models import StoredFile
from portal.documents.store import read_bytes
from portal.invoices import jobs as invoice_jobs
from portal.invoices.models import Invoice
from portal.jobs.models import JobRecord, JobStatus
from portal.jobs.queue import resolve
from portal.rfq.models import RfqAttachment
from portal.storage import get_storage
from tests import factories
from tests.invoices.conftest import issued_for, iw, shipped  # noqa: F401  (fixtures)


def test_invoice_pdf_and_zip_export(storage_backend, shipped, iw, login):  # noqa: F811
    order, sh = shipped
    inv = issued_for(iw, shipment=sh)
    invoice_jobs.invoice_pdf_job(inv.id, inv.pdf_job_id)
    db.session.expire_all()
    inv = db.session.get(Invoice, inv.id)
    f = db.session.get(StoredFile, inv.pdf_file_id)
    assert get_storage().exists(f.path)
    for user in (iw.accounts_a, iw.buyer_accounts):
        resp = login(user).get(f"/invoices/{inv.id}/pdf")
        assert resp.status_code == 200 and hashlib.sha256(resp.data).hexdigest() == f.sha256
    stranger = factories.user(factories.company("buyer"), "accounts")
    assert login(stranger).get(f"/invoices/{inv.id}/pdf").status_code == 404

    c = login(iw.accounts_a)
    assert c.post("/invoices/export.zip", data={"status": "issued"}).status_code == 302
    rec = db.session.scalar(sa.select(JobRecord).where(JobRecord.kind == "invoice-zip"))
    resolve(rec.func)(*rec.args, rec.id)
    db.session.expire_all()
    rec = db.session.get(JobRecord, rec.id)
    assert rec.status == JobStatus.succeeded
    resp = c.get(f"/files/{rec.result_file_id}")
    assert resp.status_code == 200 and resp.is_streamed
    zf = zipfile.ZipFile(io.BytesIO(resp.data))
    assert zf.read(f"{inv.number}.pdf") == read_bytes(f)
    assert login(stranger).get(f"/files/{rec.result_file_id}").status_code == 404


def test_rfq_attachment_upload_and_download(storage_backend, world, login):
    rfq = factories.rfq(world.buyer, world.procurement, status="draft", suppliers=[world.supplier_a])
    pdf = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
    c = login(world.procurement)
    c.post(f"/rfqs/{rfq.id}/attachments", data={"file": (io.BytesIO(pdf), "spec.pdf")},
           content_type="multipart/form-data")
    att = db.session.scalar(sa.select(RfqAttachment))
    assert get_storage().read(att.file.path) == pdf
    resp = c.get(f"/rfqs/{rfq.id}/attachments/{att.id}")
    assert resp.status_code == 200 and resp.data == pdf and 'filename="spec.pdf"' in resp.headers[
        "Content-Disposition"]
    assert login(world.sales_b).get(f"/rfqs/{rfq.id}/attachments/{att.id}").status_code == 404
