"""Notify people: an in-app notice and a mail (sent by a job on the mail queue after commit).

Helpers here only add to the session; the calling service commits once.
"""
from __future__ import annotations

import smtplib
from email.message import EmailMessage

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, gettext as _
from sqlalchemy.orm import Session, lazyload

from portal.accounts.models import Role, User, UserRole
from portal.db import db, utcnow
from portal.i18n import DEFAULT_LANGUAGE, LANGUAGES, format_for_language
from portal.jobs import enqueue_after_commit
from portal.notifications.messages import Message, msg, render
from portal.notifications.models import MailStatus, Notification, OutboxMail

__all__ = ["Message", "msg", "notify", "notify_company", "queue_mail"]


def company_users(company_id: int, *roles: Role) -> list[User]:
    """The company's active people (with one of ``roles``): one SELECT (the roles are filtered in SQL and not
    loaded; ``has_role`` on one of them loads them then)."""
    stmt = sa.select(User).where(User.company_id == company_id, User.active.is_(True))
    if roles:
        stmt = stmt.where(User.id.in_(sa.select(UserRole.user_id).where(UserRole.role.in_(roles))))
    return list(db.session.scalars(stmt.order_by(User.id).options(lazyload(User.role_rows))))


def notify(users, *, kind: str, title: str | Message, body: str | Message = "", link: str | None = None,
           mail: bool = True) -> None:
    """A notice (and a mail) for each person. ``title``/``body`` are either finished text (shown as stored) or a
    ``msg(...)`` (formatted when read, in the reader's language and format; the mail in the recipient's)."""
    message = {part: value.to_json() for part, value in (("title", title), ("body", body))
               if isinstance(value, Message)} or None
    seen = set()
    for user in users:
        if user.id in seen:
            continue
        seen.add(user.id)
        # Stored in English too (the API, search, and readers of an older version show these).
        english = {part: _text(value, "en", "en_GB", user.timezone) for part, value in (("title", title),
                                                                                          ("body", body))}
        db.session.add(Notification(user_id=user.id, company_id=user.company_id, kind=kind,
                                    title=english["title"][:200], body=english["body"], link=link,
                                    message=message))
        if mail:
            language = recipient_language(user)
            fmt = user.format_choice or format_for_language(language)
            with force_locale(language):
                subject = _text(title, language, fmt, user.timezone)
                text = _mail_body(user, _text(body, language, fmt, user.timezone), link)
            _add_mail(user.email, subject[:250], text, company_id=user.company_id)


def recipient_language(user: User) -> str:
    """A person's language for things sent to them (their setting, else English: a mail has no browser)."""
    return user.language if user.language in LANGUAGES else DEFAULT_LANGUAGE


def _text(value, language: str, fmt: str, tz: str | None = None) -> str:
    if not isinstance(value, Message):
        return value or ""
    with force_locale(language):
        return render(value, locale=fmt, tz=tz or "UTC")


def notify_company(company_id: int, roles, **kwargs) -> None:
    notify(company_users(company_id, *roles), **kwargs)


def _mail_body(user: User, body: str, link: str | None) -> str:
    base = current_app.config.get("BASE_URL") or ""
    lines = [_("Hello %(name)s,", name=user.name), "", body or ""]
    if link:
        lines += ["", _("Open it in the portal: %(url)s", url=base + link)]
    lines += ["", "— " + _("Procurement Portal")]
    return "\n".join(lines)


MAILS_KEY = "portal_unsent_mails"
MAIL_JOB = "portal.notifications.jobs.send_mail_job"


def queue_mail(to: str, subject: str, body: str, *, company_id: int | None = None) -> OutboxMail:
    """One outbox mail now (flushed: it has its id) and its send job after commit."""
    mail = OutboxMail(to_address=to, subject=subject, body=body, company_id=company_id)
    db.session.add(mail)
    db.session.flush()
    enqueue_after_commit(MAIL_JOB, mail.id, queue="mail", job_id=f"mail-{mail.id}")
    return mail


def _add_mail(to: str, subject: str, body: str, *, company_id: int | None = None) -> OutboxMail:
    """``queue_mail`` without a flush of its own (what ``notify`` uses): the mails of a transaction are inserted
    together with its other rows when it flushes, and their send jobs are scheduled just before it commits
    (``_schedule_mails``). The row is the outbox either way: a lost job is re-enqueued by reconcile."""
    mail = OutboxMail(to_address=to, subject=subject, body=body, company_id=company_id)
    db.session.add(mail)
    db.session.info.setdefault(MAILS_KEY, []).append(mail)
    return mail


@sa.event.listens_for(Session, "before_commit")
def _schedule_mails(session):
    """One flush for every mail of the transaction (an INSERT of all of them), then each mail's send job after
    the commit (``enqueue_after_commit``: dropped if the transaction rolls back). A mail added in a savepoint
    that was rolled back is no longer persistent and gets no job."""
    mails = session.info.pop(MAILS_KEY, None)
    if not mails:
        return
    session.flush()
    for mail in mails:
        if sa.inspect(mail).persistent:
            enqueue_after_commit(MAIL_JOB, mail.id, queue="mail", job_id=f"mail-{mail.id}")


@sa.event.listens_for(Session, "after_transaction_end")
def _forget_mails(session, transaction):
    if transaction.parent is None:  # the outermost transaction ended (committed, rolled back or closed)
        session.info.pop(MAILS_KEY, None)


def smtp_configured() -> bool:
    return bool(current_app.config.get("MAIL_SERVER"))


def deliver(mail: OutboxMail) -> None:
    """Send one mail over SMTP, or keep it in the outbox when no SMTP is configured. Commits."""
    if mail.status in (MailStatus.sent, MailStatus.kept):
        return  # idempotent: a second run sends nothing
    if not smtp_configured():
        mail.status = MailStatus.kept
        mail.sent_at = utcnow()
        db.session.commit()
        return
    cfg = current_app.config
    msg = EmailMessage()
    msg["From"] = cfg["MAIL_FROM"]
    msg["To"] = mail.to_address
    msg["Subject"] = mail.subject
    msg.set_content(mail.body)
    with smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=20) as smtp:
        if cfg.get("MAIL_USE_TLS"):
            smtp.starttls()
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
        smtp.send_message(msg)
    mail.status = MailStatus.sent
    mail.sent_at = utcnow()
    db.session.commit()


def unread_count(user: User) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(Notification.id))
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
    ) or 0


def mark_read(user: User, notification_id: int | None = None) -> int:
    stmt = sa.update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    n = db.session.execute(stmt.values(read_at=utcnow())).rowcount
    db.session.commit()
    return n
