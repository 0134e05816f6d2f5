"""Attachments: type by content, size limit, stored for the buyer, served only to the parties."""
from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from portal.db import db
from portal.documents.models import StoredFile
from portal.errors import ValidationFailed
from portal.rfq import services
from portal.rfq.models import RfqAttachment
from tests import factories
from tests.rfq.conftest import count, fresh, text

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def upload(client, rfq, data, name):
    return client.post(f"/rfqs/{rfq.id}/attachments", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data", follow_redirects=True)


@pytest.mark.parametrize("data, name, ctype", [
    (PDF, "spec.pdf", "application/pdf"), (PNG, "drawing.PNG", "image/png"),
    (JPEG, "photo.jpeg", "image/jpeg"),
    (b"a,b\n1,2\n", "sizes.csv", "text/csv"),
])
def test_allowed_attachments_are_stored_for_the_buyer(world, login, draft, data, name, ctype):
    resp = upload(login(world.procurement), draft, data, name)
    assert f"{name} attached." in text(resp)
    att = db.session.scalar(sa.select(RfqAttachment))
    assert att.file.owner_company_id == world.buyer.id and att.file.content_type == ctype
    assert att.file.size == len(data)


@pytest.mark.parametrize("data, name, message", [
    (b"MZ\x90\x00 windows program", "setup.exe", "is not an allowed type"),
    (b"<html><script>", "page.html", "is not an allowed type"),
    (b"no extension", "README", "is not an allowed type"),
    (b"MZ\x90\x00 not a pdf at all", "spec.pdf", "does not contain what its name says"),
    (PDF, "spec.png", "does not contain what its name says"),
    (b"\xff\xfe\x00b\x00", "sizes.csv", "not a UTF-8 text file"),
    (b"", "empty.pdf", "The file is empty."),
    (b"%PDF-" + b"0" * (5 * 1024 * 1024), "huge.pdf", "attachments may be at most 5 MB each"),
])
def test_bad_attachments_are_refused(world, login, draft, data, name, message):
    resp = upload(login(world.procurement), draft, data, name)
    assert message in text(resp)
    assert count(RfqAttachment) == 0 and count(StoredFile) == 0


def test_file_names_are_cleaned(world, draft):
    att = services.add_attachment(world.procurement, draft.id, filename="../../etc/\x07evil.pdf", data=PDF)
    assert att.file.filename == "evil.pdf"


def test_attachment_on_open_rfq_is_an_amendment(world, open_rfq):
    services.add_attachment(world.procurement, open_rfq.id, filename="rev-b.pdf", data=PDF)
    assert fresh(open_rfq).amendment_no == 1


def _attachment(world, rfq):
    return services.add_attachment(world.procurement, rfq.id, filename="spec.pdf", data=PDF)


def test_parties_download(world, login):
    r = factories.rfq(world.buyer, world.procurement, status="draft", suppliers=[world.supplier_a])
    att = _attachment(world, r)
    url = f"/rfqs/{r.id}/attachments/{att.id}"
    resp = login(world.procurement).get(url)
    assert resp.status_code == 200 and resp.data == PDF
    assert "attachment" in resp.headers["Content-Disposition"]
    assert login(world.sales_a).get(url).status_code == 404  # invited, but still a draft
    services.publish(world.procurement, r.id)
    assert login(world.sales_a).get(url).status_code == 200
    assert login(world.sales_b).get(url).status_code == 404  # not invited
    other = factories.company("buyer", name="Other Buyer AG")
    assert login(factories.user(other, "procurement")).get(url).status_code == 404


def test_attachment_id_of_another_rfq_is_404(world, login, open_rfq):
    theirs = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_b])
    att = _attachment(world, theirs)
    # supplier A is invited to open_rfq but not to `theirs`: asking through its own RFQ id does not help
    assert login(world.sales_a).get(f"/rfqs/{open_rfq.id}/attachments/{att.id}").status_code == 404
    assert login(world.sales_a).get(f"/files/{att.file_id}").status_code == 404


def test_remove_attachment(world, login, draft):
    att = _attachment(world, draft)
    resp = login(world.procurement).post(f"/rfqs/{draft.id}/attachments/{att.id}/delete", data={},
                                         follow_redirects=True)
    assert "Attachment removed." in text(resp)
    assert count(RfqAttachment) == 0


def test_check_attachment_limits_directly():
    with pytest.raises(ValidationFailed):
        services.check_attachment("x.pdf", b"%PDF-" + b"0" * services.MAX_ATTACHMENT_BYTES)
    assert services.check_attachment("x.pdf", b"%PDF-" + b"0" * 100) == ("x.pdf", "application/pdf")
