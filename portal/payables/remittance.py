"""Remittance advices: what one executed payment run paid one supplier — which invoices, the credit notes that
reduced them, the cash discounts taken — frozen when the buyer confirms the execution, sent in the portal, by
mail and as a PDF (documents queue). The supplier's accounts team reconciles with one action: the advice becomes
the payments on those invoices (the supplier stays the one who confirms money arrived). When an invoice's open
amount is no longer what the advice paid (a payment or credit note recorded meanwhile) the mismatch is shown and
nothing is recorded.

A cash discount taken is recorded as its own payment line ("Cash discount 2 % …") so the invoice closes to the
cent; the amount that arrived is the other line.

Lock order: the advice row, then its invoices in id order."""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import sqlalchemy as sa

from portal import locking
from portal.accounts.models import Company, Role, User
from portal.audit.services import record as audit
from portal.db import db, utcnow
from portal.errors import InvalidTransition, ValidationFailed
from portal.i18n import _l
from portal.notifications import messages as words
from portal.invoices.models import DocumentKind, Invoice, Payment
from portal.invoices.states import InvoiceStatus, check
from portal.locking import retry_on_conflict
from portal.money import ZERO, quantize
from portal.payables.common import amount_text, label, plain, require_supplier, unit_of_work
from portal.payables.models import PaymentRun, RemittanceAdvice, RemittanceStatus
from portal.documents.language import recipient_settings

PDF_JOB = "portal.payables.jobs.remittance_pdf_job"


def _link(a: RemittanceAdvice) -> str:
    return f"/payables/remittances/{a.id}"


def create_advices(run: PaymentRun, actor: User | None) -> list[RemittanceAdvice]:
    """One advice per supplier of an executed run (flush only; the run service commits)."""
    from portal.jobs import start_tracked
    from portal.notifications.services import notify_company
    from portal.payables.runs import transfers_of

    transfers = transfers_of(run)
    inv_ids = [i.invoice_id for t in transfers for i in t["items"]]
    cns: dict[int, list[dict]] = defaultdict(list)
    if inv_ids:
        for cn in db.session.scalars(sa.select(Invoice).where(
                Invoice.corrects_invoice_id.in_(inv_ids), Invoice.kind == DocumentKind.credit_note,
                Invoice.status != InvoiceStatus.draft).order_by(Invoice.id)):
            cns[cn.corrects_invoice_id].append({"number": cn.number, "issue_date": cn.issue_date.isoformat(),
                                                "amount": str(quantize(cn.total_gross, cn.currency))})
    cur = run.currency

    def m(x) -> str:
        return str(quantize(Decimal(x), cur))

    advices = []
    for t in transfers:
        lines = []
        for i in t["items"]:
            inv = i.invoice
            gross, credited = Decimal(inv.total_gross), Decimal(inv.credited_amount)
            lines.append({
                "invoice_id": inv.id, "number": inv.number, "issue_date": inv.issue_date.isoformat(),
                "buyer_reference": inv.buyer_reference or "", "gross": m(gross), "credited": m(credited),
                "credit_notes": cns.get(inv.id, []), "paid_before": m(gross - credited - Decimal(i.open_amount)),
                "open": m(i.open_amount), "discount": m(i.discount_amount),
                "discount_percent": plain(i.discount_percent), "paid": m(i.pay_amount)})
        a = RemittanceAdvice(run_id=run.id, buyer_company_id=run.buyer_company_id, supplier_company_id=t["supplier_id"],
                             reference=t["end_to_end_id"], currency=run.currency, amount=t["amount"],
                             discount_total=t["discount"], paid_on=run.executed_on, status=RemittanceStatus.sent,
                             lines=lines)
        db.session.add(a)
        db.session.flush()
        rec = start_tracked(PDF_JOB, a.id, kind="remittance-pdf", title=f"Remittance advice {a.reference}",
                            company_id=run.buyer_company_id, user_id=getattr(actor, "id", None), queue="documents",
                            job_id=f"remittance-pdf-{a.id}")
        a.pdf_job_id = rec.id
        buyer = db.session.get(Company, run.buyer_company_id)
        paid = {"amount": words.money(a.amount, a.currency), "day": words.day(a.paid_on),
                "invoices": ", ".join(ln["number"] for ln in lines)}
        notify_company(t["supplier_id"], [Role.accounts], kind="invoice",
                       title=words.msg(_l("Remittance advice %(reference)s from %(buyer)s"),
                                       reference=a.reference, buyer=buyer.display_name),
                       body=(words.msg(_l("%(amount)s paid on %(day)s for %(invoices)s (cash discount "
                                          "%(discount)s). Reconcile it in the portal to record the "
                                          "payments."),
                                       discount=words.money(a.discount_total, a.currency), **paid)
                             if a.discount_total else
                             words.msg(_l("%(amount)s paid on %(day)s for %(invoices)s. Reconcile it in the "
                                          "portal to record the payments."), **paid)),
                       link=_link(a))
        advices.append(a)
    return advices


