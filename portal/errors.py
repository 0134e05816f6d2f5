"""Domain errors: what services raise, what views flash and the API turns into problem+json."""
from __future__ import annotations


class DomainError(Exception):
    status = 400
    title = "Request refused"

    def __init__(self, message: str, *, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}

    def __str__(self) -> str:
        return self.message


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Forbidden(DomainError):
    status = 403
    title = "Not allowed"


class InvalidTransition(DomainError):
    status = 409
    title = "Not possible in this state"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class ValidationFailed(DomainError):
    status = 422
    title = "Invalid input"


def check_version(expected, current: int, message: str) -> None:
    """Refuse a stale form: the version the page was loaded with must still be the row's.
    ``None``/empty skips the check (internal callers and API clients that opted out)."""
    if expected is None or expected == "":
        return
    try:
        value = int(expected)
    except (TypeError, ValueError):
        raise Conflict(message)
    if value != current:
        raise Conflict(message)
