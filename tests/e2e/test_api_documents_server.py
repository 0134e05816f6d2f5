"""The document and catalog API through the real server (gunicorn, a real RQ worker): the streamed invoice CSV (its
generator runs after the request context is gone), an RFQ attachment up and down, the catalog CSV import, the
statement PDF rendered by the worker and fetched as the job's file; and the browsable docs list the new sections
(Chromium)."""
from __future__ import annotations

import csv
import io
import time

import pytest

from tests import factories
from tests.e2e.test_exports_server import invoiced  # noqa: F401 - the fixture

pytestmark = pytest.mark.e2e

requests = pytest.importorskip("requests")

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def _auth(user) -> dict:
    from portal.api.auth import create_token

    _, raw = create_token(user, "e2e")
    return {"Authorization": f"Bearer {raw}"}


def test_streamed_invoice_export_and_statement_pdf_through_gunicorn_and_the_worker(world, invoiced,  # noqa: F811
                                                                                   live_server):
    from portal.invoices.csvexport import CSV_HEADER

    h = _auth(world.accounts_a)
    r = requests.get(live_server + "/api/v1/exports/invoices?kind=invoice", headers=h, timeout=30)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv"), r.text[:300]
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == CSV_HEADER
    assert sorted(x[0] for x in rows[1:]) == sorted([invoiced["inv1"], invoiced["inv2"], invoiced["draft"]])
    r = requests.post(live_server + "/api/v1/statements/pdf", headers=h, json={"counterparty_id": world.buyer.id},
                      timeout=30)
    assert r.status_code == 202, r.text
    url = live_server + f"/api/v1/jobs/{r.json()['id']}/file"
    deadline = time.monotonic() + 60
    while True:
        got = requests.get(url, headers=h, timeout=30)
        if got.status_code != 202 or time.monotonic() > deadline:
            break
        time.sleep(float(got.headers.get("Retry-After", "1")) / 2)
    assert got.status_code == 200, got.text[:300]
    assert got.headers["Content-Type"] == "application/pdf" and got.content.startswith(b"%PDF-")


def test_rfq_attachment_and_catalog_import_through_gunicorn(world, live_server):
    rfq = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a])
    buyer, sales = _auth(world.procurement), _auth(world.sales_a)
    r = requests.post(live_server + f"/api/v1/rfqs/{rfq.id}/attachments", headers=buyer,
                      files={"file": ("drawing.pdf", PDF, "application/pdf")}, timeout=30)
    assert r.status_code == 201, r.text
    got = requests.get(live_server + r.headers["Location"], headers=sales, timeout=30)
    assert got.status_code == 200 and got.content == PDF
    text = "sku,name,unit_price,currency\nE2E-1,Bolt,0.50,EUR\nE2E-2,Nut,0.10,EUR\n"
    r = requests.post(live_server + "/api/v1/catalog/imports", headers=sales,
                      files={"file": ("catalog.csv", text.encode(), "text/csv")}, timeout=30)
    assert r.status_code == 201 and r.json()["creates"] == 2, r.text
    # the preview may be applied through another gunicorn worker: the upload is staged in the file store
    done = requests.post(live_server + r.headers["Location"] + "/apply", headers=sales, timeout=30)
    assert done.status_code == 200 and done.json() == {"created": 2, "updated": 0, "total": 2}, done.text
    items = requests.get(live_server + "/api/v1/catalog/items?reference=E2E", headers=sales, timeout=30).json()
    assert [i["sku"] for i in items["items"]] == ["E2E-1", "E2E-2"]


def test_the_browsable_docs_show_the_documents_and_catalog_sections(browser, live_server, tmp_path):
    ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    page = ctx.new_page()
    page.set_default_timeout(60000)  # the Swagger UI bundle is large; the machine is shared
    page.goto(live_server + "/api/v1/docs", wait_until="domcontentloaded")
    for section in ("Documents", "Catalog"):
        page.locator(f"#operations-tag-{section}").wait_for()
    page.locator("#operations-tag-Catalog").scroll_into_view_if_needed()
    assert page.locator('[data-path="/api/v1/catalog/imports"]').count() >= 1
    assert page.locator('[data-path="/api/v1/rfqs/{rfq_id}/attachments"]').count() >= 1
    page.screenshot(path=str(tmp_path / "api-docs-catalog.png"))
    ctx.close()
