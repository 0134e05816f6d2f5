"""Quote pricing rules, as pure functions on Decimals (no database, no Flask).

Used by the comparison and the award, and later by ordering (tier price at the ordered quantity, MOQ and
pack-size checks). Rules:

- ordered quantity for a requested quantity = max(requested, MOQ), rounded UP to a multiple of the pack size;
- unit price at a quantity = the price of the highest break whose ``min_quantity`` <= quantity, else the
  base unit price;
- line total = quantity x unit price, quantized to the currency's minor unit with ROUND_HALF_UP
  (``portal.money.quantize``).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation, localcontext

from portal.errors import ValidationFailed
from portal.i18n import _l
from portal.money import format_quantity, quantize

__all__ = [
    "ordered_quantity",
    "unit_price_at",
    "line_total",
    "check_quantity",
    "adjustment_note",
    "parse_breaks",
]


def _dec(value, what: str) -> Decimal:
    if isinstance(value, float):
        raise TypeError(f"{what} must be a Decimal or a decimal string, not a float")
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"{what} is not a number: {value!r}") from exc
    if not d.is_finite():
        raise ValueError(f"{what} must be finite: {value!r}")
    return d


def _opt_positive(value, what: str) -> Decimal | None:
    if value is None or value == "":
        return None
    d = _dec(value, what)
    if d <= 0:
        raise ValueError(f"{what} must be greater than zero: {value!r}")
    return d


def _round_up_to_pack(quantity: Decimal, pack: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 40
        packs = (quantity / pack).to_integral_value(rounding=ROUND_CEILING)
        return packs * pack


def ordered_quantity(requested, moq=None, pack_size=None) -> Decimal:
    """max(requested, moq) rounded up to a whole number of packs."""
    q = _dec(requested, "requested quantity")
    if q <= 0:
        raise ValueError(f"requested quantity must be greater than zero: {requested!r}")
    moq_d = _opt_positive(moq, "MOQ")
    pack = _opt_positive(pack_size, "pack size")
    if moq_d is not None and moq_d > q:
        q = moq_d
    if pack is not None:
        q = _round_up_to_pack(q, pack)
    return q


def parse_breaks(price_breaks) -> list[tuple[Decimal, Decimal]]:
    """[{"min_quantity": "500", "unit_price": "0.95"}, ...] -> [(500, 0.95), ...] sorted by min_quantity."""
    out = []
    for b in price_breaks or ():
        try:
            mq, price = b["min_quantity"], b["unit_price"]
        except (KeyError, TypeError) as exc:
            raise ValueError(f"a price break needs min_quantity and unit_price: {b!r}") from exc
        mq_d, price_d = _dec(mq, "break min_quantity"), _dec(price, "break unit_price")
        if price_d < 0:
            raise ValueError(f"a break price cannot be negative: {b!r}")
        out.append((mq_d, price_d))
    out.sort(key=lambda t: t[0])
    return out


def unit_price_at(quantity, base_price, price_breaks=()) -> Decimal:
    """The price of the highest break whose min_quantity <= quantity, else the base unit price."""
    q = _dec(quantity, "quantity")
    best: tuple[Decimal, Decimal] | None = None
    for mq, price in parse_breaks(price_breaks):
        if mq <= q and (best is None or mq >= best[0]):
            best = (mq, price)
    if best is not None:
        return best[1]
    if base_price is None:
        raise ValueError("no unit price: the line has neither a base price nor a break for this quantity")
    price = _dec(base_price, "unit price")
    if price < 0:
        raise ValueError(f"a unit price cannot be negative: {base_price!r}")
    return price


def line_total(quantity, unit_price, currency: str) -> Decimal:
    """quantity x unit price, rounded to the currency's minor unit (ROUND_HALF_UP)."""
    with localcontext() as ctx:
        ctx.prec = 40
        amount = _dec(quantity, "quantity") * _dec(unit_price, "unit price")
    return quantize(amount, currency)


def adjustment_note(requested, ordered, moq=None, pack_size=None, unit: str = "pcs") -> str | None:
    """A short sentence explaining why the ordered quantity differs from the requested one (else None)."""
    req, got = _dec(requested, "requested quantity"), _dec(ordered, "ordered quantity")
    if got == req:
        return None
    moq_d = _opt_positive(moq, "MOQ")
    pack = _opt_positive(pack_size, "pack size")
    reasons = []
    if moq_d is not None and moq_d > req:
        reasons.append(f"minimum order {format_quantity(moq_d)} {unit}")
    if pack is not None and got != (moq_d if moq_d is not None and moq_d > req else req):
        reasons.append(f"packs of {format_quantity(pack)}")
    why = " and ".join(reasons) or "supplier terms"
    return f"{format_quantity(got)} {unit} instead of {format_quantity(req)} ({why})"


def check_quantity(quantity, moq=None, pack_size=None, unit: str = "pcs") -> None:
    """Raise ValidationFailed with a sentence saying what would be valid, or return None."""
    q = _dec(quantity, "quantity")
    moq_d = _opt_positive(moq, "MOQ")
    pack = _opt_positive(pack_size, "pack size")
    fq = format_quantity
    if q <= 0:
        raise ValidationFailed(
            _l("The quantity must be greater than zero."),
            errors={"quantity": _l("Enter a quantity greater than zero.")},
        )
    if moq_d is not None and q < moq_d:
        smallest = ordered_quantity(moq_d, None, pack)
        if smallest == moq_d:
            msg = f"Minimum order is {fq(moq_d)} {unit}; {fq(q)} is below it."
        else:
            msg = (
                f"Minimum order is {fq(moq_d)} {unit}, sold in packs of {fq(pack)}; {fq(q)} is below it: "
                f"order at least {fq(smallest)}."
            )
        raise ValidationFailed(msg, errors={"quantity": msg})
    if pack is not None:
        with localcontext() as ctx:
            ctx.prec = 40
            packs = q / pack
            if packs != packs.to_integral_value():
                lower = packs.to_integral_value(rounding=ROUND_FLOOR) * pack
                upper = packs.to_integral_value(rounding=ROUND_CEILING) * pack
                if lower <= 0 or (moq_d is not None and lower < moq_d):
                    msg = f"Sold in packs of {fq(pack)}: order {fq(upper)}."
                else:
                    msg = f"Sold in packs of {fq(pack)}: order {fq(lower)} or {fq(upper)}."
                raise ValidationFailed(msg, errors={"quantity": msg})
    return None
