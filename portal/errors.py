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
    """Refuse a stale form (``None``/empty skips). Kept for older callers: the rule lives in portal.locking, whose
    ``lock_checked`` / ``check_fresh`` compare on a row locked and re-read in this transaction — use those."""
    from portal.locking import check_version as compare

    compare(expected, current, message, required=False)
