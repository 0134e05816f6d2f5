from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portal.accounts.models import Role
from portal.db import db
from portal.notifications import services
from portal.notifications.models import Notification, OutboxMail
from portal.tenancy import roles_required

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.get("/")
@login_required
def index():
    items = db.session.scalars(
        sa.select(Notification).where(Notification.user_id == current_user.id)
        .order_by(Notification.id.desc()).limit(100)
    ).all()
    return render_template("notifications/index.html", items=items)


@bp.post("/<int:notification_id>/read")
@login_required
def read(notification_id):
    n = db.session.get(Notification, notification_id)
    if n is None or n.user_id != current_user.id:
        abort(404)
    services.mark_read(current_user, notification_id)
    target = request.form.get("next") or n.link
    if target and target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect(url_for("notifications.index"))


@bp.post("/read-all")
@login_required
def read_all():
    services.mark_read(current_user)
    return redirect(url_for("notifications.index"))


@bp.get("/outbox")
@roles_required(Role.admin)
def outbox():
    """The development outbox: mails addressed to this company's people (all of them when no SMTP)."""
    if current_app.config["PORTAL_ENV"] == "production" and services.smtp_configured():
        abort(404)
    mails = db.session.scalars(
        sa.select(OutboxMail).where(OutboxMail.company_id == current_user.company_id)
        .order_by(OutboxMail.id.desc()).limit(200)
    ).all()
    return render_template("notifications/outbox.html", mails=mails,
                           smtp=services.smtp_configured())
