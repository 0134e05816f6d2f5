"""Two administrators save a rate of the same currency from the same day at the same moment: one is saved, the other
gets a sentence (409), never two rates for one day (PostgreSQL, threads)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.db import db
from portal.errors import Conflict, ValidationFailed
from tests.concurrency.conftest import race

pytestmark = pytest.mark.usefixtures("app")


def test_two_saves_of_the_same_day_keep_one_rate(app, rw, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent inserts: PostgreSQL")
    from portal.accounts.models import User
    from portal.budgets import rates
    from portal.budgets.models import ExchangeRate

    admin_id = rw.buyer_admin.id

    def work(i):
        admin = db.session.get(User, admin_id)
        return rates.add_rate(admin, currency="USD", rate=("0.91", "0.92")[i], valid_from="2026-05-01").id

    results = race(app, 2, work)
    ok = [v for good, v in results if good]
    refused = [v for good, v in results if not good]
    assert len(ok) == 1 and len(refused) == 1
    # the loser either waited for the winner's insert (unique index) or read it before inserting
    assert isinstance(refused[0], (Conflict, ValidationFailed)), refused[0]
    assert "same currency and day" in str(refused[0]) or "already a USD rate" in str(refused[0])
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ExchangeRate)) == 1
