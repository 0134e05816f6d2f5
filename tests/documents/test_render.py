"""PDF rendering infrastructure: static-only URL fetcher, cached stylesheet/fonts, A4 layout rules."""

from __future__ import annotations

import base64
import shutil
import subprocess

import pytest

from portal.documents import render
from portal.documents.render import BASE_URL, DocumentRenderError, RefusedURL

pytestmark = pytest.mark.dialect_free  # sends no SQL: make test runs it in one of its two runs (tests/conftest.py)

PDFTOTEXT = shutil.which("pdftotext")
needs_pdftotext = pytest.mark.skipif(PDFTOTEXT is None, reason="pdftotext (poppler-utils) is not installed")

# A 1x1 transparent PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


def pdf_text(pdf: bytes, page: int | None = None) -> str:
    args = [PDFTOTEXT, "-layout"]
    if page is not None:
        args += ["-f", str(page), "-l", str(page)]
    return subprocess.run(args + ["-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


@pytest.fixture
def fetcher():
    return render.make_fetcher()


@pytest.fixture(autouse=True)
def app_ctx():
    """Rendering needs no app context and writes nothing to the database: skip tests/conftest.py's per-test
    table truncation (about half a second per test on PostgreSQL)."""
    yield


# ------------------------------------------------------------------------------------------ the fetcher


def test_fetcher_serves_the_apps_own_static_files(fetcher):
    resp = fetcher.fetch(BASE_URL + "pdf/document.css")
    body = resp.read()
    assert b"@page" in body and resp.content_type == "text/css"


def test_fetcher_serves_relative_urls_joined_onto_the_static_base(fetcher):
    from urllib.parse import urljoin

    assert b"<svg" in fetcher.fetch(urljoin(BASE_URL, "favicon.svg")).read()
    assert b"<svg" in fetcher.fetch(urljoin(BASE_URL, "/static/favicon.svg")).read()


@pytest.mark.parametrize(
    "url, why",
    [
        ("file:///etc/passwd", "file URLs are not allowed"),
        ("FILE:///etc/passwd", "file URLs are not allowed"),
        ("http://example.com/logo.png", "only the portal's own static files"),
        ("https://example.com/static/app.css", "only the portal's own static files"),
        ("https://169.254.169.254/latest/meta-data/", "only the portal's own static files"),
        ("https://portal-static.invalid.evil.com/static/app.css", "only the portal's own static files"),
        ("https://user@portal-static.invalid/static/app.css", "only the portal's own static files"),
        ("ftp://example.com/x", "ftp URLs are not allowed"),
        ("gopher://example.com/x", "gopher URLs are not allowed"),
        ("javascript:alert(1)", "javascript URLs are not allowed"),
        ("https://portal-static.invalid/etc/passwd", "only files under static/"),
        ("https://portal-static.invalid/static/", "path traversal"),
        ("https://portal-static.invalid/static/%2e%2e/portal/config.py", "path traversal"),
        ("https://portal-static.invalid/static/pdf/%2E%2E/%2E%2E/wsgi.py", "path traversal"),
        ("https://portal-static.invalid/static/..%2f..%2fwsgi.py", "path traversal"),
        ("https://portal-static.invalid/static/pdf/..%5c..%5cwsgi.py", "path traversal"),
        ("https://portal-static.invalid/static/pdf/%00.css", "path traversal"),
        ("https://portal-static.invalid/static//etc/passwd", "path traversal"),
        ("https://portal-static.invalid/static/nope.css", "no such static file"),
        ("https://portal-static.invalid/static/pdf", "no such static file"),
        ("data:text/html,<script>alert(1)</script>", "only hold small images"),
        (
            "data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg'><image href='file:///etc/passwd'/></svg>",
            "only hold small images",
        ),
        ("data:,hello", "only hold small images"),
        ("data:image/png;base64,!!!notbase64", "malformed base64"),
        ("data:image/png", "malformed data"),
        ("static/app.css", "not an absolute URL"),
    ],
)
def test_fetcher_refuses_everything_else(fetcher, url, why):
    with pytest.raises(RefusedURL, match=why.replace(".", r"\.").replace("(", r"\(")):
        fetcher.fetch(url)


def test_fetcher_refuses_a_large_inline_image(fetcher):
    big = base64.b64encode(PNG + b"\0" * (render.MAX_DATA_IMAGE_BYTES + 1)).decode()
    with pytest.raises(RefusedURL, match="limited to 64 KB"):
        fetcher.fetch("data:image/png;base64," + big)


def test_fetcher_allows_a_small_inline_image(fetcher):
    resp = fetcher.fetch("data:image/png;base64," + base64.b64encode(PNG).decode())
    assert resp.read() == PNG and resp.content_type == "image/png"


def test_fetcher_refuses_a_symlink_leaving_static(tmp_path):
    root = tmp_path / "static"
    root.mkdir()
    (tmp_path / "secret.txt").write_text("secret")
    (root / "ok.css").write_text("p{}")
    (root / "link.css").symlink_to(tmp_path / "secret.txt")
    f = render.make_fetcher(root)
    assert f.fetch(BASE_URL + "ok.css").read() == b"p{}"
    with pytest.raises(RefusedURL, match="leaves static"):
        f.fetch(BASE_URL + "link.css")


@pytest.mark.parametrize(
    "html",
    [
        '<img src="file:///etc/passwd">',
        '<img src="http://example.com/pixel.png">',
        '<link rel="stylesheet" href="https://example.com/evil.css"><p>x</p>',
        '<style>@import url("file:///etc/hostname");</style><p>x</p>',
        '<style>p { background: url("http://127.0.0.1:6379/") }</style><p>x</p>',
        "<style>@font-face { font-family: X; "
        'src: url("file:///usr/share/fonts/truetype/dejavu/DejaVuSans.ttf") }'
        " p { font-family: X }</style><p>x</p>",
        '<img src="../../wsgi.py">',
        '<img src="/static/%2e%2e/wsgi.py">',
    ],
)
def test_a_document_that_reaches_outside_static_is_not_rendered(html):
    with pytest.raises(DocumentRenderError, match="Refused to load"):
        render.html_to_pdf(f"<html><body>{html}</body></html>")


def test_a_document_may_use_static_files_and_small_inline_images():
    pdf = render.html_to_pdf(
        '<html><body><img src="favicon.svg" width="20"><img src="data:image/png;base64,'
        + base64.b64encode(PNG).decode()
        + '"><p>ok</p></body></html>'
    )
    assert pdf.startswith(b"%PDF")


# ------------------------------------------------------------------------------------------ cached resources


def test_stylesheet_and_fonts_are_loaded_once_per_process(monkeypatch):
    render.reset_cache()
    calls = []
    real = render._build_resources

    def spy():
        calls.append(1)
        return real()

    monkeypatch.setattr(render, "_build_resources", spy)
    render.html_to_pdf("<p>one</p>")
    first = render.resources()
    render.html_to_pdf("<p>two</p>")
    render.render_pdf("comparison.html", small_snapshot())
    assert len(calls) == 1
    assert render.resources() is first
    assert render.resources()["stylesheet"] is first["stylesheet"]
    assert render.resources()["font_config"] is first["font_config"]


def test_preload_builds_the_resources_up_front(monkeypatch):
    render.reset_cache()
    render.preload()
    res = render.resources()
    monkeypatch.setattr(render, "_build_resources", lambda: pytest.fail("built twice"))
    render.html_to_pdf("<p>x</p>")
    assert render.resources() is res


# ------------------------------------------------------------------------------------------ templates


def small_snapshot(lines: int = 3, description: str = "Hex bolt M8 x 20") -> dict:
    rows = [
        {
            "position": i + 1,
            "description": f"{description} #{i + 1}",
            "part_number": f"P-{i + 1:04d}",
            "quantity": "100",
            "unit": "pcs",
            "offers": 2,
            "best": {
                "supplier": "Supplier Alpha GmbH",
                "ordered_qty": "100",
                "unit_price": "1.2345",
                "line_total": "123.45",
                "lead_time_days": 10,
                "note": "",
            },
            "next_total": "130.00",
        }
        for i in range(lines)
    ]
    return {
        "kind": "comparison",
        "award": None,
        "generated_at": "2025-03-01T09:30:00+00:00",
        "generated_by": "Test Buyer",
        "locale": "en_GB",
        "timezone": "Europe/Berlin",
        "currency": "EUR",
        "rfq": {
            "id": 1,
            "reference": "RFQ-2025-0042",
            "title": "Fasteners",
            "status": "closed",
            "deadline": "2025-03-01T09:00:00+00:00",
            "sealed": True,
            "delivery_address": "",
            "buyer": "Acme Buying GmbH",
        },
        "line_count": lines,
        "quotes": [
            {
                "supplier": "Supplier Alpha GmbH",
                "version": 1,
                "lines_quoted": lines,
                "lines_total": "4321.00",
                "shipping": "50.00",
                "total": "4371.00",
                "complete": True,
                "expired": False,
                "best_lines": lines,
                "valid_until": "2025-04-01",
            }
        ],
        "lines": rows,
        "cheapest_complete": {
            "supplier": "Supplier Alpha GmbH",
            "lines_total": "4321.00",
            "shipping": "50.00",
            "total": "4371.00",
        },
        "split": {
            "lines_total": "4000.00",
            "shipping_total": "50.00",
            "total": "4050.00",
            "suppliers": ["Supplier Alpha GmbH"],
            "covered": lines,
            "uncovered_positions": [],
        },
        "saving": "321.00",
    }


def test_render_pdf_needs_a_snapshot_dict_not_live_objects():
    class Rfq:
        reference = "RFQ-1"

    with pytest.raises(TypeError, match="snapshot dict"):
        render.render_pdf("comparison.html", Rfq())


def test_a_template_error_is_a_document_error_not_a_crash():
    snap = small_snapshot()
    del snap["rfq"]
    with pytest.raises(DocumentRenderError, match="comparison.html"):
        render.render_pdf("comparison.html", snap)


def test_snapshot_text_is_escaped_not_markup():
    html = render.render_html("comparison.html", small_snapshot(description='<img src="file:///etc/passwd">'))
    assert "<img" not in html and "&lt;img" in html


@needs_pdftotext
def test_comparison_pdf_has_the_reference_totals_and_page_numbers():
    pdf = render.render_pdf("comparison.html", small_snapshot())
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    assert "RFQ-2025-0042" in text
    assert "€4,371.00" in text and "€4,050.00" in text and "€321.00" in text
    assert "€1.2345" in text  # unit prices keep their precision
    assert "Page 1 of 1" in text


def page_count(pdf: bytes) -> int:
    return pdf_text(pdf).count("\f") or 1


def line_numbers_on(text: str, upto: int) -> list[int]:
    return [k for k in range(1, upto + 1) if f"#{k}\n" in text or f"#{k} " in text]


@needs_pdftotext
def test_long_documents_repeat_the_table_header_on_every_page():
    pdf = render.render_pdf("comparison.html", small_snapshot(lines=140))
    n = page_count(pdf)
    assert n >= 3
    text = pdf_text(pdf)
    assert f"Page 1 of {n}" in text and f"Page {n} of {n}" in text
    for page in range(2, n + 1):
        page_text = pdf_text(pdf, page)
        assert "Unit price" in page_text and "Line total" in page_text, f"no table header on page {page}"
        assert "RFQ-2025-0042" in page_text  # running header


@needs_pdftotext
@pytest.mark.parametrize("lines", [40, 41, 42, 43, 44, 46])
def test_the_totals_block_is_kept_with_the_last_lines(lines):
    # Without the keep rules, 40-43 lines put the totals alone (or cut in two) at the top of the last page
    # with these fonts; with them, the last lines move over together with the totals.
    pdf = render.render_pdf("comparison.html", small_snapshot(lines=lines))
    n = page_count(pdf)
    last = pdf_text(pdf, n)
    assert "Best lines" in last and "Cheapest split total" in last and "Saving of the split" in last
    on_last = line_numbers_on(last, lines)
    assert lines in on_last and len(on_last) >= 2, f"the totals are not kept with the last lines: {on_last}"
