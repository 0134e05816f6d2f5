"""Supplier onboarding: invite a supplier that is not on the portal by e-mail (a signed, expiring, single-use
link), its registration (company, bank details, contacts, first user) turning the invitation into an RFQ
invitation; each buyer's supplier status (new -> approved -> blocked, with history and reason); qualification
documents (certificates with expiry dates and reminders to both sides); the buyer's questionnaire.

Every public mutating function is one unit of work: it validates, changes, records audit events, queues mail and
commits once; any error rolls everything back (nothing half-saved).
"""
from __future__ import annotations

import functools
import hashlib
import logging
import secrets
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from portal.accounts import services as accounts
from portal.accounts.models import Company, Role, User
from portal.audit.services import record
from portal.db import db, utcnow
from portal.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from portal.i18n import _l
from portal.errors import number_fig, say
from portal.events.services import emit
from portal.locking import check_fresh, lock_row
from portal.notifications.messages import day, msg, number
from portal.notifications.services import company_users, notify, queue_mail
from portal.suppliers import states
from portal.suppliers.models import (BuyerSupplierPolicy, QualificationDocument, QuestionnaireAnswer,
                                     SupplierContact, SupplierInvitation, SupplierQuestion, SupplierRelation,
                                     SupplierStatusChange)
from portal.suppliers.states import AnswerReview, CertificateType, SupplierStatus
from portal.tenancy import get_for_company

log = logging.getLogger(__name__)

INVITATION_TTL_DAYS = 14
REMIND_DAYS = 30  # certificates expiring within this many days are reminded, once, to both sides
MAX_CONTACTS = 5
MAX_TEXT = 4000
STALE = _l("This supplier's status was changed by someone else since you opened the page; reload and try again.")
INVALID_LINK = "This invitation link is not valid. Ask the buyer who invited you for a new one."
EXPIRED_LINK = "This invitation has expired. Ask the buyer who invited you to send a new one."


