"""Background jobs and the token user's notifications."""
from __future__ import annotations

import sqlalchemy as sa
from marshmallow import Schema, fields, validate

from portal.api.common import CursorArgs, ListPlan, actor, list_documents, make_blueprint, paged_schema
from portal.api.schemas import JobSchema, job_dict, ts
from portal.db import db
from portal.errors import NotFound
from portal.i18n import _l
from portal.jobs.models import JobRecord, JobStatus
from portal.notifications import services as notification_services
from portal.notifications.models import Notification, NotificationKind
from portal.tenancy import get_for_company, scoped

bp = make_blueprint("api_misc", "Background jobs and notifications.")


NOTIFICATION_KINDS = [k.value for k in NotificationKind]


class NotificationOut(Schema):
    id = fields.Integer()
    kind = fields.String(validate=validate.OneOf(NOTIFICATION_KINDS), metadata={
        "description": "What it is about; `other` for kinds this API version does not name."})
    title = fields.String()
    body = fields.String()
    link = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime(metadata={"description": "Changes when it is read."})
    read_at = fields.DateTime(allow_none=True)


class NotificationQuery(CursorArgs):
    unread = fields.Boolean(load_default=False)
    kind = fields.String(load_default=None, validate=validate.OneOf(NOTIFICATION_KINDS))


class JobQuery(CursorArgs):
    status = fields.String(load_default=None, validate=validate.OneOf([s.value for s in JobStatus]))
    kind = fields.String(load_default=None, validate=validate.Length(min=1, max=60),
                         metadata={"example": "invoice-pdf"})


class ReadOut(Schema):
    id = fields.Integer()
    read_at = fields.DateTime(allow_none=True)
    unread_count = fields.Integer()


@bp.route("/jobs", methods=["GET"])
@bp.arguments(JobQuery, location="query")
@bp.response(200, paged_schema(JobSchema, "JobPage"))
def list_jobs(args):
    """Background jobs you may see (the ones you started, the company's system jobs; admins: all of the
    company's), in id order. Filters: `status`, `kind`, `updated_since` (what changed since your last look),
    creation dates; `sort`; pages or the `starting_after` cursor."""
    from portal.accounts.models import Role

    user = actor()
    stmt = scoped(JobRecord, user.company_id)
    if not user.has_role(Role.admin):  # the rule of portal.jobs.services.may_see, as a where clause
        stmt = stmt.where(sa.or_(JobRecord.user_id.is_(None), JobRecord.user_id == user.id))
    if args.get("status"):
        stmt = stmt.where(JobRecord.status == JobStatus(args["status"]))
    if args.get("kind"):
        stmt = stmt.where(JobRecord.kind == args["kind"])
    return list_documents(stmt, JOB_LIST, args, user.company_id, "api_misc.list_jobs", job_dict)


JOB_LIST = ListPlan(JobRecord)


@bp.route("/jobs/<int(max=2147483647):job_id>", methods=["GET"])
@bp.response(200, JobSchema)
def get_job(job_id):
    """Status and progress of a background job (visible to the person who started it, company admins and, for
    system jobs, the company)."""
    from portal.jobs.services import may_see

    user = actor()
    rec = get_for_company(JobRecord, job_id, user.company_id)
    if not may_see(rec, user):
        raise NotFound(_l("No such job."))
    return job_dict(rec)


def _notification_dict(n: Notification) -> dict:
    return {"id": n.id, "kind": NotificationKind.of(n.kind).value, "title": n.title, "body": n.body or "",
            "link": n.link, "created_at": ts(n.created_at), "updated_at": ts(n.updated_at or n.created_at),
            "read_at": ts(n.read_at)}


NOTIFICATION_LIST = ListPlan(Notification)


@bp.route("/notifications", methods=["GET"])
@bp.arguments(NotificationQuery, location="query")
@bp.response(200, paged_schema(NotificationOut, "NotificationPage"))
def list_notifications(args):
    """Your notifications (the token's user), in id order; `unread=true` for the unread ones only, `kind` for
    one kind, `updated_since` for what arrived or was read since your last look; `sort`; pages or the
    `starting_after` cursor."""
    user = actor()
    stmt = sa.select(Notification).where(Notification.user_id == user.id)
    if args.get("unread"):
        stmt = stmt.where(Notification.read_at.is_(None))
    if args.get("kind"):
        kind = args["kind"]
        stmt = stmt.where(Notification.kind.notin_([k for k in NOTIFICATION_KINDS if k != "other"])
                          if kind == "other" else Notification.kind == kind)
    return list_documents(stmt, NOTIFICATION_LIST, args, user.company_id, "api_misc.list_notifications",
                          _notification_dict)


def _own_notification(notification_id) -> Notification:
    n = db.session.scalar(sa.select(Notification).where(Notification.id == notification_id,
                                                        Notification.user_id == actor().id))
    if n is None:
        raise NotFound(_l("No such notification."))
    return n


@bp.route("/notifications/<int(max=2147483647):notification_id>", methods=["GET"])
@bp.response(200, NotificationOut)
def get_notification(notification_id):
    """One of your notifications (another person's is 404, as another company's)."""
    return _notification_dict(_own_notification(notification_id))


@bp.route("/notifications/<int(max=2147483647):notification_id>/read", methods=["POST"])
@bp.response(200, ReadOut)
def mark_notification_read(notification_id):
    """Mark one of your notifications read (idempotent)."""
    user = actor()
    n = _own_notification(notification_id)
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
