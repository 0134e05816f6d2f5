"""Concurrency on PostgreSQL: row locks and the optimistic lock_version, proven with threads."""
import threading

import pytest

from portal.db import db
from portal.errors import Conflict
from portal.quotes import services
from portal.quotes.models import Quote, QuoteVersion
from tests.quotes.helpers import count, draft_with, header, lines

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("isolated_requests")]


def run_together(app, fns):
    barrier = threading.Barrier(len(fns))
    results = [None] * len(fns)

    def worker(i, fn):
        with app.app_context():
            try:
                barrier.wait()
                results[i] = ("ok", fn())
            except Exception as exc:  # noqa: BLE001
                results[i] = ("err", exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_two_saves_with_the_same_lock_version_one_wins(app, world, open_rfq):
    q = draft_with(open_rfq, world.sales_a, ["1", "2", "3"])
    qid, lock, rfq_id = q.id, db.session.get(Quote, q.id).lock_version, open_rfq.id
    uid = world.sales_a.id

    def save(price):
        def fn():
            from portal.accounts.models import User
            from portal.rfq.models import Rfq

            actor = db.session.get(User, uid)
            rfq = db.session.get(Rfq, rfq_id)
            quote = db.session.get(Quote, qid)
            services.save_draft(quote, actor, header(), lines(rfq, [price] * 3), lock)
            return price
        return fn

    results = run_together(app, [save("7"), save("8")])
    oks = [r for r in results if r[0] == "ok"]
    errs = [r for r in results if r[0] == "err"]
    assert len(oks) == 1 and len(errs) == 1 and isinstance(errs[0][1], Conflict), results
    db.session.expire_all()
    v = db.session.get(Quote, qid).draft_version
    assert {str(ql.unit_price.normalize()) for ql in v.lines} == {oks[0][1]}


def test_two_colleagues_starting_a_quote_make_one_quote(app, world, open_rfq):
    from tests import factories

    other = factories.user(world.supplier_a, "sales")
    ids = (world.sales_a.id, other.id)
    rfq_id = open_rfq.id

    def start(uid):
        def fn():
            from portal.accounts.models import User
            from portal.rfq.models import Rfq

            return services.get_or_create_draft(db.session.get(Rfq, rfq_id), db.session.get(User, uid)).id
        return fn

    results = run_together(app, [start(ids[0]), start(ids[1])])
    assert all(r[0] == "ok" or isinstance(r[1], Conflict) for r in results), results
    assert count(Quote) == 1 and count(QuoteVersion) == 1


def test_submit_and_withdraw_race(app, world, open_rfq):
    """A revision submitted while a colleague withdraws the same quote: the row lock serialises them and the
    loser is told the quote changed (no lost update, no 500)."""
    from portal.quotes.states import QuoteStatus
    from tests.quotes.helpers import submitted

    q = submitted(open_rfq, world.sales_a, ["1", "2", "3"])
    q = services.get_or_create_draft(db.session.get(type(open_rfq), open_rfq.id), world.sales_a)
    qid, lock, uid = q.id, db.session.get(Quote, q.id).lock_version, world.sales_a.id

    def act(kind):
        def fn():
            from portal.accounts.models import User

            actor = db.session.get(User, uid)
            quote = db.session.get(Quote, qid)
            if kind == "submit":
                return services.submit(quote, actor, lock).status
            return services.withdraw(quote, actor, "capacity", lock).status
        return fn

    results = run_together(app, [act("submit"), act("withdraw")])
    assert sorted(r[0] for r in results) == ["err", "ok"], results
    assert isinstance(next(r[1] for r in results if r[0] == "err"), Conflict)
    db.session.expire_all()
    assert db.session.get(Quote, qid).status in (QuoteStatus.submitted, QuoteStatus.withdrawn)


def test_concurrent_expiry_sweeps_notify_once(app, world, open_rfq):
    from datetime import timedelta

    from portal.db import utcnow
    from portal.notifications.models import Notification
    from tests.quotes.helpers import submitted

    q = submitted(open_rfq, world.sales_a, ["1", "2", "3"])
    q = db.session.get(Quote, q.id)
    q.current_version.valid_until = utcnow().date() - timedelta(days=1)
    db.session.commit()
    results = run_together(app, [services.expire_due_quotes, services.expire_due_quotes])
    assert all(r[0] == "ok" for r in results), results
    assert sum(r[1] for r in results) == 1
    assert count(Notification, Notification.kind == "quote_expired") == 1
