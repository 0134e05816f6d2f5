"""An RFQ is awarded at most once, even when eight people press "Award" at the same moment (PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from portal.accounts.models import User
from portal.db import db
from portal.errors import Conflict, InvalidTransition
from portal.quotes import award as award_service
from portal.quotes.models import Award, AwardLine
from portal.rfq.models import Rfq
from portal.rfq.states import RfqStatus
from tests import factories
from tests.accounts.helpers import _isolated_requests  # noqa: F401  (one app context per request)

THREADS = 8


@pytest.mark.postgres
@pytest.mark.parametrize("with_version", [False, True])
def test_eight_simultaneous_awards_make_exactly_one(app, world, with_version):
    r = factories.closed_rfq(world.buyer, world.procurement, suppliers=[world.supplier_a, world.supplier_b])
    qa = factories.quote(r, world.supplier_a, world.sales_a, prices=["1", "2", "3"])
    qb = factories.quote(r, world.supplier_b, world.sales_b, prices=["0.5", "9", "9"])
    rfq_id, version = r.id, r.version
    line_ids = [ln.id for ln in r.lines]
    people = [world.procurement.id, world.procurement2.id]
    quotes = [qa.id, qb.id]
    barrier = threading.Barrier(THREADS)
    results: list = [None] * THREADS

    def attempt(i):
        with app.app_context():
            try:
                actor = db.session.get(User, people[i % 2])
                rfq = db.session.get(Rfq, rfq_id)  # every thread saw the RFQ "closed"
                assert rfq.status == RfqStatus.closed
                expected = version if with_version else None
                barrier.wait(timeout=20)
                if i % 2:
                    award_service.award_split(
                        rfq,
                        actor,
                        {line_ids[0]: quotes[1], line_ids[1]: quotes[0]},
                        expected_version=expected,
                    )
                else:
                    award_service.award_whole(rfq, actor, quotes[0], expected_version=expected)
                results[i] = "ok"
            except (Conflict, InvalidTransition) as exc:
                results[i] = exc
            except BaseException as exc:  # noqa: BLE001 - reported below
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results.count("ok") == 1, results
    refused = [x for x in results if x != "ok"]
    assert all(isinstance(x, (Conflict, InvalidTransition)) for x in refused), refused
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Award.id)).where(Award.rfq_id == rfq_id)) == 1
    award = db.session.scalar(sa.select(Award).where(Award.rfq_id == rfq_id))
    assert db.session.scalar(sa.select(sa.func.count(AwardLine.id))) == len(award.lines) in (2, 3)
    assert db.session.get(Rfq, rfq_id).status == RfqStatus.awarded


@pytest.mark.postgres
def test_the_award_locks_the_rfq_row(app, world, count_queries):
    r = factories.closed_rfq(world.buyer, world.procurement)
    q = factories.quote(r, world.supplier_a, world.sales_a)
    with count_queries() as seen:
        award_service.award_whole(r, world.procurement, q.id)
    locking = [s for s in seen.statements if "FOR UPDATE" in s.upper() and "rfqs" in s]
    assert locking, "the RFQ row is not locked with SELECT ... FOR UPDATE"