def unit_of_work(fn):
    """Commit once when ``fn`` returns; roll back on any error."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            result = fn(*args, **kwargs)
            db.session.commit()
            return result
        except StaleDataError as exc:
            db.session.rollback()
            raise Conflict(STALE) from exc
        except IntegrityError as exc:
            db.session.rollback()
            log.info("integrity error in %s: %s", fn.__name__, exc)
            raise Conflict(_l("Someone else made the same change at the same moment; reload the page.")) from exc
        except BaseException:
            db.session.rollback()
            raise

    return wrapper


class AlreadyOnPortal(Conflict):
    """The e-mail belongs to someone on the portal: invite their company instead (``company``)."""

    def __init__(self, message: str, company: Company, **kw):
        super().__init__(message, **kw)
        self.company = company


def _require_buyer(actor: User) -> None:
    if not (actor.company.is_buyer and actor.has_role(Role.procurement, Role.admin)):
        raise Forbidden(_l("Only procurement staff or administrators of a buying company can do that."))


def _require_supplier(actor: User) -> None:
    if not actor.company.is_supplier:
        raise Forbidden(_l("Only people of a supplier company can do that."))


def _text(value, what: str, field: str, *, required=False, max_len=MAX_TEXT) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed(_l("%(what)s is required."), what=what, errors={field: _l("Required.")})
    if len(value) > max_len:
        raise ValidationFailed(_l("%(what)s is too long (at most %(max_len)s characters)."),
                               what=what, max_len=number_fig(max_len),
                               errors={field: say(_l("At most %(max_len)s characters."), max_len=number_fig(max_len))})
    return value


# ---------------------------------------------------------------------------------------------------
# Invitations by e-mail
# ---------------------------------------------------------------------------------------------------

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="portal.supplier-invitation")


def _digest(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def ttl_days() -> int:
    return int(current_app.config.get("SUPPLIER_INVITATION_TTL_DAYS") or INVITATION_TTL_DAYS)


def invitation_path(token: str) -> str:
    return f"/supplier-invitations/{token}"


def _invitable_rfq(actor: User, rfq_id):
    from portal.rfq.services import load_visible
    from portal.rfq.states import RfqStatus

    rfq = load_visible(rfq_id, actor.company_id)
    if rfq.buyer_company_id != actor.company_id:
        raise Forbidden(_l("Only the buyer can invite suppliers to this RFQ."))
    if rfq.status not in (RfqStatus.draft, RfqStatus.open):
        raise InvalidTransition(_l("Suppliers cannot be invited to an RFQ that is %(value)s."), value=rfq.status.value)
    if rfq.status == RfqStatus.open and rfq.deadline <= utcnow():
        raise InvalidTransition(_l("The response deadline has passed; no more suppliers can be invited."))
    return rfq


@unit_of_work
def invite_new_supplier(actor: User, *, email: str, company_name: str = "", contact_name: str = "",
                        message: str = "", rfq_id=None) -> tuple[SupplierInvitation, str]:
    """Invite a company that is not on the portal; returns the invitation and the raw token (mailed once)."""
    _require_buyer(actor)
    email = accounts._email(email)
    existing = db.session.scalar(sa.select(User).where(sa.func.lower(User.email) == email))
    if existing is not None:
        c = existing.company
        if c.id == actor.company_id:
            raise Conflict(_l("%(email)s is a colleague at your own company."), email=email,
                           errors={"email": _l("This is someone of your own company.")})
        if not c.is_supplier:
            raise Conflict(_l("%(email)s belongs to %(display_name)s, which is on the portal but is not a supplier."),
                           email=email, display_name=c.display_name,
                           errors={"email": _l("Already on the portal (not a supplier).")})
        raise AlreadyOnPortal(_l("%(email)s is already on the portal at %(name)s. Invite %(name)s instead."), c,
                              email=email, name=c.display_name,
                              errors={"email": say(_l("Already on the portal at %(name)s."), name=c.display_name)})
    company_name = _text(company_name, "The company name", "company_name", max_len=200)
    contact_name = _text(contact_name, "The contact's name", "contact_name", max_len=120)
    message = _text(message, "The message", "message", max_len=2000)
    rfq = _invitable_rfq(actor, rfq_id) if rfq_id not in (None, "") else None
    pending = db.session.scalar(sa.select(SupplierInvitation).where(
        SupplierInvitation.buyer_company_id == actor.company_id, sa.func.lower(SupplierInvitation.email) == email,
        SupplierInvitation.accepted_at.is_(None), SupplierInvitation.revoked_at.is_(None),
        SupplierInvitation.expires_at > utcnow(),
        SupplierInvitation.rfq_id == rfq.id if rfq else SupplierInvitation.rfq_id.is_(None)))
    if pending is not None:
        raise Conflict(_l("%(email)s was already invited on %(created_at)s; that invitation is still pending."),
                       email=email, created_at=format(pending.created_at, "%d %b %Y"),
                       errors={"email": _l("Already invited; the invitation is pending.")})
    nonce = secrets.token_urlsafe(24)
    days = ttl_days()
    inv = SupplierInvitation(buyer_company_id=actor.company_id, rfq_id=rfq.id if rfq else None, email=email,
                             company_name=company_name, contact_name=contact_name, message=message,
                             token_hash=_digest(nonce), invited_by_id=actor.id,
                             expires_at=utcnow() + timedelta(days=days))
    db.session.add(inv)
    db.session.flush()
    token = _serializer().dumps({"i": inv.id, "n": nonce})
    record("company", actor.company_id, "supplier_invited_by_email", actor=actor, company_id=actor.company_id,
           detail=f"{email}" + (f" to {rfq.reference}" if rfq else ""), visible_to_company_id=actor.company_id)
    base = current_app.config.get("BASE_URL") or ""
    what = f" to quote for “{rfq.title}” ({rfq.reference})" if rfq else " as a supplier"
    body = [f"Hello {contact_name or company_name or email},", "",
            (f"{actor.name} of {actor.company.display_name} invites {company_name or 'your company'}{what} on the "
             "Procurement Portal.")]
    if message:
        body += ["", message]
    body += ["", f"Register your company within {days} days: {base}{invitation_path(token)}", "",
             "— Procurement Portal"]
    queue_mail(email, f"{actor.company.display_name} invites you{what}", "\n".join(body),
               company_id=actor.company_id)
    return inv, token


def find_invitation(token: str) -> SupplierInvitation:
    """The pending invitation of a link, or NotFound (forged, unknown) / Conflict (expired, used, withdrawn)."""
    try:
        data = _serializer().loads(token or "", max_age=ttl_days() * 86400)
    except SignatureExpired:
        raise Conflict(EXPIRED_LINK) from None
    except BadSignature:
        raise NotFound(INVALID_LINK) from None
    try:
        inv_id, nonce = int(data["i"]), str(data["n"])
    except (KeyError, TypeError, ValueError):
        raise NotFound(INVALID_LINK) from None
    inv = db.session.get(SupplierInvitation, inv_id) if 0 < inv_id < 2**31 else None
    if inv is None or not secrets.compare_digest(inv.token_hash, _digest(nonce)):
        raise NotFound(INVALID_LINK)
    _check_pending(inv)
    return inv


def _check_pending(inv: SupplierInvitation) -> None:
    state = inv.state
    if state == "accepted":
        raise Conflict(_l("This invitation has already been used: your company is registered. Sign in instead."))
    if state == "revoked":
        raise Conflict(_l("This invitation was withdrawn by the buyer."))
    if state == "expired":
        raise Conflict(EXPIRED_LINK)


def _contacts(rows) -> list[SupplierContact]:
    out = []
    for i, row in enumerate(rows or []):
        row = {k: (row.get(k) or "").strip() for k in ("name", "function", "email", "phone")}
        if not any(row.values()):
            continue
        if not row["name"]:
            raise ValidationFailed(_l("Contact %(i)s needs a name."), i=i + 1,
                                   errors={f"contact{i}_name": _l("Required.")})
        if row["email"]:
            row["email"] = accounts._email(row["email"])
        for key, n in (("name", 120), ("function", 80), ("phone", 40)):
            if len(row[key]) > n:
                raise ValidationFailed(_l("Contact %(i)s: the %(key)s is too long (at most %(num)s characters)."),
                                       i=i + 1, key=key, num=n)
        out.append(SupplierContact(**row))
    if len(out) > MAX_CONTACTS:
        raise ValidationFailed(_l("At most %(max_contacts)s contacts."), max_contacts=MAX_CONTACTS)
    return out


def register_supplier(token: str, *, company_fields: dict, contacts=(), name: str, password: str) -> User:
    """The invitee registers its company (VAT id, IBAN/BIC checked) and its first user (admin and sales). The
    invitation becomes an RfqInvitation when it came from an RFQ that still takes suppliers. One transaction."""
    try:
        user = _register(token, company_fields=company_fields, contacts=contacts, name=name, password=password)
        db.session.commit()
        return user
    except IntegrityError as exc:
        db.session.rollback()
        raise Conflict(_l("An account with this email address or a company with this VAT number was registered at "
                          "the same moment; sign in instead.")) from exc
    except BaseException:
        db.session.rollback()
        raise


def _register(token, *, company_fields, contacts, name, password) -> User:
    from portal.rfq.models import Rfq, RfqInvitation
    from portal.rfq.states import RfqStatus

    inv = find_invitation(token)
    inv = lock_row(SupplierInvitation, inv.id)
    _check_pending(inv)
    accounts._ensure_email_free(inv.email)
    name = _text(name, "Your name", "name", required=True, max_len=120)
    accounts.check_password_strength(password, email=inv.email, name=name)
    fields = dict(company_fields)
    if not (fields.get("vat_number") or "").strip():
        raise ValidationFailed(_l("Enter your company's VAT id."), errors={"vat_number": _l("Required.")})
    fields["kind"] = "supplier"
    company = accounts.build_company(**fields)
    contact_rows = _contacts(contacts)
    db.session.add(company)
    db.session.flush()
    for c in contact_rows:
        c.company_id = company.id
        db.session.add(c)
    user = User(company_id=company.id, email=inv.email, name=name, password_hash=accounts.hash_password(password))
    user.set_roles([Role.admin, Role.sales])
    db.session.add(user)
    inv.accepted_at = utcnow()
    inv.supplier_company_id = company.id
    rel = SupplierRelation(buyer_company_id=inv.buyer_company_id, supplier_company_id=company.id,
                           status=SupplierStatus.new)
    rel.history.append(SupplierStatusChange(from_status=None, to_status=SupplierStatus.new,
                                            reason="Registered on invitation", actor_id=None))
    db.session.add(rel)
    db.session.flush()
    record("company", company.id, "registered_on_invitation", actor=user, company_id=company.id,
           detail=f"invited by {inv.buyer.display_name}")
    user.landing_rfq_id = None
    rfq = db.session.get(Rfq, inv.rfq_id) if inv.rfq_id else None
    if rfq is not None and (rfq.status == RfqStatus.draft
                            or (rfq.status == RfqStatus.open and rfq.deadline > utcnow())):
        db.session.add(RfqInvitation(rfq_id=rfq.id, supplier_company_id=company.id,
                                     invited_by_id=inv.invited_by_id))
        record("rfq", rfq.id, "supplier_invited", actor=inv.invited_by_id, company_id=rfq.buyer_company_id,
               detail=f"{company.display_name} (registered on invitation)", visible_to_company_id=rfq.buyer_company_id)
        if rfq.status == RfqStatus.open:
            user.landing_rfq_id = rfq.id
    notify([inv.invited_by], kind="supplier_registered",
           title=msg(_l("%(company)s registered on your invitation"), company=company.display_name),
           body=(msg(_l("%(email)s registered %(company)s and is invited to %(reference)s."), email=inv.email,
                     company=company.legal_name, reference=rfq.reference) if rfq is not None else
                 msg(_l("%(email)s registered %(company)s."), email=inv.email, company=company.legal_name)),
           link=f"/suppliers/{company.id}")
    emit(inv.buyer_company_id, "supplier_invitation.accepted", inv)
    return user


@unit_of_work
def revoke_invitation(actor: User, invitation_id) -> SupplierInvitation:
    _require_buyer(actor)
    inv = get_for_company(SupplierInvitation, invitation_id, actor.company_id)
    if inv.buyer_company_id != actor.company_id:
        raise NotFound(_l("No such supplier invitation."))
    inv = lock_row(SupplierInvitation, inv.id)
    if inv.state != "pending":
        raise Conflict(_l("This invitation is already %(state)s."), state=inv.state)
    inv.revoked_at = utcnow()
    return inv


def invitations_of(company_id: int, *, rfq_id=None, pending_only=False) -> list[SupplierInvitation]:
    stmt = sa.select(SupplierInvitation).where(SupplierInvitation.buyer_company_id == company_id)
    if rfq_id is not None:
        stmt = stmt.where(SupplierInvitation.rfq_id == rfq_id)
    if pending_only:
        stmt = stmt.where(SupplierInvitation.accepted_at.is_(None), SupplierInvitation.revoked_at.is_(None))
    return list(db.session.scalars(stmt.options(selectinload(SupplierInvitation.rfq))
                                   .order_by(SupplierInvitation.id.desc())))


# ---------------------------------------------------------------------------------------------------
# Supplier status per buyer
# ---------------------------------------------------------------------------------------------------

def statuses(buyer_id: int, supplier_ids) -> dict[int, SupplierRelation]:
    ids = list({int(i) for i in supplier_ids})
    if not ids:
        return {}
    return {r.supplier_company_id: r for r in db.session.scalars(sa.select(SupplierRelation).where(
        SupplierRelation.buyer_company_id == buyer_id, SupplierRelation.supplier_company_id.in_(ids)))}


def status_of(buyer_id: int, supplier_id: int) -> SupplierStatus:
    rel = statuses(buyer_id, [supplier_id]).get(supplier_id)
    return rel.status if rel else SupplierStatus.new


def relation(buyer_id: int, supplier_id: int) -> SupplierRelation | None:
    return statuses(buyer_id, [supplier_id]).get(int(supplier_id))


def _supplier_company(supplier_id, actor: User) -> Company:
    try:
        sid = int(supplier_id)
    except (TypeError, ValueError):
        raise NotFound(_l("No such supplier.")) from None
    company = db.session.get(Company, sid) if 0 < sid < 2**31 else None
    if company is None or not company.is_supplier or company.id == actor.company_id:
        raise NotFound(_l("No such supplier."))
    return company


def _ensure_relation(buyer_id: int, supplier: Company, actor: User | None, reason: str) -> SupplierRelation:
    rel = relation(buyer_id, supplier.id)
    if rel is None:
        rel = SupplierRelation(buyer_company_id=buyer_id, supplier_company_id=supplier.id, status=SupplierStatus.new)
        rel.history.append(SupplierStatusChange(from_status=None, to_status=SupplierStatus.new, reason=reason,
                                                actor_id=getattr(actor, "id", None)))
        db.session.add(rel)
        db.session.flush()
    return rel


@unit_of_work
def add_supplier(actor: User, supplier_id) -> SupplierRelation:
    """Put a supplier from the directory on the buyer's list (status new); an existing entry is kept."""
    _require_buyer(actor)
    supplier = _supplier_company(supplier_id, actor)
    return _ensure_relation(actor.company_id, supplier, actor, "Added from the directory")


