"""Column types and mixins shared by every domain's models."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from portal.extensions import Base, db  # noqa: F401  (re-exported for models)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every database.

    PostgreSQL keeps ``timestamptz``; SQLite keeps naive text, so values are normalised to UTC on the way in
    and made aware again on the way out. Naive datetimes are refused: they are always a bug here.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


# Amounts: 18 digits with 4 decimals (unit prices need more precision than the currency's minor unit;
# totals are quantized to the minor unit by portal.money before they are stored).
MONEY = sa.Numeric(18, 4, asdecimal=True)
QUANTITY = sa.Numeric(18, 4, asdecimal=True)
MAX_AMOUNT = Decimal("99999999999999.9999")
CURRENCY = sa.String(3)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )


def distinct_values(column, *criteria, name: str | None = None) -> sa.Select:
    """SELECT the distinct values of ``column`` among the rows matching ``criteria``, as a skip scan: a recursive
    query that asks the index for the smallest value, then for the smallest one above it, and so on — one index
    probe per distinct value, whatever the number of rows (a plain DISTINCT reads every matching row: 80 ms for a
    supplier with 100,000 invoices). Needs an index that starts with the equality columns of ``criteria`` followed by
    ``column`` (for example ``(supplier_company_id, buyer_company_id)``). Values in ascending order; NULLs left out.
    ``name`` names the recursive CTE (default from the column), unique within one statement.
    """
    name = name or f"skip_{column.table.name}_{column.key}"
    step = sa.select(sa.func.min(column).label("v")).where(*criteria).cte(name, recursive=True)
    following = sa.select(column).where(*criteria, column > step.c.v).order_by(column).limit(1)
    step = step.union_all(sa.select(following.scalar_subquery().label("v")).where(step.c.v.is_not(None)))
    return sa.select(step.c.v).where(step.c.v.is_not(None))

