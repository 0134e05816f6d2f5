"""UBL 2.1 Invoice and CreditNote following Peppol BIS Billing 3.0 (EN 16931 core). Elements follow the order of
the UBL 2.1 schemas."""
from __future__ import annotations

from lxml import etree

from portal.einvoice import codes
from portal.einvoice.document import Document, Party, amount, number, rate_text

INV = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CRN = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
PEPPOL_CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PEPPOL_PROFILE = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
# Peppol electronic address schemes (CEF EAS) that are the VAT number itself, per country.
VAT_EAS = {"DE": "9930", "FR": "9957", "NL": "9944", "BE": "9925", "ES": "9920", "AT": "9914", "IT": "0211",
           "GB": "9932", "HU": "9910", "PL": "9945"}
_NS = {"cac": CAC, "cbc": CBC}


def _el(parent, tag: str, text=None, **attrs):
    prefix, _, name = tag.partition(":")
    e = etree.SubElement(parent, f"{{{_NS[prefix]}}}{name}", **attrs)
    if text is not None:
        e.text = str(text)
    return e


def endpoint(p: Party) -> tuple[str, str] | None:
    """(scheme, id) of the Peppol endpoint: the VAT number under its country's EAS code, when there is one."""
    scheme = VAT_EAS.get(codes.vat_country(p.vat_id)) if p.vat_id else None
    return (scheme, p.vat_id) if scheme else None


def _party(parent, tag: str, p: Party):
    party = _el(_el(parent, tag), "cac:Party")
    ep = endpoint(p)
    if ep:
        _el(party, "cbc:EndpointID", ep[1], schemeID=ep[0])
    if p.trading_name and p.trading_name != p.name:
        _el(_el(party, "cac:PartyName"), "cbc:Name", p.trading_name)
    addr = _el(party, "cac:PostalAddress")
    if p.street:
        _el(addr, "cbc:StreetName", p.street)
    if p.street2:
        _el(addr, "cbc:AdditionalStreetName", p.street2)
    if p.city:
        _el(addr, "cbc:CityName", p.city)
    if p.postcode:
        _el(addr, "cbc:PostalZone", p.postcode)
    _el(_el(addr, "cac:Country"), "cbc:IdentificationCode", p.country)
    if p.vat_id:
        ts = _el(party, "cac:PartyTaxScheme")
        _el(ts, "cbc:CompanyID", p.vat_id)
        _el(_el(ts, "cac:TaxScheme"), "cbc:ID", "VAT")
    _el(_el(party, "cac:PartyLegalEntity"), "cbc:RegistrationName", p.name)


def _tax_category(parent, tag: str, category: str, rate, code: str = "", reason: str = ""):
    tc = _el(parent, tag)
    _el(tc, "cbc:ID", category)
    if category != codes.NOT_SUBJECT:
        _el(tc, "cbc:Percent", rate_text(rate))
    if category not in (codes.STANDARD, codes.ZERO_RATED):
        if code:
            _el(tc, "cbc:TaxExemptionReasonCode", code)
        if reason:
            _el(tc, "cbc:TaxExemptionReason", reason)
    _el(_el(tc, "cac:TaxScheme"), "cbc:ID", "VAT")


