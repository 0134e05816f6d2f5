"""Supplier onboarding: invitations of companies not on the portal, each buyer's status for its suppliers (with
history), qualification documents (certificates), the buyer's questionnaire and the suppliers' answers."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import Invitation
from portal.db import TimestampMixin, UTCDateTime, db, utcnow
from portal.suppliers.states import AnswerReview, CertificateType, SupplierStatus


def _enum(cls):
    return sa.Enum(cls, native_enum=False, length=16, validate_strings=True)


class SupplierInvitation(db.Model):
    """A buyer invites a company that is not on the portal by e-mail; accepting registers the company and its
    first user and turns the invitation into an RfqInvitation (when it was sent from an RFQ)."""

    __tablename__ = "supplier_invitations"
    __label__ = "supplier invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    buyer_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), index=True)
    rfq_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rfqs.id", ondelete="SET NULL"), index=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    company_name: Mapped[str] = mapped_column(sa.String(200), default="")
    contact_name: Mapped[str] = mapped_column(sa.String(120), default="")
    message: Mapped[str] = mapped_column(sa.Text, default="")
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    invited_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    supplier_company_id: Mapped[int | None] = mapped_column(sa.ForeignKey("companies.id"), index=True)

    buyer = relationship("Company", foreign_keys=[buyer_company_id], lazy="joined")
    supplier = relationship("Company", foreign_keys=[supplier_company_id])
    rfq = relationship("Rfq")
    invited_by = relationship("User")

    @classmethod
    def visible_to(cls, company_id):
        return sa.or_(cls.buyer_company_id == company_id, cls.supplier_company_id == company_id)

    # pending / accepted / revoked / expired: the same rule as a colleague's invitation
    state = Invitation.state


class SupplierRelation(TimestampMixin, db.Model):
    """One buyer's status for one supplier (no row yet = new)."""

    __tablename__ = "supplier_relations"
    __label__ = "supplier status"

    id: Mapped[int] = mapped_column(primary_key=True)
    buyer_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))
    supplier_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), index=True)
    status: Mapped[SupplierStatus] = mapped_column(_enum(SupplierStatus), default=SupplierStatus.new)
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    lock_version: Mapped[int] = mapped_column(default=1)

    buyer = relationship("Company", foreign_keys=[buyer_company_id])
    supplier = relationship("Company", foreign_keys=[supplier_company_id], lazy="joined")
    history: Mapped[list[SupplierStatusChange]] = relationship(
        back_populates="relation", order_by="SupplierStatusChange.id.desc()", cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": lock_version}
    __table_args__ = (sa.UniqueConstraint("buyer_company_id", "supplier_company_id", name="uq_supplier_relations_pair"),)

    @classmethod
    def visible_to(cls, company_id):
        return sa.or_(cls.buyer_company_id == company_id, cls.supplier_company_id == company_id)


class SupplierStatusChange(db.Model):
    __tablename__ = "supplier_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    relation_id: Mapped[int] = mapped_column(sa.ForeignKey("supplier_relations.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[SupplierStatus | None] = mapped_column(_enum(SupplierStatus))
    to_status: Mapped[SupplierStatus] = mapped_column(_enum(SupplierStatus))
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    relation: Mapped[SupplierRelation] = relationship(back_populates="history")
    actor = relationship("User")


class BuyerSupplierPolicy(db.Model):
    """A buyer's onboarding settings."""

    __tablename__ = "buyer_supplier_policies"

    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), primary_key=True)
    only_approved_awards: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class SupplierContact(db.Model):
    """Contacts a supplier gives at registration (sales, accounts, quality...)."""

    __tablename__ = "supplier_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    function: Mapped[str] = mapped_column(sa.String(80), default="")
    email: Mapped[str] = mapped_column(sa.String(254), default="")
    phone: Mapped[str] = mapped_column(sa.String(40), default="")


class QualificationDocument(TimestampMixin, db.Model):
    """A supplier's certificate (ISO 9001 ...): the supplier and every buyer it has a status with see it."""

    __tablename__ = "qualification_documents"
    __label__ = "qualification document"

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), index=True)
    cert_type: Mapped[CertificateType] = mapped_column(_enum(CertificateType))
    number: Mapped[str] = mapped_column(sa.String(100))
    issuer: Mapped[str] = mapped_column(sa.String(200))
    valid_until: Mapped[date] = mapped_column(sa.Date, index=True)
    file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_files.id"))
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    supplier = relationship("Company", lazy="joined")
    file = relationship("StoredFile")

    @classmethod
    def visible_to(cls, company_id):
        buyers_of = sa.select(SupplierRelation.supplier_company_id).where(
            SupplierRelation.buyer_company_id == company_id)
        return sa.or_(cls.supplier_company_id == company_id, cls.supplier_company_id.in_(buyers_of))


class SupplierQuestion(TimestampMixin, db.Model):
    """A question of a buyer's supplier questionnaire."""

    __tablename__ = "supplier_questions"
    __label__ = "question"

    id: Mapped[int] = mapped_column(primary_key=True)
    buyer_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), index=True)
    position: Mapped[int] = mapped_column(default=1)
    text: Mapped[str] = mapped_column(sa.String(1000))
    active: Mapped[bool] = mapped_column(default=True)

    @classmethod
    def visible_to(cls, company_id):
        """The buyer, and the suppliers it has a status with."""
        mine = sa.select(SupplierRelation.buyer_company_id).where(SupplierRelation.supplier_company_id == company_id)
        return sa.or_(cls.buyer_company_id == company_id, cls.buyer_company_id.in_(mine))


class QuestionnaireAnswer(TimestampMixin, db.Model):
    __tablename__ = "questionnaire_answers"
    __label__ = "answer"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("supplier_questions.id", ondelete="CASCADE"))
    buyer_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))
    supplier_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), index=True)
    answer: Mapped[str] = mapped_column(sa.Text)
    answered_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    review: Mapped[AnswerReview] = mapped_column(_enum(AnswerReview), default=AnswerReview.pending)
    review_note: Mapped[str] = mapped_column(sa.Text, default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    question: Mapped[SupplierQuestion] = relationship(lazy="joined")

    __table_args__ = (sa.UniqueConstraint("question_id", "supplier_company_id", name="uq_questionnaire_answers_pair"),)

    @classmethod
    def visible_to(cls, company_id):
        return sa.or_(cls.buyer_company_id == company_id, cls.supplier_company_id == company_id)
