"""Webhook endpoints (per company, admins only), their deliveries and the delivery attempts.

Delivery: ``schedule_deliveries`` adds one delivery per interested endpoint beside the event (same transaction) and
enqueues its job after the commit; ``attempt`` (the job, queue ``webhooks``) claims the delivery under the row lock,
sends it *outside* any lock, then records the answer. A failed attempt is retried on SCHEDULE (Standard Webhooks'
recommended back-off, about 27.5 hours in all); the periodic sweep enqueues whatever is due. When a delivery has
used up all its attempts and the endpoint has not answered a single one with 2xx since that delivery began, the
endpoint is disabled and the company's admins are told.

Lock order (see portal/credit/ledger.py): the endpoint row, then its delivery rows.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from portal.accounts.models import Role, User
from portal.audit.services import record
from portal.db import db, utcnow
from portal.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from portal.errors import say
from portal.events.models import Event
from portal.jobs import enqueue_after_commit
from portal.locking import check_fresh, lock_row
from portal.notifications.messages import msg
from portal.webhooks import outbound, signing
from portal.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint

QUEUE = "webhooks"
JOB = "portal.webhooks.jobs.deliver_job"
# Seconds to wait before attempt n+1 after attempt n failed: now, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
SCHEDULE = [0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600]
MAX_ATTEMPTS = len(SCHEDULE)
LEASE_SECONDS = 120  # a claimed attempt is re-tried by the sweep if its worker died
ROTATION_OVERLAP = timedelta(hours=24)  # the previous secret keeps signing this long after a rotation
MAX_ENDPOINTS = 20
STALE = _l("This endpoint was changed since you loaded it; reload and try again.")


def total_retry_span() -> timedelta:
    return timedelta(seconds=sum(SCHEDULE))


# --------------------------------------------------------------------------------------------- endpoints

def require_admin(actor: User) -> None:
    if not actor.has_role(Role.admin):
        raise Forbidden(_l("Only your company's administrators manage webhook endpoints."))


def _event_types(values) -> list[str]:
    from portal.events.services import EVENT_TYPES

    if isinstance(values, str):
        values = [v.strip() for v in values.split(",")]
    values = [v.strip() for v in (values or []) if isinstance(v, str) and v.strip()]
    if not values:
        raise ValidationFailed(_l("Choose at least one event type (or \"*\" for all)."),
                               errors={"event_types": _l("Choose at least one event type.")})
    unknown = sorted({v for v in values if v != "*" and v not in EVENT_TYPES})
    if unknown:
        raise ValidationFailed(_l("Unknown event type%(s)s: %(unknown)s."),
                               s='s' if len(unknown) > 1 else '', unknown=', '.join(unknown),
                               errors={"event_types": say(_l("Choose from: %(sorted)s or *."), sorted=', '.join(sorted(EVENT_TYPES)))})
    return ["*"] if "*" in values else sorted(set(values))


def _description(value) -> str:
    value = (value or "").strip()
    if len(value) > 200:
        raise ValidationFailed(_l("The description is too long; at most 200 characters."),
                               errors={"description": _l("At most 200 characters.")})
    return value


def endpoints_of(company_id: int) -> list[WebhookEndpoint]:
    return list(db.session.scalars(sa.select(WebhookEndpoint).where(WebhookEndpoint.company_id == company_id)
                                   .order_by(WebhookEndpoint.id)))


def load_endpoint(actor: User, endpoint_id) -> WebhookEndpoint:
    from portal.tenancy import get_for_company

    require_admin(actor)
    try:
        return get_for_company(WebhookEndpoint, endpoint_id, actor.company_id)
    except NotFound:
        raise NotFound(_l("No such webhook endpoint.")) from None


def _lock(actor: User, endpoint_id) -> WebhookEndpoint:
    require_admin(actor)
    return lock_row(WebhookEndpoint, endpoint_id, where=(WebhookEndpoint.company_id == actor.company_id,),
                    not_found=_l("No such webhook endpoint."))


def create_endpoint(actor: User, *, url: str, event_types, description: str = "") -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret (returned once; shown once). Commits."""
    require_admin(actor)
    url = outbound.check_url(url)
    types = _event_types(event_types)
    description = _description(description)
    count = db.session.scalar(sa.select(sa.func.count()).select_from(WebhookEndpoint)
                              .where(WebhookEndpoint.company_id == actor.company_id)) or 0
    if count >= MAX_ENDPOINTS:
        raise ValidationFailed(_l("A company can have at most %(max_endpoints)s webhook endpoints; remove one first."),
                               max_endpoints=MAX_ENDPOINTS)
    secret = signing.new_secret()
    ep = WebhookEndpoint(company_id=actor.company_id, url=url, event_types=types, description=description,
                         secret=secret, enabled=True, created_by_id=actor.id)
    db.session.add(ep)
    db.session.flush()
    record("webhook_endpoint", ep.id, "created", actor=actor, company_id=actor.company_id,
           detail=f"{url} ({', '.join(types)})", visible_to_company_id=actor.company_id)
    db.session.commit()
    return ep, secret