def to_xml(doc: Document) -> bytes:
    cn = doc.is_credit_note
    ns = CRN if cn else INV
    root = etree.Element(f"{{{ns}}}{'CreditNote' if cn else 'Invoice'}", nsmap={None: ns, "cac": CAC, "cbc": CBC})
    cur = doc.currency
    _el(root, "cbc:CustomizationID", PEPPOL_CUSTOMIZATION)
    _el(root, "cbc:ProfileID", PEPPOL_PROFILE)
    _el(root, "cbc:ID", doc.number)
    _el(root, "cbc:IssueDate", doc.issue_date.isoformat())
    if doc.due_date and not cn:
        _el(root, "cbc:DueDate", doc.due_date.isoformat())
    _el(root, "cbc:CreditNoteTypeCode" if cn else "cbc:InvoiceTypeCode", doc.type_code)
    for note in doc.notes:
        _el(root, "cbc:Note", note)
    _el(root, "cbc:DocumentCurrencyCode", cur)
    if doc.buyer_reference:
        _el(root, "cbc:BuyerReference", doc.buyer_reference)
    if doc.order_reference:
        _el(_el(root, "cac:OrderReference"), "cbc:ID", doc.order_reference)
    if doc.preceding_number:
        ref = _el(_el(root, "cac:BillingReference"), "cac:InvoiceDocumentReference")
        _el(ref, "cbc:ID", doc.preceding_number)
        if doc.preceding_date:
            _el(ref, "cbc:IssueDate", doc.preceding_date.isoformat())
    _party(root, "cac:AccountingSupplierParty", doc.seller)
    _party(root, "cac:AccountingCustomerParty", doc.buyer)
    if doc.supply_date or doc.deliver_to_country:
        dl = _el(root, "cac:Delivery")
        if doc.supply_date:
            _el(dl, "cbc:ActualDeliveryDate", doc.supply_date.isoformat())
        if doc.deliver_to_country:
            addr = _el(_el(dl, "cac:DeliveryLocation"), "cac:Address")
            _el(_el(addr, "cac:Country"), "cbc:IdentificationCode", doc.deliver_to_country)
    if doc.seller.iban and not cn:
        pm = _el(root, "cac:PaymentMeans")
        _el(pm, "cbc:PaymentMeansCode", codes.CREDIT_TRANSFER_SEPA)
        _el(pm, "cbc:PaymentID", doc.number)
        acct = _el(pm, "cac:PayeeFinancialAccount")
        _el(acct, "cbc:ID", doc.seller.iban)
        if doc.seller.bank_name:
            _el(acct, "cbc:Name", doc.seller.bank_name)
        if doc.seller.bic:
            _el(_el(acct, "cac:FinancialInstitutionBranch"), "cbc:ID", doc.seller.bic)
    if doc.payment_terms:
        _el(_el(root, "cac:PaymentTerms"), "cbc:Note", doc.payment_terms)
    total = _el(root, "cac:TaxTotal")
    _el(total, "cbc:TaxAmount", amount(doc.tax_total), currencyID=cur)
    for t in doc.taxes:
        sub = _el(total, "cac:TaxSubtotal")
        _el(sub, "cbc:TaxableAmount", amount(t.basis), currencyID=cur)
        _el(sub, "cbc:TaxAmount", amount(t.amount), currencyID=cur)
        _tax_category(sub, "cac:TaxCategory", t.category, t.rate, t.exemption_code, t.exemption_reason)
    lmt = _el(root, "cac:LegalMonetaryTotal")
    _el(lmt, "cbc:LineExtensionAmount", amount(doc.line_total), currencyID=cur)
    _el(lmt, "cbc:TaxExclusiveAmount", amount(doc.tax_exclusive), currencyID=cur)
    _el(lmt, "cbc:TaxInclusiveAmount", amount(doc.tax_inclusive), currencyID=cur)
    if doc.prepaid:
        _el(lmt, "cbc:PrepaidAmount", amount(doc.prepaid), currencyID=cur)
    _el(lmt, "cbc:PayableAmount", amount(doc.payable), currencyID=cur)
    for ln in doc.lines:
        line = _el(root, "cac:CreditNoteLine" if cn else "cac:InvoiceLine")
        _el(line, "cbc:ID", ln.id)
        _el(line, "cbc:CreditedQuantity" if cn else "cbc:InvoicedQuantity", number(ln.quantity),
            unitCode=ln.unit_code)
        _el(line, "cbc:LineExtensionAmount", amount(ln.net), currencyID=cur)
        if ln.allowance:
            ac = _el(line, "cac:AllowanceCharge")
            _el(ac, "cbc:ChargeIndicator", "false")
            _el(ac, "cbc:AllowanceChargeReasonCode", "95")
            _el(ac, "cbc:AllowanceChargeReason", "Discount")
            if ln.allowance_percent:
                _el(ac, "cbc:MultiplierFactorNumeric", number(ln.allowance_percent))
            _el(ac, "cbc:Amount", amount(ln.allowance), currencyID=cur)
            if ln.allowance_percent:
                _el(ac, "cbc:BaseAmount", amount(ln.allowance_base), currencyID=cur)
        item = _el(line, "cac:Item")
        _el(item, "cbc:Name", ln.name)
        if ln.item_id:
            _el(_el(item, "cac:SellersItemIdentification"), "cbc:ID", ln.item_id)
        _tax_category(item, "cac:ClassifiedTaxCategory", ln.vat_category, ln.vat_rate)
        _el(_el(line, "cac:Price"), "cbc:PriceAmount", number(ln.price), currencyID=cur)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