# The status word inside a notice, translated for the reader ("your supplier status is freigegeben").
STATUS_WORDS = {SupplierStatus.new: _l("new"), SupplierStatus.approved: _l("approved"),
                SupplierStatus.blocked: _l("blocked")}


@unit_of_work
def set_status(actor: User, supplier_id, status, *, reason: str = "", lock_version=None) -> SupplierRelation:
    """Move a supplier to approved or blocked (with a reason; blocking needs one). History is kept; the supplier
    is told."""
    _require_buyer(actor)
    supplier = _supplier_company(supplier_id, actor)
    try:
        target = SupplierStatus(status)
    except ValueError:
        raise ValidationFailed(_l("Choose approved or blocked."), errors={"status": _l("Choose a status.")}) from None
    reason = _text(reason, "The reason", "reason", required=target == SupplierStatus.blocked, max_len=2000)
    rel = _ensure_relation(actor.company_id, supplier, actor, "First status")
    rel = lock_row(SupplierRelation, rel.id)
    check_fresh(rel, lock_version, STALE, required=False)
    before = rel.status
    states.check(before, target)
    rel.status, rel.reason = target, reason
    rel.history.append(SupplierStatusChange(from_status=before, to_status=target, reason=reason, actor_id=actor.id))
    record("supplier", supplier.id, f"status_{target.value}", actor=actor, company_id=actor.company_id,
           from_state=before, to_state=target, detail=reason, visible_to_company_id=actor.company_id)
    notify(company_users(supplier.id, Role.admin, Role.sales), kind="supplier_status",
           title=msg(_l("%(buyer)s: your supplier status is %(status)s"), buyer=actor.company.display_name,
                     status=msg(STATUS_WORDS[target])),
           body=reason or msg(_l("%(buyer)s set your status to %(status)s."),
                              buyer=actor.company.display_name, status=msg(STATUS_WORDS[target])),
           link="/suppliers/my-buyers", mail=target != SupplierStatus.new)
    emit([rel.buyer_company_id, rel.supplier_company_id], "supplier_status.changed", rel)
    db.session.flush()
    return rel


