"""Late-payment interest under the EU late payment directive (2011/7/EU): the supplier's reference rate (the
ECB's main refinancing rate, a company setting with the date it applies from) plus eight percentage points,
simple interest per year of 365 days:

    interest = open amount × (reference rate + 8) / 100 × days late / 365

quantized once to the currency's minor unit by portal.money (ROUND_HALF_UP). The interest is claimed on the
dunning letter as a line of its own; it is never added to the invoice (whose totals stay as issued).
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from portal.money import ZERO, quantize

STATUTORY_POINTS = Decimal("8")
DAYS_PER_YEAR = Decimal("365")
HUNDRED = Decimal("100")


def annual_rate(reference_rate: Decimal) -> Decimal:
    """Reference rate + 8 points, never below zero (a negative reference rate cannot make interest negative)."""
    return max(Decimal(reference_rate) + STATUTORY_POINTS, ZERO)


def days_late(due_date: date, on: date) -> int:
    return max((on - due_date).days, 0)


def late_interest(open_amount: Decimal, rate_percent: Decimal, days: int, currency: str) -> Decimal:
    if open_amount <= 0 or days <= 0 or rate_percent <= 0:
        return quantize(ZERO, currency)
    return quantize(Decimal(open_amount) * Decimal(rate_percent) / HUNDRED * Decimal(days) / DAYS_PER_YEAR,
                    currency)
