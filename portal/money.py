"""Money is Decimal. One rounding rule, one place.

Rounding rule: amounts are quantized to the currency's minor unit (2 decimals for EUR, 0 for JPY, 3 for KWD,
taken from the CLDR data in Babel) with ROUND_HALF_UP, i.e. commercial rounding. Line totals are rounded per
line; document totals are sums of rounded line totals; tax is computed per rate on the rounded net sum of
that rate.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import format_currency, format_decimal, get_currency_precision

from portal.errors import ValidationFailed

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


def to_decimal(value, field: str = "amount", *, places: int = 4, max_digits: int = 18) -> Decimal:
    """Parse user or API input into a Decimal, refusing floats' garbage, NaN, infinity and overflow."""
    if isinstance(value, Decimal):
        d = value
    else:
        text = str(value).strip().replace(" ", "")
        if text == "":
            raise ValidationFailed(f"{field} is required.", errors={field: "Enter a number."})
        try:
            d = Decimal(text)
        except InvalidOperation as exc:
            raise ValidationFailed(
                f"{field}: {value!r} is not a number.", errors={field: "Enter a number such as 12.50."}
            ) from exc
    if not d.is_finite():
        raise ValidationFailed(f"{field} must be a finite number.", errors={field: "Enter a finite number."})
    exponent = d.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        raise ValidationFailed(
            f"{field} has more than {places} decimal places.",
            errors={field: f"Use at most {places} decimal places."},
        )
    if abs(d) >= Decimal(10) ** (max_digits - places):
        raise ValidationFailed(f"{field} is too large.", errors={field: "This number is too large."})
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
