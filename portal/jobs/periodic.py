"""Timed work. The RQ cron scheduler enqueues ``tick`` every 30 seconds; tick runs each domain's sweep.

Each sweep is idempotent and safe to run concurrently with itself (it locks or re-checks the rows it moves),
so a late or doubled tick is harmless. Domains add their sweep to SWEEPS.
"""
from __future__ import annotations

import logging

from portal.jobs.queue import resolve, task

log = logging.getLogger(__name__)

TICK_SECONDS = 30
SWEEPS: list[str] = [
    "portal.rfq.services.close_due_rfqs",
    "portal.quotes.services.expire_due_quotes",
    "portal.receivables.dunning.run_dunning",
    "portal.orders.approvals.escalate_waiting_orders",
    "portal.webhooks.services.sweep",  # due webhook retries (and deliveries Redis lost)
    "portal.events.services.purge_expired",  # the change feed keeps EVENT_RETENTION_DAYS (>= 30)
    "portal.frameworks.services.sweep",  # framework agreements: expiry, and the notice 30 days before
    "portal.suppliers.services.remind_expiring_certificates",  # certificates expiring within 30 days
    # last: enqueue work the database waits for but Redis lost (Redis was down) or a dead worker abandoned
    "portal.jobs.reconcile.reconcile",
]
TIMED_QUEUE = "timed"


@task()
def tick() -> dict:
    done = {}
    for path in SWEEPS:
        try:
            fn = resolve(path)
        except (ImportError, AttributeError):
            continue
        try:
            done[path] = fn()
        except Exception:  # noqa: BLE001 - one failing sweep must not stop the others
            log.exception("sweep %s failed", path)
            from portal.db import db

            db.session.rollback()
    return done
