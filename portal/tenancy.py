"""Load-for-current-user helpers and role decorators. Every view that takes an id goes through here.

A tenant-scoped model implements ``visible_to(company_id)`` returning an SQL expression that is true when the
company is a party to the row. ``get_for_user`` answers 404 (not 403) when it is not: another company's ids do
not even exist for you.
"""
from __future__ import annotations

import functools

import sqlalchemy as sa
from flask import abort
from flask_login import current_user, login_required

from portal.db import db
from portal.errors import NotFound
from portal.i18n import _l

MAX_ID = 2**31 - 1  # primary keys are 32-bit integers


def scoped(model, company_id: int):
    """A select of ``model`` limited to what ``company_id`` is a party to."""
    return sa.select(model).where(model.visible_to(company_id))


def get_for_company(model, obj_id, company_id: int, *, options=(), for_update: bool = False):
    """Load one object the company is party to, or raise NotFound (services use this)."""
    try:
        obj_id = int(obj_id)
    except (TypeError, ValueError):
        raise NotFound(_l("No such %(what)s."), what=model.__name__.lower())
    if not 0 < obj_id <= MAX_ID:  # ids beyond the column's range exist for no one (and must not reach the DB)
        raise NotFound(_l("No such %(what)s."), what=getattr(model, '__label__', model.__name__.lower()))
    stmt = scoped(model, company_id).where(model.id == obj_id)
    if options:
        stmt = stmt.options(*options)
    if for_update:
        stmt = stmt.with_for_update(of=model)
    obj = db.session.scalar(stmt)
    if obj is None:
        raise NotFound(_l("No such %(what)s."), what=getattr(model, '__label__', model.__name__.lower()))
    return obj


def get_child(model, child_id, label: str, *where):
    """A row of ``model`` with this id that also meets ``where`` (typically: belongs to a parent the caller
    already loaded through tenancy), or NotFound("No such <label>.")."""
    try:
        child_id = int(child_id)
    except (TypeError, ValueError):
        raise NotFound(_l("No such %(label)s."), label=label)
    obj = None
    if 0 < child_id <= MAX_ID:
        obj = db.session.scalar(sa.select(model).where(model.id == child_id, *where))
    if obj is None:
        raise NotFound(_l("No such %(label)s."), label=label)
    return obj


def get_for_user(model, obj_id, *, options=()):
    """Load one object for the signed-in user, answering 404 when their company is not a party."""
    try:
        return get_for_company(model, obj_id, current_user.company_id, options=options)
    except NotFound:
        abort(404)


def roles_required(*roles):
    """Require a signed-in user with at least one of ``roles`` (403 otherwise)."""

    def decorator(view):
        @functools.wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_roles = roles
        return wrapped

    return decorator


def company_kind_required(kind: str):
    """Require the user's company to buy ('buyer') or supply ('supplier')."""

    def decorator(view):
        @functools.wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            company = current_user.company
            ok = company.is_buyer if kind == "buyer" else company.is_supplier
            if not ok:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
