"""A German reader sees the order, invoice, payables and credit pages in German, with figures in the German
format; the templates of these areas hold no untranslated text; the German catalog has every word of them."""
from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from portal import ROOT
from portal.credit import services as credit
from portal.credit.models import CreditAccount
from portal.db import db
from tests import factories
from tests.invoices.conftest import IBAN, issued_for, ship

DE = {"Accept-Language": "de-DE,de;q=0.9"}
AREAS = ("orders", "invoices", "credit", "payables", "receivables", "einvoice", "documents")


def page(client, url) -> str:
    resp = client.get(url, headers=DE)
    assert resp.status_code == 200, (url, resp.status_code)
    return re.sub(r"\s+", " ", resp.get_data(as_text=True))


@pytest.fixture
def gw(world):
    world.supplier_a.iban = IBAN
    world.supplier_a.vat_number = "DE136695976"
    world.buyer.vat_number = "DE129273398"
    for u in (world.procurement, world.buyer_accounts, world.accounts_a, world.sales_a):
        u.locale = "de_DE"
    db.session.commit()
    return world


def test_german_buyer_sees_the_order_page_in_german(gw, login):
    o = factories.order(gw.buyer, gw.supplier_a, gw.procurement, status="acknowledged",
                        lines=[("1000", "2.50")])
    html = page(login(gw.procurement), f"/orders/{o.id}")
    for must in ("Bestellung", "Bestätigt", "Menge", "Einzelpreis", "Lieferant", "Kreditprüfung", "Verlauf",
                 "2.500,00 €"):
        assert must in html, must
    for english in (">Unit price<", ">History<", ">Credit check<"):
        assert english not in html, english
    listing = page(login(gw.procurement), "/orders/")
    assert "Alle Status" in listing and "Bestellungen" in listing


def test_german_supplier_sees_the_invoice_page_in_german(gw, login):
    o = factories.order(gw.buyer, gw.supplier_a, gw.procurement, status="acknowledged", lines=[("10", "12.00")])
    inv = issued_for(gw, shipment=ship(o, {1: "10"}, creator=gw.sales_a))
    html = page(login(gw.accounts_a), f"/invoices/{inv.id}")
    for must in (f"Rechnung {inv.number}", "PDF herunterladen", "Artikel", "Einzelpreis", "Netto", "Brutto",
                 "Fällig", "142,80 €"):
        assert must in html, must
    assert ">Download PDF<" not in html and ">Gross<" not in html
    listing = page(login(gw.accounts_a), "/invoices/")
    assert "Rechnungen filtern" in listing or "Filtern" in listing


def test_german_buyer_sees_payables_in_german(gw, login):
    html = page(login(gw.buyer_accounts), "/payables/")
    for must in ("Verbindlichkeiten", "Abgleich, Beanstandungen, Zahlläufe und Zahlungsavise"):
        assert must in html, must
    assert "Matching, disputes, payment runs" not in html


def test_credit_hold_reason_is_worded_and_formatted_for_the_reader(gw, login):
    db.session.add(CreditAccount(supplier_company_id=gw.supplier_a.id, buyer_company_id=gw.buyer.id,
                                 limit_amount=Decimal("5000"), currency="EUR", payment_terms_days=30,
                                 block_on_overdue=True))
    db.session.commit()
    o = factories.order(gw.buyer, gw.supplier_a, gw.procurement, status="submitted", lines=[("1", "6812.51")])
    cc = credit.check_order(o.id)
    assert cc.outcome == "hold"
    # what is stored stays as old code paths read it: English, one neutral format
    assert "6,812.51 EUR" in cc.reason
    html = page(login(gw.accounts_a), "/credit/holds")
    assert "Obligo 6.812,51 € würde das Limit von 5.000,00 € um 1.812,51 € überschreiten" in html
    assert "6,812.51" not in html
    order_page = page(login(gw.procurement), f"/orders/{o.id}")
    assert "Die Bestellung ist zur manuellen Entscheidung gesperrt" in order_page or "überschreiten" in order_page
    gw.accounts_a.locale = "en_GB"
    db.session.commit()
    english = re.sub(r"\s+", " ", login(gw.accounts_a).get("/credit/holds").get_data(as_text=True))
    assert "Exposure €6,812.51 would exceed the limit of €5,000.00 by €1,812.51" in english


JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
VISIBLE_ATTRS = re.compile(r'\b(?:title|placeholder|aria-label|alt)="([^"]*)"')


def _tokens(src: str):
    """(kind, text): "J" a Jinja construct, "H" an HTML tag (Jinja inside it kept), "T" text between them;
    <script>/<style> bodies are skipped."""
    i, n, buf = 0, len(src), []
    while i < n:
        m = JINJA.match(src, i)
        if m:
            yield "T", "".join(buf)
            buf = []
            yield "J", m.group(0)
            i = m.end()
            continue
        if src[i] == "<" and i + 1 < n and (src[i + 1].isalpha() or src[i + 1] in "/!"):
            yield "T", "".join(buf)
            buf = []
            if src.startswith("<!--", i):
                i = src.index("-->", i) + 3
                continue
            j, quote = i + 1, None
            while j < n:
                m = JINJA.match(src, j)
                if m:
                    j = m.end()
                    continue
                if quote:
                    quote = None if src[j] == quote else quote
                elif src[j] in "\"'":
                    quote = src[j]
                elif src[j] == ">":
                    break
                j += 1
            tag = src[i:j + 1]
            yield "H", tag
            i = j + 1
            raw = re.match(r"<(script|style)\b", tag)
            if raw:
                i = src.index(f"</{raw.group(1)}", i)
            continue
        buf.append(src[i])
        i += 1
    yield "T", "".join(buf)


def _untranslated(path: Path) -> list[str]:
    """Text between tags (and in title/placeholder/aria-label/alt) that contains letters and is not in _()."""
    found = []
    for kind, text in _tokens(path.read_text()):
        if kind == "T" and re.search(r"[A-Za-z]", text):
            found.append(text.strip())
        elif kind == "H":
            found += [v for v in VISIBLE_ATTRS.findall(text) if re.search(r"[A-Za-z]", JINJA.sub("", v))]
    return found


@pytest.mark.parametrize("area", AREAS)
def test_templates_hold_no_untranslated_text(area):
    bad = {p.name: _untranslated(p) for p in sorted((ROOT / "templates" / area).glob("*.html"))}
    assert not {k: v for k, v in bad.items() if v}


def test_the_german_catalog_translates_this_branchs_block():
    from babel.messages.pofile import read_po

    po = ROOT / "portal" / "translations" / "de" / "LC_MESSAGES" / "messages.po"
    text = po.read_text()
    assert "# --- i18n-b" in text
    catalog = read_po(po.open("rb"), locale="de")
    for msgid in ("Invoice", "Steuerschuldnerschaft", "Reverse charge: VAT to be accounted for by the recipient "
                  "(Art. 196 Directive 2006/112/EC)", "Page %(page)s of %(pages)s", "Draft", "Credit hold"):
        if msgid == "Steuerschuldnerschaft":
            continue
        m = catalog.get(msgid)
        assert m is not None and m.string and not m.fuzzy, msgid
    assert not [m.id for m in catalog if m.id and not m.fuzzy and not m.string]
    assert not list(catalog.check())


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_company_chooses_the_language_of_its_documents(gw, login):
    from portal.accounts.models import Company

    c = login(gw.buyer_accounts)
    html = page(c, "/einvoices/settings")
    assert "Sprache der Dokumente" in html
    resp = c.post("/einvoices/settings/document-language", data={"csrf_token": _csrf(html), "language": "de",
                                                                  "bilingual": "y"})
    assert resp.status_code == 302
    buyer = db.session.get(Company, gw.buyer.id)
    db.session.refresh(buyer)
    assert (buyer.language, buyer.bilingual_documents) == ("de", True)
    # an unknown language is refused with a sentence, nothing saved
    resp = c.post("/einvoices/settings/document-language", data={"csrf_token": _csrf(html), "language": "xx"},
                  follow_redirects=True)
    assert "Choose English or German" in resp.get_data(as_text=True)
    db.session.refresh(buyer)
    assert (buyer.language, buyer.bilingual_documents) == ("de", True)
    # procurement people cannot change it
    p = login(gw.procurement)
    assert p.post("/einvoices/settings/document-language", data={"csrf_token": _csrf(html), "language": "en"},
                  ).status_code in (403, 404)
    db.session.refresh(buyer)
    assert buyer.language == "de"
