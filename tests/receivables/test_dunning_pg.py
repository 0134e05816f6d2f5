"""Dunning under concurrency (PostgreSQL, real connections): sweeps running at once send each level once."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.db import db, utcnow
from portal.invoices.models import Invoice
from portal.jobs.models import JobRecord
from portal.notifications.models import Notification
from portal.receivables import dunning
from portal.receivables.models import DunningNotice
from tests.concurrency.conftest import race
from tests.receivables.conftest import open_invoice, set_days


@pytest.mark.postgres
def test_simultaneous_sweeps_send_each_level_once(app, rw):
    set_days(rw.supplier_a, "3,14,30")
    invoices = [open_invoice(rw, "100.00", days_late=5 + i) for i in range(15)]
    today = utcnow().date()
    results = race(app, 6, lambda i: dunning.run_dunning(today))
    assert all(ok for ok, _ in results), [v for ok, v in results if not ok]
    assert sum(v for _, v in results) == 15  # every letter counted by exactly one sweep
    rows = db.session.execute(sa.select(DunningNotice.invoice_id, DunningNotice.level)).all()
    assert sorted(rows) == sorted((inv.id, 1 if 5 + i < 14 else 2) for i, inv in enumerate(invoices))
    assert db.session.scalar(sa.select(sa.func.count(JobRecord.id)).where(JobRecord.kind == "dunning-letter")) == 15
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))
                             .where(Notification.kind == "invoice-reminder")) == 30


@pytest.mark.postgres
def test_a_dispute_and_a_sweep_at_once_never_dun_a_disputed_invoice(app, rw):
    """The dispute (as the payables side sets it: under the invoice's row lock) and the sweep race; whichever
    order the database gives them, no letter is sent after the invoice became disputed."""
    set_days(rw.supplier_a, "3")
    invoices = [open_invoice(rw, "100.00", days_late=5) for _ in range(10)]
    ids = [inv.id for inv in invoices]
    today = utcnow().date()

    def work(i):
        if i == 0:
            return dunning.run_dunning(today)
        for inv_id in ids:
            db.session.execute(sa.select(Invoice.id).where(Invoice.id == inv_id).with_for_update())
            db.session.execute(sa.update(Invoice).where(Invoice.id == inv_id).values(disputed_at=utcnow()))
            db.session.commit()
        return None

    results = race(app, 2, work)
    assert all(ok for ok, _ in results), results
    notices = db.session.execute(sa.select(DunningNotice.invoice_id, DunningNotice.created_at)).all()
    disputed = dict(db.session.execute(sa.select(Invoice.id, Invoice.disputed_at).where(Invoice.id.in_(ids))).all())
    for inv_id, created in notices:
        assert created <= disputed[inv_id]  # dunned before the dispute, never after
    assert all(disputed.values())
