"""Two approvals that each fit but together exceed a blocking budget: one succeeds, the other waits on the budget
row lock, then sees the first one's commitment and is refused (PostgreSQL, threads)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from portal.db import db
from portal.errors import ValidationFailed
from tests.concurrency.conftest import race
from tests.requisitions.conftest import line, raise_req

pytestmark = pytest.mark.usefixtures("app")


def test_two_approvals_cannot_both_spend_the_budget(app, rw, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks: PostgreSQL")
    from portal.accounts.models import User
    from portal.budgets import services as budgets
    from portal.budgets.figures import figures_for
    from portal.requisitions import services
    from portal.requisitions.models import Requisition

    budgets.save_settings(rw.buyer_admin, cost_centre_required=False, budget_mode="block")
    ids = [raise_req(rw, line(qty="6", price="100", cc=rw.cc)).id for _ in range(2)]  # 600 + 600 > 1,000
    owner_id = rw.owner.id

    def work(i):
        owner = db.session.get(User, owner_id)
        return services.decide(owner, ids[i], None, "approved").status.value

    results = race(app, 2, work)
    ok = [v for good, v in results if good]
    refused = [v for good, v in results if not good]
    assert ok == ["approved"]
    assert len(refused) == 1 and isinstance(refused[0], ValidationFailed)
    assert "budget would be exceeded" in str(refused[0])
    statuses = sorted(db.session.get(Requisition, i).status.value for i in ids)
    assert statuses == ["approved", "submitted"]
    fig = figures_for(rw.buyer.id, "EUR", [rw.budget])[rw.budget.id]
    assert fig.committed == Decimal("600.00") and fig.available == Decimal("400.00")
