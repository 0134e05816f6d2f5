"""Companies, people, invitations and sign-in. Each public function is one unit of work."""
from __future__ import annotations

import csv
import hashlib
import io
import re
import secrets
from datetime import timedelta

import sqlalchemy as sa
from babel import Locale
from flask import current_app
from stdnum import get_cc_module
from stdnum import iban as iban_mod
from stdnum.eu import vat as eu_vat
from werkzeug.security import check_password_hash, generate_password_hash

from portal.accounts.models import Company, CompanyKind, Invitation, Role, User
from portal.audit.services import record
from portal.db import db, utcnow
from portal.errors import Conflict, Forbidden, NotFound, ValidationFailed
from portal.i18n import _l
from portal.errors import say
from portal.money import CURRENCIES

PASSWORD_MIN = 10
COMMON_PASSWORDS = {
    "password", "password1", "password123", "1234567890", "12345678910", "qwertyuiop", "letmein123",
    "iloveyou12", "welcome123", "portal-demo", "administrator", "changeme123", "passw0rd123",
}


# ---------------------------------------------------------------------------------------------------
# Validation helpers (pure)
# ---------------------------------------------------------------------------------------------------

def country_names(locale: str = "en") -> dict[str, str]:
    terr = Locale.parse(locale).territories
    return {code: name for code, name in sorted(terr.items(), key=lambda kv: kv[1])
            if len(code) == 2 and code.isalpha() and code not in ("ZZ", "EU", "EZ", "UN", "QO")}


def normalise_country(cc: str) -> str:
    cc = (cc or "").strip().upper()
    if cc not in country_names():
        raise ValidationFailed(_l("%(value)s is not a known country code."), value=cc or 'Empty',
                               errors={"country": _l("Choose a country (two-letter ISO code such as DE).")})
    return cc


def normalise_vat(country: str, number: str | None) -> str | None:
    """Validate a VAT/tax number with python-stdnum where the country has a format; return it compacted.

    EU numbers are stored with their country prefix (DE136695976); others as the country's module compacts them.
    Countries without a known format keep the number as typed (trimmed).
    """
    number = (number or "").strip()
    if not number:
        return None
    cc = country.lower()
    eu_cc = "el" if cc == "gr" else cc
    if cc in eu_vat.MEMBER_STATES or eu_cc in eu_vat.MEMBER_STATES:
        prefixed = number if number[:2].isalpha() else f"{eu_cc.upper()}{number}"
        if not eu_vat.is_valid(prefixed):
            raise ValidationFailed(_l("%(number)s is not a valid %(country)s VAT number."),
                                   number=number, country=country,
                                   errors={"vat_number": say(_l("Not a valid VAT number for %(country)s (check the "
                                                                "digits and the country prefix)."), country=country)})
        compact = eu_vat.compact(prefixed)
        if compact[:2].lower() not in (cc, eu_cc):
            raise ValidationFailed(_l("The VAT number belongs to another country."),
                                   errors={"vat_number": say(_l("This VAT number is not from %(country)s."), country=country)})
        return compact
    module = get_cc_module(cc, "vat")
    if module is not None:
        if not module.is_valid(number):
            raise ValidationFailed(_l("%(number)s is not a valid %(country)s VAT/tax number."),
                                   number=number, country=country,
                                   errors={"vat_number": say(_l("Not a valid VAT/tax number for %(country)s."), country=country)})
        return module.compact(number)
    if len(number) > 32:
        raise ValidationFailed(_l("The tax number is too long."), errors={"vat_number": _l("At most 32 characters.")})
    return number


def normalise_iban(value: str | None) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if not iban_mod.is_valid(value):
        raise ValidationFailed(_l("%(value)s is not a valid IBAN."), value=value,
                               errors={"iban": _l("Not a valid IBAN (check the country code and digits).")})
    return iban_mod.compact(value)


def normalise_bic(value: str | None) -> str | None:
    """A BIC (SWIFT code) of 8 or 11 characters, checked with python-stdnum; blank is None."""
    from stdnum import bic as bic_mod

    value = (value or "").strip()
    if not value:
        return None
    if not bic_mod.is_valid(value):
        raise ValidationFailed(_l("%(value)s is not a valid BIC."), value=value,
                               errors={"bic": _l("Not a valid BIC (8 or 11 characters, e.g. COBADEFFXXX).")})
    return bic_mod.compact(value)


