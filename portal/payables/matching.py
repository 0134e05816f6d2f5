"""Matching with tolerances: each invoice line against its order line (price, including accepted changes) and
the received, accepted quantity; the invoice's total against what the order prices give. Within the buyer's
tolerances the invoice is marked matched and, if the buyer says so, approved for payment automatically.

Tolerances only forgive overcharges: a lower price or a smaller quantity than ordered is never an exception.
A price difference is within tolerance when the percentage is at most ``price_tolerance_percent`` AND the
line's excess (difference × invoiced quantity, rounded by the one rule) at most ``price_tolerance_amount``;
the total likewise with the total tolerances. Settings of 0 mean an exact match.
"""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from portal import locking
from portal.accounts.models import Company, User
from portal.audit.services import record as audit
from portal.credit import ledger
from portal.db import db, utcnow
from portal.errors import NotFound, ValidationFailed
from portal.i18n import _l
from portal.notifications import messages as words
from portal.errors import say
from portal.invoices.models import DocumentKind, Invoice
from portal.invoices.services import invoiced_by_order_line
from portal.invoices.states import InvoiceStatus
from portal.locking import retry_on_conflict
from portal.money import ZERO, quantize, to_decimal
from portal.orders.models import OrderLine, PurchaseOrder
from portal.payables.common import amount_text, plain, require_buyer, unit_of_work
from portal.payables.models import CashDiscountTerms, InvoiceMatch, MatchStatus, PayablesSettings

HUNDRED = Decimal(100)
MAX_PERCENT = Decimal(50)
MAX_DISCOUNT_PERCENT = Decimal(20)
MAX_TOLERANCE_AMOUNT = Decimal(100000)


# --------------------------------------------------------------------------------------------- settings

def settings_for(company_id: int) -> PayablesSettings:
    s = db.session.get(PayablesSettings, company_id)
    if s is None:
        s = PayablesSettings(buyer_company_id=company_id, price_tolerance_percent=ZERO, price_tolerance_amount=ZERO,
                             quantity_tolerance_percent=ZERO, total_tolerance_percent=ZERO,
                             total_tolerance_amount=ZERO, auto_approve=False, lock_version=0)
    return s


def _percent(value, label_: str, field: str, maximum: Decimal = MAX_PERCENT) -> Decimal:
    d = to_decimal(value if value not in (None, "") else "0", label_, places=2, max_digits=5)
    if d < 0:
        raise ValidationFailed(_l("%(label_)s cannot be negative."), label_=label_,
                               errors={field: _l("Enter 0 or more.")})
    if d > maximum:
        raise ValidationFailed(_l("%(label_)s of %(d)s %% is beyond reason; at most %(maximum)s %% is accepted."),
                               label_=label_, d=plain(d), maximum=plain(maximum),
                               errors={field: say(_l("At most %(maximum)s %%."), maximum=plain(maximum))})
    return d


def _amount(value, label_: str, field: str) -> Decimal:
    d = to_decimal(value if value not in (None, "") else "0", label_, places=2)
    if d < 0:
        raise ValidationFailed(_l("%(label_)s cannot be negative."), label_=label_,
                               errors={field: _l("Enter 0 or more.")})
    if d > MAX_TOLERANCE_AMOUNT:
        raise ValidationFailed(_l("%(label_)s of %(d)s is beyond reason; at most %(max_tolerance_amount)s is "
                                  "accepted."),
                               label_=label_, d=plain(d), max_tolerance_amount=plain(MAX_TOLERANCE_AMOUNT),
                               errors={field: _l("Too large.")})
    return d


