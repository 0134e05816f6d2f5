"""Marshmallow pieces shared by the API resources: strict decimal input, money/quantity output helpers,
the problem+json schema and small serialisation helpers."""
from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, pre_load, validate

from portal.errors import DomainError
from portal.i18n import _l
from portal.errors import say
from portal.money import to_decimal


CURRENCY_PATTERN = r"^[A-Z]{3}$"
INT_DIGITS = 14  # the Money/Quantity columns hold 18 digits, 4 of them after the point


def decimal_pattern(places: int = 4) -> str:
    return rf"^-?[0-9]{{1,{INT_DIGITS}}}(\.[0-9]{{1,{places}}})?$"


DECIMAL_PATTERN = decimal_pattern()


class DecimalString(fields.String):
    """A decimal as a JSON string ("12.50"): an optional minus, at most 14 digits before the point and `places`
    after it — exactly the documented pattern. JSON numbers (floats lose precision; integers are refused too, so
    that one shape is sent everywhere), exponents, spaces, NaN and Infinity are refused with a sentence. Output
    is a plain decimal string. Documented as ``type: string, format: decimal`` with the pattern, in and out."""

    def __init__(self, *, places: int = 4, **kwargs):
        self.places = places
        self.regex = re.compile(decimal_pattern(places))
        metadata = dict(kwargs.pop("metadata", None) or {})
        metadata.setdefault("format", "decimal")
        metadata.setdefault("pattern", decimal_pattern(places))
        metadata.setdefault("example", "12.50")
        kwargs["metadata"] = metadata
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or value is None:
            raise ValidationError("Send the number as a decimal string such as \"12.50\".")
        if isinstance(value, float):
            if math.isnan(value) or math.isinf(value):
                raise ValidationError("NaN and Infinity are not numbers; send a decimal string such as \"12.50\".")
            raise ValidationError("Send decimals as strings such as \"12.50\", not JSON floats (they lose "
                                  "precision).")
        if isinstance(value, int):
            raise ValidationError(f"Send decimals as strings: \"{value}\", not {value}.")
        if not isinstance(value, str):
            raise ValidationError("Send the number as a decimal string such as \"12.50\".")
        if not self.regex.match(value):
            raise ValidationError(f"Write the number as digits with a point and at most {self.places} decimal "
                                  f"places, such as \"12.50\" (no exponent, spaces or thousands separators; "
                                  f"at most {INT_DIGITS} digits before the point).")
        try:
            return to_decimal(value, "Value", places=self.places)
        except DomainError as exc:
            raise ValidationError(exc.message) from None

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None or isinstance(value, str):  # already formatted (money keeps its minor unit: "12.50")
            return value
        return plain(value)


def plain(value) -> str | None:
    """A Decimal as a plain string without exponent or superfluous trailing zeros ("100", "2.5")."""
    if value is None:
        return None
    d = Decimal(value)
    if d == d.to_integral():
        return str(d.quantize(Decimal(1)))
    return format(d.normalize(), "f")


