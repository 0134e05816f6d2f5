"""UN/CEFACT Cross Industry Invoice (D16B) for EN 16931: the XML of Factur-X (profile EN 16931) and of
XRechnung's CII syntax. Elements are written in the order of the D16B schema (the Factur-X XSD checks it)."""
from __future__ import annotations

from lxml import etree

from portal.einvoice import codes
from portal.einvoice.document import Document, Party, amount, number, rate_text

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
NSMAP = {"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT}
GUIDELINE_EN16931 = "urn:cen.eu:en16931:2017"


def _el(parent, tag: str, text=None, **attrs):
    prefix, _, name = tag.partition(":")
    e = etree.SubElement(parent, f"{{{NSMAP[prefix]}}}{name}", **attrs)
    if text is not None:
        e.text = str(text)
    return e


def _date(parent, tag: str, day, ns: str = "udt"):
    holder = _el(parent, tag)
    _el(holder, f"{ns}:DateTimeString", day.strftime("%Y%m%d"), format="102")


def _party(parent, tag: str, p: Party):
    tp = _el(parent, tag)
    _el(tp, "ram:Name", p.name)
    if p.trading_name and p.trading_name != p.name:
        org = _el(tp, "ram:SpecifiedLegalOrganization")
        _el(org, "ram:TradingBusinessName", p.trading_name)
    addr = _el(tp, "ram:PostalTradeAddress")
    if p.postcode:
        _el(addr, "ram:PostcodeCode", p.postcode)
    if p.street:
        _el(addr, "ram:LineOne", p.street)
    if p.street2:
        _el(addr, "ram:LineTwo", p.street2)
    if p.city:
        _el(addr, "ram:CityName", p.city)
    _el(addr, "ram:CountryID", p.country)
    if p.vat_id:
        reg = _el(tp, "ram:SpecifiedTaxRegistration")
        _el(reg, "ram:ID", p.vat_id, schemeID="VA")


def to_xml(doc: Document, guideline: str = GUIDELINE_EN16931) -> bytes:
    root = etree.Element(f"{{{RSM}}}CrossIndustryInvoice", nsmap=NSMAP)
    ctx = _el(root, "rsm:ExchangedDocumentContext")
    _el(_el(ctx, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", guideline)
    ed = _el(root, "rsm:ExchangedDocument")
    _el(ed, "ram:ID", doc.number)
    _el(ed, "ram:TypeCode", doc.type_code)
    _date(ed, "ram:IssueDateTime", doc.issue_date)
    for note in doc.notes:
        _el(_el(ed, "ram:IncludedNote"), "ram:Content", note)
    tx = _el(root, "rsm:SupplyChainTradeTransaction")
    cur = doc.currency
    for ln in doc.lines:
        item = _el(tx, "ram:IncludedSupplyChainTradeLineItem")
        _el(_el(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", ln.id)
        prod = _el(item, "ram:SpecifiedTradeProduct")
        if ln.item_id:
            _el(prod, "ram:SellerAssignedID", ln.item_id)
        _el(prod, "ram:Name", ln.name)
        agr = _el(item, "ram:SpecifiedLineTradeAgreement")
        _el(_el(agr, "ram:NetPriceProductTradePrice"), "ram:ChargeAmount", number(ln.price))
        _el(_el(item, "ram:SpecifiedLineTradeDelivery"), "ram:BilledQuantity", number(ln.quantity),
            unitCode=ln.unit_code)
        st = _el(item, "ram:SpecifiedLineTradeSettlement")
        tax = _el(st, "ram:ApplicableTradeTax")
        _el(tax, "ram:TypeCode", "VAT")
        _el(tax, "ram:CategoryCode", ln.vat_category)
        if ln.vat_category != codes.NOT_SUBJECT:
            _el(tax, "ram:RateApplicablePercent", rate_text(ln.vat_rate))
        if ln.allowance:
            ac = _el(st, "ram:SpecifiedTradeAllowanceCharge")
            _el(_el(ac, "ram:ChargeIndicator"), "udt:Indicator", "false")
            if ln.allowance_percent:
                _el(ac, "ram:CalculationPercent", number(ln.allowance_percent))
                _el(ac, "ram:BasisAmount", amount(ln.allowance_base))
            _el(ac, "ram:ActualAmount", amount(ln.allowance))
            _el(ac, "ram:ReasonCode", "95")
            _el(ac, "ram:Reason", "Discount")
        _el(_el(st, "ram:SpecifiedTradeSettlementLineMonetarySummation"), "ram:LineTotalAmount", amount(ln.net))
    agreement = _el(tx, "ram:ApplicableHeaderTradeAgreement")
    if doc.buyer_reference:
        _el(agreement, "ram:BuyerReference", doc.buyer_reference)
    _party(agreement, "ram:SellerTradeParty", doc.seller)
    _party(agreement, "ram:BuyerTradeParty", doc.buyer)
    if doc.order_reference:
        _el(_el(agreement, "ram:BuyerOrderReferencedDocument"), "ram:IssuerAssignedID", doc.order_reference)
    delivery = _el(tx, "ram:ApplicableHeaderTradeDelivery")
    if doc.deliver_to_country:
        ship_to = _el(delivery, "ram:ShipToTradeParty")
        _el(_el(ship_to, "ram:PostalTradeAddress"), "ram:CountryID", doc.deliver_to_country)
    if doc.supply_date:
        _date(_el(delivery, "ram:ActualDeliverySupplyChainEvent"), "ram:OccurrenceDateTime", doc.supply_date)
    stl = _el(tx, "ram:ApplicableHeaderTradeSettlement")
    _el(stl, "ram:InvoiceCurrencyCode", cur)
    if doc.seller.iban and not doc.is_credit_note:
        pm = _el(stl, "ram:SpecifiedTradeSettlementPaymentMeans")
        _el(pm, "ram:TypeCode", codes.CREDIT_TRANSFER_SEPA)
        _el(_el(pm, "ram:PayeePartyCreditorFinancialAccount"), "ram:IBANID", doc.seller.iban)
        if doc.seller.bic:
            _el(_el(pm, "ram:PayeeSpecifiedCreditorFinancialInstitution"), "ram:BICID", doc.seller.bic)
    for t in doc.taxes:
        tt = _el(stl, "ram:ApplicableTradeTax")
        _el(tt, "ram:CalculatedAmount", amount(t.amount))
        _el(tt, "ram:TypeCode", "VAT")
        if t.exemption_reason and t.category not in (codes.STANDARD, codes.ZERO_RATED):
            _el(tt, "ram:ExemptionReason", t.exemption_reason)
        _el(tt, "ram:BasisAmount", amount(t.basis))
        _el(tt, "ram:CategoryCode", t.category)
        if t.exemption_code and t.category not in (codes.STANDARD, codes.ZERO_RATED):
            _el(tt, "ram:ExemptionReasonCode", t.exemption_code)
        if t.category != codes.NOT_SUBJECT:
            _el(tt, "ram:RateApplicablePercent", rate_text(t.rate))
    if doc.payment_terms or doc.due_date:
        terms = _el(stl, "ram:SpecifiedTradePaymentTerms")
        if doc.payment_terms:
            _el(terms, "ram:Description", doc.payment_terms)
        if doc.due_date:
            _date(terms, "ram:DueDateDateTime", doc.due_date)
    sums = _el(stl, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    _el(sums, "ram:LineTotalAmount", amount(doc.line_total))
    _el(sums, "ram:TaxBasisTotalAmount", amount(doc.tax_exclusive))
    _el(sums, "ram:TaxTotalAmount", amount(doc.tax_total), currencyID=cur)
    _el(sums, "ram:GrandTotalAmount", amount(doc.tax_inclusive))
    if doc.prepaid:
        _el(sums, "ram:TotalPrepaidAmount", amount(doc.prepaid))
    _el(sums, "ram:DuePayableAmount", amount(doc.payable))
    if doc.preceding_number:
        ref = _el(stl, "ram:InvoiceReferencedDocument")
        _el(ref, "ram:IssuerAssignedID", doc.preceding_number)
        if doc.preceding_date:
            _date(ref, "ram:FormattedIssueDateTime", doc.preceding_date, ns="qdt")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
