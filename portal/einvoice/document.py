"""The EN 16931 semantic model of one invoice or credit note, as plain values with Decimals.

``from_snapshot`` builds it from the snapshot frozen at issue (portal.invoices.services.build_snapshot); the CII
and UBL writers serialise it, and the parsers (portal.einvoice.parse) read a supplier's file back into the same
shape. Business terms (BT-n) are named where they are set.

Old snapshots (issued before the e-invoice fields were frozen) fall back sensibly: units are mapped from their
text, the VAT category from the rate and the reverse-charge flag, the address from its printed lines.

Amounts: EN 16931 allows at most two decimals (BR-DEC-*), so a currency with three minor digits (KWD, BHD…)
cannot be carried; ``from_snapshot`` refuses it with a sentence.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from portal.einvoice import codes
from portal.errors import ValidationFailed
from portal.i18n import _l
from portal.money import minor_unit

ZERO = Decimal("0")
HUNDRED = Decimal("100")


@dataclass
class Party:
    name: str
    trading_name: str = ""
    vat_id: str = ""
    street: str = ""
    street2: str = ""
    postcode: str = ""
    city: str = ""
    country: str = ""
    iban: str = ""
    bic: str = ""
    bank_name: str = ""


@dataclass
class Line:
    id: str  # BT-126
    name: str  # BT-153
    quantity: Decimal  # BT-129
    unit_code: str  # BT-130
    price: Decimal  # BT-146 net price (the portal's unit price; a discount is a line allowance)
    net: Decimal  # BT-131
    vat_category: str  # BT-151
    vat_rate: Decimal  # BT-152
    item_id: str = ""  # BT-155 seller's item id (the SKU)
    allowance: Decimal = ZERO  # BT-136
    allowance_percent: Decimal = ZERO  # BT-138
    allowance_base: Decimal = ZERO  # BT-137
    is_shipping: bool = False


@dataclass
class TaxSubtotal:
    category: str  # BT-118
    rate: Decimal  # BT-119
    basis: Decimal  # BT-116
    amount: Decimal  # BT-117
    exemption_code: str = ""  # BT-121
    exemption_reason: str = ""  # BT-120


@dataclass
class Document:
    type_code: str  # BT-3: 380 invoice, 381 credit note
    number: str  # BT-1
    issue_date: date  # BT-2
    currency: str  # BT-5
    seller: Party
    buyer: Party
    lines: list[Line]
    taxes: list[TaxSubtotal]
    line_total: Decimal  # BT-106
    tax_exclusive: Decimal  # BT-109
    tax_total: Decimal  # BT-110
    tax_inclusive: Decimal  # BT-112
    payable: Decimal  # BT-115
    prepaid: Decimal = ZERO  # BT-113
    due_date: date | None = None  # BT-9
    supply_date: date | None = None  # BT-72
    buyer_reference: str = ""  # BT-10 (Leitweg-ID or the buyer's reference)
    order_reference: str = ""  # BT-13 the buyer's PO number
    preceding_number: str = ""  # BT-25
    preceding_date: date | None = None  # BT-26
    notes: list[str] = field(default_factory=list)  # BT-22
    payment_terms: str = ""  # BT-20
    deliver_to_country: str = ""  # BT-80

    @property
    def is_credit_note(self) -> bool:
        return self.type_code == codes.CREDIT_NOTE


def dec(value, default: Decimal = ZERO) -> Decimal:
    if value in (None, ""):
        return default
    return Decimal(str(value))


def _day(value) -> date | None:
    if not value:
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _party(d: dict) -> Party:
    street, street2, postcode, city = (d.get("street"), d.get("street2"), d.get("postcode"), d.get("city"))
    if street is None:  # an older snapshot: the printed address lines (line1, line2, "postcode city", country)
        lines = [ln for ln in (d.get("address") or []) if ln and ln != d.get("country")]
        street = lines[0] if lines else ""
        rest = lines[1:]
        pc_city = rest.pop() if rest else ""
        street2 = rest[0] if rest else ""
        head, _, tail = pc_city.partition(" ")
        postcode, city = (head, tail) if any(ch.isdigit() for ch in head) else ("", pc_city)
    return Party(name=d.get("legal_name") or d.get("display_name") or "", trading_name=d.get("display_name") or "",
                 vat_id=codes.normalise_vat(d.get("vat_number")), street=street or "", street2=street2 or "",
                 postcode=postcode or "", city=city or "", country=(d.get("country") or "").upper(),
                 iban=(d.get("iban") or "").replace(" ", "").upper(), bic=(d.get("bic") or "").strip().upper(),
                 bank_name=d.get("bank_name") or "")


def from_snapshot(snap: dict) -> Document:
    """The EN 16931 model of an issued invoice's frozen snapshot: the same numbers as its PDF."""
    currency = snap["currency"]
    if minor_unit(currency) > 2:
        raise ValidationFailed(_l("%(currency)s has %(minor_unit)s decimals; EN 16931 e-invoices allow at most two "
                                  "(BR-DEC-*), so this document has no e-invoice. The PDF is the invoice."),
                               currency=currency, minor_unit=minor_unit(currency))
    rc = bool(snap.get("reverse_charge"))
    lines = []
    for ln in snap.get("lines") or []:
        qty, price, net = dec(ln["quantity"]), dec(ln["unit_price"]), dec(ln["net_amount"])
        rate = dec(ln.get("tax_rate"))
        category = ln.get("vat_category") or codes.vat_category(rate, reverse_charge=rc)
        disc = dec(ln.get("discount_percent"))
        line = Line(id=str(ln["position"]), name=ln["description"] or ln.get("sku") or "Item", quantity=qty,
                    unit_code=ln.get("unit_code") or codes.unit_code(ln.get("unit")), price=price, net=net,
                    vat_category=category, vat_rate=rate, item_id=ln.get("sku") or "",
                    is_shipping=ln.get("charge") == "shipping")
        base = _q(qty * price, currency)
        if base != net:  # a discount: the line allowance is what the rounding rule took off
            line.allowance, line.allowance_percent, line.allowance_base = base - net, disc, base
        lines.append(line)
    categories = {}  # rate -> category (the portal has one category per rate and document)
    for ln in lines:
        categories.setdefault(ln.vat_rate.quantize(Decimal("0.01")), ln.vat_category)
    taxes = []
    for b in snap.get("tax_breakdown") or []:
        rate = dec(b["rate"])
        category = b.get("category") or categories.get(rate.quantize(Decimal("0.01"))) or codes.vat_category(
            rate, reverse_charge=rc)
        code, reason = codes.exemption(category, b.get("exemption_reason"))
        if category == codes.INTRA_COMMUNITY and not b.get("exemption_reason") and snap.get("reverse_charge_note"):
            reason = "Intra-community supply. " + snap["reverse_charge_note"]
        taxes.append(TaxSubtotal(category=category, rate=rate, basis=dec(b["net"]), amount=dec(b["tax"]),
                                 exemption_code=b.get("exemption_code", code), exemption_reason=reason))
    is_cn = snap.get("document") == "credit_note"
    order = snap.get("order") or {}
    corrects = snap.get("corrects") or {}
    notes = [n for n in (snap.get("notes"), snap.get("reverse_charge_note") if rc else "") if n]
    seller, buyer = _party(snap["seller"]), _party(snap["buyer"])
    gross = dec(snap["total_gross"])
    due = _day(snap.get("due_date"))
    if is_cn:
        terms = f"Credit on invoice {corrects.get('number')}" if corrects.get("number") else "Credit note"
    else:
        days = snap.get("payment_terms_days")
        terms = f"Net {days} days" + (f", due {due.isoformat()}" if due else "") if days is not None else ""
    return Document(
        type_code=codes.CREDIT_NOTE if is_cn else codes.INVOICE, number=snap["number"],
        issue_date=_day(snap["issue_date"]), currency=currency, seller=seller, buyer=buyer, lines=lines,
        taxes=taxes, line_total=dec(snap["total_net"]), tax_exclusive=dec(snap["total_net"]),
        tax_total=dec(snap["total_tax"]), tax_inclusive=gross, payable=gross,
        due_date=None if is_cn else due, supply_date=_day(snap.get("supply_date")),
        buyer_reference=snap.get("buyer_routing_id") or snap.get("buyer_reference") or order.get("po_number") or "",
        order_reference=order.get("po_number") or snap.get("buyer_reference") or "",
        preceding_number=corrects.get("number") or "", preceding_date=_day(corrects.get("issue_date")),
        notes=notes, payment_terms=terms, deliver_to_country=buyer.country)


