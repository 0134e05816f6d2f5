"""GET /api/v1/events — the change feed: what happened to your company's documents, oldest first, with the
resource as it was then. Read with a cursor: ``?after=<the last id you processed>``."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from portal.api.common import actor, make_blueprint
from portal.api.schemas import MAX_INT, ts
from portal.errors import NotFound
from portal.i18n import _l
from portal.events import services as event_services
from portal.events.models import Event

bp = make_blueprint("api_events", "The change feed (events) of your company's documents.", tag="Events")

MAX_LIMIT = 500


class EventOut(Schema):
    id = fields.Integer(required=True, metadata={"description": "The cursor; also `evt_<id>` as the webhook-id."})
    webhook_id = fields.String(required=True, metadata={"example": "evt_42"})
    type = fields.String(required=True, validate=validate.OneOf(sorted(event_services.EVENT_TYPES)),
                         metadata={"example": "order.placed"})
    resource_type = fields.String(required=True, metadata={"example": "order"})
    resource_id = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    data = fields.Dict(required=True, metadata={"description": "The resource as your company saw it then."})


class EventPage(Schema):
    items = fields.List(fields.Nested(EventOut), required=True)
    next_after = fields.Integer(required=True, metadata={"description": "Send as `after` for the next page."})
    has_more = fields.Boolean(required=True)
    retention_days = fields.Integer(required=True)


class EventQuery(Schema):
    after = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_INT),
                           metadata={"description": "Only events after this id (the cursor)."})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=MAX_LIMIT))
    type = fields.List(fields.String(validate=validate.OneOf(sorted(event_services.EVENT_TYPES))),
                       load_default=None, metadata={"description": "Only these types (repeat the parameter)."})
    resource_type = fields.String(load_default=None,
                                  validate=validate.OneOf(["rfq", "quote", "award", "order", "shipment",
                                                           "invoice"]))
    resource_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_INT))


def event_dict(ev: Event) -> dict:
    return {"id": ev.id, "webhook_id": ev.public_id, "type": ev.type, "resource_type": ev.resource_type,
            "resource_id": ev.resource_id, "created_at": ts(ev.created_at), "data": ev.data}


@bp.route("/events", methods=["GET"])
@bp.arguments(EventQuery, location="query", as_kwargs=True)
@bp.response(200, EventPage)
def list_events(after=0, limit=100, type=None, resource_type=None, resource_id=None):  # noqa: A002
    """Events of your company after the cursor, oldest first (kept at least 30 days). Poll with the last
    `next_after`; `has_more` says whether to ask again at once."""
    user = actor()
    rows = event_services.list_events(user.company_id, after=after, limit=limit + 1, types=type,
                                      resource_type=resource_type, resource_id=resource_id)
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [event_dict(e) for e in rows], "next_after": rows[-1].id if rows else after,
            "has_more": more, "retention_days": event_services.retention_days()}


@bp.route("/events/<int(max=2147483647):event_id>", methods=["GET"])
@bp.response(200, EventOut)
def get_event(event_id):
    """One event of your company."""
    from portal.tenancy import get_for_company

    try:
        ev = get_for_company(Event, event_id, actor().company_id)
    except NotFound:
        raise NotFound(_l("No such event.")) from None
    return event_dict(ev)