@retry_on_conflict
@unit_of_work("tolerance settings")
def save_settings(actor: User, expected_lock_version=locking.CURRENT, *, price_tolerance_percent=None,
                  price_tolerance_amount=None, quantity_tolerance_percent=None, total_tolerance_percent=None,
                  total_tolerance_amount=None, auto_approve: bool = False) -> PayablesSettings:
    """The buyer's accounts team (or an admin) sets the tolerances. Negative or absurd values are refused."""
    require_buyer(actor, actor.company_id)
    if not actor.company.is_buyer:
        raise ValidationFailed(_l("Only a buying company has payables settings."))
    values = dict(
        price_tolerance_percent=_percent(price_tolerance_percent, "Price tolerance", "price_tolerance_percent"),
        price_tolerance_amount=_amount(price_tolerance_amount, "Price tolerance per line", "price_tolerance_amount"),
        quantity_tolerance_percent=_percent(quantity_tolerance_percent, "Quantity tolerance",
                                            "quantity_tolerance_percent"),
        total_tolerance_percent=_percent(total_tolerance_percent, "Total tolerance", "total_tolerance_percent"),
        total_tolerance_amount=_amount(total_tolerance_amount, "Total tolerance amount", "total_tolerance_amount"),
        auto_approve=bool(auto_approve))
    s = db.session.scalar(sa.select(PayablesSettings).where(PayablesSettings.buyer_company_id == actor.company_id)
                          .with_for_update().execution_options(populate_existing=True))
    if s is None:
        if expected_lock_version not in (locking.CURRENT, None, "", 0, "0"):
            raise ValidationFailed(_l("These settings changed since you opened the page; reload and try again."))
        s = PayablesSettings(buyer_company_id=actor.company_id, **values)
        db.session.add(s)
    else:
        locking.check_version(expected_lock_version, s.lock_version,
                              _l("These settings changed since you opened the page; reload and try again."))
        for k, v in values.items():
            setattr(s, k, v)
    audit("company", actor.company_id, "payables tolerances saved", actor=actor, company_id=actor.company_id,
          detail=", ".join(f"{k}={plain(v) if isinstance(v, Decimal) else v}" for k, v in values.items()),
          visible_to_company_id=actor.company_id)
    db.session.commit()
    return s


def discount_terms(buyer_id: int) -> list[CashDiscountTerms]:
    return list(db.session.scalars(sa.select(CashDiscountTerms).where(CashDiscountTerms.buyer_company_id == buyer_id)
                                   .order_by(CashDiscountTerms.supplier_company_id)))


@retry_on_conflict
@unit_of_work("cash discount")
def set_discount_terms(actor: User, supplier_id, *, percent, days) -> CashDiscountTerms | None:
    """Record the cash discount a supplier grants (e.g. 2 % within 10 days); an empty percent removes it."""
    require_buyer(actor, actor.company_id)
    try:
        supplier = db.session.get(Company, int(supplier_id))
    except (TypeError, ValueError):
        supplier = None
    if supplier is None or not supplier.is_supplier or supplier.id == actor.company_id:
        raise NotFound(_l("No such supplier."))
    row = db.session.scalar(sa.select(CashDiscountTerms).where(
        CashDiscountTerms.buyer_company_id == actor.company_id, CashDiscountTerms.supplier_company_id == supplier.id))
    if percent in (None, "") or to_decimal(percent, "Cash discount", places=2, max_digits=5) == 0:
        if row is not None:
            db.session.delete(row)
        db.session.commit()
        return None
    pct = _percent(percent, "Cash discount", "discount_percent", MAX_DISCOUNT_PERCENT)
    try:
        n_days = int(str(days).strip())
    except (TypeError, ValueError):
        raise ValidationFailed(_l("Cash discount days: enter a whole number of days (1 to 90)."),
                               errors={"discount_days": _l("Enter 1 to 90.")})
    if not 1 <= n_days <= 90:
        raise ValidationFailed(_l("Cash discount days must be between 1 and 90."),
                               errors={"discount_days": _l("Enter 1 to 90.")})
    if row is None:
        row = CashDiscountTerms(buyer_company_id=actor.company_id, supplier_company_id=supplier.id,
                                discount_percent=pct, discount_days=n_days)
        db.session.add(row)
    else:
        row.discount_percent, row.discount_days = pct, n_days
    audit("company", actor.company_id, "cash discount terms saved", actor=actor, company_id=actor.company_id,
          detail=f"{supplier.display_name}: {plain(pct)} % within {n_days} days",
          visible_to_company_id=actor.company_id)
    db.session.commit()
    return row


# --------------------------------------------------------------------------------------------- the match

def _within(excess: Decimal, base: Decimal, pct: Decimal, amount: Decimal) -> bool:
    if excess <= 0:
        return True
    if excess > amount:
        return False
    if base <= 0:
        return False
    return excess * HUNDRED <= pct * base


