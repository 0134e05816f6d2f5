"""Dated API versions, Stripe-style.

A breaking change to the shape of requests or answers ships as a new dated version. Each token records the
version that was current when it was created (tokens older than versioning record the first one), so an
integration keeps working until its owner upgrades; a request may name another version with the
``Portal-Version`` header (to try the next one before switching). Every answer says which version it used in
``Portal-Version``; answers in a deprecated version also carry ``Deprecation`` and ``Sunset`` (RFC 8594).

The OpenAPI document describes the current version.
"""
from __future__ import annotations

from flask import g

HEADER = "Portal-Version"

#: Money inputs (prices, shipping, payment and credit amounts) were bare decimal strings ("12.50").
LEGACY = "2026-11-01"
#: Money inputs are Money objects {"amount": "12.50", "currency": "EUR"}, as money is in answers.
MONEY_OBJECTS = "2026-12-06"

CURRENT = MONEY_OBJECTS

#: version -> (what changed with it, sunset day or None while supported without end)
VERSIONS: dict[str, tuple[str, str | None]] = {
    LEGACY: ("Money inputs are bare decimal strings (\"12.50\") in the document's currency. Deprecated.",
             "2027-06-30"),
    MONEY_OBJECTS: (("Money inputs are Money objects {\"amount\": \"12.50\", \"currency\": \"EUR\"}; the "
                     "currency must be the document's."), None),
}


class UnknownVersion(Exception):
    pass


def check(version: str) -> str:
    version = (version or "").strip()
    if version not in VERSIONS:
        raise UnknownVersion(version)
    return version


def current() -> str:
    """The version this request is answered in (the current one outside an API request)."""
    from flask import has_app_context

    return (getattr(g, "api_version", None) if has_app_context() else None) or CURRENT


def money_as_objects() -> bool:
    return current() >= MONEY_OBJECTS


def sunset(version: str) -> str | None:
    return VERSIONS.get(version, ("", None))[1]


def http_date(day: str) -> str:
    """'2027-06-30' -> 'Wed, 30 Jun 2027 00:00:00 GMT' (the Sunset header's form)."""
    from datetime import datetime, timezone
    from email.utils import format_datetime

    return format_datetime(datetime.fromisoformat(day).replace(tzinfo=timezone.utc), usegmt=True)


def version_headers(resp):
    version = getattr(g, "api_version", None)
    if version:
        resp.headers[HEADER] = version
        end = sunset(version)
        if end:
            resp.headers["Deprecation"] = "true"
            resp.headers["Sunset"] = http_date(end)
    return resp


def describe() -> str:
    """The versioning paragraph of the API description."""
    lines = [f"**Versions**: requests are answered in the version the token recorded when it was created, or in "
             f"the one named by a `{HEADER}` header; every answer names the version it used in `{HEADER}`. "
             f"The current version is `{CURRENT}`; this document describes it."]
    for version, (what, end) in VERSIONS.items():
        lines.append(f"- `{version}`: {what}" + (f" Sunset: {end}." if end else ""))
    return "\n".join(lines)
