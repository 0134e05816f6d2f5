from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import UTCDateTime, db, utcnow


class NotificationKind(str, enum.Enum):
    """What a notification is about (the API's named enum). ``notify(kind=...)`` takes these values; a kind
    stored that is not listed reads as ``other``."""

    approval = "approval"
    certificate_expiring = "certificate_expiring"
    credit_decision = "credit_decision"
    credit_hold = "credit_hold"
    framework_agreement = "framework_agreement"
    framework_expiring = "framework_expiring"
    invoice = "invoice"
    invoice_reminder = "invoice-reminder"
    order = "order"
    questionnaire_review = "questionnaire_review"
    quote_confirmed = "quote_confirmed"
    quote_expired = "quote_expired"
    quote_submitted = "quote_submitted"
    quote_withdrawn = "quote_withdrawn"
    rfq_amended = "rfq_amended"
    rfq_answer = "rfq_answer"
    rfq_awarded = "rfq_awarded"
    rfq_cancelled = "rfq_cancelled"
    rfq_closed = "rfq_closed"
    rfq_invited = "rfq_invited"
    rfq_not_awarded = "rfq_not_awarded"
    requisition = "requisition"
    rfq_question = "rfq_question"
    supplier_registered = "supplier_registered"
    supplier_status = "supplier_status"
    webhook_disabled = "webhook_disabled"
    other = "other"

    @classmethod
    def of(cls, value: str) -> "NotificationKind":
        try:
            return cls(value)
        except ValueError:
            return cls.other


class Notification(db.Model):
    """An in-app notice for one person (the bell)."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    link: Mapped[str | None] = mapped_column(sa.String(300))
    # {"title": [msgid, params], "body": [msgid, params]}: formatted when shown, in the reader's language and
    # format (portal/notifications/messages.py); title/body then hold the English text (search, old readers).
    message: Mapped[dict | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)  # read, mostly

    __table_args__ = (sa.Index("ix_notifications_user_unread", "user_id", "read_at", "id"),)

    @classmethod
    def visible_to(cls, company_id):
        return cls.company_id == company_id


class MailStatus(str, enum.Enum):
    queued = "queued"
    sent = "sent"
    kept = "kept"  # no SMTP configured: kept in the outbox for development
    failed = "failed"


class OutboxMail(db.Model):
    """Every mail the portal sends, whether or not SMTP is configured."""

    __tablename__ = "outbox_mails"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int | None] = mapped_column(sa.ForeignKey("companies.id"), index=True)
    to_address: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(250))
    body: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[MailStatus] = mapped_column(
        sa.Enum(MailStatus, native_enum=False, length=16, validate_strings=True), default=MailStatus.queued
    )
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @classmethod
    def visible_to(cls, company_id):
        return cls.company_id == company_id