def _names(companies) -> str:
    return ", ".join(c.display_name for c in companies)


def check_invitable(buyer_id: int, supplier_ids) -> None:
    """Blocked suppliers are never invited (called by the RFQ invitation service)."""
    blocked = [r for r in statuses(buyer_id, supplier_ids).values() if r.status == SupplierStatus.blocked]
    if blocked:
        blocked.sort(key=lambda r: r.supplier.display_name)
        if len(blocked) == 1 and blocked[0].reason:
            raise ValidationFailed(_l("%(names)s is blocked by your company and cannot be invited. Reason: %(reason)s"),
                                   names=_names(r.supplier for r in blocked), reason=blocked[0].reason)
        raise ValidationFailed(_l("%(names)s %(v)s blocked by your company and cannot be invited."),
                               names=_names(r.supplier for r in blocked), v="is" if len(blocked) == 1 else "are")


def check_awardable(buyer_id: int, supplier_ids) -> None:
    """Called by the award service: a blocked supplier is never awarded; with the buyer's setting "only approved
    suppliers can be awarded", a new one is not either."""
    ids = sorted({int(i) for i in supplier_ids})
    rels = statuses(buyer_id, ids)
    only_approved = policy(buyer_id).only_approved_awards
    refused = [sid for sid in ids if (rels[sid].status if sid in rels else SupplierStatus.new)
               == SupplierStatus.blocked or (only_approved and (sid not in rels or
                                                               rels[sid].status != SupplierStatus.approved))]
    if refused:
        companies = list(db.session.scalars(sa.select(Company).where(Company.id.in_(refused))
                                            .order_by(Company.display_name)))
        raise ValidationFailed(f"{_names(companies)} cannot be awarded: your company awards approved suppliers "
                               "only (Suppliers page: approve them first)." if only_approved else
                               f"{_names(companies)} {'is' if len(companies) == 1 else 'are'} blocked by your "
                               "company and cannot be awarded.")


