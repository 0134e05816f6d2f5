"""Payment runs: the buyer selects approved invoices due by a date (or a list), grouped by supplier, with cash
discounts where the supplier's terms apply; someone other than the builder approves the run; it is exported once
as a SEPA credit transfer file (pain.001.001.09); its invoices show "payment scheduled"; when the buyer confirms
the bank's execution date they are paid and each supplier receives a remittance advice.

An invoice is taken by one run at a time: its rows are locked (in id order) while the run is built, and a
partial unique index on ``payment_run_items(invoice_id) WHERE state = 'included'`` refuses a second claim.
Invoices paid, credited or disputed meanwhile are dropped with a sentence at approval and at export.
Non-EUR invoices are listed apart (never in the SEPA file). Discounts never make an amount negative.

Lock order: the payment run row, then its invoices in id order, then the document counter.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import lazyload

from portal import locking
from portal.accounts.models import Company, User
from portal.audit.services import record as audit
from portal.db import db, utcnow
from portal.errors import Conflict, InvalidTransition, ValidationFailed
from portal.i18n import _l
from portal.invoices.models import DocumentKind, Invoice
from portal.invoices.states import InvoiceStatus
from portal.locking import retry_on_conflict
from portal.money import ZERO, quantize
from portal.numbering import format_reference, next_number
from portal.payables import sepa
from portal.payables.common import (
    BUYER_ACCOUNTS,
    RUN_APPROVERS,
    amount_text,
    label,
    parse_date,
    require_buyer,
    unit_of_work,
)
from portal.payables.models import CashDiscountTerms, ItemState, PaymentRun, PaymentRunItem
from portal.payables.states import RunStatus, check_run

HUNDRED = Decimal(100)
OPEN = (InvoiceStatus.issued, InvoiceStatus.partially_paid)
# Locked invoice rows are read without their joined parties: the suppliers are read once, in one statement.
BARE = (lazyload(Invoice.supplier), lazyload(Invoice.buyer))
MAX_IDS = 20000
MAX_AHEAD_DAYS = 90


def _stale(run: PaymentRun) -> str:
    return f"Payment run {run.reference} changed since you opened the page; reload and try again."


# --------------------------------------------------------------------------------------------- discounts

def discount_for(inv: Invoice, terms: CashDiscountTerms | None, execution_date: date) -> tuple[Decimal, Decimal,
                                                                                                 date | None]:
    """(discount amount, percent, last day) for paying ``inv`` on ``execution_date``; zero when the terms do not
    apply. The base is the gross amount less credit notes; the discount never exceeds the open amount."""
    if terms is None or inv.issue_date is None:
        return ZERO, ZERO, None
    until = inv.issue_date + timedelta(days=terms.discount_days)
    if execution_date > until:
        return ZERO, ZERO, until
    base = Decimal(inv.total_gross) - Decimal(inv.credited_amount)
    disc = quantize(base * Decimal(terms.discount_percent) / HUNDRED, inv.currency)
    disc = max(ZERO, min(disc, inv.open_amount))
    return disc, Decimal(terms.discount_percent), until


def _why_not(inv: Invoice) -> str | None:
    """Why an invoice cannot be paid by a run now (a sentence), or None."""
    if inv.kind != DocumentKind.invoice:
        return f"{label(inv)} is a credit note; credit notes reduce the invoice they correct."
    if inv.status == InvoiceStatus.paid or inv.open_amount <= 0:
        return f"{label(inv)} is paid in full."
    if inv.status not in OPEN:
        return f"{label(inv)} is not issued."
    if inv.disputed_at is not None:
        return f"{label(inv)} is disputed; it is not due while the dispute is open."
    if inv.approved_for_payment_at is None:
        return f"{label(inv)} is not approved for payment."
    return None


def _claims(invoice_ids=None, *, buyer_id: int | None = None, exclude_run_id: int | None = None) -> dict[int, str]:
    """invoice id -> reference of the run that holds it (state included)."""
    stmt = (sa.select(PaymentRunItem.invoice_id, PaymentRun.reference)
            .join(PaymentRun, PaymentRun.id == PaymentRunItem.run_id)
            .where(PaymentRunItem.state == ItemState.included))
    if invoice_ids is not None:
        stmt = stmt.where(PaymentRunItem.invoice_id.in_(list(invoice_ids)))
    if buyer_id is not None:
        stmt = stmt.where(PaymentRun.buyer_company_id == buyer_id)
    if exclude_run_id is not None:
        stmt = stmt.where(PaymentRun.id != exclude_run_id)
    return dict(db.session.execute(stmt).all())


def _candidates(buyer_id: int, due_by: date, terms: dict[int, CashDiscountTerms], execution_date: date):
    """Open, approved, undisputed invoices of the buyer not in a run, due by ``due_by`` or with a cash discount
    whose last day falls by ``due_by`` (and not before the execution date); locked in id order."""
    discount_suppliers = [sid for sid in terms]
    claimed = (sa.select(PaymentRunItem.invoice_id).where(PaymentRunItem.state == ItemState.included)
               .where(PaymentRunItem.invoice_id == Invoice.id))
    stmt = (sa.select(Invoice).where(
        Invoice.buyer_company_id == buyer_id, Invoice.kind == DocumentKind.invoice, Invoice.status.in_(OPEN),
        Invoice.approved_for_payment_at.is_not(None), Invoice.disputed_at.is_(None),
        Invoice.paid_amount + Invoice.credited_amount < Invoice.total_gross, ~sa.exists(claimed),
        sa.or_(Invoice.due_date <= due_by, Invoice.supplier_company_id.in_(discount_suppliers)))
        .options(*BARE).order_by(Invoice.id).with_for_update(of=Invoice).execution_options(populate_existing=True))
    out = []
    for inv in db.session.scalars(stmt).unique():
        if inv.due_date is not None and inv.due_date <= due_by:
            out.append(inv)
            continue
        t = terms.get(inv.supplier_company_id)
        if t is not None and inv.issue_date is not None:
            until = inv.issue_date + timedelta(days=t.discount_days)
            if execution_date <= until <= due_by:
                out.append(inv)
    return out


def _terms(buyer_id: int) -> dict[int, CashDiscountTerms]:
    return {t.supplier_company_id: t for t in db.session.scalars(
        sa.select(CashDiscountTerms).where(CashDiscountTerms.buyer_company_id == buyer_id))}


def _parse_ids(invoice_ids) -> list[int]:
    ids = []
    for v in invoice_ids or []:
        try:
            i = int(v)
        except (TypeError, ValueError):
            raise ValidationFailed(_l("“%(v)s” is not an invoice id."), v=str(v)[:20],
                                   errors={"invoice_ids": _l("Use ids.")})
        if not 0 < i <= 2**31 - 1:
            raise ValidationFailed(_l("There is no invoice %(i)s."), i=i, errors={"invoice_ids": _l("Unknown id.")})
        ids.append(i)
    if not ids:
        raise ValidationFailed(_l("Choose at least one invoice."), errors={"invoice_ids": _l("Choose invoices.")})
    if len(ids) > MAX_IDS:
        raise ValidationFailed(_l("At most %(max_ids)s invoices go into one run."), max_ids=MAX_IDS,
                               errors={"invoice_ids": _l("Too many.")})
    return sorted(set(ids))


def _supplier_account_problem(supplier: Company) -> str | None:
    if sepa.valid_iban(supplier.iban) is None:
        return (f"{supplier.display_name} has no valid IBAN in the portal; ask them to enter it, then pay "
                "them in a later run.")
    if supplier.bic and sepa.valid_bic(supplier.bic) is None:
        return f"{supplier.display_name}'s BIC {supplier.bic} is not valid."
    return None


# --------------------------------------------------------------------------------------------- build

@retry_on_conflict
@unit_of_work("payment run")
def build_run(actor: User, *, due_by=None, invoice_ids=None, execution_date=None) -> PaymentRun:
    """Build a draft run of what is due by ``due_by`` (or of ``invoice_ids``). Commits one run or nothing."""
    require_buyer(actor, actor.company_id, *BUYER_ACCOUNTS, what="payment run")
    buyer = db.session.get(Company, actor.company_id)
    if not buyer.is_buyer:
        raise ValidationFailed(_l("Only a buying company makes payment runs."))
    sepa.require_debtor_account(buyer)
    today = utcnow().date()
    exec_date = parse_date(execution_date, "Execution date", "execution_date") if execution_date else today
    if exec_date < today:
        raise ValidationFailed(_l("The execution date is in the past; the bank executes from today on."),
                               errors={"execution_date": _l("Today or later.")})
    if exec_date > today + timedelta(days=MAX_AHEAD_DAYS):
        raise ValidationFailed(_l("The execution date is more than %(max_ahead_days)s days ahead."),
                               max_ahead_days=MAX_AHEAD_DAYS,
                               errors={"execution_date": _l("Too far ahead.")})
    if (due_by in (None, "")) == (not invoice_ids):
        raise ValidationFailed(_l("Give either a due-by date or a list of invoices."),
                               errors={"due_by": _l("Enter a date.")})
    terms = _terms(buyer.id)
    dropped: list[tuple[Invoice, str]] = []
    if invoice_ids:
        ids = _parse_ids(invoice_ids)
        rows = list(db.session.scalars(
            sa.select(Invoice).where(Invoice.id.in_(ids), Invoice.buyer_company_id == buyer.id,
                                     Invoice.status != InvoiceStatus.draft)
            .options(*BARE).order_by(Invoice.id).with_for_update(of=Invoice).execution_options(populate_existing=True)).unique())
        missing = sorted(set(ids) - {i.id for i in rows})
        if missing:
            raise ValidationFailed(_l("No such invoice among the ones you received: %(ids)s."),
                                   ids=", ".join(map(str, missing[:20])), errors={"invoice_ids": _l("Unknown invoice.")})
        claims = _claims(ids)
        candidates = []
        for inv in rows:
            why = _why_not(inv)
            if why is None and inv.id in claims:
                why = f"{label(inv)} is already in payment run {claims[inv.id]}."
            if why:
                dropped.append((inv, why))
            else:
                candidates.append(inv)
        due = None
    else:
        due = parse_date(due_by, "Due by", "due_by")
        if due > today + timedelta(days=366):
            raise ValidationFailed(_l("The due-by date is more than a year ahead."),
                                   errors={"due_by": _l("Too far ahead.")})
        candidates = _candidates(buyer.id, due, terms, exec_date)
    run = PaymentRun(buyer_company_id=buyer.id, reference="", status=RunStatus.draft, currency=sepa.SEPA_CURRENCY,
                     due_by=due, execution_date=exec_date, created_by_id=actor.id)
    sup_ids = {inv.supplier_company_id for inv in candidates}
    suppliers = ({c.id: c for c in db.session.scalars(sa.select(Company).where(Company.id.in_(sup_ids)))}
                 if sup_ids else {})
    problems = {sid: _supplier_account_problem(c) for sid, c in suppliers.items()}
    items = []
    for inv in candidates:
        disc, pct, until = discount_for(inv, terms.get(inv.supplier_company_id), exec_date)
        item = PaymentRunItem(invoice_id=inv.id, supplier_company_id=inv.supplier_company_id, currency=inv.currency,
                              open_amount=inv.open_amount, discount_amount=disc, pay_amount=inv.open_amount - disc,
                              discount_percent=pct, discount_until=until, state=ItemState.included, note="")
        if inv.currency != sepa.SEPA_CURRENCY:
            item.state = ItemState.apart
            item.note = (f"{label(inv)} is in {inv.currency}: not in the SEPA file (EUR only); pay it separately.")
        else:
            problem = problems.get(inv.supplier_company_id)
            if problem:
                item.state, item.note = ItemState.dropped, problem
        items.append(item)
    for inv, why in dropped:
        items.append(PaymentRunItem(invoice_id=inv.id, supplier_company_id=inv.supplier_company_id,
                                    currency=inv.currency, open_amount=max(inv.open_amount, ZERO), discount_amount=ZERO,
                                    pay_amount=max(inv.open_amount, ZERO), discount_percent=ZERO,
                                    state=ItemState.dropped, note=why))
    if not any(i.state == ItemState.included for i in items):
        if dropped and all("already in payment run" in why for _, why in dropped):
            raise Conflict(" ".join(why for _, why in dropped))
        if dropped:
            raise ValidationFailed(_l("Nothing to pay: %(reasons)s"), reasons=" ".join(why for _, why in dropped),
                                   errors={"invoice_ids": _l("Nothing payable.")})
        if items:
            raise ValidationFailed(_l("Nothing to pay in a SEPA file: %(notes)s"),
                                   notes=" ".join(i.note for i in items[:10]),
                                   errors={"due_by": _l("Nothing payable in EUR.")})
        raise ValidationFailed(_l("No approved, undisputed invoice is due by %(due)s."), due=due.isoformat(),
                               errors={"due_by": _l("Nothing due.")})
    inc = [i for i in items if i.state == ItemState.included]
    run.total_amount = sum((Decimal(i.pay_amount) for i in inc), ZERO)
    run.total_discount = sum((Decimal(i.discount_amount) for i in inc), ZERO)
    year = today.year
    run.reference = format_reference("PR", year, next_number(buyer.id, "PR", year), 4)
    db.session.add(run)
    try:
        db.session.flush()
        # One executemany for every item (statements per run do not grow with its invoices).
        cols = ("invoice_id", "supplier_company_id", "currency", "open_amount", "discount_amount", "pay_amount",
                "discount_percent", "discount_until", "state", "note")
        db.session.execute(sa.insert(PaymentRunItem),
                           [{"run_id": run.id, **{c: getattr(i, c) for c in cols}} for i in items])
    except sa.exc.IntegrityError as exc:
        if "uq_payment_run_items_claim" in str(exc.orig) or "payment_run_items.invoice_id" in str(exc.orig):
            db.session.rollback()
            raise Conflict(_l("Another payment run took some of these invoices at the same moment; reload and try "
                              "again.")) from exc
        raise
    n = len(inc)
    db.session.expire(run, ["items"])
    audit("payment_run", run.id, "built", actor=actor, company_id=buyer.id, to_state=RunStatus.draft,
          detail=f"{run.reference}: {n} invoice(s), {amount_text(run.total_amount, run.currency)}"
                 + (f", discount {amount_text(run.total_discount, run.currency)}" if run.total_discount else ""),
          visible_to_company_id=buyer.id)
    db.session.commit()
    return run


def _totals(run: PaymentRun) -> None:
    inc = [i for i in run.items if i.state == ItemState.included]
    run.total_amount = sum((Decimal(i.pay_amount) for i in inc), ZERO)
    run.total_discount = sum((Decimal(i.discount_amount) for i in inc), ZERO)


def _recheck(run: PaymentRun) -> list[str]:
    """Lock the run's invoices (id order) and drop those paid, credited, disputed or unapproved meanwhile.
    Returns the sentences of what was dropped."""
    inc = {i.invoice_id: i for i in run.items if i.state == ItemState.included}
    if not inc:
        return []
    invoices = {inv.id: inv for inv in db.session.scalars(
        sa.select(Invoice).where(Invoice.id.in_(list(inc))).options(*BARE).order_by(Invoice.id)
        .with_for_update(of=Invoice).execution_options(populate_existing=True)).unique()}
    notes = []
    for inv_id, item in sorted(inc.items()):
        inv = invoices[inv_id]
        why = _why_not(inv)
        if why is None and inv.open_amount != Decimal(item.open_amount):
            why = (f"{label(inv)} changed since the run was built: open "
                   f"{amount_text(inv.open_amount, inv.currency)} instead of {amount_text(item.open_amount, inv.currency)}"
                   " (a payment or credit note came in); take it into a new run.")
        if why:
            item.state, item.note = ItemState.dropped, why
            notes.append(why)
    _totals(run)
    return notes


def _lock_run(run: PaymentRun, expected_lock_version) -> PaymentRun:
    run = locking.lock_row(PaymentRun, run.id, where=(PaymentRun.buyer_company_id == run.buyer_company_id,),
                           not_found=_l("No such payment run."))
    locking.check_fresh(run, expected_lock_version, _stale)
    return run


@retry_on_conflict
@unit_of_work("payment run")
def approve_run(run: PaymentRun, actor: User, expected_lock_version=locking.CURRENT) -> tuple[PaymentRun, list[str]]:
    """Someone other than the builder approves (accounts, approver or admin). Invoices paid or disputed meanwhile
    are dropped with a sentence. Commits."""
    require_buyer(actor, run.buyer_company_id, *RUN_APPROVERS, what="payment run")
    run = _lock_run(run, expected_lock_version)
    check_run(run.status, RunStatus.approved)
    if run.created_by_id == actor.id:
        raise ValidationFailed(_l("You built payment run %(reference)s; someone else must approve it (four eyes)."),
                               reference=run.reference,
                               errors={"approve": _l("Not by its builder.")})
    sepa.require_debtor_account(db.session.get(Company, run.buyer_company_id))
    notes = _recheck(run)
    if not run.included:
        raise ValidationFailed(_l("Nothing is left to pay in %(reference)s: %(notes)s Cancel the run."),
                               reference=run.reference, notes=" ".join(notes), errors={"approve": _l("Nothing left.")})
    run.status, run.approved_by_id, run.approved_at = RunStatus.approved, actor.id, utcnow()
    audit("payment_run", run.id, "approved", actor=actor, company_id=run.buyer_company_id,
          from_state=RunStatus.draft, to_state=RunStatus.approved,
          detail=f"{amount_text(run.total_amount, run.currency)}" + (f"; dropped: {' '.join(notes)}" if notes else ""),
          visible_to_company_id=run.buyer_company_id)
    db.session.commit()
    return run, notes


def transfers_of(run: PaymentRun) -> list[dict]:
    """One credit transfer per supplier: the sum of its invoices' amounts, invoice numbers as remittance text."""
    by_supplier: dict[int, list[PaymentRunItem]] = defaultdict(list)
    for i in run.items:
        if i.state == ItemState.included:
            by_supplier[i.supplier_company_id].append(i)
    out = []
    for sid, items in sorted(by_supplier.items()):
        supplier = items[0].supplier
        numbers = ", ".join(i.invoice.number for i in items)
        ref = advice_reference(run, sid)
        out.append({"supplier_id": sid, "name": supplier.legal_name or supplier.display_name,
                    "iban": sepa.valid_iban(supplier.iban), "bic": sepa.valid_bic(supplier.bic),
                    "amount": sum((Decimal(i.pay_amount) for i in items), ZERO),
                    "discount": sum((Decimal(i.discount_amount) for i in items), ZERO),
                    "end_to_end_id": ref, "remittance": f"{ref} {numbers}", "items": items})
    return out