def invoices_of(advices) -> dict[int, Invoice]:
    """The invoices the advices' lines paid, by id, in one statement (for a list of advices)."""
    ids = {ln["invoice_id"] for a in advices for ln in a.lines}
    return {i.id: i for i in db.session.scalars(sa.select(Invoice).where(Invoice.id.in_(ids)))} if ids else {}


def compare(a: RemittanceAdvice, invoices: dict[int, Invoice] | None = None) -> list[dict]:
    """Per advice line: the invoice's open amount now against the one the advice paid (``ok`` False = mismatch).
    ``invoices``: those of ``invoices_of`` when comparing a list of advices (else they are read here)."""
    if invoices is None:
        invoices = invoices_of([a])
    out = []
    for ln in a.lines:
        inv = invoices.get(ln["invoice_id"])
        now = inv.open_amount if inv is not None else ZERO
        out.append({**ln, "open_now": str(quantize(now, a.currency)), "ok": inv is not None and now == Decimal(ln["open"])})
    return out


def _settle(inv: Invoice) -> None:
    if inv.open_amount <= 0:
        check(inv.status, InvoiceStatus.paid)
        inv.status = InvoiceStatus.paid
    elif inv.status == InvoiceStatus.issued:
        check(inv.status, InvoiceStatus.partially_paid)
        inv.status = InvoiceStatus.partially_paid


