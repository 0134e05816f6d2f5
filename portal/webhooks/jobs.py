"""Webhook delivery job (queue ``webhooks``): one attempt of one delivery; its outcome is recorded, never raised
(the back-off is the delivery's own schedule, not RQ's retry)."""
from __future__ import annotations

from portal.jobs.queue import task


@task()
def deliver_job(delivery_id: int, manual: bool = False) -> str:
    from portal.ops.metrics import webhook_delivery
    from portal.webhooks.services import attempt, gave_up

    outcome = attempt(delivery_id, manual=manual)
    if outcome == "sent":
        webhook_delivery("delivered")
    elif outcome == "failed":
        webhook_delivery("gave_up" if gave_up(delivery_id) else "failed")
    return outcome
