"""Row locks, stale-form checks and the bounded retry of a unit of work.

One rule for every ``lock_version`` (or ``version``) a form or an API body carries: lock the row
(SELECT ... FOR UPDATE), re-read it (populate_existing), THEN compare the version. A version compared on the
unlocked row proves nothing: ten identical posts all read the same version before the first commits.
``lock_checked`` does the three steps; ``check_version`` is the comparison alone, for a row the caller has just
locked itself.

``CURRENT`` is the API's opt-out: a body without ``lock_version`` acts on whatever version the row has under the
lock (never on the version some earlier, unlocked read saw).

The order in which locks are taken is written once, in portal/credit/ledger.py.

``retry_on_conflict`` re-runs a whole unit of work when PostgreSQL reports a deadlock or a serialization failure:
the session is rolled back and the function called again, so it re-reads every row. Only the outermost decorated
call retries (an inner one would re-run half a unit of work), and only when it began with nothing written in the
transaction yet; otherwise the error goes up to whoever owns the whole unit.
"""
from __future__ import annotations

import functools
import random
import time
from contextvars import ContextVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.db import db
from portal.errors import Conflict, NotFound
from portal.i18n import _l


class _Current:
    def __repr__(self) -> str:
        return "CURRENT"


CURRENT = _Current()  # "no lock_version sent": accept the row's version as it is under the lock


def _parse(expected) -> int | None:
    if isinstance(expected, bool):
        return None
    try:
        return int(expected)
    except (TypeError, ValueError):
        return None


def version_matches(expected, current: int, *, required: bool = True) -> bool:
    """Does the version a form was loaded with match the row's? ``CURRENT`` always matches; a missing
    (None/empty) version matches only when it is not ``required``; anything unreadable never matches."""
    if expected is CURRENT:
        return True
    if expected is None or expected == "":
        return not required
    value = _parse(expected)
    return value is not None and value == current


def check_version(expected, current: int, message, *, required: bool = True, obj=None) -> None:
    """Raise Conflict(message) unless ``version_matches``. ``message`` may be a callable of ``obj`` (so the
    sentence can say what the row is now). The plain comparison: prefer ``check_fresh`` on a locked row."""
    if not version_matches(expected, current, required=required):
        raise Conflict(message(obj) if callable(message) else message)


_LOCKED = "portal_locked_rows"


def _key(obj) -> tuple:
    return (type(obj).__table__.name, obj.id)


def is_locked(obj) -> bool:
    """Was ``obj``'s row locked (and re-read) by ``lock_row`` in the session's current transaction?"""
    return _key(obj) in db.session.info.get(_LOCKED, ())


_WROTE = "portal_flushed_writes"


@sa.event.listens_for(Session, "after_transaction_end")
def _forget_locks(session, transaction):
    if transaction.parent is None:  # the outermost transaction ended: its row locks (and writes) are gone
        session.info.pop(_LOCKED, None)
        session.info.pop(_WROTE, None)


@sa.event.listens_for(Session, "after_flush")
def _remember_writes(session, flush_context):
    session.info[_WROTE] = True


def lock_row(model, row_id, *, where=(), options=(), not_found: str | None = None):
    """SELECT ... FOR UPDATE OF the model's table, re-reading the row into the session (populate_existing).
    ``where`` adds conditions (tenancy); no such row -> NotFound."""
    try:
        rid = int(row_id)
    except (TypeError, ValueError):
        rid = None
    obj = None
    if rid is not None and 0 < rid <= 2**31 - 1:
        stmt = sa.select(model).where(model.id == rid, *where)
        if options:
            stmt = stmt.options(*options)
        obj = db.session.scalar(stmt.with_for_update(of=model).execution_options(populate_existing=True))
    if obj is None:
        if not_found:
            raise NotFound(not_found)
        raise NotFound(_l("No such %(what)s."), what=model.__name__.lower())
    db.session.info.setdefault(_LOCKED, set()).add(_key(obj))
    return obj


def check_fresh(obj, expected, message, *, required: bool = True, version_attr: str = "lock_version") -> None:
    """Compare the form's version with the row's; the row must have been locked and re-read by ``lock_row`` in
    this transaction (a comparison on an unlocked read is a programming error, refused loudly)."""
    if not is_locked(obj):
        raise RuntimeError(f"{type(obj).__name__} {obj.id}: compare versions under the row lock (lock_row first)")
    check_version(expected, getattr(obj, version_attr), message, required=required, obj=obj)


def lock_checked(model, row_id, expected, message, *, version_attr: str = "lock_version", required: bool = True,
                 where=(), options=(), not_found: str | None = None):
    """Lock and re-read the row, then compare its version with the one the form was loaded with."""
    obj = lock_row(model, row_id, where=where, options=options, not_found=not_found)
    check_fresh(obj, expected, message, required=required, version_attr=version_attr)
    return obj


# --------------------------------------------------------------------------------------------- retry

RETRY_ATTEMPTS = 5
RETRY_BASE_DELAY = 0.02  # seconds; doubled per attempt, with jitter
_RETRYABLE_SQLSTATES = {"40P01", "40001"}  # deadlock_detected, serialization_failure
_in_unit: ContextVar[bool] = ContextVar("portal_retry_in_unit", default=False)


def is_retryable(exc: BaseException) -> bool:
    """A deadlock or serialization failure reported by the database (wrapped by SQLAlchemy or not)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        orig = getattr(exc, "orig", None)
        for candidate in (exc, orig):
            code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
            if code in _RETRYABLE_SQLSTATES:
                return True
        exc = exc.__cause__ or exc.__context__
    return False


def _has_writes() -> bool:
    session = db.session
    return bool(session.info.get(_WROTE) or session.new or session.dirty or session.deleted)


def retry_on_conflict(fn=None, *, attempts: int = RETRY_ATTEMPTS, base_delay: float = RETRY_BASE_DELAY):
    """Run the unit of work again (rolled back, rows re-read) on a deadlock or serialization failure, at most
    ``attempts`` times in all; the last failure becomes a Conflict (409, a sentence) rather than a 500."""

    def decorate(func):
        @functools.wraps(func)
        def wrapped(*args, **kwargs):
            if _in_unit.get() or _has_writes():
                # Inside a unit that retries, or after uncommitted writes of a caller: a retry here would
                # roll back work it cannot redo, so the error goes up to whoever owns the whole unit.
                return func(*args, **kwargs)
            token = _in_unit.set(True)
            try:
                for attempt in range(1, attempts + 1):
                    try:
                        return func(*args, **kwargs)
                    except (sa.exc.DBAPIError, sa.exc.SQLAlchemyError) as exc:
                        if not is_retryable(exc):
                            raise
                        db.session.rollback()
                        if attempt == attempts:
                            raise Conflict(_l("Too many people changed this at the same moment; try again.")) from exc
                        time.sleep(base_delay * (2 ** (attempt - 1)) * (0.5 + random.random()))
            finally:
                _in_unit.reset(token)

        return wrapped

    return decorate(fn) if fn is not None else decorate
