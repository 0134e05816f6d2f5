"""Credit jobs (queue "credit"): take ids, call services, safe to run twice."""
from __future__ import annotations

from portal.db import db
from portal.jobs.queue import task
from portal.orders.models import PurchaseOrder
from portal.orders.states import OrderStatus


@task()
def credit_check_job(order_id: int):
    """Check one submitted order. Idempotent: an order already decided (or gone) is left alone — check_order
    re-reads it under its row lock and decides only a submitted one (no separate read first: one round trip
    less per check)."""
    from portal.credit.services import check_order
    from portal.errors import NotFound

    try:
        cc = check_order(order_id)
    except NotFound:  # gone
        return None
    return cc.outcome if cc is not None else None


@task()
def credit_recheck_job(order_id: int, user_id: int):
    """"Check again" of an order on credit hold. Idempotent: an order no longer on hold is left alone."""
    order = db.session.get(PurchaseOrder, order_id)
    if order is None or order.status != OrderStatus.credit_hold:
        return None
    from portal.credit.services import check_order

    cc = check_order(order_id, recheck_by=user_id)
    return cc.outcome if cc is not None else None


@task()
def noop_job(order_id: int):
    """Does nothing: the floor a credit job is measured against (bench/bench_orders.py runs it on the same worker
    in the same run): the worker, the task wrapper and an application context, without the check."""
    return None
