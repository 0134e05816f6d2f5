"""Two payment runs taking the same invoice at the same moment: one wins, the other gets a sentence (PostgreSQL,
threads released together). Ten simultaneous approvals of one run: one success."""
from __future__ import annotations

import pytest

from portal.db import db
from portal.errors import Conflict, DomainError
from portal.payables import runs
from portal.payables.models import ItemState, PaymentRun, PaymentRunItem
from tests.concurrency.conftest import race

pytestmark = pytest.mark.postgres


def test_two_runs_taking_the_same_invoices_at_once_one_wins(app, pw, make_invoice):
    ids = [make_invoice().id for _ in range(3)]
    user_ids = [pw.buyer_accounts.id, pw.accounts2.id]

    def work(i):
        from portal.accounts.models import User

        return runs.build_run(db.session.get(User, user_ids[i]), invoice_ids=ids).id

    results = race(app, 2, work)
    ok = [v for good, v in results if good]
    errors = [v for good, v in results if not good]
    assert len(ok) == 1 and len(errors) == 1, results
    assert isinstance(errors[0], Conflict) and "already in payment run" in str(errors[0])
    assert db.session.query(PaymentRun).count() == 1
    claims = db.session.query(PaymentRunItem).filter_by(state=ItemState.included).all()
    assert sorted(c.invoice_id for c in claims) == ids


def test_two_runs_by_due_date_at_once_share_nothing(app, pw, make_invoice):
    from datetime import timedelta

    from portal.db import utcnow

    ids = [make_invoice(due_in=-1).id for _ in range(4)]
    user_ids = [pw.buyer_accounts.id, pw.accounts2.id]

    def work(i):
        from portal.accounts.models import User

        return runs.build_run(db.session.get(User, user_ids[i]), due_by=utcnow().date() + timedelta(days=1)).id

    results = race(app, 2, work)
    assert sum(1 for good, _ in results if good) == 1, results
    bad = [v for good, v in results if not good]
    assert isinstance(bad[0], DomainError)
    claims = db.session.query(PaymentRunItem).filter_by(state=ItemState.included).all()
    assert sorted(c.invoice_id for c in claims) == ids


def test_ten_simultaneous_approvals_give_one(app, pw, make_invoice):
    from portal.accounts.models import User
    from tests import factories

    run = runs.build_run(pw.buyer_accounts, invoice_ids=[make_invoice().id])
    approvers = [factories.user(pw.buyer, "approver", email=f"ap{i}@acme.test").id for i in range(10)]
    version = run.lock_version
    run_id = run.id

    def work(i):
        r = db.session.get(PaymentRun, run_id)
        return runs.approve_run(r, db.session.get(User, approvers[i]), version)[0].status.value

    results = race(app, 10, work)
    assert sum(1 for good, _ in results if good) == 1
    assert all(isinstance(v, DomainError) for good, v in results if not good)