def check_password_strength(password: str, *, email: str = "", name: str = "") -> None:
    problems = []
    if len(password) < PASSWORD_MIN:
        problems.append(f"use at least {PASSWORD_MIN} characters")
    if len(set(password)) < 5:
        problems.append("use more different characters")
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS:
        problems.append("this password is too common")
    local = email.split("@")[0].lower()
    if local and len(local) >= 4 and local in lowered:
        problems.append("do not use your email address in the password")
    if problems:
        msg = "Choose a stronger password: " + "; ".join(problems) + "."
        raise ValidationFailed(msg, errors={"password": msg})


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


RESERVED_DEMO_DOMAINS = (".example", ".test")


def _email(value: str) -> str:
    """Validate and normalise an email address. Outside production the reserved .example and .test domains
    (used by the demo data and the tests) are accepted."""
    from email_validator import EmailNotValidError, validate_email

    value = (value or "").strip()
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        domain = value.rpartition("@")[2].lower()
        if current_app.config.get("PORTAL_ENV") != "production" and domain.endswith(RESERVED_DEMO_DOMAINS):
            try:
                return validate_email(value.rpartition("@")[0] + "@example.com",
                                      check_deliverability=False).normalized.lower().replace(
                    "@example.com", "@" + domain)
            except EmailNotValidError:
                pass
        raise ValidationFailed(str(exc), errors={"email": str(exc)}) from exc


def _ensure_email_free(email: str) -> None:
    if db.session.scalar(sa.select(User.id).where(sa.func.lower(User.email) == email)):
        raise Conflict(_l("An account with this email address already exists."),
                       errors={"email": _l("An account with this email address already exists.")})


def _commit_unique_email() -> None:
    """Commit; two sign-ups with one email at the same moment: the unique index decides, with a sentence."""
    try:
        db.session.commit()
    except sa.exc.IntegrityError as exc:
        db.session.rollback()
        raise Conflict(_l("An account with this email address already exists."),
                       errors={"email": _l("An account with this email address already exists.")}) from exc


def _roles(values) -> list[Role]:
    try:
        roles = sorted({Role(v) for v in values}, key=lambda r: r.value)
    except ValueError as exc:
        raise ValidationFailed(_l("Unknown role: %(exc)s"), exc=exc, errors={"roles": _l("Unknown role.")}) from exc
    if not roles:
        raise ValidationFailed(_l("Give the person at least one role."),
                               errors={"roles": _l("Choose at least one role.")})
    return roles


# ---------------------------------------------------------------------------------------------------
# Companies
# ---------------------------------------------------------------------------------------------------

def build_company(*, legal_name: str, display_name: str | None = None, country: str, vat_number: str | None,
                  kind: str, currency: str = "EUR", address_line1: str = "", address_line2: str = "",
                  postcode: str = "", city: str = "", categories: str = "", iban: str | None = None,
                  bic: str | None = None, bank_name: str | None = None, website: str | None = None) -> Company:
    legal_name = (legal_name or "").strip()
    if not legal_name:
        raise ValidationFailed(_l("The company needs a legal name."), errors={"legal_name": _l("Required.")})
    country = normalise_country(country)
    vat = normalise_vat(country, vat_number)
    if vat and db.session.scalar(sa.select(Company.id).where(Company.vat_number == vat)):
        raise Conflict(_l("A company with VAT number %(vat)s is already registered."), vat=vat,
                       errors={"vat_number": _l("A company with this VAT number is already registered.")})
    try:
        kind_enum = CompanyKind(kind)
    except ValueError as exc:
        raise ValidationFailed(_l("Choose whether the company buys, supplies or both."),
                               errors={"kind": _l("Choose buyer, supplier or both.")}) from exc
    currency = (currency or "").upper()
    if currency not in CURRENCIES:
        raise ValidationFailed(_l("%(currency)s is not a supported currency."), currency=currency,
                               errors={"currency": say(_l("Choose one of %(currencies)s."), currencies=', '.join(CURRENCIES))})
    return Company(legal_name=legal_name, display_name=(display_name or "").strip() or legal_name,
                   country=country, vat_number=vat, kind=kind_enum, default_currency=currency,
                   address_line1=address_line1.strip(), address_line2=address_line2.strip(),
                   postcode=postcode.strip(), city=city.strip(), categories=categories.strip(),
                   iban=normalise_iban(iban), bic=normalise_bic(bic),
                   bank_name=(bank_name or "").strip() or None, website=normalise_website(website))


