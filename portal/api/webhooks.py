"""/api/v1/webhook-endpoints — where the portal sends your company's events (Standard Webhooks), their delivery
log and redelivery. Company administrators only."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from portal.api.auth import idempotent
from portal.api.common import actor, created, make_blueprint
from portal.api.schemas import MAX_INT, LockArgs, ts
from portal.events.services import EVENT_TYPES
from portal.webhooks import services as hooks
from portal.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

bp = make_blueprint("api_webhooks", "Webhook endpoints, their delivery log and redelivery.", tag="Webhooks")

TYPE_CHOICES = sorted(EVENT_TYPES) + ["*"]


class EndpointOut(Schema):
    id = fields.Integer(required=True)
    url = fields.String(required=True, metadata={"example": "https://erp.example.com/hooks/portal"})
    description = fields.String(required=True)
    event_types = fields.List(fields.String(validate=validate.OneOf(TYPE_CHOICES)), required=True,
                              metadata={"example": ["order.placed", "invoice.issued"]})
    enabled = fields.Boolean(required=True)
    disabled_at = fields.DateTime(required=True, allow_none=True)
    disabled_reason = fields.String(required=True, allow_none=True)
    failing_since = fields.DateTime(required=True, allow_none=True)
    previous_secret_expires_at = fields.DateTime(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    lock_version = fields.Integer(required=True)


class EndpointWithSecret(EndpointOut):
    secret = fields.String(required=True, metadata={
        "description": "The signing secret (Standard Webhooks format). Shown only in this answer: store it.",
        "example": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})


class EndpointList(Schema):
    items = fields.List(fields.Nested(EndpointOut), required=True)


class EndpointIn(Schema):
    url = fields.String(required=True, validate=validate.Length(min=1, max=500))
    event_types = fields.List(fields.String(validate=validate.OneOf(TYPE_CHOICES)), required=True,
                              validate=validate.Length(min=1, max=len(TYPE_CHOICES)))
    description = fields.String(load_default="", validate=validate.Length(max=200))


class EndpointPatch(LockArgs):
    url = fields.String(validate=validate.Length(min=1, max=500))
    event_types = fields.List(fields.String(validate=validate.OneOf(TYPE_CHOICES)),
                              validate=validate.Length(min=1, max=len(TYPE_CHOICES)))
    description = fields.String(validate=validate.Length(max=200))
    enabled = fields.Boolean()


class RotateIn(LockArgs):
    keep_previous = fields.Boolean(load_default=True, metadata={
        "description": "Keep signing with the previous secret too for 24 hours (default), or revoke it now."})


class DeliveryOut(Schema):
    id = fields.Integer(required=True)
    event_id = fields.Integer(required=True)
    webhook_id = fields.String(required=True)
    event_type = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf([s.value for s in DeliveryStatus]))
    attempts = fields.Integer(required=True)
    response_status = fields.Integer(required=True, allow_none=True)
    duration_ms = fields.Integer(required=True, allow_none=True)
    error = fields.String(required=True, allow_none=True)
    last_attempt_at = fields.DateTime(required=True, allow_none=True)
    next_attempt_at = fields.DateTime(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)


class AttemptOut(Schema):
    attempted_at = fields.DateTime(required=True)
    ok = fields.Boolean(required=True)
    response_status = fields.Integer(required=True, allow_none=True)
    duration_ms = fields.Integer(required=True)
    error = fields.String(required=True, allow_none=True)
    manual = fields.Boolean(required=True)


class DeliveryDetail(DeliveryOut):
    attempts_log = fields.List(fields.Nested(AttemptOut), required=True)


class DeliveryList(Schema):
    items = fields.List(fields.Nested(DeliveryOut), required=True)
    next_before = fields.Integer(required=True, allow_none=True,
                                 metadata={"description": "Send as `before` for older deliveries."})


class DeliveryQuery(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf([s.value for s in DeliveryStatus]))
    before = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_INT))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


def endpoint_dict(ep: WebhookEndpoint) -> dict:
    return {"id": ep.id, "url": ep.url, "description": ep.description or "", "event_types": ep.event_types,
            "enabled": ep.enabled, "disabled_at": ts(ep.disabled_at), "disabled_reason": ep.disabled_reason,
            "failing_since": ts(ep.failing_since), "previous_secret_expires_at": ts(ep.previous_secret_expires_at),
            "created_at": ts(ep.created_at), "updated_at": ts(ep.updated_at), "lock_version": ep.lock_version}


def delivery_dict(d: WebhookDelivery) -> dict:
    return {"id": d.id, "event_id": d.event_id, "webhook_id": f"evt_{d.event_id}", "event_type": d.event.type,
            "status": d.status.value, "attempts": d.attempts, "response_status": d.response_status,
            "duration_ms": d.duration_ms, "error": d.error, "last_attempt_at": ts(d.last_attempt_at),
            "next_attempt_at": ts(d.next_attempt_at) if d.status == DeliveryStatus.pending else None,
            "created_at": ts(d.created_at)}


@bp.route("/webhook-endpoints", methods=["GET"])
@bp.response(200, EndpointList)
def list_endpoints():
    """Your company's webhook endpoints (administrators)."""
    user = actor()
    hooks.require_admin(user)
    return {"items": [endpoint_dict(e) for e in hooks.endpoints_of(user.company_id)]}


