"""Notification texts that keep their figures: a message id (the English gettext msgid) and its parameters,
formatted when read — in the reader's language and number/date format — instead of a finished English sentence.

    notify(users, kind="rfq_closed",
           title=msg(_l("RFQ closed: %(reference)s"), reference=rfq.reference),
           body=msg(_l("Total %(total)s, due %(due)s."), total=money(total, "EUR"), due=day(due_date)))

``msg`` takes the msgid through ``_l`` so ``make i18n`` (and the catalog test) find it; figures are tagged
(``money``, ``day``, ``moment``) so they are formatted in the reader's locale. Plain strings still work and are
shown as stored (the old behaviour, for callers not converted yet).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from babel.dates import format_date
from flask_babel import LazyString, gettext


@dataclass(frozen=True)
class Message:
    msgid: str
    params: dict = field(default_factory=dict)

    def to_json(self) -> list:
        return [self.msgid, self.params]


def msg(msgid, **params) -> Message:
    if isinstance(msgid, LazyString):  # _l("...") marks the text for extraction; keep the msgid itself
        msgid = msgid._args[0]
    return Message(str(msgid), {k: _plain(v) for k, v in params.items()})


def money(amount, currency: str, *, symbol: bool = False) -> dict:
    """``symbol``: the stored English text writes it as pages do ("€2.50"), not "2.50 EUR"."""
    value = {"$money": str(Decimal(str(amount))), "currency": currency}
    return {**value, "symbol": True} if symbol else value


def quantity(value) -> dict:
    """A quantity as the portal shows quantities (grouped, no needless decimals): "1,000" / "1.000", "80.5" / "80,5"."""
    return {"$quantity": str(Decimal(str(value)))}


def day(value: date) -> dict:
    return {"$date": value.isoformat()}


def moment(value: datetime) -> dict:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return {"$datetime": value.astimezone(UTC).isoformat()}


def number(value) -> dict:
    """A quantity or count, written in the reader's number format ("10.5" / "10,5")."""
    return {"$number": format(Decimal(str(value)).normalize(), "f")}


def joined(parts, sep: str = "; ") -> dict:
    """Several phrases (messages or plain text) in one figure, each worded for the reader, joined by ``sep``."""
    return {"$join": [_plain(p) for p in parts], "sep": sep}


def _plain(value):
    if isinstance(value, Message):  # a phrase inside a sentence ("closed early by …"), translated as well
        return {"$msg": value.to_json()}
    if isinstance(value, (dict, str, int, float)) or value is None:
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return moment(value)
    if isinstance(value, date):
        return day(value)
    return str(value)


def _format_param(value, locale: str, tz: str):
    if not isinstance(value, dict):
        return value
    from portal.money import format_money

    if "$msg" in value:
        return render(value["$msg"], locale=locale, tz=tz)
    if "$join" in value:
        return str(value.get("sep", "; ")).join(str(_format_param(p, locale, tz)) for p in value["$join"])
    if "$quantity" in value:
        from portal.money import format_quantity

        return format_quantity(Decimal(value["$quantity"]), locale)
    if "$number" in value:
        from babel.numbers import format_decimal

        return format_decimal(Decimal(value["$number"]), locale=locale, decimal_quantization=False)
    if "$money" in value:
        return format_money(Decimal(value["$money"]), value.get("currency") or "EUR", locale)
    if "$date" in value:
        return format_date(date.fromisoformat(value["$date"]), "medium", locale=locale)
    if "$datetime" in value:
        from portal.web import format_moment

        return format_moment(datetime.fromisoformat(value["$datetime"]), locale, tz or "UTC", zone=True)
    return str(value)


def render(stored, *, locale: str, tz: str = "UTC") -> str:
    """A stored message ([msgid, params]) as text in the current gettext language and the given format."""
    if not stored:
        return ""
    if isinstance(stored, Message):
        stored = stored.to_json()
    msgid, params = stored[0], stored[1] or {}
    text = gettext(msgid)
    values = {k: _format_param(v, locale, tz) for k, v in params.items()}
    try:
        return text % values if values else text.replace("%%", "%")
    except (KeyError, ValueError, TypeError):  # a translation that lost a figure: the English one is safe
        return msgid % values if values else msgid


def for_reader(notification, part: str, *, locale: str, tz: str) -> str:
    """The title or body of a notification for the person reading it now."""
    message = (notification.message or {}).get(part)
    if message:
        return render(message, locale=locale, tz=tz)
    return getattr(notification, part) or ""
