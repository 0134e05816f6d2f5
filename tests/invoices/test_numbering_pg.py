"""Gapless, unique numbers under concurrency (PostgreSQL: real row locks between real connections)."""
from __future__ import annotations

import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.accounts.models import User
from portal.db import db, utcnow
from portal.invoices import services
from portal.invoices.models import Invoice, InvoiceLine

THREADS, PER_THREAD = 8, 50


def _bulk_drafts(world, n: int) -> list[int]:
    rows = [dict(kind="invoice", supplier_company_id=world.supplier_a.id, buyer_company_id=world.buyer.id,
                 series="INV", status="draft", currency="EUR", payment_terms_days=30, buyer_reference=f"PO-{i}",
                 reverse_charge=False, total_net=Decimal("10.00"), total_tax=Decimal("1.90"),
                 total_gross=Decimal("11.90"), paid_amount=0, credited_amount=0, notes="",
                 created_by_id=world.accounts_a.id, lock_version=1, created_at=utcnow(), updated_at=utcnow())
            for i in range(n)]
    ids = list(db.session.scalars(sa.insert(Invoice).returning(Invoice.id), rows))
    db.session.execute(sa.insert(InvoiceLine), [
        dict(invoice_id=i, position=1, description="Service", quantity=Decimal(1), unit="pcs",
             unit_price=Decimal("10.00"), discount_percent=0, tax_rate=Decimal("19"), net_amount=Decimal("10.00"))
        for i in ids])
    db.session.commit()
    return ids


@pytest.mark.postgres
def test_parallel_issues_are_gapless_and_unique(app, iw):
    ids = _bulk_drafts(iw, THREADS * PER_THREAD)
    actor_id = iw.accounts_a.id
    errors = []
    barrier = threading.Barrier(THREADS)

    def worker(chunk):
        with app.app_context():
            actor = db.session.get(User, actor_id)
            barrier.wait()
            for inv_id in chunk:
                try:
                    inv = db.session.get(Invoice, inv_id)
                    services.issue(inv, actor, inv.lock_version)
                except Exception as exc:  # noqa: BLE001
                    errors.append(repr(exc))
            db.session.remove()

    threads = [threading.Thread(target=worker, args=(ids[i::THREADS],)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[:3]
    db.session.expire_all()
    seqs = sorted(db.session.scalars(sa.select(Invoice.sequence)))
    assert seqs == list(range(1, THREADS * PER_THREAD + 1))
    numbers = list(db.session.scalars(sa.select(Invoice.number)))
    assert len(set(numbers)) == len(numbers) == THREADS * PER_THREAD