def policy(company_id: int) -> BuyerSupplierPolicy:
    return db.session.get(BuyerSupplierPolicy, company_id) or BuyerSupplierPolicy(company_id=company_id,
                                                                                  only_approved_awards=False)


@unit_of_work
def set_policy(actor: User, *, only_approved_awards: bool) -> BuyerSupplierPolicy:
    if not (actor.company.is_buyer and actor.has_role(Role.admin)):
        raise Forbidden(_l("Only an administrator of a buying company can change this setting."))
    row = db.session.get(BuyerSupplierPolicy, actor.company_id, with_for_update=True)
    if row is None:
        row = BuyerSupplierPolicy(company_id=actor.company_id)
        db.session.add(row)
    row.only_approved_awards = bool(only_approved_awards)
    record("company", actor.company_id, "supplier_policy", actor=actor, company_id=actor.company_id,
           detail="only approved suppliers can be awarded" if only_approved_awards else "any supplier not blocked "
                  "can be awarded")
    return row


def directory(actor: User, *, q: str = "", status: str = "", limit: int = 200):
    """Supplier companies with this buyer's status: [(company, relation or None)]."""
    from portal.rfq.services import _like

    stmt = (sa.select(Company, SupplierRelation)
            .outerjoin(SupplierRelation, sa.and_(SupplierRelation.supplier_company_id == Company.id,
                                                 SupplierRelation.buyer_company_id == actor.company_id))
            .where(Company.kind.in_(["supplier", "both"]), Company.id != actor.company_id))
    q = (q or "").strip()[:100]
    if q:
        stmt = stmt.where(sa.or_(Company.display_name.ilike(_like(q), escape="\\"),
                                 Company.legal_name.ilike(_like(q), escape="\\"),
                                 Company.categories.ilike(_like(q), escape="\\")))
    if status in ("approved", "blocked"):
        stmt = stmt.where(SupplierRelation.status == SupplierStatus(status))
    elif status == "new":
        stmt = stmt.where(sa.or_(SupplierRelation.id.is_(None), SupplierRelation.status == SupplierStatus.new))
    return list(db.session.execute(stmt.order_by(Company.display_name, Company.id).limit(limit)).tuples())


