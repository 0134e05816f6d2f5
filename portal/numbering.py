"""Document numbers: one counter row per (company, series, year), locked inside the issuing transaction.

``next_number`` must be called inside the service's transaction: the row lock (SELECT ... FOR UPDATE on
PostgreSQL; SQLite serialises writers) is held until that transaction commits or rolls back, so numbers are
unique and — because a rolled-back transaction also rolls back the increment — without gaps.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import db


class DocumentCounter(db.Model):
    __tablename__ = "document_counters"

    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), primary_key=True)
    series: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last_value: Mapped[int] = mapped_column(default=0)

    __table_args__ = (sa.CheckConstraint("last_value >= 0", name="last_value_nonneg"),)


def next_number(company_id: int, series: str, year: int) -> int:
    """The series' next number: one upsert that creates the counter at 1 or adds 1 under the row lock it takes
    (``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``: one round trip, where an insert-if-missing plus an
    update took two on every document number)."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(DocumentCounter).values(company_id=company_id, series=series, year=year, last_value=1)
    stmt = stmt.on_conflict_do_update(index_elements=["company_id", "series", "year"],
                                      set_={"last_value": DocumentCounter.last_value + 1})
    return db.session.execute(stmt.returning(DocumentCounter.last_value)).scalar_one()


def format_reference(prefix: str, year: int, number: int, width: int) -> str:
    return f"{prefix}-{year}-{number:0{width}d}"