def ts(value: datetime | None) -> datetime | None:
    """Timestamps are always sent with an offset."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value


MAX_INT = 2**31 - 1


class BoundedInt(fields.Integer):
    """An integer that fits the database's INTEGER (ids, versions); anything larger is a 422, not a 500.

    In a JSON body (strict, the default) it reads as JSON Schema's ``integer``: a JSON number without a fraction
    (``7`` or ``7.0``); strings ("7"), booleans and fractions (7.5) are refused. In a query (``strict=False``) the
    text "7" is read."""

    def __init__(self, **kwargs):
        kwargs.setdefault("strict", True)
        kwargs.setdefault("validate", validate.Range(min=-MAX_INT, max=MAX_INT))
        super().__init__(**kwargs)

    def _validated(self, value):
        if self.strict and isinstance(value, float) and not isinstance(value, bool) and value.is_integer():
            value = int(value)
        return super()._validated(value)


class Money(Schema):
    """An amount in a currency: the one money shape of the API, in requests and in answers. The amount is a
    decimal string (answers carry the currency's minor unit: "1234.50"), the currency an ISO 4217 code."""

    amount = DecimalString(required=True, metadata={"example": "1234.50"})
    currency = fields.String(required=True, validate=validate.Regexp(CURRENCY_PATTERN, error=(
        "Use a three-letter ISO 4217 currency code in capitals, such as EUR.")), metadata={"example": "EUR"})


MoneyOut = MoneyIn = Money  # the names the resource modules import


class MoneyAmount:
    """A money input as read: the amount (Decimal) and the currency it was sent in (None: a bare decimal string
    of the deprecated API version, meaning the document's currency)."""

    __slots__ = ("amount", "currency")

    def __init__(self, amount: Decimal, currency: str | None):
        self.amount, self.currency = amount, currency

    def __str__(self) -> str:  # what the services read (they take typed text)
        return plain(self.amount)

    def __repr__(self) -> str:
        return f"MoneyAmount({self.amount!r}, {self.currency!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, MoneyAmount) and (self.amount, self.currency) == (other.amount, other.currency)


class MoneyField(fields.Nested):
    """A money input: a Money object ({"amount": "12.50", "currency": "EUR"}) in the current API version; the
    deprecated version 2026-11-01 also reads a bare decimal string ("12.50") in the document's currency. Loads
    as a :class:`MoneyAmount`; the view checks the currency against the document's with :func:`amount_in`.
    Documented as the one Money schema."""

    def __init__(self, **kwargs):
        metadata = dict(kwargs.pop("metadata", None) or {})
        from portal.api import versions

        note = (f"API version {versions.LEGACY} (deprecated, sunset {versions.sunset(versions.LEGACY)}) also takes "
                f"a bare decimal string in the document's currency.")
        metadata["description"] = (metadata.get("description", "") + " " + note).strip()
        super().__init__(Money, metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, partial=None, **kwargs):
        from portal.api import versions

        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            if versions.money_as_objects():
                raise ValidationError(
                    f"Send money as an object such as {{\"amount\": \"12.50\", \"currency\": \"EUR\"}} (API "
                    f"version {versions.current()}); bare decimal strings are read only in the deprecated "
                    f"version {versions.LEGACY}.")
            return MoneyAmount(DecimalString()._deserialize(value, attr, data), None)
        loaded = super()._deserialize(value, attr, data, partial=partial, **kwargs)
        return MoneyAmount(loaded["amount"], loaded["currency"])


def amount_in(value, currency: str, field: str, what: str = "The amount"):
    """The Decimal of a money input (a :class:`MoneyAmount`; None passes through) after checking it is in the
    document's ``currency`` (a 422 naming both currencies otherwise)."""
    from portal.errors import ValidationFailed

    if value is None or not isinstance(value, MoneyAmount):
        return value
    if value.currency is not None and value.currency != currency:
        raise ValidationFailed(_l("%(what)s is in %(currency)s but this document is in %(currency2)s; send it in "
                                  "%(currency2)s. Nothing was saved."),
                               what=what, currency=value.currency, currency2=currency,
                               errors={f"{field}.currency": say(_l("Must be %(currency)s."), currency=currency)})
    return value.amount


class ProblemSchema(Schema):
    """RFC 9457 problem details (served as application/problem+json)."""

    type = fields.String(required=True, metadata={"example": "https://portal.example/problems/invalidtransition"})
    title = fields.String(required=True, metadata={"example": "Conflict"})
    status = fields.Integer(required=True, metadata={"example": 409})
    detail = fields.String(required=True, metadata={"example": "The order was changed by someone else; reload it."})
    errors = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                         metadata={"description": "Per field (dotted path) a sentence; empty when none."})


IDEMPOTENCY_KEY = {
    "in": "header", "name": "Idempotency-Key", "required": False,
    "description": "Makes the write safe to retry: the same key (per token, method and path) with the same JSON "
                   "replays the first answer; see the API description.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[!-~]+$"},
}


def register_spec_components(spec) -> None:
    spec.components.parameter("IdempotencyKey", "header", {k: v for k, v in IDEMPOTENCY_KEY.items() if k != "in"})
    spec.components.header("Location", {"description": "The URL of the created resource.", "required": True,
                                        "schema": {"type": "string"}})
    from portal.api import versions

    spec.components.header("PortalVersion", {
        "description": "The API version this answer is in (the token's, or the one the request named in "
                       "`Portal-Version`).", "schema": {"type": "string", "enum": list(versions.VERSIONS)}})
    spec.components.header("IdempotentReplayed", {
        "description": "`true` when this answer is the stored answer to an earlier request with the same "
                       "Idempotency-Key.", "schema": {"type": "string", "enum": ["true"]}})


