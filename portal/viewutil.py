"""Small helpers for views: show a DomainError beside the form, safe redirects, streamed bodies."""
from __future__ import annotations

from urllib.parse import urlsplit

from collections.abc import Iterator

from flask import current_app, flash

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


def stream_in_app_context(chunks: Iterator[str]) -> Iterator[str]:
    """A response body streamed after the view has returned. The server iterates the body once the request
    context is gone (gunicorn: "Working outside of application context"), so every step of ``chunks`` runs inside
    an application context of its own, with its own database session, pushed and popped around that step.
    Nothing stays pushed between steps, unlike flask.stream_with_context (which keeps the request context pushed
    while the body waits to be read, and pops it out of order when an unread body is dropped).

    ``chunks`` is a generator that has not started; it must keep only plain values (ids, text) across its
    yields, never ORM objects, and must not need the request (read request args and current_user before)."""
    app = current_app._get_current_object()

    def generate():
        while True:
            with app.app_context():
                chunk = next(chunks, None)
            if chunk is None:
                return
            yield chunk

    return generate()
