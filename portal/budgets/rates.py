"""A buying company's exchange rates, kept by its administrators: ``rate`` units of the company currency per unit
of a foreign currency, valid from a day until the company's next rate of that currency. Budget figures and the
order budget check convert documents in other currencies with them (portal/budgets/figures.py). One service call
= one commit; bad input raises ValidationFailed with a sentence, nothing saved."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from babel.numbers import list_currencies

from portal.accounts.models import User
from portal.audit.services import record
from portal.budgets.models import ExchangeRate
from portal.budgets.services import require_admin, unit_of_work_with
from portal.db import db
from portal.errors import ValidationFailed
from portal.i18n import _l
from portal.locking import lock_row
from portal.money import to_decimal

MAX_RATE = Decimal("9999999999.99999999")  # Numeric(18, 8)

unit_of_work = unit_of_work_with(_l("This exchange rate was changed by someone else; reload the page."),
                                 _l("Someone else saved a rate for the same currency and day at the same moment; "
                                    "reload the page."))


def rates_of(company_id: int) -> list[ExchangeRate]:
    """The company's rates, by currency, the newest first."""
    return list(db.session.scalars(sa.select(ExchangeRate).where(ExchangeRate.company_id == company_id)
                                   .order_by(ExchangeRate.currency, ExchangeRate.valid_from.desc())))


def _currency(value, own: str) -> str:
    code = str(value or "").strip().upper()
    if len(code) != 3 or code not in list_currencies():
        raise ValidationFailed(_l("%(value)s is not a currency we know; use an ISO code such as USD."),
                               value=repr(str(value or "")[:20]),
                               errors={"currency": _l("Use an ISO 4217 code such as USD.")})
    if code == own:
        raise ValidationFailed(_l("%(code)s is the company's own currency; it needs no exchange rate."), code=code,
                               errors={"currency": _l("Choose another currency.")})
    return code


def _day(value) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise ValidationFailed(_l("Enter the first day the rate is valid as YYYY-MM-DD."),
                               errors={"valid_from": _l("YYYY-MM-DD")}) from None


@unit_of_work
def add_rate(actor: User, *, currency, rate, valid_from) -> ExchangeRate:
    """A new rate; a second rate of the same currency from the same day is refused (change it by deleting the
    first)."""
    require_admin(actor)
    own = actor.company.default_currency
    code = _currency(currency, own)
    value = to_decimal(rate, "Rate", places=8)
    if value <= 0:
        raise ValidationFailed(_l("The rate must be more than 0: the %(own)s amount one %(code)s buys."), own=own,
                               code=code, errors={"rate": _l("More than 0.")})
    if value > MAX_RATE:
        raise ValidationFailed(_l("The rate is too large; at most 10 digits before the decimal point."),
                               errors={"rate": _l("Too large.")})
    day = _day(valid_from)
    taken = db.session.scalar(sa.select(ExchangeRate.id).where(
        ExchangeRate.company_id == actor.company_id, ExchangeRate.currency == code, ExchangeRate.valid_from == day))
    if taken is not None:
        raise ValidationFailed(_l("There is already a %(code)s rate valid from %(day)s; delete it first to change "
                                  "it."), code=code, day=day.isoformat(), errors={"valid_from": _l("Taken.")})
    row = ExchangeRate(company_id=actor.company_id, currency=code, rate=value, valid_from=day)
    db.session.add(row)
    db.session.flush()
    record("exchange_rate", row.id, "saved", actor=actor, company_id=actor.company_id,
           detail=f"1 {code} = {value} {own} from {day.isoformat()}")
    return row


@unit_of_work
def delete_rate(actor: User, rate_id) -> None:
    require_admin(actor)
    row = lock_row(ExchangeRate, rate_id, where=(ExchangeRate.company_id == actor.company_id,),
                   not_found=_l("No such exchange rate."))
    record("exchange_rate", row.id, "deleted", actor=actor, company_id=actor.company_id,
           detail=f"1 {row.currency} = {row.rate} from {row.valid_from.isoformat()}")
    db.session.delete(row)
