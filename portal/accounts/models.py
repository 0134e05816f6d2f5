"""Companies (tenants), their members and invitations."""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import CURRENCY, TimestampMixin, UTCDateTime, db, utcnow
from flask_babel import lazy_pgettext


class CompanyKind(str, enum.Enum):
    buyer = "buyer"
    supplier = "supplier"
    both = "both"


class Role(str, enum.Enum):
    admin = "admin"
    procurement = "procurement"
    sales = "sales"
    accounts = "accounts"
    approver = "approver"
    requester = "requester"  # raises purchase requisitions (every role may also request)

    @property
    def label(self) -> str:
        """The role's name in the reader's language ("Einkauf"); the API and stored data keep the code."""
        return str(ROLE_LABELS[self])


# Lazy: worded when shown (members page, invitations, the user menu, forms), in the page's language.
# Context "role": "Sales" the team (Vertrieb), not "Sales" the figures (Umsatz).
ROLE_LABELS = {
    Role.admin: lazy_pgettext("role", "Administrator"),
    Role.procurement: lazy_pgettext("role", "Procurement"),
    Role.sales: lazy_pgettext("role", "Sales"),
    Role.accounts: lazy_pgettext("role", "Accounts"),
    Role.approver: lazy_pgettext("role", "Approver"),
    Role.requester: lazy_pgettext("role", "Requester"),
}


def _document_language(context) -> str:
    """A new company's document language from its country (see portal.documents.language)."""
    from portal.documents.language import default_language

    return default_language(context.get_current_parameters().get("country"))


class Company(TimestampMixin, db.Model):
    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(primary_key=True)
    legal_name: Mapped[str] = mapped_column(sa.String(200))
    display_name: Mapped[str] = mapped_column(sa.String(120), index=True)
    vat_number: Mapped[str | None] = mapped_column(sa.String(32))
    country: Mapped[str] = mapped_column(sa.String(2))
    address_line1: Mapped[str] = mapped_column(sa.String(200), default="")
    address_line2: Mapped[str] = mapped_column(sa.String(200), default="")
    postcode: Mapped[str] = mapped_column(sa.String(20), default="")
    city: Mapped[str] = mapped_column(sa.String(100), default="")
    default_currency: Mapped[str] = mapped_column(CURRENCY, default="EUR")
    kind: Mapped[CompanyKind] = mapped_column(
        sa.Enum(CompanyKind, native_enum=False, length=16, validate_strings=True)
    )
    # Free-text categories a supplier serves, comma separated ("fasteners, packaging"); used by the directory.
    categories: Mapped[str] = mapped_column(sa.String(500), default="")
    iban: Mapped[str | None] = mapped_column(sa.String(34))
    bic: Mapped[str | None] = mapped_column(sa.String(11))
    bank_name: Mapped[str | None] = mapped_column(sa.String(120))
    website: Mapped[str | None] = mapped_column(sa.String(200))
    # Orders waiting for approval longer than this many working days (Mon-Fri) are escalated to the admins.
    approval_escalation_days: Mapped[int] = mapped_column(default=3, server_default="3")
    # The language of documents addressed to this company (portal/documents/language.py): a purchase order to a
    # supplier, an invoice or dunning letter to a buyer. Default from the country (DE/AT/CH: German, else English).
    language: Mapped[str] = mapped_column(sa.String(8), default=_document_language, server_default="en")
    # Documents addressed to this company carry German and English labels side by side.
    bilingual_documents: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    members: Mapped[list["User"]] = relationship(back_populates="company", order_by="User.name")

    __table_args__ = (
        sa.UniqueConstraint("vat_number", name="uq_companies_vat_number"),
        sa.CheckConstraint("approval_escalation_days BETWEEN 1 AND 30", name="escalation_days_range"),
    )

    @property
    def is_buyer(self) -> bool:
        return self.kind in (CompanyKind.buyer, CompanyKind.both)

    @property
    def is_supplier(self) -> bool:
        return self.kind in (CompanyKind.supplier, CompanyKind.both)

    @property
    def address_lines(self) -> list[str]:
        city = " ".join(p for p in (self.postcode, self.city) if p)
        return [line for line in (self.address_line1, self.address_line2, city, self.country) if line]

    @property
    def category_list(self) -> list[str]:
        return [c.strip() for c in (self.categories or "").split(",") if c.strip()]

    def __repr__(self) -> str:
        return f"<Company {self.id} {self.display_name}>"


class UserRole(db.Model):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[Role] = mapped_column(
        sa.Enum(Role, native_enum=False, length=16, validate_strings=True), primary_key=True
    )


class User(TimestampMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), index=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped on password change and deactivation: every older session and remember-me cookie stops working.
    session_version: Mapped[int] = mapped_column(default=1)
    timezone: Mapped[str] = mapped_column(sa.String(64), default="Europe/Berlin")
    # The person's format choice for numbers, money and dates (column "locale"); None follows the language
    # (``locale`` below answers the format in effect: de → de_DE, en → en_GB).
    format_choice: Mapped[str | None] = mapped_column("locale", sa.String(16))
    # The interface language ("en", "de"); None follows the browser's Accept-Language (portal/i18n.py).
    language: Mapped[str | None] = mapped_column(sa.String(8))
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    company: Mapped[Company] = relationship(back_populates="members", lazy="joined")
    role_rows: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by=UserRole.role
    )

    @property
    def locale(self) -> str:
        """The format in effect: the person's choice, else the one of their language (or the page's)."""
        if self.format_choice:
            return self.format_choice
        from portal.i18n import format_for_language, page_language

        return format_for_language(self.language or page_language())

    @locale.setter
    def locale(self, value: str | None) -> None:
        self.format_choice = value or None

    # --- Flask-Login protocol -------------------------------------------------------------------
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    # --- roles ----------------------------------------------------------------------------------
    @property
    def roles(self) -> set[Role]:
        return {r.role for r in self.role_rows}

    def has_role(self, *roles: Role | str) -> bool:
        mine = self.roles
        return any(Role(r) in mine for r in roles)

    def set_roles(self, roles) -> None:
        wanted = {Role(r) for r in roles}
        self.role_rows = [r for r in self.role_rows if r.role in wanted]
        have = {r.role for r in self.role_rows}
        for role in sorted(wanted - have, key=lambda r: r.value):
            self.role_rows.append(UserRole(role=role))

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class Invitation(db.Model):
    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), index=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    name: Mapped[str] = mapped_column(sa.String(120), default="")
    roles: Mapped[str] = mapped_column(sa.String(100))  # comma separated Role values
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    invited_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    company: Mapped[Company] = relationship()
    invited_by: Mapped[User] = relationship()

    @property
    def role_list(self) -> list[Role]:
        return [Role(r) for r in self.roles.split(",") if r]

    @property
    def state(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= utcnow():
            return "expired"
        return "pending"
