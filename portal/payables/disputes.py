"""Disputes: the buyer's accounts team disputes an invoice (whole or one line) with a reason; the supplier's
accounts team is notified, answers, and resolves it with a credit note, or the buyer withdraws it. Every step is
kept as a DisputeEvent. While a dispute is open ``Invoice.disputed_at`` is set: the invoice is not due for
payment, not taken into a payment run and not dunned (the supplier side reads only that column).

Lock order: the order (if any), the invoice, then the dispute row (portal/credit/ledger.py)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from portal import locking
from portal.accounts.models import Role, User
from portal.audit.services import record as audit
from portal.credit import ledger
from portal.db import db, utcnow
from portal.errors import InvalidTransition, NotFound, ValidationFailed
from portal.i18n import _l
from portal.notifications import messages as words
from portal.invoices.models import DocumentKind, Invoice
from portal.invoices.states import InvoiceStatus
from portal.locking import retry_on_conflict
from portal.payables.common import (amount_text, label, label_msg, require_buyer, require_supplier,
                                    unit_of_work)
from portal.payables.models import Dispute, DisputeEvent, ItemState, PaymentRun, PaymentRunItem
from portal.payables.states import DisputeStatus, RunStatus, check_dispute

MAX_TEXT = 2000


def _link(d: Dispute) -> str:
    return f"/payables/disputes/{d.id}"


def _text(value, what: str, *, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationFailed(_l("Say %(what)s."), what=what, errors={"text": _l("Enter a text.")})
    if len(text) > MAX_TEXT:
        raise ValidationFailed(_l("Keep it under %(max_text)s characters (%(count)s given)."),
                               max_text=MAX_TEXT, count=len(text),
                               errors={"text": _l("Too long.")})
    return text


def _stale(d: Dispute) -> str:
    return f"Dispute #{d.id} changed since you opened the page; reload and try again."


def open_dispute_of(inv: Invoice) -> Dispute | None:
    return db.session.scalar(sa.select(Dispute).where(
        Dispute.invoice_id == inv.id, Dispute.status.in_([DisputeStatus.open, DisputeStatus.answered])))


def disputes_of(inv: Invoice) -> list[Dispute]:
    return list(db.session.scalars(sa.select(Dispute).where(Dispute.invoice_id == inv.id).order_by(Dispute.id)))


def _event(d: Dispute, kind: str, actor: User | None, company_id: int, text: str = "") -> None:
    d.events.append(DisputeEvent(kind=kind, text=text, actor_id=getattr(actor, "id", None), company_id=company_id,
                                 at=utcnow()))


def _lock_invoice_of(invoice_id: int) -> Invoice:
    inv = db.session.get(Invoice, invoice_id)
    if inv is None:
        raise NotFound(_l("No such invoice."))
    if inv.order_id:
        ledger.lock_order(inv.order_id)
    return ledger.lock_invoice(inv.id)


@retry_on_conflict
@unit_of_work("invoice")
def open_dispute(inv: Invoice, actor: User, expected_lock_version=locking.CURRENT, *, reason: str,
                 invoice_line_id=None) -> Dispute:
    """The buyer's accounts team disputes an issued, open invoice (or one of its lines). Commits."""
    require_buyer(actor, inv.buyer_company_id)
    if inv.status == InvoiceStatus.draft:
        raise NotFound(_l("No such invoice."))
    reason = _text(reason, "why you dispute the invoice (the supplier reads it)")
    inv = _lock_invoice_of(inv.id)
    locking.check_fresh(inv, expected_lock_version,
                        lambda i: f"{label(i)} changed since you opened the page; reload and try again.")
    if inv.kind != DocumentKind.invoice:
        raise InvalidTransition(_l("A credit note cannot be disputed; dispute the invoice it corrects."))
    if inv.disputed_at is not None:
        raise InvalidTransition(_l("%(label)s is already disputed; add to the open dispute instead."),
                                label=label(inv))
    if inv.open_amount <= 0:
        raise InvalidTransition(_l("%(label)s is settled; there is nothing left to dispute."), label=label(inv))
    scheduled = db.session.scalar(
        sa.select(PaymentRun.reference).join(PaymentRunItem, PaymentRunItem.run_id == PaymentRun.id)
        .where(PaymentRunItem.invoice_id == inv.id, PaymentRunItem.state == ItemState.included,
               PaymentRun.status.in_([RunStatus.exported, RunStatus.executed])))
    if scheduled:
        raise InvalidTransition(_l("%(label)s is in payment run %(scheduled)s, already sent to the bank; ask the "
                                   "supplier for a credit note instead."),
                                label=label(inv), scheduled=scheduled)
    line = None
    if invoice_line_id not in (None, ""):
        line = next((ln for ln in inv.lines if str(ln.id) == str(invoice_line_id)), None)
        if line is None:
            raise ValidationFailed(_l("That line is not on this invoice."),
                                   errors={"invoice_line_id": _l("Choose a line.")})
    d = Dispute(invoice_id=inv.id, buyer_company_id=inv.buyer_company_id, supplier_company_id=inv.supplier_company_id,
                invoice_line_id=line.id if line else None, status=DisputeStatus.open, reason=reason,
                opened_by_id=actor.id)
    db.session.add(d)
    _event(d, "opened", actor, actor.company_id, reason)
    inv.disputed_at = utcnow()
    db.session.flush()
    what = f"line {line.position} of {label(inv)}" if line else label(inv)
    audit("invoice", inv.id, "disputed", actor=actor, company_id=inv.buyer_company_id,
          detail=f"{what}: {reason}"[:500])
    from portal.notifications.services import notify_company

    notify_company(inv.supplier_company_id, [Role.accounts], kind="invoice",
                   title=(words.msg(_l("%(buyer)s disputes line %(position)s of %(document)s"),
                                    buyer=inv.buyer.display_name, position=line.position,
                                    document=label_msg(inv))
                          if line else
                          words.msg(_l("%(buyer)s disputes %(document)s"), buyer=inv.buyer.display_name,
                                    document=label_msg(inv))),
                   body=words.msg(_l("%(reason)s\n\nThe invoice (%(open)s open) is not due while the dispute "
                                     "is open; answer it or resolve it with a credit note."), reason=reason,
                                  open=words.money(inv.open_amount, inv.currency)), link=_link(d))
    from portal.events.services import emit

    emit([inv.buyer_company_id, inv.supplier_company_id], "dispute.opened", inv)
    db.session.commit()
    return d


