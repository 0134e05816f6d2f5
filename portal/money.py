"""Money is Decimal. One rounding rule, one place.

Rounding rule: amounts are quantized to the currency's minor unit (2 decimals for EUR, 0 for JPY, 3 for KWD,
taken from the CLDR data in Babel) with ROUND_HALF_UP, i.e. commercial rounding. Line totals are rounded per
line; document totals are sums of rounded line totals; tax is computed per rate on the rounded net sum of
that rate.
"""
from __future__ import annotations

from contextvars import ContextVar
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import (NumberFormatError, format_currency, format_decimal, get_currency_precision,
                           get_decimal_symbol, parse_decimal)

from portal.errors import ValidationFailed
from portal.i18n import _l
from portal.errors import say

# The currencies the portal offers in its forms. Any ISO 4217 code Babel knows is accepted by the services.
CURRENCIES = ["EUR", "USD", "GBP", "CHF", "PLN", "SEK", "DKK", "CZK", "NOK", "JPY"]

ZERO = Decimal("0")


def minor_unit(currency: str) -> int:
    try:
        return get_currency_precision(currency)
    except Exception:  # unknown code: be conservative
        return 2


def quantize(amount: Decimal, currency: str) -> Decimal:
    exp = Decimal(1).scaleb(-minor_unit(currency))
    return Decimal(amount).quantize(exp, rounding=ROUND_HALF_UP)


# The locale of the person typing, set per web request (portal.web); None (API, jobs, CLI) = plain "12.50" only.
_INPUT_LOCALE: ContextVar[str | None] = ContextVar("input_locale", default=None)


def set_input_locale(locale: str | None):
    """Numbers typed in forms are read in this locale until reset (returns the token for ``reset``)."""
    return _INPUT_LOCALE.set(locale)


def reset_input_locale(token) -> None:
    _INPUT_LOCALE.reset(token)


def _decimal_comma(locale: str) -> bool:
    try:
        return get_decimal_symbol(locale) == ","
    except Exception:  # noqa: BLE001 - an unknown locale reads numbers the plain way
        return False


def parse_number(text: str) -> Decimal:
    """A point is always the decimal separator when there is no comma ("12.5" everywhere, and every value
    the portal puts into a form field). With a comma: in a decimal-comma locale (de, fr, pl, ...) the comma is
    the decimal separator and points or spaces group thousands ("1.250,50"); elsewhere commas group thousands
    and must do so correctly ("1,250.50"; "100,50" is refused)."""
    locale = _INPUT_LOCALE.get()
    if locale is None or "," not in text:
        return Decimal(text)
    if _decimal_comma(locale):
        if text.count(",") > 1:
            raise InvalidOperation(text)
        return Decimal(text.replace(".", "").replace("\u00a0", "").replace("\u202f", "").replace(",", "."))
    try:
        return parse_decimal(text, locale=locale, strict=True)
    except NumberFormatError as exc:
        raise InvalidOperation(text) from exc


def example_number(text: str = "12.50") -> str:
    """An example as the person typing would write it (12,50 in a decimal-comma locale)."""
    locale = _INPUT_LOCALE.get()
    return text.replace(".", ",") if locale and _decimal_comma(locale) else text


def input_number(value, locale: str | None = None) -> str:
    """A number for an input field's value: no grouping, the person's decimal separator, no trailing zeros.
    It reads back exactly through ``to_decimal`` in the same locale."""
    if value is None or value == "":
        return ""
    text = format(Decimal(value).normalize(), "f")
    if text in ("-0", ""):
        text = "0"
    return text.replace(".", ",") if locale and _decimal_comma(locale) else text


def to_decimal(value, field: str = "amount", *, places: int = 4, max_digits: int = 18) -> Decimal:
    """Parse user or API input into a Decimal, refusing floats' garbage, NaN, infinity and overflow."""
    if isinstance(value, Decimal):
        d = value
    else:
        text = str(value).strip().replace(" ", "")
        if text == "":
            raise ValidationFailed(_l("%(field)s is required."), field=field, errors={field: _l("Enter a number.")})
        try:
            d = parse_number(text)
        except InvalidOperation as exc:
            shown = str(value).strip()[:40]
            raise ValidationFailed(
                _l("%(field)s: “%(shown)s” is not a number (e.g. %(example_number)s)."),
                field=field, shown=shown, example_number=example_number(),
                errors={field: say(_l("Enter a number such as %(example_number)s."), example_number=example_number())}
            ) from exc
    if not d.is_finite():
        raise ValidationFailed(_l("%(field)s must be a finite number."), field=field,
                               errors={field: _l("Enter a finite number.")})
    exponent = d.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        raise ValidationFailed(
            _l("%(field)s has more than %(places)s decimal places."), field=field, places=places,
            errors={field: say(_l("Use at most %(places)s decimal places."), places=places)},
        )
    if abs(d) >= Decimal(10) ** (max_digits - places):
        raise ValidationFailed(_l("%(field)s is too large."), field=field,
                               errors={field: _l("This number is too large.")})
    return d


def format_money(amount, currency: str, locale: str = "en_GB") -> str:
    if amount is None:
        return "—"
    return format_currency(Decimal(amount), currency, locale=locale)


def format_quantity(q, locale: str = "en_GB") -> str:
    if q is None:
        return "—"
    d = Decimal(q).normalize()
    if d == d.to_integral():
        d = d.quantize(Decimal(1))
    return format_decimal(d, locale=locale, decimal_quantization=False)