def advice_reference(run: PaymentRun, supplier_id: int) -> str:
    return f"{run.reference}-S{supplier_id}"


@retry_on_conflict
@unit_of_work("payment run")
def export_run(run: PaymentRun, actor: User, expected_lock_version=locking.CURRENT) -> tuple[PaymentRun, list[str]]:
    """Produce the SEPA file once (validated against the pain.001.001.09 XSD) and store it. Commits."""
    require_buyer(actor, run.buyer_company_id, *RUN_APPROVERS, what="payment run")
    run = _lock_run(run, expected_lock_version)
    if run.status in (RunStatus.exported, RunStatus.executed):
        raise InvalidTransition(_l("Payment run %(reference)s was exported on %(exported_at)s UTC; a run is "
                                   "exported once. Download the stored file again instead."),
                                reference=run.reference, exported_at=format(run.exported_at, "%Y-%m-%d %H:%M"))
    if run.status == RunStatus.draft:
        raise InvalidTransition(_l("Payment run %(reference)s must be approved before it is exported."),
                                reference=run.reference)
    check_run(run.status, RunStatus.exported)
    buyer = db.session.get(Company, run.buyer_company_id)
    iban, bic = sepa.require_debtor_account(buyer)
    notes = _recheck(run)
    if not run.included:
        raise ValidationFailed(_l("Nothing is left to pay in %(reference)s: %(notes)s Cancel the run."),
                               reference=run.reference, notes=" ".join(notes), errors={"export": _l("Nothing left.")})
    data, msg_id = sepa.build_file(debtor_name=buyer.legal_name or buyer.display_name, iban=iban, bic=bic,
                                   execution_date=max(run.execution_date, utcnow().date()),
                                   transfers=transfers_of(run))
    from portal.documents.store import save_bytes

    f = save_bytes(data, filename=f"{run.reference}.xml", content_type="application/xml",
                   owner_company_id=buyer.id)
    run.status, run.sepa_file_id, run.message_id = RunStatus.exported, f.id, msg_id[:35]
    run.exported_at, run.exported_by_id = utcnow(), actor.id
    audit("payment_run", run.id, "exported", actor=actor, company_id=buyer.id, from_state=RunStatus.approved,
          to_state=RunStatus.exported, detail=f"SEPA {sepa.SCHEMA}, message {run.message_id}, "
                                              f"{amount_text(run.total_amount, run.currency)}",
          visible_to_company_id=buyer.id)
    db.session.commit()
    return run, notes


