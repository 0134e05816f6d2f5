from __future__ import annotations

from flask_babel import gettext as _

import sqlalchemy as sa
from flask import Blueprint, abort, flash, jsonify, redirect, render_template, url_for
from flask_login import current_user, login_required

from portal.db import db
from portal.errors import DomainError
from portal.jobs import services
from portal.jobs.models import JobRecord
from portal.jobs.services import may_see
from portal.jobs.titles import job_title
from portal.tenancy import get_for_user, scoped

bp = Blueprint("jobs", __name__, url_prefix="/jobs")
bp.add_app_template_filter(job_title, "job_title")  # titles in the reader's language (portal/jobs/titles.py)


def result_url(rec: JobRecord) -> str | None:
    if rec.result_url:
        return rec.result_url
    if rec.result_file_id:
        return url_for("files.download", file_id=rec.result_file_id)
    return None


def load_job(job_id) -> JobRecord:
    rec = get_for_user(JobRecord, job_id)
    if not may_see(rec, current_user):
        abort(404)
    return rec


@bp.get("/")
@login_required
def index():
    from portal.accounts.models import Role

    stmt = scoped(JobRecord, current_user.company_id)
    if not current_user.has_role(Role.admin):
        stmt = stmt.where(sa.or_(JobRecord.user_id == current_user.id, JobRecord.user_id.is_(None)))
    jobs = db.session.scalars(stmt.order_by(JobRecord.id.desc()).limit(50)).all()
    return render_template("jobs/index.html", jobs=jobs, result_url=result_url)


@bp.get("/<int:job_id>")
@login_required
def detail(job_id):
    rec = load_job(job_id)
    return render_template("jobs/detail.html", job=rec, result_url=result_url(rec), stuck=_stuck(rec),
                           queue_down=_queue_down(rec))


def _stuck(rec: JobRecord) -> bool:
    from portal.jobs.reconcile import is_stuck

    try:
        return is_stuck(rec)
    except Exception:  # noqa: BLE001 - Redis unreachable: not retryable now; the page says why
        return False


def _queue_down(rec: JobRecord) -> bool:
    from portal.jobs.queue import redis_connection

    if rec.done:
        return False
    conn = redis_connection()
    if conn is None:
        return False
    try:
        conn.ping()
    except Exception:  # noqa: BLE001
        return True
    return False


@bp.get("/<int:job_id>.json")
@login_required
def status(job_id):
    rec = load_job(job_id)
    from portal.i18n import state_label

    # the page's progress card shows the status word in the reader's language (static/app.js)
    return jsonify({**services.as_dict(rec, result_url(rec)), "status_label": state_label(rec.status)})


@bp.post("/<int:job_id>/retry")
@login_required
def retry(job_id):
    rec = load_job(job_id)
    try:
        services.retry(rec, current_user)
        flash(_("The job is queued again."), "success")
    except DomainError as exc:
        flash(str(exc), "danger")
    return redirect(url_for("jobs.detail", job_id=rec.id))


def recent_for(user, limit: int = 5):
    from portal.accounts.models import Role

    stmt = sa.select(JobRecord).where(JobRecord.company_id == user.company_id)
    if not user.has_role(Role.admin):
        stmt = stmt.where(sa.or_(JobRecord.user_id == user.id, JobRecord.user_id.is_(None)))
    return db.session.scalars(stmt.order_by(JobRecord.id.desc()).limit(limit)).all()
