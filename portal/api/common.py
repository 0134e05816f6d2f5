"""Shared API pieces: the blueprint, auth hook, problem+json, pagination and common schemas."""
from __future__ import annotations

from flask import current_app, g, jsonify, request, url_for
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from portal.api.auth import Unauthorized, authenticate_request, problem_body, rate_limit_key
from portal.errors import DomainError
from portal.extensions import csrf
from portal.ratelimit import counters

MAX_PER_PAGE = 100

# The section (OpenAPI tag) each resource blueprint is listed under in /api/v1/docs. Blueprint names stay as
# they are (they are the endpoint prefixes url_for builds with); readers see these names.
SECTION_NAMES = {
    "api_companies": "Companies", "api_sourcing": "Sourcing", "api_ordering": "Ordering",
    "api_invoicing": "Invoicing", "api_misc": "Jobs and notifications",
}


def section_name(blueprint_name: str) -> str:
    """A readable section name: the table above, else "api_credit_notes" -> "Credit notes"."""
    if blueprint_name in SECTION_NAMES:
        return SECTION_NAMES[blueprint_name]
    words = blueprint_name.removeprefix("api_").replace("_", " ").strip()
    return words[:1].upper() + words[1:]


class ApiBlueprint(Blueprint):
    """A resource blueprint whose operations are tagged with its readable section name, not its name."""

    def __init__(self, name: str, import_name: str, *, tag: str | None = None, **kwargs):
        super().__init__(name, import_name, **kwargs)
        self.tag = tag or section_name(name)

    def _store_endpoint_docs(self, endpoint, obj, parameters, tags, **options):
        return super()._store_endpoint_docs(endpoint, obj, parameters,
                                            tags if tags is not None else [self.tag], **options)


def make_blueprint(name: str, description: str, tag: str | None = None) -> Blueprint:
    bp = ApiBlueprint(name, __name__, url_prefix="/api/v1", description=description, tag=tag)
    csrf.exempt(bp)
    bp.before_request(_auth)
    bp.register_error_handler(DomainError, domain_error)
    return bp


class RateLimited(DomainError):
    status = 429
    title = "Too many requests"


def _auth():
    _refuse_address_after_failed_auth()
    try:
        authenticate_request()
    except Unauthorized:
        counters.hit(_auth_failure_item(), "api-auth-failed", request.remote_addr or "unknown")
        raise
    _rate_limit()


def _auth_failure_item():
    from limits import parse

    return parse(current_app.config.get("API_AUTH_FAILURE_LIMIT", "20 per minute"))


def _refuse_address_after_failed_auth():
    """An address that sent API_AUTH_FAILURE_LIMIT bad tokens waits out the window before any token is looked
    at (so guessing cannot go on, and a valid guess is not recognisable while it waits)."""
    import math
    import time

    item, addr = _auth_failure_item(), request.remote_addr or "unknown"
    strategy = counters
    if not strategy.test(item, "api-auth-failed", addr):
        reset = strategy.get_window_stats(item, "api-auth-failed", addr).reset_time
        wait = max(1, math.ceil(reset - time.time()))
        g.retry_after = wait
        raise RateLimited(f"Too many requests with a missing or invalid API token from your address; retry in "
                          f"{wait} s.")


def _rate_limit():
    """Per-token budget (API_RATE_LIMIT, default 600 per minute) on the same storage as Flask-Limiter."""
    import math
    import time

    from limits import parse

    item = parse(current_app.config.get("API_RATE_LIMIT", "600 per minute"))
    key = rate_limit_key()
    strategy = counters
    if not strategy.hit(item, "api", key):
        reset = strategy.get_window_stats(item, "api", key).reset_time
        wait = max(1, math.ceil(reset - time.time()))
        g.retry_after = wait
        raise RateLimited(f"This token made too many requests; retry in {wait} s.")


def domain_error(exc: DomainError):
    resp = jsonify(problem_body(exc))
    resp.status_code = exc.status
    resp.mimetype = "application/problem+json"
    if exc.status == 429 and getattr(g, "retry_after", None):
        resp.headers["Retry-After"] = str(g.retry_after)
    return resp


def actor():
    return g.api_user


class MoneySchema(Schema):
    amount = fields.Decimal(as_string=True, required=True)
    currency = fields.String(required=True, validate=validate.Length(equal=3))


def money(amount, currency):
    from portal.money import quantize

    if amount is None:
        return None
    return {"amount": str(quantize(amount, currency)), "currency": currency}


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PER_PAGE))


class CursorPageArgs(PageArgs):
    after = fields.Integer(load_default=None, validate=validate.Range(min=0, max=2147483647), metadata={
        "description": "Keyset paging: the items with an id above this one, in id order (follow `links.next`). "
                       "Costs the same at any depth, unlike `page`, which keeps working as before."})


def after_page(stmt, id_col, after: int, per_page: int):
    """(rows, next cursor) of a keyset page in id order: one statement, one row more read to see if there is a
    next page."""
    from portal.db import db

    rows = list(db.session.scalars(stmt.where(id_col > after).order_by(id_col).limit(per_page + 1)).unique())
    return rows[:per_page], (rows[per_page - 1].id if len(rows) > per_page else None)


def cursor_envelope(items: list, total: int, per_page: int, endpoint: str, next_after: int | None) -> dict:
    """The page envelope of a keyset page: ``page`` is null, ``links.next`` carries the next cursor."""
    args = {k: v for k, v in request.args.items() if k not in ("page", "per_page", "after")}
    nxt = url_for(endpoint, after=next_after, per_page=per_page, **args) if next_after is not None else None
    return {"items": items, "page": None, "per_page": per_page, "total": total, "links": {"next": nxt, "prev": None}}


class PageLinks(Schema):
    next = fields.String(allow_none=True)
    prev = fields.String(allow_none=True)


def page_envelope(items: list, total: int, page: int, per_page: int, endpoint: str, **params) -> dict:
    last = max(1, -(-total // per_page))
    args = {k: v for k, v in request.args.items() if k not in ("page", "per_page")}
    args.update(params)
    nxt = url_for(endpoint, page=page + 1, per_page=per_page, **args) if page < last else None
    prev = url_for(endpoint, page=page - 1, per_page=per_page, **args) if page > 1 else None
    return {"items": items, "page": page, "per_page": per_page, "total": total,
            "links": {"next": nxt, "prev": prev}}


def paged_schema(item_schema, name: str):
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item_schema)),
        "page": fields.Integer(allow_none=True, metadata={"description": "null on a keyset page (`after`)"}),
        "per_page": fields.Integer(), "total": fields.Integer(), "links": fields.Nested(PageLinks),
    }, name=name)
