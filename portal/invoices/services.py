"""Invoicing: drafts from shipments or orders, issue (gapless numbers, frozen snapshot, PDF job), credit
notes, payments, approval for payment and the figures other domains need.

Rounding rule (the one of portal.money, applied here):
- a line's net = quantity × unit price × (1 − discount/100), quantized to the currency's minor unit per line;
- tax is computed per tax rate on the (rounded) net sum of that rate's lines, quantized once per rate;
- total net = sum of line nets; total tax = sum of the per-rate taxes; gross = net + tax.
The same numbers are stored on the invoice, frozen into its snapshot and printed on its PDF.

Issued invoices and credit notes are immutable: mapper events below refuse any change to their frozen
fields (lines, totals, number, parties, dates, snapshot) and any delete, whoever tries it through the ORM.
Corrections are credit notes. Services own the transaction: one call = one commit.
"""
from __future__ import annotations

import functools
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from babel.numbers import format_decimal
from sqlalchemy import event
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from portal import locking
from portal.accounts.models import Company, Role, User
from portal.audit.services import record as audit
from portal.credit import ledger
from portal.credit.ledger import OPEN_STATUSES, overdue_invoices_count, unpaid_invoices_total  # noqa: F401
from portal.credit.ledger import overdue_clause as _overdue_clause
from portal.db import db, utcnow
from portal.events.services import emit
from portal.errors import Conflict, DomainError, Forbidden, InvalidTransition, NotFound, ValidationFailed
from portal.i18n import _l
from portal.notifications import messages as words
from portal.errors import money_fig, msgid_of
from portal.invoices import numbers
from portal.invoices.models import (CreditReason, DocumentKind, Invoice, InvoiceLine, InvoiceSettings, InvoicingMode,
                                    Payment)
from portal.invoices.quantities import keep as keep_quantities
from portal.invoices.quantities import (SHIPPING, _uninvoiced_shipments_where, check_quantities,  # noqa: F401
                                        fully_invoiced, proposal, qty_text, shipping_billed, shipping_to_bill,
                                        uninvoiced_shipment_ids, uninvoiced_shipments, uninvoiced_shipments_count)
from portal.invoices.states import InvoiceStatus, check
from portal.locking import retry_on_conflict
from portal.money import ZERO, minor_unit, quantize, to_decimal
from portal.orders.models import OrderLine, PurchaseOrder, Shipment
from portal.orders.states import OrderStatus
from portal.documents.language import company_language, gettext_in, recipient_settings

PDF_JOB = "portal.invoices.jobs.invoice_pdf_job"
REVERSE_CHARGE_NOTE = "Reverse charge: VAT to be accounted for by the recipient (Art. 196 Directive 2006/112/EC)"
EU_COUNTRIES = {"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
                "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"}
HUNDRED = Decimal(100)
IS = InvoiceStatus


# --------------------------------------------------------------------------------------------- small helpers

def amount_text(amount: Decimal, currency: str) -> str:
    """1,190.00 EUR — for sentences."""
    places = minor_unit(currency)
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return f"{format_decimal(quantize(amount, currency), format=pattern, locale='en_GB')} {currency}"


def invoice_link(inv: Invoice) -> str:
    return f"/invoices/{inv.id}"


def label(inv: Invoice) -> str:
    what = "Credit note" if inv.kind == DocumentKind.credit_note else "Invoice"
    return f"{what} {inv.number}" if inv.number else f"Draft {what.lower()} #{inv.id}"


def label_msg(inv: Invoice) -> words.Message:
    """``label`` worded for the reader of a notice."""
    if inv.kind == DocumentKind.credit_note:
        return (words.msg(_l("Credit note %(number)s"), number=inv.number) if inv.number else
                words.msg(_l("Draft credit note #%(id)s"), id=inv.id))
    return (words.msg(_l("Invoice %(number)s"), number=inv.number) if inv.number else
            words.msg(_l("Draft invoice #%(id)s"), id=inv.id))


def _shipping_text(order) -> str:
    """The freight line's description: a line of the document, so in the document's language (the buyer's, as the
    invoice's snapshot will be), not the language of whoever drafts it."""
    return gettext_in(company_language(order.buyer), msgid_of(_l("Shipping (order %(number)s)"))) % {
        "number": order.po_number}


