"""Statement of account between a company and one counterparty over a period, per currency.

Opening balance = invoices − credit notes − payments dated before ``date_from``; then every invoice (+),
credit note (−) and payment (−) in the period in date order with a running balance; closing balance.
Balances are what the buyer owes the supplier. Drafts never appear. Plain values only, so the same dict feeds
the page and the PDF (templates/documents/statement.html).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from portal.accounts.models import Company
from portal.db import db
from portal.errors import NotFound, ValidationFailed
from portal.i18n import _l
from portal.invoices.models import DocumentKind, Invoice, Payment
from portal.invoices.states import InvoiceStatus
from portal.money import ZERO
from portal.documents.language import recipient_settings


def _pair(company_id: int, counterparty_id: int):
    return sa.or_(sa.and_(Invoice.supplier_company_id == company_id, Invoice.buyer_company_id == counterparty_id),
                  sa.and_(Invoice.supplier_company_id == counterparty_id, Invoice.buyer_company_id == company_id))


def statement(company_id: int, counterparty_id: int, date_from: date, date_to: date) -> dict:
    if date_from > date_to:
        raise ValidationFailed(_l("The start date is after the end date."), errors={"from": _l("Before the end date.")})
    me = db.session.get(Company, company_id)
    other = db.session.get(Company, counterparty_id)
    if other is None or other.id == company_id:
        raise NotFound(_l("No such company."))
    pair = _pair(company_id, counterparty_id)
    issued = Invoice.status != InvoiceStatus.draft
    sign = sa.case((Invoice.kind == DocumentKind.credit_note, -1), else_=1)
    opening = defaultdict(lambda: ZERO)
    for cur, amt in db.session.execute(
            sa.select(Invoice.currency, sa.func.sum(Invoice.total_gross * sign))
            .where(pair, issued, Invoice.issue_date < date_from).group_by(Invoice.currency)):
        opening[cur] += Decimal(amt or 0)
    for cur, amt in db.session.execute(
            sa.select(Payment.currency, sa.func.sum(Payment.amount)).join(Invoice, Invoice.id == Payment.invoice_id)
            .where(pair, Payment.paid_on < date_from).group_by(Payment.currency)):
        opening[cur] -= Decimal(amt or 0)
    entries = defaultdict(list)
    for inv in db.session.scalars(sa.select(Invoice).where(pair, issued, Invoice.issue_date >= date_from,
                                                           Invoice.issue_date <= date_to)):
        cn = inv.kind == DocumentKind.credit_note
        entries[inv.currency].append({"date": inv.issue_date, "order": 0 if not cn else 1, "id": inv.id,
                                      "kind": "credit_note" if cn else "invoice", "number": inv.number,
                                      "po": inv.buyer_reference or "",
                                      "text": (f"Credit note {inv.number}" if cn else f"Invoice {inv.number}")
                                      + (f" (PO {inv.buyer_reference})" if inv.buyer_reference else ""),
                                      "due_date": inv.due_date, "amount": -inv.total_gross if cn else inv.total_gross})
    for p, number in db.session.execute(
            sa.select(Payment, Invoice.number).join(Invoice, Invoice.id == Payment.invoice_id)
            .where(pair, Payment.paid_on >= date_from, Payment.paid_on <= date_to)):
        entries[p.currency].append({"date": p.paid_on, "order": 2, "id": p.id, "kind": "payment", "number": number,
                                    "reference": p.reference or "",
                                    "text": f"Payment for {number}" + (f" — {p.reference}" if p.reference else ""),
                                    "due_date": None, "amount": -p.amount})
    sections = []
    for cur in sorted(set(opening) | set(entries)):
        bal = opening[cur]
        rows = []
        for e in sorted(entries[cur], key=lambda e: (e["date"], e["order"], e["id"])):
            bal += e["amount"]
            rows.append({**e, "date": e["date"].isoformat(),
                         "due_date": e["due_date"].isoformat() if e["due_date"] else None,
                         "amount": str(e["amount"]), "balance": str(bal)})
        sections.append({"currency": cur, "opening": str(opening[cur]), "closing": str(bal), "rows": rows})

    def party(c):
        return {"legal_name": c.legal_name, "display_name": c.display_name, "address": c.address_lines,
                "vat_number": c.vat_number or ""}

    return {"document": "statement", **recipient_settings(other), "timezone": "Europe/Berlin", "currency": "EUR",
            "company": party(me), "counterparty": party(other), "counterparty_id": other.id,
            "from": date_from.isoformat(), "to": date_to.isoformat(), "sections": sections,
            "company_is_supplier": me.is_supplier}