def _lock_dispute(d: Dispute, expected_lock_version) -> tuple[Invoice, Dispute]:
    inv = _lock_invoice_of(d.invoice_id)
    d = locking.lock_row(Dispute, d.id, not_found=_l("No such dispute."))
    locking.check_fresh(d, expected_lock_version, _stale)
    return inv, d


@retry_on_conflict
@unit_of_work("dispute")
def answer(d: Dispute, actor: User, expected_lock_version=locking.CURRENT, *, text: str) -> Dispute:
    """The supplier's accounts team answers (open -> answered)."""
    require_supplier(actor, d.supplier_company_id, "dispute")
    text = _text(text, "your answer")
    inv, d = _lock_dispute(d, expected_lock_version)
    check_dispute(d.status, DisputeStatus.answered)
    d.status = DisputeStatus.answered
    _event(d, "answered", actor, actor.company_id, text)
    from portal.notifications.services import notify_company

    notify_company(d.buyer_company_id, [Role.accounts], kind="invoice",
                   title=words.msg(_l("%(supplier)s answered your dispute of %(document)s"),
                                   supplier=inv.supplier.display_name, document=label_msg(inv)), body=text,
                   link=_link(d))
    db.session.commit()
    return d


@retry_on_conflict
@unit_of_work("dispute")
def reply(d: Dispute, actor: User, expected_lock_version=locking.CURRENT, *, text: str) -> Dispute:
    """The buyer replies to an answer (answered -> open)."""
    require_buyer(actor, d.buyer_company_id, what="dispute")
    text = _text(text, "your reply")
    inv, d = _lock_dispute(d, expected_lock_version)
    check_dispute(d.status, DisputeStatus.open)
    d.status = DisputeStatus.open
    _event(d, "replied", actor, actor.company_id, text)
    from portal.notifications.services import notify_company

    notify_company(d.supplier_company_id, [Role.accounts], kind="invoice",
                   title=words.msg(_l("%(buyer)s replied on the dispute of %(document)s"),
                                   buyer=inv.buyer.display_name, document=label_msg(inv)),
                   body=text, link=_link(d))
    db.session.commit()
    return d


