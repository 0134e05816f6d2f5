"""Documents follow their recipient: the invoice in the buyer's language, the purchase order in the supplier's,
optionally bilingual; legally required German wording; country names, not codes (portal/documents/language.py)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from portal.accounts.models import Company, CompanyKind
from portal.db import db
from portal.documents import language
from portal.documents.render import render_html
from portal.invoices import jobs as invoice_jobs
from portal.invoices.models import Invoice
from tests import factories
from tests.invoices.conftest import IBAN, issued_for, ship


def pdf_text(data: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True,
                          check=True).stdout.decode()


@pytest.fixture
def dw(world):
    """The world with bank details and VAT numbers; the buyer reads German."""
    world.supplier_a.iban, world.supplier_a.bic = IBAN, "COBADEFFXXX"
    world.supplier_a.vat_number = "DE136695976"
    world.buyer.vat_number = "DE129273398"
    world.buyer.language = "de"
    db.session.commit()
    return world


def _invoice_pdf(world, inv) -> bytes:
    from portal.documents.models import StoredFile
    from portal.documents.store import read_bytes

    invoice_jobs.invoice_pdf_job(inv.id, inv.pdf_job_id)
    db.session.expire_all()
    inv = db.session.get(Invoice, inv.id)
    return read_bytes(db.session.get(StoredFile, inv.pdf_file_id))


def _issued(world, lines=(("100", "2.50"), ("60", "12.00"))):
    o = factories.order(world.buyer, world.supplier_a, world.procurement, status="acknowledged", lines=list(lines))
    sh = ship(o, {i + 1: q for i, (q, _p) in enumerate(lines)}, creator=world.sales_a)
    return o, issued_for(world, shipment=sh)


def test_a_company_reads_documents_in_the_language_of_its_country_unless_it_chooses():
    de = Company(legal_name="Wiener Stahl GmbH", display_name="Wiener Stahl", country="AT", kind=CompanyKind.buyer)
    fr = Company(legal_name="Emballages SA", display_name="Emballages", country="FR", kind=CompanyKind.supplier)
    db.session.add_all([de, fr])
    db.session.commit()
    assert (de.language, fr.language) == ("de", "en")
    assert language.company_language(fr) == "en" and language.default_language("CH") == "de"
    fr.language = "de"
    assert language.recipient_settings(fr) == {"language": "de", "locale": "de_DE", "bilingual": False}


def test_german_invoice_pdf_reads_german_with_german_numbers_and_country_names(dw):
    order, inv = _issued(dw)
    assert inv.snapshot["language"] == "de" and inv.snapshot["locale"] == "de_DE"
    data = _invoice_pdf(dw, inv)
    (Path(os.environ.get("I18N_DOCS_OUT", "/tmp")) / "invoice-de.pdf").write_bytes(data)
    text = pdf_text(data)
    for must in ("RECHNUNG", inv.number, "RECHNUNGSEMPFÄNGER", "Rechnungsdatum", "Leistungsdatum",
                 "Fälligkeitsdatum", "Ihre Bestellnummer", "Artikel", "Menge", "Einzelpreis", "Summe netto",
                 "Zu zahlender Betrag", "ZAHLUNGSZIEL", "Kontoinhaber", "USt-IdNr.", "Seite 1 von 1",
                 "Deutschland", "1.154,30 €", "Bitte zahlen Sie"):
        assert must in text, must
    for english in ("Invoice number", "Due date", "Total due", "Page 1 of", "Bill to"):
        assert english not in text, english
    # the address shows the country by name, not its code
    assert not any(line.strip() == "DE" for line in text.splitlines())


def test_reverse_charge_invoice_carries_the_german_legal_wording(dw):
    dw.buyer.country = "AT"
    dw.buyer.vat_number = "ATU12345678"
    db.session.commit()
    _order, inv = _issued(dw)
    assert inv.reverse_charge
    text = " ".join(pdf_text(_invoice_pdf(dw, inv)).split())
    assert "Steuerschuldnerschaft des Leistungsempfängers" in text
    assert "Innergemeinschaftliche Lieferung" in text and "§ 4 Nr. 1 Buchst. b" in text
    assert "ATU12345678" in text and "DE136695976" in text
    assert "Österreich" in text and "innergemeinschaftliche Lieferung" in text  # the tax breakdown row
    assert "Reverse charge: VAT to be accounted" not in text


def test_an_english_buyer_gets_the_english_invoice(dw):
    dw.buyer.language = "en"
    db.session.commit()
    _order, inv = _issued(dw)
    text = pdf_text(_invoice_pdf(dw, inv))
    for must in ("Invoice", "Due date", "Total due", "Page 1 of 1", "Germany", "€1,154.30"):
        assert must in text, must
    assert "Rechnung" not in text


def test_bilingual_documents_show_both_languages(dw):
    dw.buyer.bilingual_documents = True
    db.session.commit()
    _order, inv = _issued(dw)
    data = _invoice_pdf(dw, inv)
    (Path(os.environ.get("I18N_DOCS_OUT", "/tmp")) / "invoice-bilingual.pdf").write_bytes(data)
    lines = [" ".join(line.split()) for line in pdf_text(data).splitlines()]
    for first, second in (("Rechnungsdatum", "Issue date"), ("Zu zahlender Betrag", "Total due")):
        at = next(i for i, line in enumerate(lines) if first in line)
        assert any(second in line for line in lines[at + 1:at + 3]), (first, lines[at:at + 3])
    assert "Seite 1 von 1" in lines[-2] or any("Seite 1 von 1" in line for line in lines)
    assert not any("second-lang" in line for line in lines)


def test_a_snapshot_frozen_before_documents_had_a_language_renders_as_before(dw):
    _order, inv = _issued(dw)
    old = {k: v for k, v in inv.snapshot.items() if k not in ("language", "bilingual")}
    old["locale"] = "en_GB"
    old["reverse_charge"], old["reverse_charge_note"] = True, "Reverse charge: stored wording"
    html = render_html("invoice.html", {**old, "logo_src": None})
    assert "Total due" in html and "Reverse charge: stored wording" in html and "Rechnung" not in html


def test_purchase_order_pdf_speaks_the_suppliers_language(dw):
    from portal.orders.jobs import po_snapshot, render

    dw.supplier_a.language = "de"
    dw.buyer.language = "en"
    db.session.commit()
    o = factories.order(dw.buyer, dw.supplier_a, dw.procurement, status="placed")
    snap = po_snapshot(o)
    assert snap["language"] == "de"
    text = pdf_text(render("purchase_order.html", snap))
    for must in ("Bestellung", o.po_number, "Unsere Bestellnummer", "Liefertermin", "Zahlungsziel", "Einzelpreis",
                 "Seite 1 von 1", "Deutschland", "Bitte geben Sie unsere Bestellnummer"):
        assert must in text, must


def test_country_names_follow_the_language():
    assert language.country_name("AT", "de") == "Österreich"
    assert language.country_name("NL", "en") == "Netherlands"
    assert language.address_lines({"address": ["Ring 1", "1010 Wien", "AT"]}, "de") == ["Ring 1", "1010 Wien",
                                                                                          "Österreich"]
    assert language.country_name("", "de") == "" and language.country_name("XX", "de") == "XX"