def update_endpoint(actor: User, endpoint_id, expected_lock_version, **changes) -> WebhookEndpoint:
    """Change url, event_types, description or enabled. Re-enabling starts with a clean failure record; disabling
    fails the deliveries still waiting. Commits."""
    ep = _lock(actor, endpoint_id)
    check_fresh(ep, expected_lock_version, STALE)
    if "url" in changes and changes["url"] is not None:
        ep.url = outbound.check_url(changes["url"])
    if "event_types" in changes and changes["event_types"] is not None:
        ep.event_types = _event_types(changes["event_types"])
    if "description" in changes and changes["description"] is not None:
        ep.description = _description(changes["description"])
    if "enabled" in changes and changes["enabled"] is not None:
        enabled = bool(changes["enabled"])
        if enabled and not ep.enabled:
            ep.enabled, ep.disabled_at, ep.disabled_reason, ep.failing_since = True, None, None, None
        elif not enabled and ep.enabled:
            _disable(ep, "Disabled by an administrator.")
    record("webhook_endpoint", ep.id, "updated", actor=actor, company_id=actor.company_id,
           detail=", ".join(sorted(k for k, v in changes.items() if v is not None)),
           visible_to_company_id=actor.company_id)
    db.session.commit()
    return ep


def rotate_secret(actor: User, endpoint_id, expected_lock_version=None, *, keep_previous: bool = True
                  ) -> tuple[WebhookEndpoint, str]:
    """A new secret; the previous one keeps signing beside it for 24 hours (unless keep_previous=False), so the
    receiver can switch without refusing a message. Commits; the new secret is returned once."""
    ep = _lock(actor, endpoint_id)
    check_fresh(ep, expected_lock_version, STALE, required=False)
    now = utcnow()
    if keep_previous:
        ep.previous_secret, ep.previous_secret_expires_at = ep.secret, now + ROTATION_OVERLAP
    else:
        ep.previous_secret, ep.previous_secret_expires_at = None, None
    secret = signing.new_secret()
    ep.secret = secret
    record("webhook_endpoint", ep.id, "secret_rotated", actor=actor, company_id=actor.company_id,
           detail="previous secret valid 24 h" if keep_previous else "previous secret revoked at once",
           visible_to_company_id=actor.company_id)
    db.session.commit()
    return ep, secret


def delete_endpoint(actor: User, endpoint_id, expected_lock_version=None) -> None:
    ep = _lock(actor, endpoint_id)
    check_fresh(ep, expected_lock_version, STALE, required=False)
    deliveries = sa.select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == ep.id)
    db.session.execute(sa.delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries)))
    db.session.execute(sa.delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == ep.id))
    record("webhook_endpoint", ep.id, "deleted", actor=actor, company_id=actor.company_id, detail=ep.url,
           visible_to_company_id=actor.company_id)
    db.session.delete(ep)
    db.session.commit()