def buyers_of(supplier_id: int) -> list[SupplierRelation]:
    return list(db.session.scalars(sa.select(SupplierRelation).where(
        SupplierRelation.supplier_company_id == supplier_id).options(joinedload(SupplierRelation.buyer))
        .order_by(SupplierRelation.id)))


# ---------------------------------------------------------------------------------------------------
# Qualification documents
# ---------------------------------------------------------------------------------------------------

def _date(value) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise ValidationFailed(_l("Enter the expiry date as a date (YYYY-MM-DD)."),
                               errors={"valid_until": _l("A date.")}) from None


@unit_of_work
def add_document(actor: User, *, cert_type, number: str, issuer: str, valid_until, filename: str | None = None,
                 data: bytes | None = None, supplier_id=None) -> QualificationDocument:
    """A certificate of the actor's own supplier company, or (a buyer) of one of its suppliers."""
    if supplier_id in (None, "") or int(supplier_id) == actor.company_id:
        _require_supplier(actor)
        supplier = actor.company
    else:
        _require_buyer(actor)
        supplier = _supplier_company(supplier_id, actor)
        _ensure_relation(actor.company_id, supplier, actor, "Certificate recorded")
    try:
        kind = CertificateType(cert_type)
    except ValueError:
        raise ValidationFailed(_l("Choose the certificate type."), errors={"cert_type": _l("Choose a type.")}) from None
    number = _text(number, "The certificate number", "number", required=True, max_len=100)
    issuer = _text(issuer, "The issuer", "issuer", required=True, max_len=200)
    until = _date(valid_until)
    today = utcnow().date()
    if until < today:
        raise ValidationFailed(_l("The certificate expired on %(until)s; upload a certificate that is still valid."),
                               until=until.isoformat(), errors={"valid_until": _l("This date is in the past.")})
    doc = QualificationDocument(supplier_company_id=supplier.id, cert_type=kind, number=number, issuer=issuer,
                                valid_until=until, uploaded_by_id=actor.id)
    if data:
        _store_file(doc, actor, filename or "certificate.pdf", data)
    db.session.add(doc)
    db.session.flush()
    record("supplier", supplier.id, "certificate_added", actor=actor, company_id=actor.company_id,
           detail=f"{states.CERTIFICATE_LABELS[kind]} {number}, valid until {until.isoformat()}")
    return doc


def _store_file(doc: QualificationDocument, actor: User, filename: str, data: bytes) -> None:
    """The page's checks (type by content, size), then the file stored for the supplier (and the recording
    buyer)."""
    from portal.documents.store import save_bytes
    from portal.rfq.services import check_attachment

    clean, content_type = check_attachment(filename, data)
    supplier_id = doc.supplier_company_id
    doc.file_id = save_bytes(data, filename=clean, content_type=content_type, owner_company_id=supplier_id,
                             party_company_id=None if supplier_id == actor.company_id else actor.company_id).id


