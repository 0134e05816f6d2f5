"""Reading a supplier's e-invoice: a Factur-X/ZUGFeRD PDF, CII XML or UBL XML, into portal.einvoice.document.

Untrusted input, so: a size limit; lxml with entity resolution, network and huge trees off, and any DTD refused
(no billion laughs, no external entities); a PDF must carry its XML as an attachment. Every refusal is an
ImportRefused with a sentence naming the rule or field. Missing business terms do not stop the parse: they are
listed as problems (with the EN 16931 rule id) for the preview.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from lxml import etree

from portal.einvoice import cii, ubl
from portal.einvoice.document import ZERO, Document, Line, Party, TaxSubtotal
from portal.errors import ValidationFailed
from portal.i18n import _l

MAX_BYTES = 10 * 1024 * 1024
XML_NAMES = ("factur-x.xml", "zugferd-invoice.xml", "ZUGFeRD-invoice.xml", "xrechnung.xml")


DTD_REFUSED = ("The XML declares a DTD or entities (<!DOCTYPE>); e-invoices never do, and entities are not expanded "
               "here. Send the invoice without it.")


class ImportRefused(ValidationFailed):
    """The file cannot be read as an EN 16931 e-invoice at all."""


@dataclass
class Parsed:
    format: str  # facturx | cii | ubl
    xml: bytes
    doc: Document
    problems: list[dict] = field(default_factory=list)  # {"field", "rule", "message", "line"}


def safe_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                           dtd_validation=False, remove_comments=True, remove_pis=True)


def parse_tree(xml: bytes):
    if len(xml) > MAX_BYTES:
        raise ImportRefused(_l("The XML is %(count)s MB; e-invoices up to %(max_bytes)s MB are accepted."),
                            count=len(xml) // (1024 * 1024), max_bytes=MAX_BYTES // (1024 * 1024))
    head = xml[:4096]
    if b"<!DOCTYPE" in head or "<!DOCTYPE".encode("utf-16-le") in head or "<!DOCTYPE".encode("utf-16-be") in head:
        raise ImportRefused(DTD_REFUSED)
    try:
        root = etree.fromstring(xml, parser=safe_parser())
    except etree.XMLSyntaxError as exc:
        if "entity" in str(exc).lower():
            raise ImportRefused(DTD_REFUSED)
        raise ImportRefused(_l("The file is not well-formed XML (%(value)s)."), value=exc.msg or exc)
    if root is None:
        raise ImportRefused(_l("The file is empty."))
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise ImportRefused(DTD_REFUSED)
    return root


def read(data: bytes, filename: str = "") -> Parsed:
    """A file as uploaded: PDF with embedded XML, or the XML itself."""
    if not data:
        raise ImportRefused(_l("The file is empty."))
    if len(data) > MAX_BYTES:
        raise ImportRefused(_l("The file is %(count)s MB; e-invoices up to %(max_bytes)s MB are accepted."),
                            count=format(len(data) / (1024 * 1024), ".1f"), max_bytes=MAX_BYTES // (1024 * 1024))
    if data[:5] == b"%PDF-" or data.lstrip()[:5] == b"%PDF-":
        xml = xml_from_pdf(data)
        parsed = parse_xml_full(xml)
        if parsed.format != "cii":
            raise ImportRefused(_l("The PDF carries a UBL file; a Factur-X PDF carries CII XML (factur-x.xml)."))
        parsed.format = "facturx"
        return parsed
    return parse_xml_full(data)


def xml_from_pdf(data: bytes) -> bytes:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        names = reader.attachments
        for wanted in XML_NAMES:
            if wanted in names:
                return names[wanted][0]
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError, RecursionError) as exc:
        raise ImportRefused(_l("The PDF cannot be read (%(error)s)."), error=type(exc).__name__)
    if names:
        raise ImportRefused(_l("The PDF has no embedded e-invoice (no factur-x.xml / zugferd-invoice.xml "
                               "attachment): it is a plain PDF, not a Factur-X/ZUGFeRD invoice. Attachments found: "
                               "%(names)s."), names=", ".join(sorted(names)))
    raise ImportRefused(_l("The PDF has no embedded e-invoice (no factur-x.xml / zugferd-invoice.xml attachment): "
                           "it is a plain PDF, not a Factur-X/ZUGFeRD invoice."))


def parse_xml(xml: bytes) -> Document:
    return parse_xml_full(xml).doc


def parse_xml_full(xml: bytes) -> Parsed:
    root = parse_tree(xml)
    ns = etree.QName(root).namespace
    if ns == cii.RSM and etree.QName(root).localname == "CrossIndustryInvoice":
        return _Reader(root, "cii").parse_cii(xml)
    if ns in (ubl.INV, ubl.CRN):
        return _Reader(root, "ubl").parse_ubl(xml)
    raise ImportRefused(_l("The XML is not an EN 16931 invoice: its root element is %(localname)s in %(value)s; "
                           "expected a CII CrossIndustryInvoice or a UBL Invoice / CreditNote."),
                        localname=repr(etree.QName(root).localname), value=ns or 'no namespace')


class _Reader:
    NS = {"rsm": cii.RSM, "ram": cii.RAM, "udt": cii.UDT, "qdt": cii.QDT, "cac": ubl.CAC, "cbc": ubl.CBC,
          "inv": ubl.INV, "cn": ubl.CRN}

    def __init__(self, root, fmt: str):
        self.root = root
        self.fmt = fmt
        self.problems: list[dict] = []

    def problem(self, fld: str, rule: str, message: str, line: str | None = None):
        self.problems.append({"field": fld, "rule": rule, "message": f"[{rule}] {message}", "line": line})

    def text(self, node, path: str) -> str:
        found = node.xpath(path, namespaces=self.NS)
        if not found:
            return ""
        v = found[0]
        return (v if isinstance(v, str) else (v.text or "")).strip()

    def dec(self, node, path: str, fld: str, rule: str, *, required=True, line=None) -> Decimal:
        raw = self.text(node, path)
        if not raw:
            if required:
                self.problem(fld, rule, f"{fld} is missing.", line)
            return ZERO
        try:
            v = Decimal(raw)
            if not v.is_finite():
                raise InvalidOperation
            return v
        except InvalidOperation:
            self.problem(fld, rule, f"{fld} {raw[:40]!r} is not a number.", line)
            return ZERO

    def day(self, node, path: str, fld: str, rule: str | None = None) -> date | None:
        raw = self.text(node, path)
        if not raw:
            if rule:
                self.problem(fld, rule, f"{fld} is missing.")
            return None
        try:
            if len(raw) == 8 and raw.isdigit():
                return date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
            return date.fromisoformat(raw[:10])
        except ValueError:
            self.problem(fld, rule or "BR-CL-?", f"{fld} {raw[:20]!r} is not a date.")
            return None

    # ------------------------------------------------------------------------------------------- CII

    def _cii_party(self, node) -> Party:
        if node is None:
            return Party(name="")
        a = "ram:PostalTradeAddress/"
        return Party(name=self.text(node, "ram:Name"),
                     trading_name=self.text(node, "ram:SpecifiedLegalOrganization/ram:TradingBusinessName"),
                     vat_id=self.text(node, "ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']"),
                     street=self.text(node, a + "ram:LineOne"), street2=self.text(node, a + "ram:LineTwo"),
                     postcode=self.text(node, a + "ram:PostcodeCode"), city=self.text(node, a + "ram:CityName"),
                     country=self.text(node, a + "ram:CountryID"))

    def parse_cii(self, xml: bytes) -> Parsed:
        r = self.root
        x = lambda p: r.xpath(p, namespaces=self.NS)  # noqa: E731
        tx = "rsm:SupplyChainTradeTransaction/"
        agr = x(tx + "ram:ApplicableHeaderTradeAgreement")
        agr = agr[0] if agr else r
        stl = x(tx + "ram:ApplicableHeaderTradeSettlement")
        stl = stl[0] if stl else r
        sums = "ram:SpecifiedTradeSettlementHeaderMonetarySummation/"
        lines = []
        for item in x(tx + "ram:IncludedSupplyChainTradeLineItem"):
            lid = self.text(item, "ram:AssociatedDocumentLineDocument/ram:LineID")
            st = "ram:SpecifiedLineTradeSettlement/"
            allowances = sum((self.dec(a, "ram:ActualAmount", "Line allowance amount (BT-136)", "BR-41", line=lid)
                              for a in item.xpath(st + "ram:SpecifiedTradeAllowanceCharge[ram:ChargeIndicator/"
                                                  "udt:Indicator='false']", namespaces=self.NS)), ZERO)
            lines.append(Line(
                id=lid, name=self.text(item, "ram:SpecifiedTradeProduct/ram:Name"),
                quantity=self.dec(item, "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity", "Quantity (BT-129)",
                                  "BR-22", line=lid),
                unit_code=self.text(item, "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity/@unitCode"),
                price=self.dec(item, "ram:SpecifiedLineTradeAgreement/ram:NetPriceProductTradePrice/ram:ChargeAmount",
                               "Net price (BT-146)", "BR-26", line=lid),
                net=self.dec(item, st + "ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount",
                             "Line net amount (BT-131)", "BR-24", line=lid),
                vat_category=self.text(item, st + "ram:ApplicableTradeTax/ram:CategoryCode"),
                vat_rate=self.dec(item, st + "ram:ApplicableTradeTax/ram:RateApplicablePercent", "Line VAT rate",
                                  "BR-CO-04", required=False, line=lid),
                item_id=self.text(item, "ram:SpecifiedTradeProduct/ram:SellerAssignedID"), allowance=allowances,
                allowance_percent=self.dec(item, st + "ram:SpecifiedTradeAllowanceCharge[ram:ChargeIndicator/"
                                           "udt:Indicator='false']/ram:CalculationPercent", "Line allowance %",
                                           "BR-41", required=False, line=lid)))
            if item.xpath(st + "ram:SpecifiedTradeAllowanceCharge[ram:ChargeIndicator/udt:Indicator='true']",
                          namespaces=self.NS):
                self.problem("Line charge (BG-28)", "BG-28", "Line charges are not supported by the import; "
                             "invoice them as a line of their own.", lid)
        taxes = [TaxSubtotal(category=self.text(t, "ram:CategoryCode"),
                             rate=self.dec(t, "ram:RateApplicablePercent", "VAT rate (BT-119)", "BR-48", required=False),
                             basis=self.dec(t, "ram:BasisAmount", "VAT taxable amount (BT-116)", "BR-45"),
                             amount=self.dec(t, "ram:CalculatedAmount", "VAT amount (BT-117)", "BR-46"),
                             exemption_code=self.text(t, "ram:ExemptionReasonCode"),
                             exemption_reason=self.text(t, "ram:ExemptionReason"))
                 for t in stl.xpath("ram:ApplicableTradeTax", namespaces=self.NS)]
        seller = x(tx + "ram:ApplicableHeaderTradeAgreement/ram:SellerTradeParty")
        buyer = x(tx + "ram:ApplicableHeaderTradeAgreement/ram:BuyerTradeParty")
        doc = Document(
            type_code=self.text(r, "rsm:ExchangedDocument/ram:TypeCode"),
            number=self.text(r, "rsm:ExchangedDocument/ram:ID"),
            issue_date=self.day(r, "rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString",
                                "Invoice date (BT-2)", "BR-03"),
            currency=self.text(stl, "ram:InvoiceCurrencyCode"),
            seller=self._cii_party(seller[0] if seller else None), buyer=self._cii_party(buyer[0] if buyer else None),
            lines=lines, taxes=taxes,
            line_total=self.dec(stl, sums + "ram:LineTotalAmount", "Sum of line net amounts (BT-106)", "BR-12"),
            tax_exclusive=self.dec(stl, sums + "ram:TaxBasisTotalAmount", "Total without VAT (BT-109)", "BR-13"),
            tax_total=self.dec(stl, sums + "ram:TaxTotalAmount", "Total VAT (BT-110)", "BR-CO-14", required=False),
            tax_inclusive=self.dec(stl, sums + "ram:GrandTotalAmount", "Total with VAT (BT-112)", "BR-14"),
            payable=self.dec(stl, sums + "ram:DuePayableAmount", "Amount due (BT-115)", "BR-15"),
            prepaid=self.dec(stl, sums + "ram:TotalPrepaidAmount", "Paid amount (BT-113)", "BR-CO-16",
                             required=False),
            due_date=self.day(stl, "ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString",
                              "Due date (BT-9)"),
            supply_date=self.day(r, tx + "ram:ApplicableHeaderTradeDelivery/ram:ActualDeliverySupplyChainEvent/"
                                 "ram:OccurrenceDateTime/udt:DateTimeString", "Delivery date (BT-72)"),
            buyer_reference=self.text(agr, "ram:BuyerReference"),
            order_reference=self.text(agr, "ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID"),
            preceding_number=self.text(stl, "ram:InvoiceReferencedDocument/ram:IssuerAssignedID"),
            payment_terms=self.text(stl, "ram:SpecifiedTradePaymentTerms/ram:Description"))
        doc.seller.iban = self.text(stl, "ram:SpecifiedTradeSettlementPaymentMeans/"
                                         "ram:PayeePartyCreditorFinancialAccount/ram:IBANID")
        doc.seller.bic = self.text(stl, "ram:SpecifiedTradeSettlementPaymentMeans/"
                                        "ram:PayeeSpecifiedCreditorFinancialInstitution/ram:BICID")
        doc.notes = [n.strip() for n in r.xpath("rsm:ExchangedDocument/ram:IncludedNote/ram:Content/text()",
                                                namespaces=self.NS) if n.strip()]
        return Parsed("cii", xml, doc, self.problems)

    # ------------------------------------------------------------------------------------------- UBL

    def _ubl_party(self, node) -> Party:
        if node is None:
            return Party(name="")
        a = "cac:PostalAddress/"
        vat = ""
        for ts in node.xpath("cac:PartyTaxScheme", namespaces=self.NS):
            if self.text(ts, "cac:TaxScheme/cbc:ID").upper() == "VAT":
                vat = self.text(ts, "cbc:CompanyID")
        return Party(name=self.text(node, "cac:PartyLegalEntity/cbc:RegistrationName"),
                     trading_name=self.text(node, "cac:PartyName/cbc:Name"), vat_id=vat,
                     street=self.text(node, a + "cbc:StreetName"), street2=self.text(node, a + "cbc:AdditionalStreetName"),
                     postcode=self.text(node, a + "cbc:PostalZone"), city=self.text(node, a + "cbc:CityName"),
                     country=self.text(node, a + "cac:Country/cbc:IdentificationCode"))

    def parse_ubl(self, xml: bytes) -> Parsed:
        r = self.root
        cn = etree.QName(r).namespace == ubl.CRN
        x = lambda p: r.xpath(p, namespaces=self.NS)  # noqa: E731
        lines = []
        for item in x("cac:CreditNoteLine" if cn else "cac:InvoiceLine"):
            lid = self.text(item, "cbc:ID")
            qty_path = "cbc:CreditedQuantity" if cn else "cbc:InvoicedQuantity"
            allowances = sum((self.dec(a, "cbc:Amount", "Line allowance amount (BT-136)", "BR-41", line=lid)
                              for a in item.xpath("cac:AllowanceCharge[cbc:ChargeIndicator='false']",
                                                  namespaces=self.NS)), ZERO)
            lines.append(Line(
                id=lid, name=self.text(item, "cac:Item/cbc:Name"),
                quantity=self.dec(item, qty_path, "Quantity (BT-129)", "BR-22", line=lid),
                unit_code=self.text(item, qty_path + "/@unitCode"),
                price=self.dec(item, "cac:Price/cbc:PriceAmount", "Net price (BT-146)", "BR-26", line=lid),
                net=self.dec(item, "cbc:LineExtensionAmount", "Line net amount (BT-131)", "BR-24", line=lid),
                vat_category=self.text(item, "cac:Item/cac:ClassifiedTaxCategory/cbc:ID"),
                vat_rate=self.dec(item, "cac:Item/cac:ClassifiedTaxCategory/cbc:Percent", "Line VAT rate",
                                  "BR-CO-04", required=False, line=lid),
                item_id=self.text(item, "cac:Item/cac:SellersItemIdentification/cbc:ID"), allowance=allowances,
                allowance_percent=self.dec(item, "cac:AllowanceCharge[cbc:ChargeIndicator='false']/"
                                           "cbc:MultiplierFactorNumeric", "Line allowance %", "BR-41",
                                           required=False, line=lid)))
            if item.xpath("cac:AllowanceCharge[cbc:ChargeIndicator='true']", namespaces=self.NS):
                self.problem("Line charge (BG-28)", "BG-28", "Line charges are not supported by the import; "
                             "invoice them as a line of their own.", lid)
        taxes = [TaxSubtotal(category=self.text(t, "cac:TaxCategory/cbc:ID"),
                             rate=self.dec(t, "cac:TaxCategory/cbc:Percent", "VAT rate (BT-119)", "BR-48",
                                           required=False),
                             basis=self.dec(t, "cbc:TaxableAmount", "VAT taxable amount (BT-116)", "BR-45"),
                             amount=self.dec(t, "cbc:TaxAmount", "VAT amount (BT-117)", "BR-46"),
                             exemption_code=self.text(t, "cac:TaxCategory/cbc:TaxExemptionReasonCode"),
                             exemption_reason=self.text(t, "cac:TaxCategory/cbc:TaxExemptionReason"))
                 for t in x("cac:TaxTotal/cac:TaxSubtotal")]
        seller = x("cac:AccountingSupplierParty/cac:Party")
        buyer = x("cac:AccountingCustomerParty/cac:Party")
        m = "cac:LegalMonetaryTotal/"
        currency = self.text(r, "cbc:DocumentCurrencyCode")
        tax_total = ZERO
        for tt in x("cac:TaxTotal"):
            cur = self.text(tt, "cbc:TaxAmount/@currencyID")
            if not cur or cur == currency:
                tax_total = self.dec(tt, "cbc:TaxAmount", "Total VAT (BT-110)", "BR-CO-14", required=False)
        doc = Document(
            type_code=self.text(r, "cbc:CreditNoteTypeCode" if cn else "cbc:InvoiceTypeCode"),
            number=self.text(r, "cbc:ID"), issue_date=self.day(r, "cbc:IssueDate", "Invoice date (BT-2)", "BR-03"),
            currency=currency,
            seller=self._ubl_party(seller[0] if seller else None), buyer=self._ubl_party(buyer[0] if buyer else None),
            lines=lines, taxes=taxes,
            line_total=self.dec(r, m + "cbc:LineExtensionAmount", "Sum of line net amounts (BT-106)", "BR-12"),
            tax_exclusive=self.dec(r, m + "cbc:TaxExclusiveAmount", "Total without VAT (BT-109)", "BR-13"),
            tax_total=tax_total,
            tax_inclusive=self.dec(r, m + "cbc:TaxInclusiveAmount", "Total with VAT (BT-112)", "BR-14"),
            payable=self.dec(r, m + "cbc:PayableAmount", "Amount due (BT-115)", "BR-15"),
            prepaid=self.dec(r, m + "cbc:PrepaidAmount", "Paid amount (BT-113)", "BR-CO-16", required=False),
            due_date=self.day(r, "cbc:DueDate", "Due date (BT-9)")
            or self.day(r, "cac:PaymentMeans/cbc:PaymentDueDate", "Due date (BT-9)"),
            supply_date=self.day(r, "cac:Delivery/cbc:ActualDeliveryDate", "Delivery date (BT-72)"),
            buyer_reference=self.text(r, "cbc:BuyerReference"),
            order_reference=self.text(r, "cac:OrderReference/cbc:ID"),
            preceding_number=self.text(r, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID"),
            payment_terms=self.text(r, "cac:PaymentTerms/cbc:Note"))
        doc.seller.iban = self.text(r, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID")
        doc.seller.bic = self.text(r, "cac:PaymentMeans/cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:ID")
        doc.notes = [n.strip() for n in r.xpath("cbc:Note/text()", namespaces=self.NS) if n.strip()]
        return Parsed("ubl", xml, doc, self.problems)
