"""Invoice and statement PDFs: templates/documents/invoice.html (+ static/pdf/invoice.css) rendered from the
snapshot frozen at issue, through portal.documents.render (WeasyPrint, the static-only URL fetcher, the
process-wide font configuration and document stylesheet). The invoice stylesheet is parsed once per process
too, so a worker pays for fonts and CSS once, not per invoice.

The supplier's logo is embedded as a data: URI built from the stored (immutable, SHA-256 named) bytes whose id
the snapshot froze; the fetcher accepts small inline images only.
"""
from __future__ import annotations

import base64
import threading

from portal.documents import render as docrender

INVOICE_CSS = "pdf/invoice.css"
_lock = threading.Lock()
_css: dict = {}


def invoice_stylesheet():
    css = _css.get("invoice")
    if css is None:
        with _lock:
            css = _css.get("invoice")
            if css is None:
                res = docrender.resources()
                css = _css["invoice"] = docrender._weasy().CSS(
                    url=docrender.BASE_URL + INVOICE_CSS, url_fetcher=res["fetcher"], font_config=res["font_config"])
    return css


def preload(warm: bool = False) -> None:
    """Every stylesheet the worker's documents use (the document one and the invoice one), built once."""
    docrender.preload(warm=warm)
    invoice_stylesheet()


def reset_cache() -> None:
    _css.clear()
    docrender.reset_cache()


def html_to_pdf(html: str) -> bytes:
    """Like portal.documents.render.html_to_pdf, with the invoice stylesheet on top of the document one."""
    return docrender.html_to_pdf(html, [invoice_stylesheet()])


def logo_data_uri(file_id: int | None) -> str | None:
    if not file_id:
        return None
    from portal.db import db
    from portal.documents.models import StoredFile
    from portal.documents.store import read_bytes

    f = db.session.get(StoredFile, file_id)
    if f is None or f.content_type not in ("image/png", "image/jpeg"):
        return None
    try:
        data = read_bytes(f)
    except (OSError, RuntimeError):
        return None
    return f"data:{f.content_type};base64,{base64.b64encode(data).decode()}"


def invoice_html(snapshot: dict, logo_src: str | None = None) -> str:
    ctx = dict(snapshot)
    ctx["logo_src"] = logo_src
    return docrender.render_html("invoice.html", ctx)


def render_invoice(snapshot: dict, logo_src: str | None = ...) -> bytes:
    if logo_src is ...:
        logo_src = logo_data_uri(snapshot.get("logo_file_id"))
    return html_to_pdf(invoice_html(snapshot, logo_src))


def render_statement(data: dict) -> bytes:
    return html_to_pdf(docrender.render_html("statement.html", data))