MAX_WEBSITE = 200  # companies.website is String(200)


def normalise_website(value: str | None) -> str | None:
    """A company's website: an http or https address with a host ("acme.example" becomes
    "https://acme.example"). Anything else (javascript:, data:, file:, mailto:) is refused: the address is
    shown to other companies as a link."""
    from urllib.parse import urlsplit

    value = (value or "").strip()
    if not value:
        return None
    if "://" not in value and not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:(?!\d)", value):
        value = "https://" + value
    msg = "Enter the website as an http:// or https:// address, e.g. https://www.example.com."
    try:
        parts = urlsplit(value)
    except ValueError:
        raise ValidationFailed(msg, errors={"website": msg}) from None
    if (parts.scheme.lower() not in ("http", "https") or not parts.hostname or "@" in parts.netloc
            or re.search(r"[\s<>\"'\\]", value)):
        raise ValidationFailed(msg, errors={"website": msg})
    if len(value) > MAX_WEBSITE:
        raise ValidationFailed(_l("The website address is too long; at most %(max_website)s characters."),
                               max_website=MAX_WEBSITE,
                               errors={"website": say(_l("At most %(max_website)s characters."), max_website=MAX_WEBSITE)})
    return value


def create_company(**fields) -> Company:
    company = build_company(**fields)
    db.session.add(company)
    db.session.commit()
    return company


def update_company(company: Company, actor: User, **fields) -> Company:
    """Change the company's profile; its administrators and its accounts team may (bank details, addresses)."""
    if actor.company_id != company.id or not actor.has_role(Role.admin, Role.accounts):
        raise Forbidden(_l("Only your company's administrators or accounts team can change its profile."))
    country = normalise_country(fields.get("country", company.country))
    vat = normalise_vat(country, fields.get("vat_number", company.vat_number))
    if vat and db.session.scalar(sa.select(Company.id).where(Company.vat_number == vat, Company.id != company.id)):
        raise Conflict(_l("Another company is registered with this VAT number."),
                       errors={"vat_number": _l("Another company is registered with this VAT number.")})
    currency = fields.get("default_currency", company.default_currency).upper()
    if currency not in CURRENCIES:
        raise ValidationFailed(_l("Unsupported currency."), errors={"default_currency": _l("Unsupported currency.")})
    iban = normalise_iban(fields.get("iban", company.iban))
    if "bic" in fields:
        fields["bic"] = normalise_bic(fields["bic"]) or ""
    website = normalise_website(fields.get("website", company.website))
    for key in ("legal_name", "display_name", "address_line1", "address_line2", "postcode", "city",
                "categories", "bic", "bank_name", "website"):
        if key in fields:
            value = (fields[key] or "").strip()
            setattr(company, key, value or (None if key in ("bic", "bank_name", "website") else ""))
    if "website" in fields:
        company.website = website
    if not company.legal_name:
        raise ValidationFailed(_l("The company needs a legal name."), errors={"legal_name": _l("Required.")})
    company.display_name = company.display_name or company.legal_name
    company.country, company.vat_number, company.default_currency, company.iban = country, vat, currency, iban
    record("company", company.id, "profile_updated", actor=actor, company_id=company.id)
    db.session.commit()
    return company


def sign_up(*, company_fields: dict, name: str, email: str, password: str) -> User:
    """Create a company with its first admin, in one transaction."""
    email = _email(email)
    _ensure_email_free(email)
    if not (name or "").strip():
        raise ValidationFailed(_l("Tell us your name."), errors={"name": _l("Required.")})
    check_password_strength(password, email=email, name=name)
    company = build_company(**company_fields)
    db.session.add(company)
    db.session.flush()
    roles = [Role.admin]
    roles += [Role.procurement, Role.approver] if company.is_buyer else []
    roles += [Role.sales] if company.is_supplier else []
    roles += [Role.accounts]
    user = User(company_id=company.id, email=email, name=name.strip(), password_hash=hash_password(password))
    user.set_roles(roles)
    db.session.add(user)
    db.session.flush()
    record("company", company.id, "signed_up", actor=user, company_id=company.id)
    _commit_unique_email()
    return user