@retry_on_conflict
@unit_of_work("payment run")
def confirm_execution(run: PaymentRun, actor: User, expected_lock_version=locking.CURRENT, *,
                      executed_on) -> PaymentRun:
    """The buyer confirms the bank's execution date: the run's invoices are paid (buyer side) and each supplier
    gets a remittance advice (portal, mail, PDF). Commits."""
    require_buyer(actor, run.buyer_company_id, *BUYER_ACCOUNTS, what="payment run")
    day = parse_date(executed_on, "Execution date", "executed_on")
    run = _lock_run(run, expected_lock_version)
    if run.status == RunStatus.draft or run.status == RunStatus.approved:
        raise InvalidTransition(_l("Payment run %(reference)s has not been exported yet."), reference=run.reference)
    check_run(run.status, RunStatus.executed)
    today = utcnow().date()
    if day > today:
        raise ValidationFailed(_l("The execution date is in the future; confirm once the bank has executed the run."),
                               errors={"executed_on": _l("Not in the future.")})
    if run.exported_at and day < run.exported_at.date() - timedelta(days=1):
        raise ValidationFailed(_l("The bank cannot have executed the run before it was exported (%(date)s)."),
                               date=run.exported_at.date().isoformat(), errors={"executed_on": _l("Too early.")})
    run.status, run.executed_on, run.executed_at = RunStatus.executed, day, utcnow()
    from portal.payables.remittance import create_advices

    advices = create_advices(run, actor)
    audit("payment_run", run.id, "executed", actor=actor, company_id=run.buyer_company_id,
          from_state=RunStatus.exported, to_state=RunStatus.executed,
          detail=f"executed on {day.isoformat()}; {len(advices)} remittance advice(s) sent",
          visible_to_company_id=run.buyer_company_id)
    db.session.commit()
    return run


