"""E-invoicing fixtures: the invoicing world (VAT ids, IBAN), one Saxon validator per test session, and
snapshots built by the portal's own rounding rule for the validation matrix."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from tests.invoices.conftest import iw, shipped  # noqa: F401  (fixtures)


@pytest.fixture(scope="session")
def en16931():
    """The official CEN rules, compiled once; a missing artefact directory fails loudly (never skips)."""
    from portal.einvoice.validation import Validator, artefacts_dir

    base = artefacts_dir()  # raises ArtefactsMissing
    assert (base / "ubl" / "xslt" / "EN16931-UBL-validation.xslt").exists(), base
    return Validator(base)


def assert_valid(validator, xml: bytes, what: str = ""):
    fatal = validator.fatal(xml)
    assert fatal == [], f"{what}: " + "; ".join(f"{f['id']}: {f['text']} [{f['location']}]" for f in fatal)


def assert_xsd(xml: bytes, flavor: str):
    import facturx

    assert facturx.xml_check_xsd(xml, flavor=flavor, level="en16931" if flavor == "factur-x" else "autodetect")


SELLER_DE = {"legal_name": "Supplier Alpha GmbH", "display_name": "Alpha", "country": "DE",
             "vat_number": "DE136695976", "street": "Teststraße 1", "street2": "Hof 3", "postcode": "10115",
             "city": "Berlin", "iban": "DE89370400440532013000", "bic": "COBADEFFXXX", "bank_name": "Commerzbank",
             "address": ["Teststraße 1", "Hof 3", "10115 Berlin", "DE"]}
SELLER_FR = {"legal_name": "Supplier Beta SAS", "display_name": "Beta", "country": "FR",
             "vat_number": "FR40303265045", "street": "1 rue de la Paix", "street2": "", "postcode": "75002",
             "city": "Paris", "iban": "FR1420041010050500013M02606", "bic": "", "bank_name": "",
             "address": ["1 rue de la Paix", "75002 Paris", "FR"]}
BUYER_DE = {"legal_name": "Acme Buying GmbH", "display_name": "Acme", "country": "DE", "vat_number": "DE129273398",
            "street": "Weg 2", "street2": "", "postcode": "80331", "city": "München",
            "address": ["Weg 2", "80331 München", "DE"]}


def make_snapshot(lines, *, currency="EUR", kind="invoice", seller=None, buyer=None, reverse_charge=False,
                  number="INV-2026-0001", category=None, exemption_reason=None, old=False, routing_id=""):
    """A snapshot as build_snapshot freezes it, with totals by the portal's rounding rule (compute_totals).

    ``lines``: (quantity, unit price, discount %, tax rate, unit, charge) tuples, the last two optional."""
    from portal.einvoice import codes
    from portal.invoices.models import Invoice, InvoiceLine
    from portal.invoices.services import REVERSE_CHARGE_NOTE, compute_totals

    inv = Invoice(currency=currency)
    for i, spec in enumerate(lines, 1):
        q, p, d, r = spec[:4]
        unit = spec[4] if len(spec) > 4 else "pcs"
        charge = spec[5] if len(spec) > 5 else None
        inv.lines.append(InvoiceLine(position=i, quantity=Decimal(q), unit_price=Decimal(p),
                                     discount_percent=Decimal(d), tax_rate=Decimal(r), unit=unit, charge=charge,
                                     sku=None if charge else f"SKU-{i:04d}",
                                     description="Shipping" if charge else f"Article {i} (odd: <&> ü)"))
    breakdown = compute_totals(inv)

    def cat(rate):
        return category or codes.vat_category(rate, reverse_charge=reverse_charge)

    snap = {
        "document": kind, "title": "Invoice", "number": number, "issue_date": "2026-12-01",
        "supply_date": "2026-11-28", "due_date": None if kind == "credit_note" else "2026-12-31",
        "payment_terms_days": 0 if kind == "credit_note" else 30, "currency": currency,
        "seller": dict(seller or SELLER_DE), "buyer": dict(buyer or BUYER_DE), "buyer_reference": "PO-2026-0042",
        "buyer_routing_id": routing_id,
        "order": {"po_number": "PO-2026-0042", "supplier_order_number": ""}, "shipment": None,
        "corrects": {"number": "INV-2026-0001", "issue_date": "2026-11-30"} if kind == "credit_note" else None,
        "lines": [{"position": ln.position, "sku": ln.sku or "", "description": ln.description,
                   "quantity": str(ln.quantity), "unit": ln.unit, "unit_price": str(ln.unit_price),
                   "discount_percent": str(ln.discount_percent), "tax_rate": str(ln.tax_rate),
                   "net_amount": str(ln.net_amount), "charge": ln.charge, "unit_code": codes.unit_code(ln.unit),
                   "vat_category": cat(ln.tax_rate)} for ln in inv.lines],
        "tax_breakdown": [{"rate": str(b["rate"]), "net": str(b["net"]), "tax": str(b["tax"]),
                           "category": cat(b["rate"]),
                           **({"exemption_reason": exemption_reason} if exemption_reason else {})}
                          for b in breakdown],
        "total_net": str(inv.total_net), "total_tax": str(inv.total_tax), "total_gross": str(inv.total_gross),
        "reverse_charge": reverse_charge, "reverse_charge_note": REVERSE_CHARGE_NOTE if reverse_charge else "",
        "notes": "", "footer_note": "", "logo_file_id": None, "credit_reason": None, "locale": "en_GB",
        "timezone": "Europe/Berlin",
    }
    if old:  # a snapshot frozen before the e-invoice fields existed
        for p in (snap["seller"], snap["buyer"]):
            for k in ("street", "street2", "postcode", "city"):
                p.pop(k, None)
        for ln in snap["lines"]:
            for k in ("unit_code", "vat_category", "charge"):
                ln.pop(k, None)
        for b in snap["tax_breakdown"]:
            b.pop("category", None)
        snap.pop("buyer_routing_id")
    return snap


TODAY = date(2026, 12, 1)
_ = timedelta
