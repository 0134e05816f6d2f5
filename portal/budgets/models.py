"""Cost centres, GL accounts, their defaults, the company's requisition/budget settings and budgets.

Budget figures are never stored: they are computed from the documents (portal/budgets/figures.py). The budget row
is what the requisition approval locks (SELECT ... FOR UPDATE) so that two approvals cannot both spend the same
available amount.
"""
from __future__ import annotations

import enum
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import CURRENCY, MONEY, TimestampMixin, db


class CostCentre(TimestampMixin, db.Model):
    __tablename__ = "cost_centres"
    __label__ = "cost centre"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))
    code: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(120))
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    owner = relationship("User", lazy="joined")

    __table_args__ = (sa.UniqueConstraint("company_id", "code", name="uq_cost_centres_code"),)

    @classmethod
    def visible_to(cls, company_id):
        return cls.company_id == company_id

    @property
    def label(self) -> str:
        return f"{self.code} {self.name}"


class GlAccount(TimestampMixin, db.Model):
    __tablename__ = "gl_accounts"
    __label__ = "GL account"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))
    code: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(120))
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    __table_args__ = (sa.UniqueConstraint("company_id", "code", name="uq_gl_accounts_code"),)

    @classmethod
    def visible_to(cls, company_id):
        return cls.company_id == company_id

    @property
    def label(self) -> str:
        return f"{self.code} {self.name}"


class CostDefault(db.Model):
    """The cost centre and GL account a new line gets when nothing else says: per catalog category or per user
    (a category default wins over the user's, since it says what is bought)."""

    __tablename__ = "cost_defaults"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), index=True)
    category: Mapped[str | None] = mapped_column(sa.String(100))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    cost_centre_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cost_centres.id"))
    gl_account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("gl_accounts.id"))

    cost_centre = relationship("CostCentre")
    gl_account = relationship("GlAccount")
    user = relationship("User")

    __table_args__ = (
        sa.UniqueConstraint("company_id", "category", name="uq_cost_defaults_category"),
        sa.UniqueConstraint("company_id", "user_id", name="uq_cost_defaults_user"),
        sa.CheckConstraint("(category IS NULL) <> (user_id IS NULL)", name="category_or_user"),
    )


class BudgetMode(str, enum.Enum):
    warn = "warn"    # an approval beyond the budget is shown in red but goes through
    block = "block"  # an approval beyond the budget is refused unless the cost-centre owner approves over budget


class BudgetSettings(db.Model):
    """A buying company's settings for requisitions and budgets (no row: the defaults)."""

    __tablename__ = "budget_settings"

    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), primary_key=True)
    cost_centre_required: Mapped[bool] = mapped_column(default=False)
    budget_mode: Mapped[BudgetMode] = mapped_column(
        sa.Enum(BudgetMode, native_enum=False, length=8, validate_strings=True), default=BudgetMode.warn)


class PeriodKind(str, enum.Enum):
    month = "month"
    quarter = "quarter"
    year = "year"


class Budget(TimestampMixin, db.Model):
    __tablename__ = "budgets"
    __label__ = "budget"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))
    cost_centre_id: Mapped[int] = mapped_column(sa.ForeignKey("cost_centres.id"))
    period_kind: Mapped[PeriodKind] = mapped_column(
        sa.Enum(PeriodKind, native_enum=False, length=8, validate_strings=True))
    period_start: Mapped[date] = mapped_column(sa.Date)
    period_end: Mapped[date] = mapped_column(sa.Date)  # inclusive
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(CURRENCY)
    lock_version: Mapped[int] = mapped_column(default=1)

    cost_centre = relationship("CostCentre", lazy="joined")

    __mapper_args__ = {"version_id_col": lock_version}
    __table_args__ = (
        sa.Index("ix_budgets_company_centre_period", "company_id", "cost_centre_id", "period_start"),
        sa.CheckConstraint("amount >= 0", name="amount_nonneg"),
        sa.CheckConstraint("period_end >= period_start", name="period_ordered"),
    )

    @classmethod
    def visible_to(cls, company_id):
        return cls.company_id == company_id


class OrderBudgetOverride(db.Model):
    """A cost-centre owner's approval of a purchase order over budget: one row per cost centre the owner approved
    it for, tied to the owner's approval step (portal/budgets/orders.py). A rejection starts a new approval round,
    so an override counts only while its approval is in the order's current round. ``counts_as_approval`` is false
    when the owner is no approver (or had approved the round already): then the step is only the budget decision
    and does not count towards the approvals the company's amount rules ask for."""

    __tablename__ = "order_budget_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("purchase_orders.id", ondelete="CASCADE"), index=True)
    approval_id: Mapped[int] = mapped_column(sa.ForeignKey("order_approvals.id", ondelete="CASCADE"))
    cost_centre_id: Mapped[int] = mapped_column(sa.ForeignKey("cost_centres.id"))
    approver_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    counts_as_approval: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (sa.UniqueConstraint("approval_id", "cost_centre_id", name="uq_order_budget_overrides_step"),)


class ExchangeRate(TimestampMixin, db.Model):
    """A buying company's exchange rate: ``rate`` units of the company currency buy one unit of ``currency``, from
    ``valid_from`` until the next rate of the same currency. Budget figures convert a document in ``currency`` with
    the rate valid on the document's date (portal/budgets/figures.py)."""

    __tablename__ = "exchange_rates"
    __label__ = "exchange rate"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))
    currency: Mapped[str] = mapped_column(CURRENCY)
    rate: Mapped[Decimal] = mapped_column(sa.Numeric(18, 8, asdecimal=True))
    valid_from: Mapped[date] = mapped_column(sa.Date)

    __table_args__ = (
        sa.UniqueConstraint("company_id", "currency", "valid_from", name="uq_exchange_rates_day"),
        sa.CheckConstraint("rate > 0", name="rate_positive"),
    )

    @classmethod
    def visible_to(cls, company_id):
        return cls.company_id == company_id