@bp.route("/webhook-endpoints", methods=["POST"])
@idempotent
@bp.arguments(EndpointIn)
@bp.response(201, EndpointWithSecret)
@created("api_webhooks.get_endpoint", endpoint_id="id")
def create_endpoint(data):
    """Add an endpoint for the chosen event types ("*" for all). The answer carries the signing `secret`
    (`whsec_…`) once; verify each delivery's `webhook-signature` with it (Standard Webhooks)."""
    ep, secret = hooks.create_endpoint(actor(), url=data["url"], event_types=data["event_types"],
                                       description=data.get("description", ""))
    return endpoint_dict(ep) | {"secret": secret}


@bp.route("/webhook-endpoints/<int(max=2147483647):endpoint_id>", methods=["GET"])
@bp.response(200, EndpointOut)
def get_endpoint(endpoint_id):
    """One endpoint (its secret is never shown again; rotate it to get a new one)."""
    return endpoint_dict(hooks.load_endpoint(actor(), endpoint_id))


@bp.route("/webhook-endpoints/<int(max=2147483647):endpoint_id>", methods=["PATCH"])
@bp.arguments(EndpointPatch)
@bp.response(200, EndpointOut)
def patch_endpoint(data, endpoint_id):
    """Change the URL, event types, description, or enable/disable it (`enabled`). Re-enabling a disabled
    endpoint starts with a clean failure record; redeliver what it missed from its delivery log."""
    from portal.api.schemas import lock_or_current

    user = actor()
    hooks.load_endpoint(user, endpoint_id)
    lock = lock_or_current(None, data.pop("lock_version", None))
    ep = hooks.update_endpoint(user, endpoint_id, lock, **data)
    return endpoint_dict(ep)


@bp.route("/webhook-endpoints/<int(max=2147483647):endpoint_id>", methods=["DELETE"])
@bp.response(204)
def delete_endpoint(endpoint_id):
    """Remove the endpoint with its delivery log."""
    hooks.delete_endpoint(actor(), endpoint_id)
    return None


@bp.route("/webhook-endpoints/<int(max=2147483647):endpoint_id>/rotate-secret", methods=["POST"])
@bp.arguments(RotateIn)
@bp.response(200, EndpointWithSecret)
def rotate_secret(data, endpoint_id):
    """A new signing secret, shown once. For 24 hours deliveries carry signatures with both the new and the
    previous secret (unless `keep_previous` is false), so your receiver can switch without refusing one."""
    from portal.api.schemas import lock_or_current

    user = actor()
    ep, secret = hooks.rotate_secret(user, endpoint_id, lock_or_current(None, data.get("lock_version")),
                                     keep_previous=data.get("keep_previous", True))
    return endpoint_dict(ep) | {"secret": secret}


@bp.route("/webhook-endpoints/<int(max=2147483647):endpoint_id>/deliveries", methods=["GET"])
@bp.arguments(DeliveryQuery, location="query", as_kwargs=True)
@bp.response(200, DeliveryList)
def list_deliveries(endpoint_id, status=None, before=None, limit=50):
    """The delivery log, newest first: status, response code, duration, next attempt."""
    ep = hooks.load_endpoint(actor(), endpoint_id)
    rows = hooks.deliveries_of(ep, status=status, before=before, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [delivery_dict(d) for d in rows], "next_before": rows[-1].id if (rows and more) else None}


@bp.route("/webhook-endpoints/<int(max=2147483647):endpoint_id>/deliveries/<int(max=2147483647):delivery_id>",
          methods=["GET"])
@bp.response(200, DeliveryDetail)
def get_delivery(endpoint_id, delivery_id):
    """One delivery with every attempt."""
    ep = hooks.load_endpoint(actor(), endpoint_id)
    d = hooks.load_delivery(ep, delivery_id)
    return delivery_dict(d) | {"attempts_log": [
        {"attempted_at": ts(a.attempted_at), "ok": a.ok, "response_status": a.response_status,
         "duration_ms": a.duration_ms, "error": a.error, "manual": a.manual} for a in hooks.attempts_of(d)]}


@bp.route("/webhook-endpoints/<int(max=2147483647):endpoint_id>/deliveries/<int(max=2147483647):delivery_id>"
          "/redeliver", methods=["POST"])
@bp.response(202, DeliveryOut)
def redeliver(endpoint_id, delivery_id):
    """Send this delivery again now, as a fresh round of attempts (same webhook-id, so receivers can
    de-duplicate)."""
    d = hooks.redeliver(actor(), endpoint_id, delivery_id)
    return delivery_dict(d)