def create_user(*, company_id: int, email: str, name: str, roles, password: str, check_strength=True) -> User:
    company = db.session.get(Company, company_id)
    if company is None:
        raise NotFound(_l("No company with id %(company_id)s."), company_id=company_id)
    email = _email(email)
    _ensure_email_free(email)
    if not (name or "").strip():
        raise ValidationFailed(_l("A name is required."), errors={"name": _l("Required.")})
    if check_strength:
        check_password_strength(password, email=email, name=name)
    user = User(company_id=company.id, email=email, name=name.strip(), password_hash=hash_password(password))
    user.set_roles(_roles(roles))
    db.session.add(user)
    _commit_unique_email()
    return user


# ---------------------------------------------------------------------------------------------------
# Sign-in
# ---------------------------------------------------------------------------------------------------

_DUMMY_HASH = None


def authenticate(email: str, password: str) -> User:
    """Return the user for valid credentials; one message for every failure (no account probing)."""
    global _DUMMY_HASH
    email = (email or "").strip().lower()
    user = db.session.scalar(sa.select(User).where(sa.func.lower(User.email) == email))
    if user is None:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = hash_password(secrets.token_hex(8))
        check_password_hash(_DUMMY_HASH, password or "")  # same work whether or not the account exists
        raise ValidationFailed(_l("The email address or password is not correct."))
    if not check_password_hash(user.password_hash, password or ""):
        raise ValidationFailed(_l("The email address or password is not correct."))
    if not user.active:
        raise Forbidden(_l("This account has been deactivated. Ask your company's administrator."))
    user.last_login_at = utcnow()
    db.session.commit()
    return user


def load_session_user(session_id: str) -> User | None:
    """Flask-Login user loader: '<id>:<session_version>'; a stale version or inactive user is no one."""
    try:
        uid, version = (int(p) for p in session_id.split(":", 1))
    except (ValueError, AttributeError):
        return None
    user = db.session.get(User, uid)
    if user is None or not user.active or user.session_version != version:
        return None
    return user


def sign_out_everywhere(user: User) -> None:
    """Move the session version on: every session cookie and remember-me cookie of this person stops working
    (the one being signed out included, even if a copy of it was kept)."""
    db.session.execute(sa.update(User).where(User.id == user.id)
                       .values(session_version=User.session_version + 1))
    record("user", user.id, "signed_out_everywhere", actor=user, company_id=user.company_id)
    db.session.commit()


def change_password(user: User, current: str, new: str) -> None:
    if not check_password_hash(user.password_hash, current or ""):
        raise ValidationFailed(_l("Your current password is not correct."),
                               errors={"current_password": _l("Not correct.")})
    check_password_strength(new, email=user.email, name=user.name)
    user.password_hash = hash_password(new)
    user.session_version += 1  # signs out every other session and remember-me cookie
    record("user", user.id, "password_changed", actor=user, company_id=user.company_id)
    db.session.commit()


def update_preferences(user: User, *, timezone: str, locale: str | None, name: str,
                       language: str | None = ...) -> None:
    """Name, time zone, format (None: follow the language) and language (None: follow the browser; left as it
    is when not given)."""
    from zoneinfo import available_timezones

    from portal.i18n import LANGUAGES

    if timezone not in available_timezones():
        raise ValidationFailed(_l("Unknown time zone."), errors={"timezone": _l("Choose a time zone from the list.")})
    if locale and locale not in ("en_GB", "en_US", "de_DE", "fr_FR"):
        raise ValidationFailed(_l("Choose a number and date format from the list."),
                               errors={"locale": _l("Choose a format from the list.")})
    if language is not ... and language and language not in LANGUAGES:
        raise ValidationFailed(_l("Choose a language from the list."), errors={"language": _l("Choose a language.")})
    if not (name or "").strip():
        raise ValidationFailed(_l("A name is required."), errors={"name": _l("Required.")})
    user.timezone, user.format_choice, user.name = timezone, locale or None, name.strip()
    if language is not ...:
        user.language = language or None
    db.session.commit()