def signing_secrets(ep: WebhookEndpoint, now: datetime | None = None) -> list[str]:
    now = now or utcnow()
    out = [ep.secret]
    if ep.previous_secret and ep.previous_secret_expires_at and ep.previous_secret_expires_at > now:
        out.append(ep.previous_secret)
    return out


def _disable(ep: WebhookEndpoint, reason: str) -> None:
    """Disable (flushes): waiting deliveries fail, nothing new is scheduled. The caller holds the endpoint lock."""
    now = utcnow()
    ep.enabled, ep.disabled_at, ep.disabled_reason = False, now, reason[:300]
    db.session.execute(sa.update(WebhookDelivery)
                       .where(WebhookDelivery.endpoint_id == ep.id,
                              WebhookDelivery.status == DeliveryStatus.pending)
                       .values(status=DeliveryStatus.failed, next_attempt_at=None,
                               error="Not sent: the endpoint was disabled."))


# --------------------------------------------------------------------------------------------- deliveries

def _job_id(delivery: WebhookDelivery) -> str:
    stamp = int(delivery.next_attempt_at.timestamp() * 1000) if delivery.next_attempt_at else 0
    return f"webhook-{delivery.id}-{stamp}"


def _enqueue(delivery: WebhookDelivery, manual: bool = False) -> None:
    enqueue_after_commit(JOB, delivery.id, manual, queue=QUEUE, job_id=_job_id(delivery), timeout=60)


def enabled_endpoints(company_ids) -> dict[int, list[WebhookEndpoint]]:
    """The enabled endpoints of these companies, by company id (one SELECT)."""
    out: dict[int, list[WebhookEndpoint]] = {}
    ids = [c for c in company_ids if c is not None]
    if not ids:
        return out
    for ep in db.session.scalars(sa.select(WebhookEndpoint).where(WebhookEndpoint.company_id.in_(ids),
                                                                   WebhookEndpoint.enabled.is_(True))
                                 .order_by(WebhookEndpoint.id)):
        out.setdefault(ep.company_id, []).append(ep)
    return out


def schedule_deliveries(ev: Event, *, endpoints=None) -> list[WebhookDelivery]:
    """One delivery per enabled endpoint of the event's company that wants its type (flushes; jobs after commit).
    ``endpoints``: that company's enabled endpoints when the caller already read them (portal/events/services.py
    reads them once for all the events of a commit)."""
    out = []
    now = utcnow()
    if endpoints is None:
        endpoints = enabled_endpoints([ev.company_id]).get(ev.company_id, [])
    for ep in endpoints:
        if not ep.wants(ev.type):
            continue
        d = WebhookDelivery(endpoint_id=ep.id, event_id=ev.id, status=DeliveryStatus.pending, attempts=0,
                            next_attempt_at=now, round_started_at=now, created_at=now)
        db.session.add(d)
        out.append(d)
    if out:
        db.session.flush()
        for d in out:
            _enqueue(d)
    return out


def payload(ev: Event) -> bytes:
    """The body sent: {"id", "type", "timestamp", "data"} (Standard Webhooks' recommended shape)."""
    return json.dumps({"id": ev.public_id, "type": ev.type, "timestamp": ev.created_at.isoformat(),
                       "data": ev.data}, separators=(",", ":"), sort_keys=True).encode()


def _lock_pair(delivery_id: int) -> tuple[WebhookEndpoint, WebhookDelivery] | None:
    ep_id = db.session.scalar(sa.select(WebhookDelivery.endpoint_id).where(WebhookDelivery.id == delivery_id))
    if ep_id is None:
        return None
    try:
        ep = lock_row(WebhookEndpoint, ep_id)
        d = lock_row(WebhookDelivery, delivery_id)
    except NotFound:
        return None
    return ep, d


