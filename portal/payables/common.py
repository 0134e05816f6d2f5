"""Small helpers every payables service shares: who may act, the unit-of-work wrapper, sentences."""
from __future__ import annotations

import functools
from datetime import date
from decimal import Decimal

from sqlalchemy.orm.exc import StaleDataError

from portal.accounts.models import Role, User
from portal.db import db
from portal.errors import Conflict, Forbidden, NotFound, ValidationFailed
from portal.i18n import _l
# re-exported: one way to say amounts and documents
from portal.invoices.services import amount_text, label, label_msg  # noqa: F401

BUYER_ACCOUNTS = (Role.accounts, Role.admin)
RUN_APPROVERS = (Role.accounts, Role.approver, Role.admin)


def unit_of_work(what: str):
    """Roll back on any error; a stale row (version_id_col) becomes a Conflict sentence naming ``what``."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except StaleDataError:
                db.session.rollback()
                raise Conflict(_l("This %(what)s changed since you opened the page; reload and try again."), what=what)
            except Exception:
                db.session.rollback()
                raise

        return wrapper

    return decorate


def require_buyer(actor: User, company_id: int, *roles, what: str = "invoice") -> None:
    if actor.company_id != company_id:
        raise NotFound(_l("No such %(what)s."), what=what)
    if not actor.has_role(*(roles or BUYER_ACCOUNTS)):
        raise Forbidden(_l("Only your company's accounts team can do this."))


def require_supplier(actor: User, company_id: int, what: str = "invoice") -> None:
    if actor.company_id != company_id:
        raise NotFound(_l("No such %(what)s."), what=what)
    if not actor.has_role(Role.accounts, Role.admin):
        raise Forbidden(_l("Only your company's accounts team can do this."))


def parse_date(value, label_: str, field: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise ValidationFailed(_l("%(label_)s: enter a date like 2026-03-31."), label_=label_,
                               errors={field: _l("Enter a date.")})


def plain(d: Decimal | None) -> str | None:
    if d is None:
        return None
    d = Decimal(d)
    n = d.normalize()
    return f"{n:f}" if n == n.to_integral() or n.as_tuple().exponent >= -4 else f"{d:f}"
