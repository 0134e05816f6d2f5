"""Factur-X / ZUGFeRD (profile EN 16931): the invoice PDF rendered as PDF/A-3b by WeasyPrint from the frozen
snapshot, with the CII XML embedded as ``factur-x.xml`` (AFRelationship "Data") and the Factur-X XMP metadata,
both written by the ``factur-x`` package, which also checks the XML against the Factur-X XSD first."""
from __future__ import annotations

from portal.documents import render as docrender
from portal.einvoice import cii
from portal.einvoice.document import Document, check_can_issue, from_snapshot


def render_pdfa3(snapshot: dict) -> bytes:
    """The invoice PDF of the snapshot as PDF/A-3b (same template, stylesheet and fonts as the plain PDF)."""
    from weasyprint.urls import FatalURLFetchingError

    from portal.invoices import pdf

    res = docrender.resources()
    wp = docrender._weasy()
    html = pdf.invoice_html(snapshot, pdf.logo_data_uri(snapshot.get("logo_file_id")))
    extra = pdf.invoice_stylesheet()
    with docrender._render_lock:
        try:
            doc = wp.HTML(string=html, base_url=docrender.BASE_URL, url_fetcher=res["fetcher"])
            return doc.write_pdf(stylesheets=[res["stylesheet"], extra], font_config=res["font_config"],
                                 pdf_variant="pdf/a-3b")
        except FatalURLFetchingError as exc:
            cause = exc.__cause__
            raise docrender.DocumentRenderError(str(cause) if cause else str(exc)) from (cause or exc)


def embed(pdf_bytes: bytes, xml: bytes, doc: Document) -> bytes:
    import facturx

    what = "Credit note" if doc.is_credit_note else "Invoice"
    meta = {"author": doc.seller.name, "keywords": "Factur-X, EN 16931", "title": f"{what} {doc.number}",
            "subject": f"{what} {doc.number} of {doc.issue_date.isoformat()} from {doc.seller.name}"}
    return facturx.generate_from_binary(pdf_bytes, xml, flavor="factur-x", level="en16931", check_xsd=True,
                                        pdf_metadata=meta, lang="en-GB")


def build(snapshot: dict) -> bytes:
    doc = from_snapshot(snapshot)
    check_can_issue(doc)
    xml = cii.to_xml(doc)
    return embed(render_pdfa3(snapshot), xml, doc)