def _q(amount: Decimal, currency: str) -> Decimal:
    from portal.money import quantize

    return quantize(amount, currency)


def check_can_issue(doc: Document) -> None:
    """What the writers need beyond the snapshot: refuse with a sentence (the rule id in it), never bad XML."""
    problems = []
    needs_seller_vat = {codes.STANDARD, codes.ZERO_RATED, codes.EXEMPT, codes.REVERSE_CHARGE,
                        codes.INTRA_COMMUNITY, codes.EXPORT}
    cats = {t.category for t in doc.taxes}
    if cats & needs_seller_vat and not doc.seller.vat_id:
        problems.append("the seller has no VAT id (BR-S-02 / BR-CO-26)")
    if cats & {codes.REVERSE_CHARGE, codes.INTRA_COMMUNITY} and not doc.buyer.vat_id:
        problems.append("the buyer has no VAT id (BR-AE-02 / BR-IC-02)")
    for who, p in (("seller", doc.seller), ("buyer", doc.buyer)):
        if not codes.country_ok(p.country):
            problems.append(f"the {who}'s country {p.country!r} is not an ISO 3166-1 code (BR-CL-14)")
    if problems:
        raise ValidationFailed(_l("No EN 16931 e-invoice can be made for %(number)s: %(problems)s."),
                               number=doc.number, problems="; ".join(problems))


# --------------------------------------------------------------------------------------------- formatting

def amount(value: Decimal) -> str:
    """An amount: at most two decimals, never an exponent (BR-DEC-*)."""
    v = Decimal(value)
    exp = v.as_tuple().exponent
    if isinstance(exp, int) and exp < -2:
        v = v.quantize(Decimal("0.01"))
    return f"{v:f}"


def number(value: Decimal) -> str:
    """A quantity, price or percentage without trailing zeros or exponent."""
    v = Decimal(value).normalize()
    text = f"{v:f}"
    return text


def rate_text(value: Decimal) -> str:
    return f"{Decimal(value).quantize(Decimal('0.01')):f}"