@retry_on_conflict
@unit_of_work("payment run")
def cancel_run(run: PaymentRun, actor: User, expected_lock_version=locking.CURRENT) -> PaymentRun:
    """Give up a run before export: its invoices are free for another run."""
    require_buyer(actor, run.buyer_company_id, *RUN_APPROVERS, what="payment run")
    run = _lock_run(run, expected_lock_version)
    if run.status in (RunStatus.exported, RunStatus.executed):
        raise InvalidTransition(_l("Payment run %(reference)s was exported for the bank; it cannot be cancelled "
                                   "here (recall it at the bank)."),
                                reference=run.reference)
    check_run(run.status, RunStatus.cancelled)
    before = run.status
    for i in run.items:
        if i.state == ItemState.included:
            i.state = ItemState.released
    run.status = RunStatus.cancelled
    audit("payment_run", run.id, "cancelled", actor=actor, company_id=run.buyer_company_id, from_state=before,
          to_state=RunStatus.cancelled, visible_to_company_id=run.buyer_company_id)
    db.session.commit()
    return run


# --------------------------------------------------------------------------------------------- reading

def load(run_id, company_id: int) -> PaymentRun:
    from portal.tenancy import get_for_company

    return get_for_company(PaymentRun, run_id, company_id)


def list_runs(company_id: int, limit: int = 200) -> list[PaymentRun]:
    return list(db.session.scalars(sa.select(PaymentRun).where(PaymentRun.buyer_company_id == company_id)
                                   .order_by(PaymentRun.id.desc()).limit(limit)))


def payment_state(invoice_id: int) -> tuple[str, PaymentRun] | None:
    """The buyer's view of an invoice in a run: ("in run" | "payment scheduled" | "paid", run)."""
    row = db.session.execute(
        sa.select(PaymentRun).join(PaymentRunItem, PaymentRunItem.run_id == PaymentRun.id)
        .where(PaymentRunItem.invoice_id == invoice_id, PaymentRunItem.state == ItemState.included)).scalar()
    if row is None:
        return None
    return ({RunStatus.draft: "in payment run", RunStatus.approved: "in payment run",
             RunStatus.exported: "payment scheduled", RunStatus.executed: "paid"}[row.status], row)


def sepa_bytes(run: PaymentRun) -> bytes:
    from portal.documents.models import StoredFile
    from portal.documents.store import read_bytes

    if run.sepa_file_id is None:
        raise InvalidTransition(_l("Payment run %(reference)s has not been exported yet; approve and export it "
                                   "first."), reference=run.reference)
    return read_bytes(db.session.get(StoredFile, run.sepa_file_id))

