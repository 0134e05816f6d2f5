"""Background jobs and the token user's notifications."""
from __future__ import annotations

import sqlalchemy as sa
from marshmallow import Schema, fields

from portal.api.common import PageArgs, actor, make_blueprint, page_envelope, paged_schema
from portal.api.schemas import JobSchema, job_dict, ts
from portal.db import db
from portal.errors import NotFound
from portal.jobs.models import JobRecord
from portal.notifications import services as notification_services
from portal.notifications.models import Notification
from portal.tenancy import get_for_company

bp = make_blueprint("api_misc", "Background jobs and notifications.")


class NotificationOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    title = fields.String()
    body = fields.String()
    link = fields.String(allow_none=True)
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


class NotificationQuery(PageArgs):
    unread = fields.Boolean(load_default=False)


class ReadOut(Schema):
    id = fields.Integer()
    read_at = fields.DateTime(allow_none=True)
    unread_count = fields.Integer()


@bp.route("/jobs/<int(max=2147483647):job_id>", methods=["GET"])
@bp.response(200, JobSchema)
def get_job(job_id):
    """Status and progress of a background job (visible to the person who started it, company admins and, for
    system jobs, the company)."""
    from portal.jobs.services import may_see

    user = actor()
    rec = get_for_company(JobRecord, job_id, user.company_id)
    if not may_see(rec, user):
        raise NotFound("No such job.")
    return job_dict(rec)


def _notification_dict(n: Notification) -> dict:
    return {"id": n.id, "kind": n.kind, "title": n.title, "body": n.body or "", "link": n.link,
            "created_at": ts(n.created_at), "read_at": ts(n.read_at)}


@bp.route("/notifications", methods=["GET"])
@bp.arguments(NotificationQuery, location="query", as_kwargs=True)
@bp.response(200, paged_schema(NotificationOut, "NotificationPage"))
def list_notifications(page, per_page, unread=False):
    """Your notifications (the token's user), in id order; `unread=true` for the unread ones only."""
    user = actor()
    stmt = sa.select(Notification).where(Notification.user_id == user.id)
    if unread:
        stmt = stmt.where(Notification.read_at.is_(None))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.scalars(stmt.order_by(Notification.id).offset((page - 1) * per_page).limit(per_page)).all()
    return page_envelope([_notification_dict(n) for n in rows], total, page, per_page,
                         "api_misc.list_notifications")


@bp.route("/notifications/<int(max=2147483647):notification_id>/read", methods=["POST"])
@bp.response(200, ReadOut)
def mark_notification_read(notification_id):
    """Mark one of your notifications read (idempotent)."""
    user = actor()
    n = db.session.scalar(sa.select(Notification).where(Notification.id == notification_id,
                                                        Notification.user_id == user.id))
    if n is None:
        raise NotFound("No such notification.")
    notification_services.mark_read(user, n.id)
    db.session.refresh(n)
    return {"id": n.id, "read_at": ts(n.read_at), "unread_count": notification_services.unread_count(user)}


class ReadAllOut(Schema):
    marked = fields.Integer(required=True, metadata={"description": "How many were unread."})
    unread_count = fields.Integer(required=True)


@bp.route("/notifications/read-all", methods=["POST"])
@bp.response(200, ReadAllOut)
def read_all_notifications():
    """Mark all your notifications read."""
    user = actor()
    n = notification_services.mark_read(user)
    return {"marked": n, "unread_count": notification_services.unread_count(user)}