@retry_on_conflict
@unit_of_work("dispute")
def withdraw(d: Dispute, actor: User, expected_lock_version=locking.CURRENT, *, text: str = "") -> Dispute:
    """The buyer withdraws the dispute: the invoice is due again."""
    require_buyer(actor, d.buyer_company_id, what="dispute")
    text = _text(text, "why", required=False)
    inv, d = _lock_dispute(d, expected_lock_version)
    check_dispute(d.status, DisputeStatus.withdrawn)
    d.status, d.closed_at, d.closed_by_id = DisputeStatus.withdrawn, utcnow(), actor.id
    _event(d, "withdrawn", actor, actor.company_id, text)
    inv.disputed_at = None
    audit("invoice", inv.id, "dispute withdrawn", actor=actor, company_id=inv.buyer_company_id, detail=text[:500])
    from portal.notifications.services import notify_company

    notify_company(d.supplier_company_id, [Role.accounts], kind="invoice",
                   title=words.msg(_l("%(buyer)s withdrew the dispute of %(document)s"),
                                   buyer=inv.buyer.display_name, document=label_msg(inv)),
                   body=text or words.msg(_l("The invoice is due again.")), link=_link(d))
    db.session.commit()
    return d


def credit_notes_for(d: Dispute) -> list[Invoice]:
    """Issued credit notes of the disputed invoice not used to resolve another dispute."""
    used = sa.select(Dispute.credit_note_id).where(Dispute.credit_note_id.is_not(None))
    return list(db.session.scalars(sa.select(Invoice).where(
        Invoice.corrects_invoice_id == d.invoice_id, Invoice.kind == DocumentKind.credit_note,
        Invoice.status != InvoiceStatus.draft, Invoice.id.not_in(used)).order_by(Invoice.id)))


@retry_on_conflict
@unit_of_work("dispute")
def resolve(d: Dispute, actor: User, expected_lock_version=locking.CURRENT, *, credit_note_id,
            text: str = "") -> Dispute:
    """The supplier resolves the dispute with a credit note already issued against the invoice; the match is
    checked again (the credit may bring it within tolerance, which may approve it automatically)."""
    require_supplier(actor, d.supplier_company_id, "dispute")
    text = _text(text, "a comment", required=False)
    inv, d = _lock_dispute(d, expected_lock_version)
    check_dispute(d.status, DisputeStatus.resolved)
    cn = next((c for c in credit_notes_for(d) if str(c.id) == str(credit_note_id)), None)
    if cn is None:
        raise ValidationFailed(_l("Choose a credit note issued against %(label)s (issue one first); each credit "
                                  "note resolves one dispute."), label=label(inv),
                               errors={"credit_note_id": _l("Choose a credit note.")})
    d.status, d.closed_at, d.closed_by_id, d.credit_note_id = DisputeStatus.resolved, utcnow(), actor.id, cn.id
    _event(d, "resolved", actor, actor.company_id,
           f"Credit note {cn.number} ({amount_text(cn.total_gross, cn.currency)})" + (f": {text}" if text else ""))
    inv.disputed_at = None
    audit("invoice", inv.id, "dispute resolved", actor=actor, company_id=inv.supplier_company_id,
          detail=words.msg(_l("by credit note %(number)s"), number=cn.number),
          visible_to_company_id=inv.buyer_company_id)
    from portal.payables.matching import match_and_store

    match_and_store(inv, None)
    from portal.notifications.services import notify_company

    figures = {"credited": words.money(cn.total_gross, cn.currency),
               "open": words.money(inv.open_amount, inv.currency)}
    notify_company(d.buyer_company_id, [Role.accounts], kind="invoice",
                   title=words.msg(_l("Dispute of %(document)s resolved by credit note %(number)s"),
                                   document=label_msg(inv), number=cn.number),
                   body=(words.msg(_l("%(credited)s credited; open now %(open)s. %(text)s"), text=text,
                                   **figures)
                         if text else words.msg(_l("%(credited)s credited; open now %(open)s."), **figures)),
                   link=_link(d))
    db.session.commit()
    return d


def list_disputes(company_id: int, *, open_only: bool = False, limit: int = 200) -> list[Dispute]:
    stmt = sa.select(Dispute).where(Dispute.visible_to(company_id))
    if open_only:
        stmt = stmt.where(Dispute.status.in_([DisputeStatus.open, DisputeStatus.answered]))
    return list(db.session.scalars(stmt.options(selectinload(Dispute.invoice)).order_by(Dispute.id.desc())
                                   .limit(limit)))
