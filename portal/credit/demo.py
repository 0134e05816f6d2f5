"""Demo credit terms: Nordstahl gives Hartmann 50,000 EUR and Van Dijk only 5,000 EUR (so a big order from Van
Dijk goes on hold); Nordstahl's default is 25,000 EUR net 30; Lefèvre and Polmet default to 20,000 EUR net 30;
Alpenwerk (which also supplies) to 30,000 EUR net 30. Suppliers or buyers missing from ``companies`` are skipped."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from portal.credit.models import CreditAccount
from portal.db import db

TERMS = [
    # supplier, buyer (None = default), limit, terms days
    ("nordstahl", None, "25000", 30),
    ("nordstahl", "hartmann", "50000", 30),
    ("nordstahl", "vandijk", "5000", 14),
    ("lefevre", None, "20000", 30),
    ("polmet", None, "20000", 30),
    ("alpenwerk", None, "30000", 30),
]


def seed(companies, users) -> None:
    for supplier_key, buyer_key, limit, days in TERMS:
        supplier = companies.get(supplier_key)
        buyer = companies.get(buyer_key) if buyer_key else None
        if supplier is None or (buyer_key and buyer is None):
            continue
        buyer_id = buyer.id if buyer else None
        exists = db.session.scalar(sa.select(CreditAccount.id).where(
            CreditAccount.supplier_company_id == supplier.id,
            CreditAccount.buyer_company_id.is_(None) if buyer_id is None
            else CreditAccount.buyer_company_id == buyer_id))
        if exists:
            continue
        db.session.add(CreditAccount(supplier_company_id=supplier.id, buyer_company_id=buyer_id,
                                     limit_amount=Decimal(limit), currency="EUR", payment_terms_days=days,
                                     block_on_overdue=True))
    db.session.commit()