# ---------------------------------------------------------------------------------------------------
# Members and invitations
# ---------------------------------------------------------------------------------------------------

def _require_admin_of(actor: User, company: Company) -> None:
    if actor.company_id != company.id or not actor.has_role(Role.admin):
        raise Forbidden(_l("Only an administrator of this company can do that."))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(actor: User, *, email: str, name: str, roles) -> tuple[Invitation, str]:
    """Create a single-use, expiring invitation; returns it with the raw token (shown once)."""
    _require_admin_of(actor, actor.company)
    email = _email(email)
    _ensure_email_free(email)
    roles = _roles(roles)
    token = secrets.token_urlsafe(32)
    hours = current_app.config["INVITATION_TTL_HOURS"]
    inv = Invitation(company_id=actor.company_id, email=email, name=(name or "").strip(),
                     roles=",".join(r.value for r in roles), token_hash=_token_hash(token),
                     invited_by_id=actor.id, expires_at=utcnow() + timedelta(hours=hours))
    db.session.add(inv)
    db.session.flush()
    record("company", actor.company_id, "member_invited", actor=actor, company_id=actor.company_id,
           detail=f"{email} as {', '.join(r.value for r in roles)}")
    from portal.notifications.services import queue_mail

    base = current_app.config.get("BASE_URL") or ""
    queue_mail(email, f"{actor.name} invites you to {actor.company.display_name} on the Procurement Portal",
               f"Hello {inv.name or email},\n\n{actor.name} invited you to join {actor.company.display_name}.\n"
               f"Accept within {hours} hours: {base}/invitations/{token}\n\n— Procurement Portal",
               company_id=actor.company_id)
    db.session.commit()
    return inv, token


def find_invitation(token: str) -> Invitation:
    inv = db.session.scalar(sa.select(Invitation).where(Invitation.token_hash == _token_hash(token or "")))
    if inv is None:
        raise NotFound(_l("This invitation link is not valid."))
    state = inv.state
    if state == "accepted":
        raise Conflict(_l("This invitation has already been used. Sign in instead."))
    if state == "revoked":
        raise Conflict(_l("This invitation was withdrawn by the company's administrator."))
    if state == "expired":
        raise Conflict(_l("This invitation has expired. Ask your administrator for a new one."))
    return inv


def accept_invitation(token: str, *, name: str, password: str) -> User:
    # Lock the invitation row so two tabs cannot both accept it.
    inv = find_invitation(token)
    inv = db.session.scalar(sa.select(Invitation).where(Invitation.id == inv.id).with_for_update()
                            .execution_options(populate_existing=True))  # re-read under the lock
    if inv.state != "pending":
        raise Conflict({"accepted": "This invitation has already been used. Sign in instead.",
                        "revoked": "This invitation was withdrawn by the company's administrator.",
                        }.get(inv.state, "This invitation has expired. Ask your administrator for a new one."))
    _ensure_email_free(inv.email)
    name = (name or inv.name or "").strip()
    if not name:
        raise ValidationFailed(_l("Tell us your name."), errors={"name": _l("Required.")})
    check_password_strength(password, email=inv.email, name=name)
    user = User(company_id=inv.company_id, email=inv.email, name=name, password_hash=hash_password(password))
    user.set_roles(inv.role_list)
    db.session.add(user)
    inv.accepted_at = utcnow()
    db.session.flush()
    record("company", inv.company_id, "member_joined", actor=user, company_id=inv.company_id,
           detail=inv.email)
    db.session.commit()
    return user


def revoke_invitation(actor: User, invitation_id: int) -> None:
    _require_admin_of(actor, actor.company)
    from portal.tenancy import get_child

    # Locked: a revoke racing the invitee's accept ends with exactly one of them.
    inv = get_child(Invitation, invitation_id, "invitation", Invitation.company_id == actor.company_id)
    inv = db.session.scalar(sa.select(Invitation).where(Invitation.id == inv.id).with_for_update()
                            .execution_options(populate_existing=True))
    if inv.state != "pending":
        raise Conflict(_l("This invitation is already %(state)s."), state=inv.state)
    inv.revoked_at = utcnow()
    db.session.commit()


