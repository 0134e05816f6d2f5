"""Marshmallow pieces shared by the API resources: strict decimal input, money/quantity output helpers,
the problem+json schema and small serialisation helpers."""
from __future__ import annotations

import math
from datetime import datetime, timezone
from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, validate

from portal.errors import DomainError
from portal.money import to_decimal


class DecimalString(fields.String):
    """A decimal given as a JSON string ("12.50"); an integer is accepted too. Floats (binary fractions), NaN,
    Infinity, booleans and anything else are refused with a sentence; output is a plain decimal string."""

    def __init__(self, *, places: int = 4, **kwargs):
        self.places = places
        kwargs.setdefault("metadata", {})
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
            value = str(value)
        if not isinstance(value, str):
            raise ValidationError("Send the number as a decimal string such as \"12.50\".")
        try:
            return to_decimal(value, "Value", places=self.places)
        except DomainError as exc:
            raise ValidationError(exc.message) from None

    def _serialize(self, value, attr, obj, **kwargs):
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
    """An integer that fits the database's INTEGER (ids, versions); anything larger is a 422, not a 500."""

    def __init__(self, **kwargs):
        kwargs.setdefault("strict", True)
        kwargs.setdefault("validate", validate.Range(min=-MAX_INT, max=MAX_INT))
        super().__init__(**kwargs)


class MoneyOut(Schema):
    amount = fields.String(required=True, metadata={"example": "1234.50"})
    currency = fields.String(required=True, metadata={"example": "EUR"})


class MoneyIn(Schema):
    amount = DecimalString(required=True)
    currency = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z]{3}$"))


class ProblemSchema(Schema):
    """RFC 9457 problem details."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict(keys=fields.String())


class LinksSchema(Schema):
    self = fields.String()


class JobSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    title = fields.String()
    status = fields.String()
    progress = fields.Integer()
    error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    links = fields.Nested(LinksSchema)


def job_dict(rec) -> dict:
    from flask import url_for

    return {"id": rec.id, "kind": rec.kind, "title": rec.title, "status": rec.status.value,
            "progress": rec.progress, "error": rec.error, "created_at": ts(rec.created_at),
            "finished_at": ts(rec.finished_at), "links": {"self": url_for("api_misc.get_job", job_id=rec.id)}}


class LockArgs(Schema):
    """Optional optimistic-concurrency guard: send the lock_version you last read; omit it to act on the
    current state."""

    lock_version = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=MAX_INT))


class ReasonArgs(LockArgs):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=4000))


class CommentArgs(LockArgs):
    comment = fields.String(required=True, validate=validate.Length(min=1, max=2000))


def lock_or_current(obj, given):
    """The API's opt-out of optimistic locking: no lock_version in the body means 'the current one' — the version
    the row has under the service's row lock (portal.locking.CURRENT), not the one this unlocked read saw."""
    from portal.locking import CURRENT

    return CURRENT if given is None else given