def evaluate(inv: Invoice, s: PayablesSettings) -> tuple[MatchStatus, list[dict]]:
    """Compare the invoice with its order and receipts; (status, exceptions with their figures)."""
    cur = inv.currency
    ol_ids = [ln.order_line_id for ln in inv.lines if ln.order_line_id]
    ols = ({ol.id: ol for ol in db.session.scalars(sa.select(OrderLine).where(OrderLine.id.in_(ol_ids)))}
           if ol_ids else {})
    charged = invoiced_by_order_line(ol_ids)
    order = db.session.get(PurchaseOrder, inv.order_id) if inv.order_id else None
    exceptions: list[dict] = []
    expected_total = ZERO
    price_excess = ZERO
    qty_problem = False
    for ln in inv.lines:
        qty = Decimal(ln.quantity)
        eff = Decimal(ln.unit_price) * (HUNDRED - Decimal(ln.discount_percent)) / HUNDRED
        ol = ols.get(ln.order_line_id)
        if ln.charge == "shipping" and order is not None:
            order_price = Decimal(order.shipping_amount)
        elif ol is not None:
            order_price = Decimal(ol.unit_price)
        else:
            expected_total += Decimal(ln.net_amount)  # nothing to compare with: taken as invoiced
            continue
        expected_total += quantize(qty * order_price, cur)
        diff = eff - order_price
        excess = quantize(diff * qty, cur) if diff > 0 else ZERO
        if excess > 0 and not _within(excess, quantize(order_price * qty, cur), s.price_tolerance_percent,
                                      s.price_tolerance_amount):
            price_excess += excess
            pct = (diff * HUNDRED / order_price).quantize(Decimal("0.01")) if order_price > 0 else None
            exceptions.append({
                "position": ln.position, "kind": "price", "description": ln.description,
                "ordered": plain(ol.quantity) if ol is not None else None,
                "received": plain(ol.accepted_quantity) if ol is not None else None, "invoiced": plain(qty),
                "order_price": plain(order_price), "invoice_price": plain(eff), "difference": plain(excess),
                "difference_percent": plain(pct) if pct is not None else None,
                "tolerance": f"{plain(s.price_tolerance_percent)} % and {plain(s.price_tolerance_amount)} {cur}",
                "sentence": (f"Line {ln.position}: price {plain(eff)} instead of {plain(order_price)} "
                             f"(+{plain(pct) if pct is not None else '∞'} %, {amount_text(excess, cur)} on "
                             f"{plain(qty)} {ln.unit}); tolerance {plain(s.price_tolerance_percent)} % and "
                             f"{amount_text(s.price_tolerance_amount, cur)}.")})
        if ol is not None and ln.charge is None:
            total_charged = charged.get(ol.id, ZERO)
            allowed = Decimal(ol.accepted_quantity) * (HUNDRED + s.quantity_tolerance_percent) / HUNDRED
            if total_charged > allowed:
                qty_problem = True
                exceptions.append({
                    "position": ln.position, "kind": "quantity", "description": ln.description,
                    "ordered": plain(ol.quantity), "received": plain(ol.accepted_quantity),
                    "invoiced": plain(total_charged), "order_price": plain(order_price),
                    "invoice_price": plain(eff), "difference": plain(total_charged - Decimal(ol.accepted_quantity)),
                    "difference_percent": None, "tolerance": f"{plain(s.quantity_tolerance_percent)} %",
                    "sentence": (f"Line {ln.position}: {plain(total_charged)} {ol.unit} invoiced in all, "
                                 f"{plain(ol.accepted_quantity)} received and accepted ({plain(ol.quantity)} "
                                 f"ordered); tolerance {plain(s.quantity_tolerance_percent)} %.")})
    total_excess = Decimal(inv.total_net) - expected_total
    if total_excess > 0 and not _within(total_excess, expected_total, s.total_tolerance_percent,
                                        s.total_tolerance_amount):
        exceptions.append({
            "position": None, "kind": "total", "description": "Invoice total (net)",
            "ordered": None, "received": None, "invoiced": None, "order_price": plain(expected_total),
            "invoice_price": plain(inv.total_net), "difference": plain(total_excess), "difference_percent": None,
            "tolerance": f"{plain(s.total_tolerance_percent)} % and {plain(s.total_tolerance_amount)} {cur}",
            "sentence": (f"Total net {amount_text(inv.total_net, cur)} against {amount_text(expected_total, cur)} by "
                         f"the order's prices ({amount_text(total_excess, cur)} more); tolerance "
                         f"{plain(s.total_tolerance_percent)} % and {amount_text(s.total_tolerance_amount, cur)}.")})
    if not exceptions:
        return MatchStatus.matched, []
    credited_net = credited_net_of(inv)
    if (not qty_problem and credited_net > 0 and credited_net >= price_excess
            and _within(total_excess - credited_net, expected_total, s.total_tolerance_percent,
                        s.total_tolerance_amount)):
        return MatchStatus.covered, exceptions
    return MatchStatus.exceptions, exceptions


