"""The receivables demo: Nordstahl's interest terms and one dunning letter for Hartmann, rendered; idempotent."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from portal.db import db
from portal.receivables import demo
from portal.receivables.models import DunningNotice, DunningSettings
from tests.receivables.conftest import open_invoice


def test_demo_sends_one_letter_with_interest(rw):
    open_invoice(rw, "500.00", days_late=5)
    oldest = open_invoice(rw, "3574.57", days_late=35)
    open_invoice(rw, "100.00", days_late=50, disputed=True)  # disputed: never the demo's letter
    companies = {"nordstahl": rw.supplier_a, "hartmann": rw.buyer}
    demo.seed(companies, {})
    demo.seed(companies, {})
    s = db.session.get(DunningSettings, rw.supplier_a.id)
    assert s.charge_interest and s.reference_rate == Decimal("2.15")
    notices = db.session.scalars(sa.select(DunningNotice)).all()
    assert len(notices) == 1
    n = notices[0]
    assert (n.invoice_id, n.level, n.days_late) == (oldest.id, 3, 35)
    assert n.interest_amount == Decimal("34.79")  # 3,574.57 × 10.15 % × 35 / 365
    assert n.pdf_file_id is not None