def attempt(delivery_id: int, *, manual: bool = False, now: datetime | None = None) -> str:
    """Send one due delivery and record the answer. Returns what happened ("sent", "failed", "not due" …).
    ``now`` (tests) stands for the clock at both ends of the attempt."""
    clock, now = now, now or utcnow()
    pair = _lock_pair(delivery_id)
    if pair is None:
        db.session.rollback()
        return "gone"
    ep, d = pair
    if d.status != DeliveryStatus.pending:
        db.session.rollback()
        return "done already"
    if not ep.enabled:
        db.session.rollback()
        return "endpoint disabled"
    if d.next_attempt_at is not None and d.next_attempt_at > now + timedelta(seconds=1):
        db.session.rollback()
        return "not due"
    ev = db.session.get(Event, d.event_id)
    body = payload(ev)
    url, secrets_ = ep.url, signing_secrets(ep, now)
    d.next_attempt_at = now + timedelta(seconds=LEASE_SECONDS)  # claimed: a second job finds it not due
    db.session.commit()

    stamp = int(utcnow().timestamp())  # the real sending time (receivers refuse old timestamps)
    result = outbound.post(url, body, signing.headers(secrets_, ev.public_id, stamp, body))

    pair = _lock_pair(delivery_id)
    if pair is None:  # the endpoint was deleted meanwhile
        db.session.rollback()
        return "gone"
    ep, d = pair
    done_at = clock or utcnow()
    db.session.add(WebhookAttempt(delivery_id=d.id, attempted_at=done_at, ok=result.ok,
                                  response_status=result.status, duration_ms=result.duration_ms,
                                  error=(result.error or None) and result.error[:500], manual=manual))
    d.attempts += 1
    d.last_attempt_at, d.response_status, d.duration_ms = done_at, result.status, result.duration_ms
    d.error = (result.error or None) and result.error[:500]
    if d.status != DeliveryStatus.pending:  # disabled meanwhile: keep its state, log the attempt
        db.session.commit()
        return "sent" if result.ok else "failed"
    # failing_since is bookkeeping, not an edit: a plain UPDATE that does not move the endpoint's lock_version
    if result.ok:
        d.status, d.next_attempt_at = DeliveryStatus.succeeded, None
        if ep.failing_since is not None:
            db.session.execute(sa.update(WebhookEndpoint).where(WebhookEndpoint.id == ep.id)
                               .values(failing_since=None).execution_options(synchronize_session=False))
        db.session.commit()
        return "sent"
    if ep.failing_since is None:
        db.session.execute(sa.update(WebhookEndpoint).where(WebhookEndpoint.id == ep.id)
                           .values(failing_since=done_at).execution_options(synchronize_session=False))
    if d.attempts < MAX_ATTEMPTS:
        d.next_attempt_at = done_at + timedelta(seconds=SCHEDULE[d.attempts])
        db.session.commit()
        return "failed"
    d.status, d.next_attempt_at = DeliveryStatus.failed, None
    succeeded_since = db.session.scalar(
        sa.select(sa.func.count()).select_from(WebhookAttempt)
        .join(WebhookDelivery, WebhookDelivery.id == WebhookAttempt.delivery_id)
        .where(WebhookDelivery.endpoint_id == ep.id, WebhookAttempt.ok.is_(True),
               WebhookAttempt.attempted_at >= d.round_started_at))
    if not succeeded_since:  # not one 2xx from this endpoint during the whole ~27 h round
        _auto_disable(ep, d)
    db.session.commit()
    return "failed"


