"""The visible record of a background job a person started (or the system started for them)."""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import UTCDateTime, db, utcnow


class JobStatus(str, enum.Enum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


class JobRecord(db.Model):
    __tablename__ = "job_records"
    __label__ = "job"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(60))
    title: Mapped[str] = mapped_column(sa.String(200))
    func: Mapped[str] = mapped_column(sa.String(200))
    args: Mapped[list] = mapped_column(sa.JSON, default=list)
    queue: Mapped[str] = mapped_column(sa.String(20))
    rq_job_id: Mapped[str | None] = mapped_column(sa.String(100))
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    status: Mapped[JobStatus] = mapped_column(
        sa.Enum(JobStatus, native_enum=False, length=16, validate_strings=True), default=JobStatus.queued
    )
    progress: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.Text)
    result_file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_files.id"))
    result_url: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)  # status, progress

    result_file = relationship("StoredFile")
    user = relationship("User")

    __table_args__ = (sa.CheckConstraint("progress >= 0 AND progress <= 100", name="progress_range"),)

    @classmethod
    def visible_to(cls, company_id):
        return cls.company_id == company_id

    @property
    def done(self) -> bool:
        return self.status in (JobStatus.succeeded, JobStatus.failed)
