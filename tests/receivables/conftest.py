"""Receivables fixtures: a supplier with customers and issued invoices in any state, built as rows (the
invoicing rules that produce them are tested in tests/invoices)."""
from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.db import db, utcnow
from portal.invoices.models import DocumentKind, Invoice, InvoiceSettings
from portal.invoices.states import InvoiceStatus
from tests import factories

IBAN = "DE89370400440532013000"
_seq = itertools.count(1)


@pytest.fixture
def rw(world):
    """The world with a second buyer (Globex) and its accounts person; the supplier has an IBAN."""
    world.supplier_a.iban = IBAN
    world.supplier_a.bic = "COBADEFFXXX"
    world.supplier_a.vat_number = "DE136695976"
    globex = factories.company("buyer", name="Globex Einkauf AG")
    world.buyer2 = globex
    world.people["buyer2_accounts"] = factories.user(globex, "accounts", email="accounts@globex.test")
    world.people["accounts_b"] = factories.user(world.supplier_b, "accounts", email="accounts@beta.test")
    db.session.commit()
    return world


def open_invoice(world, gross: str, *, due_in: int | None = None, days_late: int | None = None, currency="EUR",
                 paid="0", credited="0", buyer=None, supplier=None, status=None, kind=DocumentKind.invoice,
                 today: date | None = None, disputed=False) -> Invoice:
    """An issued invoice of ``gross`` due ``due_in`` days from today (or ``days_late`` days ago)."""
    today = today or utcnow().date()
    due = today + timedelta(days=due_in) if due_in is not None else today - timedelta(days=days_late or 0)
    supplier = supplier or world.supplier_a
    buyer = buyer or world.buyer
    n = next(_seq)
    gross_d = Decimal(gross)
    if status is None:
        status = InvoiceStatus.partially_paid if Decimal(paid) > 0 else InvoiceStatus.issued
    issued = status != InvoiceStatus.draft
    series = "CRN" if kind == DocumentKind.credit_note else "INV"
    inv = Invoice(kind=kind, supplier_company_id=supplier.id, buyer_company_id=buyer.id, series=series,
                  year=today.year if issued else None, sequence=n if issued else None,
                  number=f"{series}-T-{n:05d}" if issued else None, status=status, currency=currency,
                  issue_date=due - timedelta(days=30), due_date=due, payment_terms_days=30,
                  buyer_reference=f"PO-{n}", total_net=gross_d, total_tax=Decimal(0), total_gross=gross_d,
                  paid_amount=Decimal(paid), credited_amount=Decimal(credited), created_by_id=world.accounts_a.id
                  if supplier.id == world.supplier_a.id else world.sales_b.id,
                  credit_reason="other" if kind == DocumentKind.credit_note else None,
                  disputed_at=utcnow() if disputed else None,
                  snapshot={"seller": {"legal_name": supplier.legal_name, "display_name": supplier.display_name,
                                       "address": ["Hafenstraße 1", "44147 Dortmund"], "iban": supplier.iban or "",
                                       "bic": supplier.bic or ""},
                            "buyer": {"legal_name": buyer.legal_name, "display_name": buyer.display_name,
                                      "address": ["Einkaufsweg 2", "10115 Berlin"]},
                            "footer_note": "Test footer"} if issued else None)
    db.session.add(inv)
    db.session.commit()
    return inv


def set_days(supplier, days: str) -> None:
    s = db.session.get(InvoiceSettings, supplier.id)
    if s is None:
        db.session.add(InvoiceSettings(supplier_company_id=supplier.id, reminder_days=days))
    else:
        s.reminder_days = days
    db.session.commit()


def move_due(inv: Invoice, due: date) -> None:
    db.session.execute(sa.update(Invoice).where(Invoice.id == inv.id).values(due_date=due))
    db.session.commit()
    db.session.expire_all()
