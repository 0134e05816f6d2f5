"""Quote attachments: PDF/images/CSV only, size-limited, downloadable by the two parties (the buyer only once
the prices are visible)."""
import io

import pytest

from portal.db import db, utcnow
from portal.documents.models import StoredFile
from portal.quotes.models import QuoteAttachment
from tests import factories
from tests.quotes.helpers import count, draft_with, fresh, move_deadline_to_past, submitted, text

pytestmark = pytest.mark.usefixtures("isolated_requests")

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def attach(c, q, data, name):
    return c.post(f"/quotes/{q.id}/attachments", data={"file": (io.BytesIO(data), name)},
                  content_type="multipart/form-data", follow_redirects=True)


def test_supplier_attaches_and_downloads_a_pdf(world, open_rfq, login):
    q = draft_with(open_rfq, world.sales_a, ["1", "2", "3"])
    c = login(world.sales_a)
    resp = attach(c, q, PDF, "Datenblatt Größe M.pdf")
    assert "Datenblatt Größe M.pdf is attached." in text(resp)
    att = db.session.scalar(db.select(QuoteAttachment))
    f = db.session.get(StoredFile, att.file_id)
    assert f.owner_company_id == world.supplier_a.id and f.content_type == "application/pdf"
    assert f.party_company_id is None  # only through the quote's own route, which checks seal and drafts
    dl = c.get(f"/quotes/{q.id}/attachments/{att.id}")
    assert dl.status_code == 200 and dl.data == PDF


BAD = [
    (b"MZ\x90\x00", "setup.exe", "Attach PDF, image (PNG, JPEG, GIF, WebP) or CSV files only."),
    (b"<html>", "page.html", "Attach PDF, image"),
    (b"not a pdf", "offer.pdf", "The file's content is not a PDF file."),
    (PNG, "photo.jpg", "The file's content is not a JPG file."),
    (b"", "empty.pdf", "The file is empty."),
    (b"%PDF-" + b"x" * (5 * 1024 * 1024), "huge.pdf", "The file is too large"),
]


def test_bad_attachments_are_refused(world, open_rfq, login):
    q = draft_with(open_rfq, world.sales_a, ["1", "2", "3"])
    c = login(world.sales_a)
    for data, name, message in BAD:
        assert message in text(attach(c, q, data, name)), name
    assert count(QuoteAttachment) == 0 and count(StoredFile) == 0


def test_images_and_csv_are_accepted(world, open_rfq, login):
    q = draft_with(open_rfq, world.sales_a, ["1", "2", "3"])
    c = login(world.sales_a)
    attach(c, q, PNG, "photo.png")
    attach(c, q, b"a,b\n1,2\n", "prices.csv")
    assert count(QuoteAttachment) == 2


def _attached(world, rfq, login):
    from portal.quotes import services

    q = draft_with(rfq, world.sales_a, ["1", "2", "3"])
    attach(login(world.sales_a), q, PDF, "offer.pdf")
    q = fresh(q)
    services.submit(q, world.sales_a, q.lock_version)
    return fresh(q), db.session.scalar(db.select(QuoteAttachment))


def test_sealed_attachments_stay_closed_to_the_buyer(world, open_rfq, login):
    q, att = _attached(world, open_rfq, login)
    c = login(world.procurement)
    assert c.get(f"/quotes/{q.id}/attachments/{att.id}").status_code == 403
    assert c.get(f"/files/{att.file_id}").status_code == 404  # nor through the general file store
    assert "offer.pdf" not in text(c.get(f"/quotes/{q.id}"))


def test_after_opening_the_buyer_downloads_attachments(world, open_rfq, login):
    q, att = _attached(world, open_rfq, login)
    rfq = move_deadline_to_past(open_rfq)
    rfq.status = "closed"
    rfq.opened_at = utcnow()
    db.session.commit()
    c = login(world.procurement)
    assert "offer.pdf" in text(c.get(f"/quotes/{q.id}"))
    assert c.get(f"/quotes/{q.id}/attachments/{att.id}").data == PDF


def test_unsealed_attachment_of_an_unsubmitted_revision_waits_for_the_submission(world, unsealed_rfq, login):
    from portal.quotes import services

    q, att = _attached(world, unsealed_rfq, login)
    c = login(world.procurement)
    assert c.get(f"/quotes/{q.id}/attachments/{att.id}").status_code == 200
    services.get_or_create_draft(fresh(unsealed_rfq), world.sales_a)
    attach(login(world.sales_a), q, PNG, "revised.png")
    new = db.session.scalar(db.select(QuoteAttachment).order_by(QuoteAttachment.id.desc()))
    assert c.get(f"/quotes/{q.id}/attachments/{new.id}").status_code == 404
    assert c.get(f"/files/{new.file_id}").status_code == 404  # nor through the general file store
    assert "revised.png" not in text(c.get(f"/quotes/{q.id}"))


def test_other_suppliers_never_reach_an_attachment(world, open_rfq, login):
    q, att = _attached(world, open_rfq, login)
    c = login(world.sales_b)
    assert c.get(f"/quotes/{q.id}/attachments/{att.id}").status_code == 404
    assert c.get(f"/files/{att.file_id}").status_code == 404
    other_q = submitted(open_rfq, world.sales_b, ["1", "1", "1"])
    assert c.get(f"/quotes/{other_q.id}/attachments/{att.id}").status_code == 404


def test_removing_a_draft_attachment_but_not_a_submitted_one(world, open_rfq, login):
    from portal.quotes import services

    q, submitted_att = _attached(world, open_rfq, login)
    c = login(world.sales_a)
    assert login(world.sales_b).post(f"/quotes/{q.id}/attachments/{submitted_att.id}/delete").status_code == 404
    resp = c.post(f"/quotes/{q.id}/attachments/{submitted_att.id}/delete", follow_redirects=True)
    assert "was submitted with the quote and stays with that version" in text(resp)
    assert count(QuoteAttachment) == 1
    # adding needs a draft: Revise first
    assert "click Revise to add one" in text(attach(c, q, PNG, "late.png"))
    services.get_or_create_draft(fresh(open_rfq), world.sales_a)
    attach(c, q, PNG, "late.png")
    new = db.session.scalar(db.select(QuoteAttachment).order_by(QuoteAttachment.id.desc()))
    assert c.post(f"/quotes/{q.id}/attachments/{new.id}/delete").status_code == 302
    assert count(QuoteAttachment) == 1


def test_attachment_too_many(world, open_rfq, login, monkeypatch):
    from portal.quotes import services

    monkeypatch.setattr(services, "MAX_ATTACHMENTS", 1)
    q = draft_with(open_rfq, world.sales_a, ["1", "2", "3"])
    c = login(world.sales_a)
    attach(c, q, PDF, "a.pdf")
    assert "at most 1 attachments" in text(attach(c, q, PNG, "b.png"))
    assert count(QuoteAttachment) == 1


def test_only_invited_parties(world, login):
    rfq = factories.rfq(world.buyer, world.procurement, sealed=False, suppliers=[world.supplier_a])
    q, att = _attached(world, rfq, login)
    outsider = factories.company("buyer")
    assert login(factories.user(outsider, "procurement")).get(
        f"/quotes/{q.id}/attachments/{att.id}").status_code == 404
