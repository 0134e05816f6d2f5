"""Small helpers for views: show a DomainError beside the form, safe redirects."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash

from portal.errors import DomainError


def form_error(form, exc: DomainError) -> None:
    """Attach a service's field errors to the form's fields, and flash the sentence."""
    placed = False
    for field_name, message in (exc.errors or {}).items():
        field = getattr(form, field_name, None) if form is not None else None
        if field is not None and hasattr(field, "errors"):
            errs = list(field.errors) if isinstance(field.errors, (list, tuple)) else []
            errs.append(message)
            field.errors = errs
            placed = True
    flash(exc.message, "danger" if not placed else "warning")


def safe_next(target: str | None, default: str) -> str:
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


MAX_PAGE = 100_000


def page_number(value) -> int:
    """A page number from a query string: anything odd (text, negative, absurdly large) becomes a valid page."""
    try:
        return max(1, min(int(value or 1), MAX_PAGE))
    except (TypeError, ValueError, OverflowError):
        return 1