def _member(actor: User, user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.company_id != actor.company_id:
        raise NotFound(_l("No such member."))
    return user


def _active_admins(company_id: int) -> int:
    from portal.accounts.models import UserRole

    return db.session.scalar(
        sa.select(sa.func.count(User.id)).join(UserRole, UserRole.user_id == User.id)
        .where(User.company_id == company_id, User.active.is_(True), UserRole.role == Role.admin)
    )


def set_member_roles(actor: User, user_id: int, roles) -> User:
    _require_admin_of(actor, actor.company)
    user = _member(actor, user_id)
    roles = _roles(roles)
    before = ", ".join(sorted(r.value for r in user.roles))
    if Role.admin in user.roles and Role.admin not in roles and _active_admins(actor.company_id) <= 1:
        raise Conflict(_l("The company needs at least one active administrator."),
                       errors={"roles": _l("Keep the administrator role: this is the last administrator.")})
    was_approver = user.active and Role.approver in user.roles
    user.set_roles(roles)
    record("user", user.id, "roles_changed", actor=actor, company_id=actor.company_id,
           detail=f"{before} → {', '.join(r.value for r in roles)}")
    user.approval_warning = None
    if was_approver and Role.approver not in roles:
        user.approval_warning = _warn_approval_dead_ends(actor, f"{user.name} is no longer an approver.")
    db.session.commit()
    return user


def _warn_approval_dead_ends(actor: User, what: str) -> str | None:
    """An approver left: name the rules and waiting orders that can no longer be approved (audit + admins)."""
    if not actor.company.is_buyer:
        return None
    from portal.orders.approvals import warn_dead_ends

    db.session.flush()
    return warn_dead_ends(actor.company_id, actor, what)


def set_member_active(actor: User, user_id: int, active: bool) -> User:
    _require_admin_of(actor, actor.company)
    user = _member(actor, user_id)
    if not active:
        if user.id == actor.id:
            raise Conflict(_l("You cannot deactivate yourself."))
        if Role.admin in user.roles and _active_admins(actor.company_id) <= 1:
            raise Conflict(_l("The company needs at least one active administrator."))
    user.approval_warning = None
    if user.active != active:
        user.active = active
        user.session_version += 1
        record("user", user.id, "activated" if active else "deactivated", actor=actor,
               company_id=actor.company_id)
        if not active and Role.approver in user.roles:
            user.approval_warning = _warn_approval_dead_ends(actor, f"{user.name} is deactivated.")
    db.session.commit()
    return user


def members(company_id: int) -> list[User]:
    return list(db.session.scalars(sa.select(User).where(User.company_id == company_id).order_by(User.name)))


def pending_invitations(company_id: int) -> list[Invitation]:
    return [i for i in db.session.scalars(
        sa.select(Invitation).where(Invitation.company_id == company_id, Invitation.accepted_at.is_(None),
                                    Invitation.revoked_at.is_(None)).order_by(Invitation.id.desc())
    )]


def start_member_export(actor: User):
    _require_admin_of(actor, actor.company)
    from portal.jobs import start_tracked

    rec = start_tracked("portal.accounts.jobs.export_members_job", actor.company_id, kind="members-csv",
                        title="Member list (CSV)", company_id=actor.company_id, user_id=actor.id)
    db.session.commit()
    return rec


def members_csv(company_id: int, progress=None) -> bytes:
    from portal.csvutil import safe_cell

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["name", "email", "roles", "active", "last_sign_in", "member_since"])
    people = members(company_id)
    for i, u in enumerate(people, 1):
        w.writerow([safe_cell(u.name), safe_cell(u.email), " ".join(sorted(r.value for r in u.roles)),
                    "yes" if u.active else "no",
                    u.last_login_at.isoformat(timespec="minutes") if u.last_login_at else "",
                    u.created_at.date().isoformat()])
        if progress and i % 20 == 0:
            progress(int(i * 90 / len(people)))
    return buf.getvalue().encode("utf-8-sig")