def _rollback_on_error(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except StaleDataError:
            db.session.rollback()
            raise Conflict(_l("This invoice changed since you opened the page; reload and try again."))
        except Exception:
            db.session.rollback()
            raise

    return wrapper


def parse_lock_version(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _stale(inv: Invoice) -> str:
    return f"{label(inv)} changed since you opened the page (someone else saved it); reload and try again."


def lock_fresh(inv_or_id, expected_lock_version) -> Invoice:
    """Lock the invoice row, re-read it, then compare the form's lock_version (portal.locking)."""
    inv = ledger.lock_invoice(getattr(inv_or_id, "id", inv_or_id))
    locking.check_fresh(inv, expected_lock_version, _stale)
    return inv


def check_fresh(inv: Invoice, expected_lock_version) -> None:
    """The version check on an invoice this transaction has locked (``lock_fresh`` / ``_lock_invoice``)."""
    locking.check_fresh(inv, expected_lock_version, _stale)


def require_supplier_accounts(actor: User, company_id: int) -> None:
    if actor.company_id != company_id:
        raise NotFound(_l("No such invoice."))
    if not actor.has_role(Role.accounts):
        raise Forbidden(_l("Only your company's accounts team can do this."))


def require_buyer_accounts(actor: User, inv: Invoice) -> None:
    if actor.company_id != inv.buyer_company_id or inv.status == IS.draft:
        raise NotFound(_l("No such invoice."))
    if not actor.has_role(Role.accounts):
        raise Forbidden(_l("Only your company's accounts team can do this."))


def settings_for(supplier_id: int) -> InvoiceSettings:
    s = db.session.get(InvoiceSettings, supplier_id)
    if s is None:
        s = InvoiceSettings(supplier_company_id=supplier_id, mode=InvoicingMode.per_shipment, auto_issue=False,
                            default_tax_rate=Decimal("19.00"), reminder_days="3,14,30", footer_note="")
    return s


def reverse_charge_applies(seller: Company, buyer: Company) -> bool:
    """Intra-EU B2B supply: both VAT-registered, in different EU member states."""
    return bool(seller.vat_number and buyer.vat_number and seller.country in EU_COUNTRIES
                and buyer.country in EU_COUNTRIES and seller.country != buyer.country)


def compute_totals(inv: Invoice) -> list[dict]:
    """Apply the rounding rule to ``inv.lines``; set net per line and the totals; return the tax breakdown."""
    cur = inv.currency
    by_rate: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    for ln in inv.lines:
        gross_line = Decimal(ln.quantity) * Decimal(ln.unit_price)
        factor = (HUNDRED - Decimal(ln.discount_percent or 0)) / HUNDRED
        ln.net_amount = quantize(gross_line * factor, cur)
        by_rate[Decimal(ln.tax_rate).quantize(Decimal("0.01"))] += ln.net_amount
    breakdown = []
    total_net = total_tax = ZERO
    for rate in sorted(by_rate, reverse=True):
        net = quantize(by_rate[rate], cur)
        tax = quantize(net * rate / HUNDRED, cur)
        breakdown.append({"rate": rate, "net": net, "tax": tax})
        total_net += net
        total_tax += tax
    inv.total_net = quantize(total_net, cur)
    inv.total_tax = quantize(total_tax, cur)
    inv.total_gross = quantize(total_net + total_tax, cur)
    return breakdown


# --------------------------------------------------------------------------------------------- quantities

def invoiced_by_order_line(order_line_ids, *, exclude_invoice_id: int | None = None) -> dict[int, Decimal]:
    """Net quantity the buyer is charged for per order line: issued invoices minus every issued credit note by
    quantity (the buyer's match against received goods). What may still be invoiced is another question, with
    its own rule: portal.invoices.quantities."""
    if not order_line_ids:
        return {}
    sign = sa.case((Invoice.kind == DocumentKind.credit_note, -1), else_=1)
    stmt = (sa.select(InvoiceLine.order_line_id, sa.func.sum(InvoiceLine.quantity * sign))
            .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
            .where(InvoiceLine.order_line_id.in_(list(order_line_ids)), Invoice.status != IS.draft)
            .group_by(InvoiceLine.order_line_id))
    if exclude_invoice_id is not None:
        stmt = stmt.where(Invoice.id != exclude_invoice_id)
    return {olid: Decimal(q or 0) for olid, q in db.session.execute(stmt)}


# --------------------------------------------------------------------------------------------- drafts

def _load_source(actor: User, shipment_id=None, order_id=None) -> tuple[PurchaseOrder, Shipment | None]:
    shipment = None
    if shipment_id not in (None, ""):
        try:
            shipment = db.session.get(Shipment, int(shipment_id))
        except (TypeError, ValueError):
            shipment = None
        if shipment is None or not shipment.order.visible_to_supplier(actor.company_id):
            raise NotFound(_l("No such shipment."))
        order = shipment.order
    else:
        try:
            order = db.session.get(PurchaseOrder, int(order_id))
        except (TypeError, ValueError, OverflowError):
            order = None
        if order is None or not order.visible_to_supplier(actor.company_id):
            raise NotFound(_l("No such order."))
    return order, shipment


def _parse_line_edits(edits: dict | None, key, default_qty, default_disc, default_tax) -> tuple:
    e = (edits or {}).get(key) or (edits or {}).get(str(key)) or {}
    qty = to_decimal(e.get("quantity", default_qty), "Quantity")
    disc = to_decimal(e.get("discount_percent", default_disc), "Discount", places=2)
    tax = to_decimal(e.get("tax_rate", default_tax), "Tax rate", places=2)
    return qty, disc, tax


def _apply_edits(inv: Invoice, rows: list[tuple], reverse_charge: bool) -> None:
    """rows: (line, qty, disc, tax). Validates shape; drops lines edited down to 0."""
    errors = {}
    keep = []
    for ln, qty, disc, tax in rows:
        key = SHIPPING if ln.charge == SHIPPING else f"line-{ln.order_line_id or ln.position}"
        if ln.charge == SHIPPING and qty not in (ZERO, Decimal(1)):
            errors[key] = "Shipping is invoiced once: quantity 1 bills it on this invoice, 0 leaves it out."
        if qty < 0:
            errors[key] = f"Line {ln.position}: the quantity cannot be negative."
        if not (ZERO <= disc <= HUNDRED):
            errors[key] = f"Line {ln.position}: the discount must be between 0 and 100 %."
        if not (ZERO <= tax <= HUNDRED):
            errors[key] = f"Line {ln.position}: the tax rate must be between 0 and 100 %."
        if key in errors:
            continue
        if qty == 0:
            continue
        ln.quantity, ln.discount_percent = qty, disc
        ln.tax_rate = ZERO if reverse_charge else tax
        keep.append(ln)
    if errors:
        raise ValidationFailed(" ".join(errors.values()), errors=errors)
    if not keep:
        raise ValidationFailed(_l("Keep at least one line with a quantity above 0."))
    inv.lines[:] = keep
    for i, ln in enumerate(inv.lines, 1):
        ln.position = i


@retry_on_conflict
@_rollback_on_error
def create_draft(actor: User, *, shipment_id=None, order_id=None, edits: dict | None = None,
                 notes: str = "", commit: bool = True) -> Invoice:
    """A draft invoice with the not-yet-invoiced shipped quantities (per shipment or per order).

    ``edits`` maps order line id -> {"quantity", "discount_percent", "tax_rate"} (text); quantities may only go
    down to what is invoiceable."""
    require_supplier_accounts(actor, actor.company_id) if commit else None
    order, shipment = _load_source(actor, shipment_id, order_id)
    order = _lock_order(order.id)  # the lock order: purchase order first (before the draft row references it)
    rows = proposal(order, shipment)
    if not rows:
        what = f"shipment {shipment.number}" if shipment else f"order {order.po_number}"
        raise ValidationFailed(_l("Everything shipped on %(what)s is already invoiced; there is nothing to invoice."),
                               what=what)
    settings = settings_for(order.supplier_company_id)
    rc = reverse_charge_applies(order.supplier, order.buyer)
    inv = Invoice(kind=DocumentKind.invoice, supplier_company_id=order.supplier_company_id,
                  buyer_company_id=order.buyer_company_id, series="INV", status=IS.draft, order_id=order.id,
                  shipment_id=shipment.id if shipment else None, currency=order.currency,
                  payment_terms_days=order.payment_terms_days, buyer_reference=order.po_number or "",
                  reverse_charge=rc, notes=(notes or "").strip()[:2000], created_by_id=actor.id)
    parsed = []
    for i, r in enumerate(rows, 1):
        ol = r["order_line"]
        ln = InvoiceLine(position=i, order_line_id=ol.id, shipment_line_id=r["shipment_line_id"], sku=ol.sku,
                         description=ol.description, quantity=r["quantity"], unit=ol.unit,
                         unit_price=ol.unit_price, discount_percent=ZERO,
                         tax_rate=ZERO if rc else settings.default_tax_rate, net_amount=ZERO)
        inv.lines.append(ln)
        qty, disc, tax = _parse_line_edits(edits, ol.id, r["quantity"], ZERO, ln.tax_rate)
        parsed.append((ln, qty, disc, tax))
    shipping = shipping_to_bill(order)
    if shipping > 0:  # the order's freight goes on its first invoice (the person may leave it for a later one)
        ln = InvoiceLine(position=len(rows) + 1, charge=SHIPPING, description=_shipping_text(order),
                         quantity=Decimal(1), unit="flat", unit_price=shipping, discount_percent=ZERO,
                         tax_rate=ZERO if rc else settings.default_tax_rate, net_amount=ZERO)
        inv.lines.append(ln)
        qty, disc, tax = _parse_line_edits(edits, SHIPPING, Decimal(1), ZERO, ln.tax_rate)
        parsed.append((ln, qty, disc, tax))
    _apply_edits(inv, parsed, rc)
    check_quantities(inv, order)
    compute_totals(inv)
    db.session.add(inv)
    db.session.flush()
    audit("invoice", inv.id, "created", actor=actor, company_id=inv.supplier_company_id, to_state=IS.draft,
          detail=(words.msg(_l("from shipment %(number)s"), number=shipment.number) if shipment
                  else words.msg(_l("from order %(number)s"), number=order.po_number)),
          visible_to_company_id=inv.supplier_company_id)
    if commit:
        db.session.commit()
    return inv


@retry_on_conflict
@_rollback_on_error
def update_draft(inv: Invoice, actor: User, expected_lock_version, edits: dict, notes: str | None = None) -> Invoice:
    """Edit a draft's discount, tax rate and quantities (down only, never above shipped minus invoiced)."""
    require_supplier_accounts(actor, inv.supplier_company_id)
    inv = lock_fresh(inv, expected_lock_version)
    if inv.status != IS.draft:
        raise InvalidTransition(_l("%(label)s is issued and cannot be changed; issue a credit note instead."),
                                label=label(inv))
    rows = []
    for ln in list(inv.lines):
        key = SHIPPING if ln.charge == SHIPPING else (ln.order_line_id or f"p{ln.position}")
        qty, disc, tax = _parse_line_edits(edits, key, ln.quantity, ln.discount_percent, ln.tax_rate)
        rows.append((ln, qty, disc, tax))
    _apply_edits(inv, rows, inv.reverse_charge)
    if inv.order_id:
        check_quantities(inv, db.session.get(PurchaseOrder, inv.order_id))
    if notes is not None:
        inv.notes = notes.strip()[:2000]
    compute_totals(inv)
    inv.updated_at = utcnow()  # bumps lock_version even when only lines changed
    db.session.commit()
    return inv


@retry_on_conflict
@_rollback_on_error
def delete_draft(inv: Invoice, actor: User, expected_lock_version) -> None:
    require_supplier_accounts(actor, inv.supplier_company_id)
    inv = lock_fresh(inv, expected_lock_version)
    if inv.status != IS.draft:
        raise InvalidTransition(_l("%(label)s is issued; issued invoices are never deleted. Issue a credit note to "
                                   "correct it."), label=label(inv))
    audit("invoice", inv.id, "draft deleted", actor=actor, company_id=inv.supplier_company_id,
          visible_to_company_id=inv.supplier_company_id)
    db.session.delete(inv)
    db.session.commit()


# --------------------------------------------------------------------------------------------- issue

def _party(c: Company, *, bank: bool = False) -> dict:
    d = {"legal_name": c.legal_name, "display_name": c.display_name, "address": c.address_lines,
         "country": c.country, "vat_number": c.vat_number or "",
         # structured, for the EN 16931 e-invoice (portal.einvoice); older snapshots have "address" only
         "street": c.address_line1 or "", "street2": c.address_line2 or "", "postcode": c.postcode or "",
         "city": c.city or ""}
    if bank:
        d.update(iban=c.iban or "", bic=c.bic or "", bank_name=c.bank_name or "")
    return d


def _s(v):
    return None if v is None else str(v)


def build_snapshot(inv: Invoice, breakdown: list[dict]) -> dict:
    """Everything the invoice shows, as plain values, frozen at issue (the PDF renders from this only)."""
    order = db.session.get(PurchaseOrder, inv.order_id) if inv.order_id else None
    shipment = db.session.get(Shipment, inv.shipment_id) if inv.shipment_id else None
    settings = settings_for(inv.supplier_company_id)
    corrects = db.session.get(Invoice, inv.corrects_invoice_id) if inv.corrects_invoice_id else None
    is_cn = inv.kind == DocumentKind.credit_note
    from portal.einvoice import codes as ecodes
    from portal.einvoice.models import routing_id

    def category(rate) -> str:  # EN 16931 VAT category (BT-151/BT-118): K for intra-EU supply, S, Z
        return ecodes.vat_category(rate, reverse_charge=inv.reverse_charge)

    return {
        "document": inv.kind.value,
        "title": "Credit note" if is_cn else "Invoice",
        "number": inv.number,
        "issue_date": _s(inv.issue_date),
        "supply_date": _s(inv.supply_date),
        "due_date": _s(inv.due_date),
        "payment_terms_days": inv.payment_terms_days,
        "currency": inv.currency,
        "timezone": "Europe/Berlin",
        **recipient_settings(inv.buyer),  # language, locale, bilingual: the buyer's (documents follow the recipient)
        "seller": _party(inv.supplier, bank=True),
        "buyer": _party(inv.buyer),
        "buyer_reference": inv.buyer_reference or "",
        "buyer_routing_id": routing_id(inv.buyer_company_id),  # BT-10 when the buyer set one (Leitweg-ID)
        "order": ({"po_number": order.po_number, "supplier_order_number": order.supplier_order_number or ""}
                  if order else None),
        "shipment": {"number": shipment.number, "shipped_at": _s(shipment.shipped_at.date())} if shipment else None,
        "corrects": ({"number": corrects.number, "issue_date": _s(corrects.issue_date)} if corrects else None),
        "credit_reason": ({"kind": inv.credit_reason.value, "label": inv.credit_reason.label}
                          if is_cn and inv.credit_reason else None),
        "lines": [{"position": ln.position, "sku": ln.sku or "", "description": ln.description,
                   "quantity": _s(ln.quantity), "unit": ln.unit, "unit_price": _s(ln.unit_price),
                   "discount_percent": _s(ln.discount_percent), "tax_rate": _s(ln.tax_rate),
                   "net_amount": _s(ln.net_amount), "charge": ln.charge,
                   "unit_code": ecodes.unit_code(ln.unit), "vat_category": category(ln.tax_rate)}
                  for ln in inv.lines],
        "tax_breakdown": [{"rate": _s(b["rate"]), "net": _s(b["net"]), "tax": _s(b["tax"]),
                           "category": category(b["rate"])} for b in breakdown],
        "total_net": _s(inv.total_net),
        "total_tax": _s(inv.total_tax),
        "total_gross": _s(inv.total_gross),
        "reverse_charge": inv.reverse_charge,
        "reverse_charge_note": REVERSE_CHARGE_NOTE if inv.reverse_charge else "",
        "notes": inv.notes or "",
        "footer_note": settings.footer_note or "",
        "logo_file_id": settings.logo_file_id,
    }


def _require_iban(supplier: Company) -> None:
    from portal.accounts.services import normalise_iban

    try:
        ok = normalise_iban(supplier.iban) is not None
    except ValidationFailed:
        ok = False
    if not ok:
        raise ValidationFailed(
            _l("Your company has no valid IBAN, and an invoice must show where to pay. Add your bank details (IBAN) "
               "in the company profile, then issue again."), errors={"iban": _l("Missing or invalid IBAN.")})


def _lock_order(order_id: int) -> PurchaseOrder:
    """Lock the purchase order (the first lock of every invoicing path, see portal/credit/ledger.py) and re-read
    it with its lines, so quantities shipped and invoiced are counted from committed rows."""
    return ledger.lock_order(order_id, with_lines=True)


def _finish_issue(inv: Invoice, actor: User | None, today: date, breakdown: list[dict], issued_at=None) -> None:
    """Number, dates, snapshot, status and the PDF job. Flush-only; the caller commits."""
    check(inv.status, IS.issued)
    inv.issue_date = today
    inv.year = today.year
    inv.series = numbers.series_for(inv.kind)
    # The number is drawn as late as possible: the counter row stays locked until commit.
    sequence, number = numbers.draw(inv.supplier_company_id, inv.series, inv.year)
    with db.session.no_autoflush:  # number and status reach the database together (CHECK number_iff_issued)
        inv.sequence, inv.number = sequence, number
        inv.status = IS.issued
        inv.issued_at = issued_at or utcnow()
        inv.issued_by_id = getattr(actor, "id", None)
        inv.snapshot = build_snapshot(inv, breakdown)
    db.session.flush()
    from portal.jobs import start_tracked

    rec = start_tracked(PDF_JOB, inv.id, kind="invoice-pdf", title=f"PDF of {label(inv)}",
                        company_id=inv.supplier_company_id, user_id=getattr(actor, "id", None),
                        queue="documents", job_id=f"invoice-pdf-{inv.id}")
    inv.pdf_job_id = rec.id
    audit("invoice", inv.id, "issued", actor=actor, company_id=inv.supplier_company_id, from_state=IS.draft,
          to_state=IS.issued, detail=words.msg(_l("%(number)s, %(total)s"), number=inv.number,
                                               total=words.money(inv.total_gross, inv.currency)))
    emit([inv.buyer_company_id, inv.supplier_company_id], "invoice.issued", inv)


def _issue(inv: Invoice, actor: User | None, today: date | None = None, issued_at=None) -> Invoice:
    today = today or utcnow().date()
    supplier = db.session.get(Company, inv.supplier_company_id)
    _require_iban(supplier)
    if not inv.lines:
        raise ValidationFailed(_l("An invoice needs at least one line."))
    order = None
    if inv.order_id:
        order = _lock_order(inv.order_id)  # serialises issues for one order: no double invoicing
        check_quantities(inv, order)
    inv.reverse_charge = reverse_charge_applies(supplier, db.session.get(Company, inv.buyer_company_id))
    if inv.reverse_charge:
        for ln in inv.lines:
            ln.tax_rate = ZERO
    breakdown = compute_totals(inv)
    if inv.shipment_id:
        sh = db.session.get(Shipment, inv.shipment_id)
        inv.supply_date = sh.shipped_at.date()
    elif order is not None and order.shipments:
        inv.supply_date = max(s.shipped_at for s in order.shipments).date()
    else:
        inv.supply_date = inv.supply_date or today
    inv.due_date = today + timedelta(days=inv.payment_terms_days or 0)
    _finish_issue(inv, actor, today, breakdown, issued_at)
    if order is not None:
        keep_quantities(order)  # the shipment lines' invoiced quantity, under the order's lock
    if order is not None:  # a partial invoice moves its amount from the reservation to unpaid invoices
        ledger.invoiced(order, inv.total_net, fully=fully_invoiced(order))
    from portal.notifications.services import notify_company

    notify_company(inv.buyer_company_id, [Role.accounts], kind="invoice",
                   title=words.msg(_l("%(document)s from %(supplier)s"), document=label_msg(inv),
                                   supplier=supplier.display_name),
                   body=(words.msg(_l("%(total)s, due %(due)s (your PO %(po)s)."), po=inv.buyer_reference,
                                   total=words.money(inv.total_gross, inv.currency),
                                   due=words.day(inv.due_date))
                         if inv.buyer_reference else
                         words.msg(_l("%(total)s, due %(due)s."),
                                   total=words.money(inv.total_gross, inv.currency),
                                   due=words.day(inv.due_date))),
                   link=invoice_link(inv))
    from portal.jobs import enqueue_after_commit

    # The buyer's automatic match with tolerances (portal.payables), after the issue is committed.
    enqueue_after_commit("portal.payables.jobs.match_invoice_job", inv.id, job_id=f"invoice-match-{inv.id}")
    return inv


@retry_on_conflict
@_rollback_on_error
def issue(inv: Invoice, actor: User, expected_lock_version) -> Invoice:
    """Issue a draft: gapless number, frozen snapshot, PDF job, credit ledger, buyer notified. Commits."""
    require_supplier_accounts(actor, inv.supplier_company_id)
    if inv.order_id:
        _lock_order(inv.order_id)  # the order before the invoice (portal/credit/ledger.py)
    inv = lock_fresh(inv, expected_lock_version)
    if inv.status != IS.draft:
        raise InvalidTransition(_l("%(label)s is already issued."), label=label(inv))
    _issue(inv, actor)
    db.session.commit()
    return inv


# --------------------------------------------------------------------------------------------- credit notes

def _lock_invoice(inv_id: int) -> Invoice:
    return ledger.lock_invoice(inv_id)


def parse_credit_reason(value) -> CreditReason:
    try:
        return CreditReason(getattr(value, "value", value))
    except ValueError:
        raise ValidationFailed(_l("Choose what the credit note is for: %(reasons)s."),
                               reasons=", ".join(r.label.lower() for r in CreditReason),
                               errors={"reason_kind": _l("Choose what the credit note is for.")})


@retry_on_conflict
@_rollback_on_error
def create_credit_note(inv: Invoice, actor: User, expected_lock_version, *, quantities: dict | None = None,
                       amount=None, tax_rate=None, reason: str = "", reason_kind=None) -> Invoice:
    """Issue a credit note against ``inv``: by line quantity (``quantities``: invoice line id -> text) or by a
    net ``amount`` at ``tax_rate``. Refused when its gross exceeds the invoice's open amount.

    ``reason_kind`` (a CreditReason) is stored and printed: credited goods that were returned or rejected at
    receipt (or credited for any other reason) stay closed; only an invoicing mistake lets them be invoiced
    again (portal.invoices.quantities)."""
    require_supplier_accounts(actor, inv.supplier_company_id)
    if inv.order_id:
        _lock_order(inv.order_id)  # the order before the invoice (portal/credit/ledger.py)
    inv = lock_fresh(inv, expected_lock_version)
    if inv.kind != DocumentKind.invoice or inv.status == IS.draft:
        raise InvalidTransition(_l("Only an issued invoice can be corrected by a credit note."))
    kind = parse_credit_reason(reason_kind)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_l("Give a reason for the credit note (it is printed on it)."),
                               errors={"reason": _l("Enter a reason.")})
    cn = Invoice(kind=DocumentKind.credit_note, supplier_company_id=inv.supplier_company_id,
                 buyer_company_id=inv.buyer_company_id, series="CRN", status=IS.draft, order_id=inv.order_id,
                 shipment_id=inv.shipment_id, corrects_invoice_id=inv.id, currency=inv.currency,
                 payment_terms_days=0, buyer_reference=inv.buyer_reference, reverse_charge=inv.reverse_charge,
                 credit_reason=kind, notes=f"Corrects invoice {inv.number}: {reason}"[:2000], created_by_id=actor.id)
    errors = {}
    if amount not in (None, ""):
        net = to_decimal(amount, "Amount")
        if net <= 0:
            raise ValidationFailed(_l("The amount to credit must be above 0."),
                                   errors={"amount": _l("Enter an amount above 0.")})
        if net != quantize(net, inv.currency):
            raise ValidationFailed(_l("Use at most %(minor_unit)s decimals for %(currency)s."),
                                   minor_unit=minor_unit(inv.currency), currency=inv.currency,
                                   errors={"amount": _l("Too many decimals.")})
        rates = sorted({Decimal(ln.tax_rate) for ln in inv.lines}, reverse=True)
        rate = ZERO if inv.reverse_charge else (to_decimal(tax_rate, "Tax rate", places=2)
                                                if tax_rate not in (None, "") else (rates[0] if rates else ZERO))
        if rate not in rates and not inv.reverse_charge:
            raise ValidationFailed(_l("Use one of the invoice's tax rates: %(rates)s."),
                                   rates=", ".join(f"{r:.2f} %" for r in rates),
                                   errors={"tax_rate": _l("Not a rate of this invoice.")})
        cn.lines.append(InvoiceLine(position=1, description=f"Credit on invoice {inv.number}: {reason}"[:500],
                                    quantity=Decimal(1), unit="", unit_price=net, discount_percent=ZERO,
                                    tax_rate=rate, net_amount=net))
    else:
        credited = invoiced_credit_by_line(inv)
        pos = 0
        for ln in inv.lines:
            text = (quantities or {}).get(ln.id, (quantities or {}).get(str(ln.id)))
            if text in (None, ""):
                continue
            try:
                q = to_decimal(text, f"Line {ln.position} quantity")
            except ValidationFailed as exc:
                errors[f"line-{ln.id}"] = exc.message
                continue
            if q < 0:
                errors[f"line-{ln.id}"] = f"Line {ln.position}: the quantity cannot be negative."
                continue
            if q == 0:
                continue
            left = Decimal(ln.quantity) - credited.get(ln.id, ZERO)
            if q > left:
                errors[f"line-{ln.id}"] = (f"You can credit at most {qty_text(left)} {ln.unit} of line "
                                           f"{ln.position} ({qty_text(ln.quantity)} invoiced, "
                                           f"{qty_text(credited.get(ln.id, ZERO))} already credited).")
                continue
            pos += 1
            cn.lines.append(InvoiceLine(position=pos, order_line_id=ln.order_line_id,
                                        shipment_line_id=ln.shipment_line_id, charge=ln.charge, sku=ln.sku,
                                        description=ln.description, quantity=q, unit=ln.unit,
                                        unit_price=ln.unit_price, discount_percent=ln.discount_percent,
                                        tax_rate=ln.tax_rate, net_amount=ZERO))
        if errors:
            raise ValidationFailed(" ".join(errors.values()), errors=errors)
        if not cn.lines:
            raise ValidationFailed(_l("Enter a quantity for at least one line, or an amount to credit."))
    breakdown = compute_totals(cn)
    if cn.total_gross > inv.open_amount:
        raise ValidationFailed(
            _l("The open amount of invoice %(number)s is %(open_amount)s; a credit note of %(total_gross)s would "
               "exceed it."),
            number=inv.number, open_amount=money_fig(inv.open_amount, inv.currency), total_gross=money_fig(cn.total_gross, inv.currency),
            errors={"amount": _l("More than the open amount.")})
    db.session.add(cn)
    db.session.flush()
    today = utcnow().date()
    cn.supply_date = inv.supply_date
    cn.due_date = today
    _finish_issue(cn, actor, today, breakdown)
    if cn.order_id:  # an invoicing-mistake credit note gives its quantities back (locked above)
        keep_quantities(db.session.get(PurchaseOrder, cn.order_id))
    inv.credited_amount = inv.credited_amount + cn.total_gross
    _settle_status(inv)
    audit("invoice", inv.id, "credited", actor=actor, company_id=inv.supplier_company_id,
          detail=words.msg(_l("%(number)s: %(total)s — %(kind)s: %(reason)s"), number=cn.number,
                           total=words.money(cn.total_gross, inv.currency), kind=words.msg(kind.label), reason=reason))
    from portal.notifications.services import notify_company

    notify_company(inv.buyer_company_id, [Role.accounts], kind="invoice",
                   title=words.msg(_l("Credit note %(number)s for invoice %(invoice)s"), number=cn.number,
                                   invoice=inv.number),
                   body=words.msg(_l("%(total)s: %(reason)s"), total=words.money(cn.total_gross, cn.currency),
                                  reason=reason), link=invoice_link(cn))
    db.session.commit()
    return cn


def invoiced_credit_by_line(inv: Invoice) -> dict[int, Decimal]:
    """Quantity already credited per line of ``inv`` (matched by order line / position)."""
    rows = db.session.execute(
        sa.select(InvoiceLine.order_line_id, InvoiceLine.sku, InvoiceLine.description, InvoiceLine.quantity)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(Invoice.corrects_invoice_id == inv.id, Invoice.status != IS.draft,
               Invoice.kind == DocumentKind.credit_note, InvoiceLine.unit != "")).all()
    out: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for ln in inv.lines:
        for olid, sku, desc, q in rows:
            if (olid and olid == ln.order_line_id) or (not olid and sku == ln.sku and desc == ln.description):
                out[ln.id] += Decimal(q)
    return out


def _settle_status(inv: Invoice) -> None:
    if inv.open_amount <= 0:
        if inv.status != IS.paid:
            check(inv.status, IS.paid)
            inv.status = IS.paid
    elif inv.paid_amount > 0 and inv.status == IS.issued:
        check(inv.status, IS.partially_paid)
        inv.status = IS.partially_paid


# --------------------------------------------------------------------------------------------- payments

def _parse_date(text, label_: str, field: str) -> date:
    if isinstance(text, date):
        return text
    try:
        return date.fromisoformat(str(text or "").strip())
    except ValueError:
        raise ValidationFailed(_l("%(label_)s: enter a date like 2026-03-31."), label_=label_,
                               errors={field: _l("Enter a date.")})


@retry_on_conflict
@_rollback_on_error
def record_payment(inv: Invoice, actor: User, expected_lock_version, *, amount, paid_on,
                   reference: str = "") -> Payment:
    """The supplier's accounts team records money received (partial allowed, overpayment refused)."""
    require_supplier_accounts(actor, inv.supplier_company_id)
    inv = lock_fresh(inv, expected_lock_version)
    if inv.kind != DocumentKind.invoice or inv.status == IS.draft:
        raise InvalidTransition(_l("Payments are recorded against issued invoices only."))
    value = to_decimal(amount, "Amount")
    if value <= 0:
        raise ValidationFailed(_l("A payment must be above 0."), errors={"amount": _l("Enter an amount above 0.")})
    if value != quantize(value, inv.currency):
        raise ValidationFailed(_l("Use at most %(minor_unit)s decimals for %(currency)s."),
                               minor_unit=minor_unit(inv.currency), currency=inv.currency,
                               errors={"amount": _l("Too many decimals.")})
    day = _parse_date(paid_on, "Payment date", "paid_on")
    if day > utcnow().date():
        raise ValidationFailed(_l("The payment date is in the future; record payments when the money has arrived."),
                               errors={"paid_on": _l("Not in the future.")})
    if inv.issue_date and day < inv.issue_date - timedelta(days=365):
        raise ValidationFailed(_l("The payment date is more than a year before the invoice date."),
                               errors={"paid_on": _l("Check the date.")})
    if inv.open_amount <= 0:
        raise InvalidTransition(_l("%(label)s is settled; there is nothing left to pay."), label=label(inv))
    if value > inv.open_amount:
        raise ValidationFailed(
            _l("The open amount is %(open_amount)s; a payment of %(value)s would overpay it."),
            open_amount=money_fig(inv.open_amount, inv.currency), value=money_fig(value, inv.currency),
            errors={"amount": _l("More than the open amount.")})
    p = Payment(invoice_id=inv.id, amount=value, currency=inv.currency, paid_on=day,
                reference=(reference or "").strip()[:100], recorded_by_id=actor.id)
    db.session.add(p)
    before = inv.status
    inv.paid_amount = inv.paid_amount + value
    _settle_status(inv)
    audit("invoice", inv.id, "payment recorded", actor=actor, company_id=inv.supplier_company_id,
          from_state=before, to_state=inv.status,
          detail=(words.msg(_l("%(amount)s on %(day)s, ref %(reference)s"), amount=words.money(value, inv.currency),
                            day=words.day(day), reference=p.reference) if p.reference else
                  words.msg(_l("%(amount)s on %(day)s"), amount=words.money(value, inv.currency), day=words.day(day))))
    from portal.notifications.services import notify_company

    notify_company(inv.buyer_company_id, [Role.accounts], kind="invoice", mail=False,
                   title=words.msg(_l("Payment received for %(document)s"), document=label_msg(inv)),
                   body=words.msg(_l("%(amount)s on %(day)s; open: %(open)s."),
                                  amount=words.money(value, inv.currency), day=words.day(day),
                                  open=words.money(inv.open_amount, inv.currency)),
                   link=invoice_link(inv))
    emit([inv.buyer_company_id, inv.supplier_company_id],
         "invoice.paid" if inv.status == IS.paid else "invoice.payment_recorded", inv)
    db.session.commit()
    return p


# --------------------------------------------------------------------------------------------- buyer's check

def match(inv: Invoice) -> list[dict]:
    """Per invoice line: ordered vs received (accepted) vs invoiced (all issued invoices of the line), and
    the price on the invoice against the order line. ``problems`` lists mismatches in words (English, for the
    approval's audit); ``issues`` holds the same with their figures, for pages to say in the reader's language."""
    ol_ids = [ln.order_line_id for ln in inv.lines if ln.order_line_id]
    ols = {ol.id: ol for ol in db.session.scalars(sa.select(OrderLine).where(OrderLine.id.in_(ol_ids)))} if ol_ids else {}
    done = invoiced_by_order_line(ol_ids)
    out = []
    for ln in inv.lines:
        ol = ols.get(ln.order_line_id)
        row = {"line": ln, "ordered": None, "received": None, "invoiced": None, "order_price": None,
               "problems": [], "issues": []}
        if ln.charge == SHIPPING and inv.order_id:
            order = db.session.get(PurchaseOrder, inv.order_id)
            row.update(order_price=order.shipping_amount)
            if Decimal(ln.unit_price) != Decimal(order.shipping_amount):
                row["problems"].append(f"shipping {ln.unit_price.normalize():f} differs from the order's "
                                       f"{order.shipping_amount.normalize():f}")
                row["issues"].append({"kind": "shipping", "invoiced": ln.unit_price, "ordered": order.shipping_amount})
        if ol is not None:
            row.update(ordered=ol.quantity, received=ol.accepted_quantity, invoiced=done.get(ol.id, ZERO),
                       order_price=ol.unit_price)
            if row["invoiced"] > ol.accepted_quantity:
                row["problems"].append(f"invoiced {qty_text(row['invoiced'])} {ol.unit} but received "
                                       f"{qty_text(ol.accepted_quantity)}")
                row["issues"].append({"kind": "quantity", "invoiced": row["invoiced"], "received": ol.accepted_quantity,
                                      "unit": ol.unit})
            if Decimal(ln.unit_price) != Decimal(ol.unit_price):
                row["problems"].append(f"price {ln.unit_price.normalize():f} differs from the order's "
                                       f"{ol.unit_price.normalize():f}")
                row["issues"].append({"kind": "price", "invoiced": ln.unit_price, "ordered": ol.unit_price})
        out.append(row)
    return out


@retry_on_conflict
@_rollback_on_error
def approve_for_payment(inv: Invoice, actor: User, expected_lock_version, *, despite_mismatches: bool = False,
                        comment: str = "") -> Invoice:
    require_buyer_accounts(actor, inv)
    inv = lock_fresh(inv, expected_lock_version)
    if inv.kind != DocumentKind.invoice:
        raise InvalidTransition(_l("Credit notes are not approved for payment."))
    if inv.approved_for_payment_at:
        raise InvalidTransition(_l("%(label)s is already approved for payment."), label=label(inv))
    problems = [f"line {r['line'].position}: " + "; ".join(r["problems"]) for r in match(inv) if r["problems"]]
    comment = (comment or "").strip()
    if problems and not despite_mismatches:
        raise ValidationFailed(_l("The invoice does not match what was ordered and received (%(problems)s). Tick "
                                  "'approve despite mismatches' and say why, or ask the supplier for a credit note."),
                               problems=". ".join(problems), errors={"despite": _l("Mismatches found.")})
    if problems and not comment:
        raise ValidationFailed(_l("Say why you approve despite the mismatches."),
                               errors={"comment": _l("Enter a comment.")})
    inv.approved_for_payment_at = utcnow()
    inv.approved_for_payment_by_id = actor.id
    audit("invoice", inv.id, "approved for payment", actor=actor, company_id=inv.buyer_company_id,
          detail=("despite mismatches: " + comment) if problems else comment,
          visible_to_company_id=inv.buyer_company_id)
    emit([inv.buyer_company_id], "invoice.approved", inv)
    db.session.commit()
    return inv


# --------------------------------------------------------------------------------------------- settings

LOGO_MAX_UPLOAD = 2 * 1024 * 1024
LOGO_MAX_STORED = 60 * 1024  # the document renderer accepts inline images up to 64 KB


def _normalise_logo(data: bytes) -> tuple[bytes, str]:
    """Accept a real PNG or JPEG only; scale it to at most 600×200 px and keep it under 60 KB."""
    import io

    from PIL import Image, UnidentifiedImageError

    if len(data) > LOGO_MAX_UPLOAD:
        raise ValidationFailed(_l("The logo is too large (%(count)s KB); the limit is 2 MB."), count=len(data) // 1024,
                               errors={"logo": _l("At most 2 MB.")})
    try:
        img = Image.open(io.BytesIO(data))
        fmt = img.format
        img.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise ValidationFailed(_l("The logo must be a PNG or JPEG image."), errors={"logo": _l("PNG or JPEG only.")})
    if fmt not in ("PNG", "JPEG"):
        raise ValidationFailed(_l("The logo must be a PNG or JPEG image, not %(fmt)s."), fmt=fmt,
                               errors={"logo": _l("PNG or JPEG only.")})
    img.thumbnail((600, 200))
    out = io.BytesIO()
    if fmt == "PNG":
        img.save(out, "PNG", optimize=True)
        mime = "image/png"
        if out.tell() > LOGO_MAX_STORED:
            out = io.BytesIO()
            img.convert("RGB").save(out, "JPEG", quality=85)
            mime = "image/jpeg"
    else:
        img.convert("RGB").save(out, "JPEG", quality=85)
        mime = "image/jpeg"
    if out.tell() > LOGO_MAX_STORED:
        raise ValidationFailed(_l("The logo is too detailed to embed; use a simpler image (under 60 KB once scaled "
                                  "to 600×200 px)."), errors={"logo": _l("Too large once scaled.")})
    return out.getvalue(), mime


@_rollback_on_error
def save_settings(actor: User, *, mode: str, auto_issue: bool, default_tax_rate, reminder_days: str,
                  footer_note: str, logo: bytes | None = None, remove_logo: bool = False) -> InvoiceSettings:
    require_supplier_accounts(actor, actor.company_id)
    if not actor.company.is_supplier:
        raise Forbidden(_l("Invoice settings are for suppliers."))
    try:
        mode_v = InvoicingMode(mode)
    except ValueError:
        raise ValidationFailed(_l("Choose per shipment or per order."), errors={"mode": _l("Choose a mode.")})
    rate = to_decimal(default_tax_rate, "Default tax rate", places=2)
    if not (ZERO <= rate <= HUNDRED):
        raise ValidationFailed(_l("The default tax rate must be between 0 and 100 %."),
                               errors={"default_tax_rate": _l("0 to 100.")})
    try:
        days = sorted({int(x) for x in (reminder_days or "").replace(" ", "").split(",") if x})
    except ValueError:
        raise ValidationFailed(_l("Dunning days: whole numbers separated by commas, e.g. 3,14,30."),
                               errors={"reminder_days": _l("e.g. 3,14,30")})
    if any(d < 0 or d > 365 for d in days) or len(days) > 3:
        raise ValidationFailed(_l("Dunning days: up to three numbers between 0 and 365 (reminder, first dunning, "
                                  "final notice)."), errors={"reminder_days": _l("Up to three, 0 to 365.")})
    s = db.session.get(InvoiceSettings, actor.company_id)
    if s is None:
        s = InvoiceSettings(supplier_company_id=actor.company_id)
        db.session.add(s)
    s.mode, s.auto_issue, s.default_tax_rate = mode_v, bool(auto_issue), rate
    s.reminder_days = ",".join(str(d) for d in days)
    s.footer_note = (footer_note or "").strip()[:1000]
    if logo:
        from portal.documents.store import save_bytes

        data, mime = _normalise_logo(logo)
        f = save_bytes(data, filename="logo" + (".png" if mime == "image/png" else ".jpg"), content_type=mime,
                       owner_company_id=actor.company_id)
        s.logo_file_id = f.id
    elif remove_logo:
        s.logo_file_id = None
    audit("invoice_settings", actor.company_id, "updated", actor=actor, company_id=actor.company_id,
          visible_to_company_id=actor.company_id)
    db.session.commit()
    return s


# --------------------------------------------------------------------------------------------- auto-invoicing

@retry_on_conflict
def auto_invoice_shipment(shipment_id: int) -> Invoice | None:
    """Called by the job when a shipment is recorded: invoice it if the supplier asked for that. Idempotent:
    nothing left to invoice -> nothing happens."""
    shipment = db.session.get(Shipment, shipment_id)
    if shipment is None:
        return None
    s = db.session.get(InvoiceSettings, shipment.supplier_company_id)
    if s is None or not s.auto_issue:
        return None
    order = _lock_order(shipment.order_id)
    if s.mode == InvoicingMode.per_order and order.status not in (OrderStatus.shipped, OrderStatus.received,
                                                                  OrderStatus.closed):
        return None  # per order: invoice once everything has shipped
    actor = db.session.get(User, shipment.created_by_id)
    try:
        inv = create_draft(actor, shipment_id=shipment.id if s.mode == InvoicingMode.per_shipment else None,
                           order_id=order.id, commit=False)
    except ValidationFailed:
        db.session.rollback()
        return None  # already invoiced
    try:
        _issue(inv, actor)
    except ValidationFailed as exc:  # e.g. no IBAN: keep the draft and tell the accounts team
        from portal.notifications.services import notify_company

        notify_company(inv.supplier_company_id, [Role.accounts], kind="invoice",
                       title=words.msg(_l("Draft invoice for shipment %(number)s needs you"),
                                       number=shipment.number),
                       body=words.msg(_l("It could not be issued automatically: %(reason)s"),
                                      reason=exc.english if exc.said.figures else words.msg(exc.said.msgid)),
                       link=invoice_link(inv))
    db.session.commit()
    return inv


# --------------------------------------------------------------------------------------------- figures for credit

# unpaid_invoices_total, overdue_invoices_count and the overdue clause are the credit ledger's
# (portal.credit.ledger), imported above and kept importable from here.


# Overdue reminders became dunning levels: portal.receivables.dunning (the periodic sweep run_dunning).


# --------------------------------------------------------------------------------------------- lists

STATUS_FILTERS = ("draft", "issued", "partially_paid", "paid", "overdue", "open")
PAGE_SIZE = 25


def list_filter(company_id: int, *, status=None, counterparty_id=None, date_from=None, date_to=None,
                kind=None, overdue: bool = False, q: str | None = None):
    """The WHERE clauses of the invoice list for one company (both sides), from request args."""
    clauses = [Invoice.visible_to(company_id)]
    if status in ("draft", "issued", "partially_paid", "paid"):
        clauses.append(Invoice.status == InvoiceStatus(status))
    elif status == "open":
        clauses.append(Invoice.status.in_(OPEN_STATUSES))
    if status == "overdue" or overdue:
        clauses.append(_overdue_clause())
    if counterparty_id:
        try:
            cid = int(counterparty_id)
            clauses.append(sa.or_(Invoice.buyer_company_id == cid, Invoice.supplier_company_id == cid))
        except (TypeError, ValueError):
            pass
    for value, op in ((date_from, "ge"), (date_to, "le")):
        if value:
            try:
                d = value if isinstance(value, date) else date.fromisoformat(str(value))
            except ValueError:
                continue
            # date(): a draft's creation day on both databases (SQLite's CAST AS DATE gives the year only)
            col = sa.func.coalesce(Invoice.issue_date, sa.func.date(Invoice.created_at))
            clauses.append(col >= d if op == "ge" else col <= d)
    if kind in ("invoice", "credit_note"):
        clauses.append(Invoice.kind == DocumentKind(kind))
    if q:
        like = f"%{q.strip()}%"
        clauses.append(sa.or_(Invoice.number.ilike(like), Invoice.buyer_reference.ilike(like)))
    return clauses


def filters_from_args(args) -> dict:
    return {"status": args.get("status") or None, "counterparty_id": args.get("company_id") or None,
            "date_from": args.get("from") or None, "date_to": args.get("to") or None,
            "kind": args.get("kind") or None, "overdue": args.get("overdue") in ("1", "on", "true"),
            "q": (args.get("q") or "").strip() or None}


def list_invoices(company_id: int, filters: dict, page: int = 1, page_size: int = PAGE_SIZE, *,
                  with_totals: bool = True):
    """(rows, total count, page, pages, totals per currency or None) — a page by number: a count and OFFSET (and
    the totals when asked), so it costs more the deeper and the bigger the company; the list's links use cursors
    (``list_invoices_keyset``) and ask for totals only on request."""
    clauses = list_filter(company_id, **filters)
    total = db.session.scalar(sa.select(sa.func.count(Invoice.id)).where(*clauses)) or 0
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    rows = db.session.scalars(sa.select(Invoice).where(*clauses).order_by(Invoice.id.desc())
                              .limit(page_size).offset((page - 1) * page_size)).unique().all()
    return rows, total, page, pages, (list_totals(company_id, filters) if with_totals else None)


def list_totals(company_id: int, filters: dict) -> list[dict]:
    """Count, gross and open amount per currency of every document matching ``filters``: one aggregate over all
    of them, so the list computes it only on request (``?totals=1``), never on each page load."""
    sign = sa.case((Invoice.kind == DocumentKind.credit_note, -1), else_=1)
    totals = db.session.execute(
        sa.select(Invoice.currency, sa.func.count(Invoice.id), sa.func.sum(Invoice.total_gross * sign),
                  sa.func.sum(sa.case((Invoice.kind == DocumentKind.invoice,
                                       Invoice.total_gross - Invoice.paid_amount - Invoice.credited_amount),
                                      else_=0)))
        .where(*list_filter(company_id, **filters)).group_by(Invoice.currency).order_by(Invoice.currency)).all()
    return [{"currency": c, "count": n, "gross": Decimal(g or 0), "open": Decimal(o or 0)} for c, n, g, o in totals]


def list_invoices_keyset(company_id: int, filters: dict, *, after=None, before=None, page_size: int = PAGE_SIZE):
    """One page of the invoice list by cursor (portal/paging.py): one statement, the same cost on page 2,000 as on
    page 1 — no count, no totals."""
    from portal.paging import keyset_page

    return keyset_page(sa.select(Invoice).where(*list_filter(company_id, **filters)), Invoice.id, after=after,
                       before=before, size=page_size)


def filtered_batch(company_id: int, filters: dict, after_id: int = 0, batch: int = 500) -> list[Invoice]:
    """The next ``batch`` matching invoices with an id above ``after_id``, oldest first (keyset pages)."""
    clauses = list_filter(company_id, **filters)
    return list(db.session.scalars(sa.select(Invoice).where(*clauses, Invoice.id > after_id).order_by(Invoice.id)
                                   .limit(batch)).unique())


def iter_filtered(company_id: int, filters: dict, batch: int = 500):
    """All matching invoices, oldest first, in batches (ZIP job; one session throughout)."""
    last = 0
    while True:
        chunk = filtered_batch(company_id, filters, last, batch)
        if not chunk:
            return
        yield from chunk
        last = chunk[-1].id


def counterparties(company_id: int) -> list[Company]:
    """The companies this one has invoices with (the lists' filter), by skip scan: flat in the number of invoices."""
    from portal.db import distinct_values

    ids = sa.union(
        distinct_values(Invoice.buyer_company_id, Invoice.supplier_company_id == company_id),
        distinct_values(Invoice.supplier_company_id, Invoice.buyer_company_id == company_id,
                        Invoice.status != IS.draft)).subquery()
    return list(db.session.scalars(sa.select(Company).where(Company.id.in_(sa.select(ids.c.v)))
                                   .order_by(Company.display_name)))


def load(inv_id, company_id: int, *, options=()) -> Invoice:
    from portal.tenancy import get_for_company

    return get_for_company(Invoice, inv_id, company_id,
                           options=options or (selectinload(Invoice.lines), selectinload(Invoice.payments)))


# --------------------------------------------------------------------------------------------- immutability

class ImmutableInvoice(InvalidTransition):
    """An issued invoice or credit note was about to be changed or deleted."""


MUTABLE_AFTER_ISSUE = {"status", "paid_amount", "credited_amount", "pdf_file_id", "pdf_job_id",
                       "approved_for_payment_at", "approved_for_payment_by_id", "disputed_at", "lock_version",
                       "updated_at"}


def _was_issued(inv: Invoice) -> bool:
    state = sa.inspect(inv)
    if state.transient or state.pending:
        return False
    hist = state.attrs.status.history
    old = hist.deleted[0] if hist.deleted else (hist.unchanged[0] if hist.unchanged else inv.status)
    return old is not None and InvoiceStatus(old) != IS.draft


def _frozen_changes(inv: Invoice) -> list[str]:
    state = sa.inspect(inv)
    changed = []
    for attr in state.mapper.column_attrs:
        if attr.key in MUTABLE_AFTER_ISSUE:
            continue
        if state.attrs[attr.key].history.has_changes():
            changed.append(attr.key)
    return changed


@event.listens_for(Invoice, "before_update")
def _guard_invoice_update(mapper, connection, target):
    if _was_issued(target):
        changed = _frozen_changes(target)
        if changed:
            raise ImmutableInvoice(_l("%(label)s is issued and cannot be changed (%(changed)s); issue a credit note "
                                      "to correct it."),
                                   label=label(target), changed=', '.join(changed))


@event.listens_for(Invoice, "before_delete")
def _guard_invoice_delete(mapper, connection, target):
    if _was_issued(target):
        raise ImmutableInvoice(_l("%(label)s is issued and can never be deleted; issue a credit note."),
                               label=label(target))


def _line_owner_issued(line: InvoiceLine) -> bool:
    inv = line.invoice
    if inv is None and line.invoice_id:
        inv = db.session.get(Invoice, line.invoice_id)
    return inv is not None and _was_issued(inv)


@event.listens_for(InvoiceLine, "before_update")
def _guard_line_update(mapper, connection, target):
    if _line_owner_issued(target):
        raise ImmutableInvoice(_l("The lines of an issued invoice cannot be changed; issue a credit note."))


@event.listens_for(InvoiceLine, "before_delete")
def _guard_line_delete(mapper, connection, target):
    if _line_owner_issued(target):
        raise ImmutableInvoice(_l("The lines of an issued invoice cannot be deleted; issue a credit note."))


@event.listens_for(InvoiceLine, "before_insert")
def _guard_line_insert(mapper, connection, target):
    if _line_owner_issued(target):
        raise ImmutableInvoice(_l("Lines cannot be added to an issued invoice; issue a new invoice."))


__all__ = ["DomainError"]


# --------------------------------------------------------------------------------------------- background exports

def start_zip_export(actor: User, filters: dict):
    """A ZIP of the filtered invoices' PDFs, built by a tracked job on the documents queue. Commits."""
    from portal.jobs import start_tracked

    rec = start_tracked("portal.invoices.jobs.invoice_zip_job", actor.company_id, filters, kind="invoice-zip",
                        title="ZIP of invoice PDFs", company_id=actor.company_id, user_id=actor.id,
                        queue="documents")
    db.session.commit()
    return rec


def start_statement_pdf(actor: User, counterparty_id: int, d_from, d_to):
    """The statement of account with one counterparty as a PDF, by a tracked job. Commits."""
    from portal.jobs import start_tracked

    rec = start_tracked("portal.invoices.jobs.statement_pdf_job", actor.company_id, counterparty_id,
                        d_from.isoformat(), d_to.isoformat(), kind="statement-pdf", title="Statement of account",
                        company_id=actor.company_id, user_id=actor.id, queue="documents")
    db.session.commit()
    return rec