@unit_of_work
def attach_document_file(actor: User, doc_id, *, filename: str, data: bytes) -> QualificationDocument:
    """Give a recorded certificate its file (the API: fields first, then the file). The supplier for its own
    certificates, or the buyer who recorded one; a certificate keeps its first file (record the renewed
    certificate as a new one)."""
    doc = get_for_company(QualificationDocument, doc_id, actor.company_id)
    if doc.supplier_company_id == actor.company_id:
        _require_supplier(actor)
    else:
        _require_buyer(actor)
        recorder = db.session.get(User, doc.uploaded_by_id)
        if recorder is None or recorder.company_id != actor.company_id:
            raise Forbidden(_l("Only the supplier, or the buyer who recorded the certificate, gives it its file."))
    doc = lock_row(QualificationDocument, doc.id)
    if doc.file_id is not None:
        raise Conflict(_l("This certificate has its file already; record the renewed certificate as a new one."))
    if not data:
        raise ValidationFailed(_l("The file is empty."), errors={"file": _l("Choose a file.")})
    _store_file(doc, actor, filename or "certificate.pdf", data)
    record("supplier", doc.supplier_company_id, "certificate_file_added", actor=actor, company_id=actor.company_id,
           detail=f"{states.CERTIFICATE_LABELS[doc.cert_type]} {doc.number}: {filename}")
    db.session.flush()
    return doc


@unit_of_work
def remove_document(actor: User, doc_id) -> None:
    doc = get_for_company(QualificationDocument, doc_id, actor.company_id)
    if doc.supplier_company_id != actor.company_id:
        raise Forbidden(_l("Only the supplier can remove its certificates."))
    db.session.delete(doc)


def documents_of(supplier_id: int) -> list[QualificationDocument]:
    return list(db.session.scalars(sa.select(QualificationDocument).where(
        QualificationDocument.supplier_company_id == supplier_id).order_by(QualificationDocument.valid_until)))


def remind_expiring_certificates() -> int:
    """Sweep (every tick): certificates expiring within REMIND_DAYS are reminded once, to the supplier and to
    every buyer that keeps a status for it. A conditional update claims each certificate, so two sweeps at once
    remind once."""
    today = utcnow().date()
    due = list(db.session.scalars(sa.select(QualificationDocument.id).where(
        QualificationDocument.reminded_at.is_(None), QualificationDocument.valid_until >= today,
        QualificationDocument.valid_until <= today + timedelta(days=REMIND_DAYS))))
    db.session.rollback()
    sent = 0
    for doc_id in due:
        try:
            claimed = db.session.execute(sa.update(QualificationDocument).where(
                QualificationDocument.id == doc_id, QualificationDocument.reminded_at.is_(None))
                .values(reminded_at=utcnow())).rowcount
            if claimed != 1:
                db.session.rollback()
                continue
            doc = db.session.get(QualificationDocument, doc_id)
            label = f"{states.CERTIFICATE_LABELS[doc.cert_type]} {doc.number}"
            days = (doc.valid_until - today).days
            when = (msg(_l("on %(date)s (in %(days)s days)"), date=day(doc.valid_until), days=number(days))
                    if days else msg(_l("today")))
            notify(company_users(doc.supplier_company_id, Role.admin, Role.sales), kind="certificate_expiring",
                   title=msg(_l("Your certificate %(label)s expires %(when)s"), label=label, when=when),
                   body=msg(_l("Upload the renewed certificate so your customers keep you qualified.")),
                   link="/suppliers/my-buyers")
            for rel in buyers_of(doc.supplier_company_id):
                notify(company_users(rel.buyer_company_id, Role.procurement), kind="certificate_expiring",
                       title=msg(_l("%(supplier)s: certificate %(label)s expires %(when)s"),
                                 supplier=doc.supplier.display_name, label=label, when=when),
                       body=msg(_l("Ask the supplier for the renewed certificate.")),
                       link=f"/suppliers/{doc.supplier_company_id}")
            emit([doc.supplier_company_id] + [rel.buyer_company_id for rel in buyers_of(doc.supplier_company_id)],
                 "certificate.expiring", doc)
            db.session.commit()
            sent += 1
        except Exception:  # one bad row must not stop the others
            db.session.rollback()
            log.exception("certificate reminder %s failed", doc_id)
    return sent


# ---------------------------------------------------------------------------------------------------
# Questionnaire
# ---------------------------------------------------------------------------------------------------

def questions_of(buyer_id: int) -> list[SupplierQuestion]:
    return list(db.session.scalars(sa.select(SupplierQuestion).where(
        SupplierQuestion.buyer_company_id == buyer_id, SupplierQuestion.active.is_(True))
        .order_by(SupplierQuestion.position, SupplierQuestion.id)))