def credited_net_of(inv: Invoice) -> Decimal:
    return Decimal(db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Invoice.total_net), 0))
        .where(Invoice.corrects_invoice_id == inv.id, Invoice.kind == DocumentKind.credit_note,
               Invoice.status != InvoiceStatus.draft)) or 0)


def match_and_store(inv: Invoice, actor: User | None = None) -> InvoiceMatch:
    """Evaluate, store the result and auto-approve when the buyer's settings say so. The invoice must be locked
    by the caller (lock order: order, then invoice). Flush only."""
    s = settings_for(inv.buyer_company_id)
    status, exceptions = evaluate(inv, s)
    m = db.session.get(InvoiceMatch, inv.id)
    if m is None:
        m = InvoiceMatch(invoice_id=inv.id, buyer_company_id=inv.buyer_company_id, status=status,
                         exceptions=exceptions, auto_approved=False)
        db.session.add(m)
    m.status, m.exceptions, m.checked_at = status, exceptions, utcnow()
    if (status in (MatchStatus.matched, MatchStatus.covered) and s.auto_approve and inv.approved_for_payment_at is None
            and inv.disputed_at is None and inv.open_amount > 0):
        inv.approved_for_payment_at = utcnow()
        inv.approved_for_payment_by_id = None
        m.auto_approved = True
        audit("invoice", inv.id, "approved for payment automatically", actor=actor, company_id=inv.buyer_company_id,
              detail=words.msg(_l("%(status)s: within the tolerances"), status=words.msg(status.label)),
              visible_to_company_id=inv.buyer_company_id)
    db.session.flush()
    return m


@retry_on_conflict
@unit_of_work("invoice")
def run_match(invoice_id: int, actor: User | None = None) -> InvoiceMatch | None:
    """The job after an invoice is issued (and the buyer's "Check again"). Idempotent. Commits."""
    inv = db.session.get(Invoice, invoice_id)
    if inv is None or inv.kind != DocumentKind.invoice or inv.status == InvoiceStatus.draft:
        return None
    if actor is not None:
        require_buyer(actor, inv.buyer_company_id)
    if inv.order_id:
        ledger.lock_order(inv.order_id)
    inv = ledger.lock_invoice(inv.id)
    m = match_and_store(inv, actor)
    db.session.commit()
    return m


def match_for(inv: Invoice) -> InvoiceMatch | None:
    return db.session.get(InvoiceMatch, inv.id)



def approve(inv: Invoice, actor: User, expected_lock_version=locking.CURRENT, *, despite_mismatches: bool = False,
            comment: str = "") -> Invoice:
    """Approve for payment by hand, with the buyer's tolerances: an invoice within them (or covered by credit
    notes) needs no "despite mismatches"; outside them the invoice service's rule applies (tick it and say why).
    The invoice service locks the invoice and commits."""
    from portal.invoices import services as invoice_services

    require_buyer(actor, inv.buyer_company_id)
    status, _ = evaluate(inv, settings_for(inv.buyer_company_id))
    if status in (MatchStatus.matched, MatchStatus.covered) and not despite_mismatches:
        return invoice_services.approve_for_payment(
            inv, actor, expected_lock_version, despite_mismatches=True,
            comment=(comment or "").strip() or f"Within the tolerances ({status.label.lower()}).")
    return invoice_services.approve_for_payment(inv, actor, expected_lock_version,
                                                despite_mismatches=despite_mismatches, comment=comment)