class LinksSchema(Schema):
    self = fields.String()


def _job_statuses() -> list[str]:
    from portal.jobs.models import JobStatus

    return [s.value for s in JobStatus]


class JobSchema(Schema):
    """A background job (202 answers carry it): poll `links.self` until `status` is `succeeded` or `failed`."""

    id = fields.Integer(allow_none=True, metadata={"description": "Null while the job is not yet recorded."})
    kind = fields.String(metadata={"example": "invoice-pdf"})
    title = fields.String()
    status = fields.String(validate=validate.OneOf(_job_statuses()))
    progress = fields.Integer(metadata={"description": "0-100"})
    error = fields.String(allow_none=True)
    created_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime(allow_none=True, metadata={"description": "Changes with status and progress."})
    finished_at = fields.DateTime(allow_none=True)
    links = fields.Nested(LinksSchema, allow_none=True)


def pending_job(kind: str, title: str) -> dict:
    """A 202's job while no job record can be shown (not yet recorded, or not the caller's to see): every field
    of the Job schema, the unknown ones null."""
    return {"id": None, "kind": kind, "title": title, "status": "queued", "progress": 0, "error": None,
            "created_at": None, "updated_at": None, "finished_at": None, "links": None}


def job_dict(rec) -> dict:
    from flask import url_for

    return {"id": rec.id, "kind": rec.kind, "title": rec.title, "status": rec.status.value,
            "progress": rec.progress, "error": rec.error, "created_at": ts(rec.created_at),
            "updated_at": ts(rec.updated_at or rec.created_at),
            "finished_at": ts(rec.finished_at), "links": {"self": url_for("api_misc.get_job", job_id=rec.id)}}


class RenamedFields:
    """Input schemas that renamed a field to the API's one naming scheme (``supplier_company_id``,
    ``lock_version``) still read the old name: ``ALIASES = {"supplier_id": "supplier_company_id"}`` (old -> new,
    both as sent on the wire). The document shows only the new name."""

    ALIASES: dict[str, str] = {}

    @pre_load
    def _read_old_names(self, data, **kwargs):
        if not self.ALIASES or not hasattr(data, "keys"):
            return data
        if any(old in data and new not in data for old, new in self.ALIASES.items()):
            data = {k: data[k] for k in data.keys()}
            for old, new in self.ALIASES.items():
                if old in data and new not in data:
                    data[new] = data.pop(old)
        return data


class LockArgs(Schema):
    """Optional optimistic-concurrency guard: send the lock_version you last read; omit it to act on the
    current state."""

    lock_version = BoundedInt(load_default=None, allow_none=True, validate=validate.Range(min=0, max=MAX_INT))


class ReasonArgs(LockArgs):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=4000))


class CommentArgs(LockArgs):
    comment = fields.String(required=True, validate=validate.Length(min=1, max=2000))


def lock_or_current(obj, given):
    """The API's opt-out of optimistic locking: no lock_version in the body means 'the current one' — the version
    the row has under the service's row lock (portal.locking.CURRENT), not the one this unlocked read saw."""
    from portal.locking import CURRENT

    return CURRENT if given is None else given


def exact_money(amount, currency: str) -> dict | None:
    """Money without rounding: at least the currency's minor unit ("1.40"), more places when the amount has
    them ("0.8125", a unit price)."""
    from portal.money import minor_unit

    if amount is None:
        return None
    d = Decimal(str(amount))
    places = max(minor_unit(currency), -d.normalize().as_tuple().exponent)
    return {"amount": format(d.quantize(Decimal(1).scaleb(-places)), "f"), "currency": currency}


def versioned_money(amount, currency: str):
    """An amount that answers in API version 2026-11-01 gave as a bare decimal string (price-break prices): a
    Money object in the current version, the string in that one."""
    from portal.api import versions

    if amount is None:
        return None
    if versions.money_as_objects():
        return exact_money(amount, currency)
    return plain(amount)


class VersionedMoneyOut(fields.Nested):
    """Documented as Money (the current version); dumps the bare string that version 2026-11-01 answers with."""

    def __init__(self, **kwargs):
        super().__init__(Money, **kwargs)

    def _serialize(self, nested_obj, attr, obj, **kwargs):
        if isinstance(nested_obj, str):
            return nested_obj
        return super()._serialize(nested_obj, attr, obj, **kwargs)