def questionnaires_for(supplier_id: int, buyer_ids) -> tuple[dict[int, list], dict[int, dict]]:
    """The supplier's view of its buyers' questionnaires in two statements: {buyer: [questions]} and
    {buyer: {question_id: answer}}."""
    ids = list(buyer_ids)
    questions: dict[int, list] = {b: [] for b in ids}
    answers: dict[int, dict] = {b: {} for b in ids}
    if not ids:
        return questions, answers
    for q in db.session.scalars(sa.select(SupplierQuestion).where(
            SupplierQuestion.buyer_company_id.in_(ids), SupplierQuestion.active.is_(True))
            .order_by(SupplierQuestion.position, SupplierQuestion.id)):
        questions[q.buyer_company_id].append(q)
    for a in db.session.scalars(sa.select(QuestionnaireAnswer).where(
            QuestionnaireAnswer.supplier_company_id == supplier_id, QuestionnaireAnswer.buyer_company_id.in_(ids))):
        answers[a.buyer_company_id][a.question_id] = a
    return questions, answers


@unit_of_work
def add_question(actor: User, text: str) -> SupplierQuestion:
    _require_buyer(actor)
    text = _text(text, "The question", "text", required=True, max_len=1000)
    last = db.session.scalar(sa.select(sa.func.max(SupplierQuestion.position)).where(
        SupplierQuestion.buyer_company_id == actor.company_id)) or 0
    q = SupplierQuestion(buyer_company_id=actor.company_id, position=last + 1, text=text)
    db.session.add(q)
    db.session.flush()
    return q


@unit_of_work
def remove_question(actor: User, question_id) -> None:
    """Retire a question (answers already given stay)."""
    _require_buyer(actor)
    q = get_for_company(SupplierQuestion, question_id, actor.company_id)
    if q.buyer_company_id != actor.company_id:
        raise NotFound(_l("No such question."))
    q.active = False


@unit_of_work
def answer_question(actor: User, question_id, text: str) -> QuestionnaireAnswer:
    """The supplier answers a question of a buyer it has a status with; a new answer goes back to review."""
    _require_supplier(actor)
    q = get_for_company(SupplierQuestion, question_id, actor.company_id)
    if q.buyer_company_id == actor.company_id or not q.active:
        raise NotFound(_l("No such question."))
    text = _text(text, "The answer", "answer", required=True)
    ans = db.session.scalar(sa.select(QuestionnaireAnswer).where(
        QuestionnaireAnswer.question_id == q.id, QuestionnaireAnswer.supplier_company_id == actor.company_id)
        .with_for_update(of=QuestionnaireAnswer).execution_options(populate_existing=True))
    if ans is None:
        ans = QuestionnaireAnswer(question_id=q.id, buyer_company_id=q.buyer_company_id,
                                  supplier_company_id=actor.company_id, answer=text, answered_by_id=actor.id)
        db.session.add(ans)
    else:
        ans.answer, ans.answered_by_id = text, actor.id
        ans.review, ans.review_note, ans.reviewed_by_id, ans.reviewed_at = AnswerReview.pending, "", None, None
    db.session.flush()
    return ans


@unit_of_work
def review_answer(actor: User, answer_id, decision, note: str = "") -> QuestionnaireAnswer:
    _require_buyer(actor)
    ans = get_for_company(QuestionnaireAnswer, answer_id, actor.company_id)
    if ans.buyer_company_id != actor.company_id:
        raise Forbidden(_l("Only the buyer who asked reviews the answer."))
    try:
        decision = AnswerReview(decision)
    except ValueError:
        decision = None
    if decision not in (AnswerReview.accepted, AnswerReview.rejected):
        raise ValidationFailed(_l("Accept or reject the answer."), errors={"decision": _l("Accept or reject.")})
    note = _text(note, "The note", "note", required=decision == AnswerReview.rejected, max_len=2000)
    ans.review, ans.review_note, ans.reviewed_by_id, ans.reviewed_at = decision, note, actor.id, utcnow()
    if decision == AnswerReview.rejected:
        notify(company_users(ans.supplier_company_id, Role.admin, Role.sales), kind="questionnaire_review",
               title=msg(_l("%(buyer)s asks you to revise an answer"), buyer=actor.company.display_name),
               body=msg(_l("“%(question)s”: %(note)s"), question=ans.question.text, note=note),
               link="/suppliers/my-buyers")
    db.session.flush()
    return ans


def answers_of(buyer_id: int, supplier_id: int) -> dict[int, QuestionnaireAnswer]:
    return {a.question_id: a for a in db.session.scalars(sa.select(QuestionnaireAnswer).where(
        QuestionnaireAnswer.buyer_company_id == buyer_id, QuestionnaireAnswer.supplier_company_id == supplier_id))}