@retry_on_conflict
@unit_of_work("remittance advice")
def reconcile(a: RemittanceAdvice, actor: User, expected_lock_version=locking.CURRENT) -> RemittanceAdvice:
    """The supplier's accounts team confirms the money arrived: every line becomes payments on its invoice, or
    nothing is recorded and the mismatches are named. Commits."""
    require_supplier(actor, a.supplier_company_id, "remittance advice")
    a = locking.lock_row(RemittanceAdvice, a.id, where=(RemittanceAdvice.supplier_company_id == actor.company_id,),
                         not_found=_l("No such remittance advice."))
    locking.check_fresh(a, expected_lock_version,
                        lambda x: f"Remittance advice {x.reference} changed since you opened the page; reload.")
    if a.status == RemittanceStatus.reconciled:
        raise InvalidTransition(_l("Remittance advice %(reference)s was reconciled on %(reconciled_at)s; its "
                                   "payments are recorded."),
                                reference=a.reference, reconciled_at=format(a.reconciled_at, "%Y-%m-%d"))
    ids = sorted(ln["invoice_id"] for ln in a.lines)
    invoices = {i.id: i for i in db.session.scalars(
        sa.select(Invoice).where(Invoice.id.in_(ids), Invoice.supplier_company_id == actor.company_id)
        .order_by(Invoice.id).with_for_update(of=Invoice).execution_options(populate_existing=True)).unique()}
    problems = []
    for ln in a.lines:
        inv = invoices.get(ln["invoice_id"])
        if inv is None:
            problems.append(f"Invoice {ln['number']} is not one of your invoices.")
        elif inv.open_amount != Decimal(ln["open"]):
            problems.append(f"{label(inv)}: open {amount_text(inv.open_amount, inv.currency)} in your books, the "
                            f"advice settles {amount_text(Decimal(ln['open']), inv.currency)}.")
    if problems:
        raise ValidationFailed(_l("The advice does not match your open items; nothing was recorded. %(problems)s "
                                  "Record the payment by hand or ask the buyer."),
                               problems=" ".join(problems), errors={"reconcile": _l("Mismatch.")})
    for ln in a.lines:
        inv = invoices[ln["invoice_id"]]
        before = inv.status
        paid, disc = Decimal(ln["paid"]), Decimal(ln["discount"])
        if paid > 0:
            db.session.add(Payment(invoice_id=inv.id, amount=paid, currency=inv.currency, paid_on=a.paid_on,
                                   reference=f"Remittance {a.reference}"[:100], recorded_by_id=actor.id))
        if disc > 0:
            db.session.add(Payment(invoice_id=inv.id, amount=disc, currency=inv.currency, paid_on=a.paid_on,
                                   reference=f"Cash discount {ln['discount_percent']} % ({a.reference})"[:100],
                                   recorded_by_id=actor.id))
        inv.paid_amount = Decimal(inv.paid_amount) + paid + disc
        _settle(inv)
        audit("invoice", inv.id, "payment recorded", actor=actor, company_id=inv.supplier_company_id,
              from_state=before, to_state=inv.status,
              detail=(words.msg(_l("%(amount)s on %(day)s by remittance %(reference)s, cash discount %(discount)s"),
                                amount=words.money(paid, inv.currency), day=words.day(a.paid_on),
                                reference=a.reference, discount=words.money(disc, inv.currency)) if disc else
                      words.msg(_l("%(amount)s on %(day)s by remittance %(reference)s"),
                                amount=words.money(paid, inv.currency), day=words.day(a.paid_on),
                                reference=a.reference)))
    a.status, a.reconciled_at, a.reconciled_by_id = RemittanceStatus.reconciled, utcnow(), actor.id
    from portal.notifications.services import notify_company

    notify_company(a.buyer_company_id, [Role.accounts], kind="invoice", mail=False,
                   title=words.msg(_l("%(supplier)s reconciled remittance advice %(reference)s"),
                                   supplier=a.supplier.display_name, reference=a.reference),
                   body=words.msg(_l("%(amount)s confirmed as received."),
                                  amount=words.money(a.amount, a.currency)),
                   link=_link(a))
    db.session.commit()
    return a


def snapshot(a: RemittanceAdvice) -> dict:
    """The plain dict the PDF renders from."""
    def party(c):
        return {"legal_name": c.legal_name, "display_name": c.display_name, "address_lines": c.address_lines,
                "vat_number": c.vat_number, "iban": c.iban}

    run = db.session.get(PaymentRun, a.run_id)
    return {"reference": a.reference, "run_reference": run.reference, "currency": a.currency,
            "amount": str(quantize(a.amount, a.currency)), "discount_total": str(quantize(a.discount_total, a.currency)), "paid_on": a.paid_on.isoformat(), "buyer": party(a.buyer),
            "supplier": party(a.supplier), "lines": a.lines, **recipient_settings(a.supplier), "timezone": "UTC",
            "message_id": run.message_id or ""}


def list_advices(company_id: int, *, limit: int = 200) -> list[RemittanceAdvice]:
    return list(db.session.scalars(sa.select(RemittanceAdvice).where(RemittanceAdvice.visible_to(company_id))
                                   .order_by(RemittanceAdvice.id.desc()).limit(limit)))