def _auto_disable(ep: WebhookEndpoint, d: WebhookDelivery) -> None:
    from portal.notifications.services import notify_company

    hours = int(total_retry_span().total_seconds() // 3600)
    reason = (f"Disabled automatically: every attempt failed for more than {hours} hours "
              f"(last: {d.error or 'no answer'}).")
    db.session.refresh(ep)
    _disable(ep, reason)
    record("webhook_endpoint", ep.id, "disabled", company_id=ep.company_id, detail=reason,
           visible_to_company_id=ep.company_id)
    notify_company(ep.company_id, [Role.admin], kind="webhook_disabled",
                   title=msg(_l("Webhook endpoint disabled: %(url)s"), url=ep.url[:80]),
                   body=msg(_l("Disabled automatically: every attempt failed for more than %(hours)s hours (last: "
                               "%(error)s). Events are no longer sent to %(url)s. Fix the receiver, enable the "
                               "endpoint again and redeliver what it missed from its delivery log."),
                            hours=hours, error=d.error or msg(_l("no answer")), url=ep.url),
                   link=f"/settings/webhooks/{ep.id}")


def redeliver(actor: User, endpoint_id, delivery_id) -> WebhookDelivery:
    """Send a delivery again now (any state), as a fresh round of attempts. Commits; the job runs after."""
    ep = _lock(actor, endpoint_id)
    if not ep.enabled:
        raise InvalidTransition(_l("The endpoint is disabled; enable it before redelivering."))
    try:
        did = int(delivery_id)
    except (TypeError, ValueError):
        raise NotFound(_l("No such delivery.")) from None
    d = lock_row(WebhookDelivery, did, where=(WebhookDelivery.endpoint_id == ep.id,),
                 not_found=_l("No such delivery."))
    now = utcnow()
    d.status, d.attempts, d.round_started_at, d.next_attempt_at = DeliveryStatus.pending, 0, now, now
    d.error = None
    record("webhook_delivery", d.id, "redelivered", actor=actor, company_id=actor.company_id,
           visible_to_company_id=actor.company_id)
    db.session.flush()
    _enqueue(d, manual=True)
    db.session.commit()
    return d


def deliveries_of(ep: WebhookEndpoint, *, status: str | None = None, before: int | None = None,
                  limit: int = 50) -> list[WebhookDelivery]:
    stmt = sa.select(WebhookDelivery).where(WebhookDelivery.endpoint_id == ep.id)
    if status:
        stmt = stmt.where(WebhookDelivery.status == DeliveryStatus(status))
    if before:
        stmt = stmt.where(WebhookDelivery.id < before)
    stmt = stmt.options(sa.orm.joinedload(WebhookDelivery.event))
    return list(db.session.scalars(stmt.order_by(WebhookDelivery.id.desc()).limit(limit)))


def load_delivery(ep: WebhookEndpoint, delivery_id) -> WebhookDelivery:
    from portal.tenancy import get_child

    return get_child(WebhookDelivery, delivery_id, "delivery", WebhookDelivery.endpoint_id == ep.id)


def gave_up(delivery_id: int) -> bool:
    """The delivery failed its last scheduled attempt (no more retries)."""
    d = db.session.get(WebhookDelivery, delivery_id)
    return d is not None and d.status == DeliveryStatus.failed


def attempts_of(d: WebhookDelivery) -> list[WebhookAttempt]:
    return list(db.session.scalars(sa.select(WebhookAttempt).where(WebhookAttempt.delivery_id == d.id)
                                   .order_by(WebhookAttempt.id.desc())))


def sweep(now: datetime | None = None) -> int:
    """The periodic tick: enqueue every pending delivery that is due (retries, lost enqueues, dead workers)."""
    now = now or utcnow()
    rows = list(db.session.scalars(
        sa.select(WebhookDelivery).join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.status == DeliveryStatus.pending, WebhookDelivery.next_attempt_at <= now,
               WebhookEndpoint.enabled.is_(True))
        .order_by(WebhookDelivery.next_attempt_at).limit(500)))
    for d in rows:
        _enqueue(d)
    db.session.commit()
    return len(rows)
