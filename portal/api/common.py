"""Shared API pieces: the blueprint, auth hook, problem+json, pagination and common schemas."""
from __future__ import annotations

import functools
import json
from http import HTTPStatus

from flask import current_app, g, make_response, request, url_for
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from portal.api.auth import (MalformedRequest, Unauthorized, authenticate_request, idempotent,  # noqa: F401
                             problem_body,
                             problem_response, rate_limit_key)
from portal.api import versions
from portal.api.spec import RATE_LIMIT_HEADERS
from portal.errors import DomainError
from portal.i18n import _l
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


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def camel(name: str) -> str:
    """list_orders -> listOrders (the operationId of a view function)."""
    head, *rest = name.strip("_").split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def problems(*statuses: int):
    """Declare problem statuses an operation can answer with beyond the ones every operation of its kind gets
    (e.g. 404 for a list filtered by a company id)."""

    def deco(view):
        view._extra_problems = set(getattr(view, "_extra_problems", set())) | set(statuses)
        return view

    return deco


def created(endpoint: str, **params: str):
    """A 201 answer's Location: the URL of ``endpoint`` built with each parameter read from the answer's JSON
    body (a slash-separated path such as ``"id"`` or ``"award/rfq_id"``). Documented as the Location header and
    as OpenAPI links to the operations under that URL (schemathesis' stateful phase follows them)."""

    def deco(view):
        view._location = (endpoint, params)
        return view

    return deco


def links(**named: dict):
    """Extra OpenAPI links from the success answer: ``links(receiveShipment={"shipment_id": "id"})``."""

    def deco(view):
        view._links = {**getattr(view, "_links", {}), **named}
        return view

    return deco


def not_idempotent(view):
    """Opt a write out of Idempotency-Key handling (nothing in the portal uses this yet)."""
    view._not_idempotent = True
    return view


def _dig(body, path: str):
    for part in path.split("/"):
        if not isinstance(body, dict):
            return None
        body = body.get(part)
    return body


def _with_location(view, location):
    endpoint, params = location

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        resp = make_response(view(*args, **kwargs))
        if resp.status_code == 201 and "Location" not in resp.headers and resp.is_json:
            body = resp.get_json(silent=True)
            values = {k: _dig(body, path) for k, path in params.items()}
            if all(v is not None for v in values.values()):
                resp.headers["Location"] = url_for(endpoint, **values)
        return resp

    return wrapped


def _query_names(view) -> set[str] | None:
    names: set[str] = set()
    for param in (getattr(view, "_apidoc", {}).get("arguments") or {}).get("parameters", []):
        if param.get("in") != "query":
            continue
        schema = param["schema"]
        schema = schema() if isinstance(schema, type) else schema
        names |= {f.data_key or n for n, f in schema.fields.items() if not f.dump_only}
        names |= set(getattr(schema, "ALIASES", {}))  # old names still read
    return names


def _takes_json(view) -> bool:
    return any(p.get("in") == "json" for p in
               (getattr(view, "_apidoc", {}).get("arguments") or {}).get("parameters", []))


class ApiBlueprint(Blueprint):
    """A resource blueprint with the API's conventions built in, so every operation added to it gets them:

    * operations are tagged with the blueprint's readable section name, and their operationId is the view
      function's name in camelCase (``list_orders`` -> ``listOrders``; ``@bp.doc(operationId=...)`` overrides);
    * every operation declares the problem+json statuses of its kind: 400, 401, 403, 429 always; 404 with a path
      id and on writes; 409, 413, 422 on writes, 415 when it takes a JSON body; 422 when it takes query
      parameters; more with :func:`problems`;
    * every write (POST/PUT/PATCH/DELETE) is idempotent with an ``Idempotency-Key`` header (declared);
    * 201 answers carry a ``Location`` (:func:`created`), 2xx answers the rate-limit headers;
    * unknown query parameters are refused (400), a body that is not JSON (415) or malformed JSON (400) too.
    """

    def __init__(self, name: str, import_name: str, *, tag: str | None = None, **kwargs):
        super().__init__(name, import_name, **kwargs)
        self.tag = tag or section_name(name)
        self._prepare_doc_cbks.append(self._prepare_portal_doc)
        self.portal_ops: dict[str, dict] = {}  # endpoint -> what the request checks need to know

    def add_url_rule(self, rule, endpoint=None, view_func=None, provide_automatic_options=None, *,
                     parameters=None, tags=None, **options):
        methods = {m.upper() for m in options.get("methods", ("GET",))}
        info = {"name": view_func.__name__, "path_params": "<" in rule, "query": _query_names(view_func),
                "json_body": _takes_json(view_func), "extra": set(getattr(view_func, "_extra_problems", ())),
                "location": getattr(view_func, "_location", None), "links": getattr(view_func, "_links", {}),
                "write": bool(methods & WRITE_METHODS), "idempotent": False}
        if info["location"]:
            view_func = _with_location(view_func, info["location"])
        if info["write"] and not getattr(view_func, "_not_idempotent", False):
            if not getattr(view_func, "_idempotent", False):
                view_func = idempotent(view_func)
            info["idempotent"] = True
        super().add_url_rule(rule, endpoint, view_func, provide_automatic_options, parameters=parameters,
                             tags=tags, **options)
        endpoint = self._endpoints[-1]
        self.portal_ops[endpoint] = info
        for method, doc in self._docs[endpoint].items():
            if method != "parameters":
                doc["portal"] = info

    def _store_endpoint_docs(self, endpoint, obj, parameters, tags, **options):
        return super()._store_endpoint_docs(endpoint, obj, parameters,
                                            tags if tags is not None else [self.tag], **options)

    def _prepare_portal_doc(self, doc, doc_info, *, api, app, spec, method, **kwargs):
        info = doc_info.get("portal")
        if not info:
            return doc
        doc["operationId"] = camel(info["name"])
        responses = {str(k): v for k, v in (doc.get("responses") or {}).items()}
        statuses = {400, 401, 403, 429} | info["extra"]
        if info["path_params"] or info["write"]:
            statuses.add(404)
        if info["path_params"]:
            statuses.add(405)  # an id with a slash in it names another operation's URL
        if info["write"]:
            statuses |= {409, 413, 422}
        if info["json_body"]:
            statuses.add(415)
        if info["query"]:
            statuses.add(422)
        if "starting_after" in (info["query"] or ()):
            statuses.add(404)
        for status in sorted(statuses):
            responses.setdefault(str(status), HTTPStatus(status).name)
        for status, resp in responses.items():
            if not status.startswith("2") or not isinstance(resp, dict):
                continue
            headers = resp.setdefault("headers", {})
            for name in RATE_LIMIT_HEADERS:
                headers.setdefault(name, {"$ref": f"#/components/headers/{name}"})
            headers.setdefault("Portal-Version", {"$ref": "#/components/headers/PortalVersion"})
            if info["idempotent"]:
                headers.setdefault("Idempotent-Replayed", {"$ref": "#/components/headers/IdempotentReplayed"})
            if status == "201":
                headers.setdefault("Location", {"$ref": "#/components/headers/Location"})
            if status == "202":
                headers.setdefault("Retry-After", {"$ref": "#/components/headers/RetryAfter"})
            if info["location"] and status == "201":
                endpoint, params = info["location"]
                resp["x-portal-location"] = {"endpoint": endpoint, "parameters": params}
            if info["links"] and status.startswith("2"):
                resp["x-portal-links"] = info["links"]
        doc["responses"] = dict(sorted(responses.items()))
        if info["idempotent"]:
            doc.setdefault("parameters", []).append("IdempotencyKey")
        return doc


def make_blueprint(name: str, description: str, tag: str | None = None) -> Blueprint:
    bp = ApiBlueprint(name, __name__, url_prefix="/api/v1", description=description, tag=tag)
    csrf.exempt(bp)
    bp.before_request(_auth)
    bp.before_request(_check_request)
    bp.after_request(_rate_limit_headers)
    bp.after_request(versions.version_headers)
    bp.register_error_handler(DomainError, domain_error)
    return bp


class RateLimited(DomainError):
    status = 429
    title = "Too many requests"


class UnsupportedMediaType(DomainError):
    status = 415
    title = "Unsupported media type"


def _operation_info() -> dict | None:
    if not request.endpoint or not request.blueprint:
        return None
    bp = current_app.blueprints.get(request.blueprint)
    return getattr(bp, "portal_ops", {}).get(request.endpoint.rsplit(".", 1)[-1])


def _check_request():
    """Refuse, before the operation runs, what it cannot read: unknown query parameters (as unknown body fields
    are refused), a body that is not JSON, malformed JSON."""
    info = _operation_info()
    if info is None:
        return
    allowed = info["query"] or set()
    unknown = sorted(set(request.args) - allowed)
    if unknown:
        takes = ", ".join(sorted(allowed)) or "none"
        raise MalformedRequest(_l("Unknown query parameter%(s)s: %(unknown)s. This operation takes: %(takes)s."),
                               s='s' if len(unknown) > 1 else '', unknown=', '.join(unknown)[:300], takes=takes,
                               errors={k[:100]: "Unknown parameter." for k in unknown[:20]})
    if info["json_body"] and request.method in WRITE_METHODS:
        has_body = bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "")
        if not has_body:
            return
        if not request.is_json:
            raise UnsupportedMediaType(
                _l("Send the body as JSON with the header 'Content-Type: application/json' (this request said "
                   "%(value)s)."), value=repr((request.mimetype or 'nothing')[:100]))
        try:
            json.loads(request.get_data(cache=True))
        except UnicodeDecodeError:
            raise MalformedRequest(_l("The request body is not valid JSON: it is not UTF-8 text.")) from None
        except ValueError as exc:
            where = f" at line {exc.lineno}, column {exc.colno}" if hasattr(exc, "lineno") else ""
            reason = getattr(exc, "msg", str(exc))
            raise MalformedRequest(_l("The request body is not valid JSON%(where)s: %(reason)s."),
                                   where=where, reason=reason) from None
        except RecursionError:
            raise MalformedRequest(_l("The request body is nested too deeply.")) from None


def _rate_limit_headers(resp):
    figures = getattr(g, "rate_limit", None)
    if figures is not None:
        limit, remaining, reset = figures
        resp.headers["RateLimit-Limit"] = str(limit)
        resp.headers["RateLimit-Remaining"] = str(max(0, remaining))
        resp.headers["RateLimit-Reset"] = str(max(0, reset))
    return resp


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
        raise RateLimited(_l("Too many requests with a missing or invalid API token from your address; retry in "
                             "%(wait)s s."), wait=wait)


def _rate_limit():
    """Per-token budget (API_RATE_LIMIT, default 600 per minute) on the same storage as Flask-Limiter."""
    import math
    import time

    from limits import parse

    item = parse(current_app.config.get("API_RATE_LIMIT", "600 per minute"))
    key = rate_limit_key()
    strategy = counters
    allowed = strategy.hit(item, "api", key)
    stats = strategy.get_window_stats(item, "api", key)
    wait = max(1, math.ceil(stats.reset_time - time.time()))
    g.rate_limit = (item.amount, stats.remaining, wait)
    if not allowed:
        g.retry_after = wait
        raise RateLimited(_l("This token made too many requests; retry in %(wait)s s."), wait=wait)


def domain_error(exc: DomainError):
    resp = problem_response(exc)
    if exc.status == 429 and getattr(g, "retry_after", None):
        resp.headers["Retry-After"] = str(g.retry_after)
    return resp


def actor():
    return g.api_user


from portal.api.schemas import Money as MoneySchema  # noqa: E402,F401 - the one money shape


def money(amount, currency):
    from portal.money import quantize

    if amount is None:
        return None
    return {"amount": str(quantize(amount, currency)), "currency": currency}


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000),
                          metadata={"description": "Page number (ignored with `starting_after`)."})
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PER_PAGE))


SORTS = ["id", "-id", "created_at", "-created_at", "updated_at", "-updated_at"]


def _sort_enum():
    return validate.OneOf(SORTS, error="Sort by one of: " + ", ".join(SORTS) + ".")


class CursorArgs(PageArgs):
    """Change feed and cursor paging of a list (as Stripe and GitHub lists do)."""

    from portal.api.schemas import BoundedInt as _BoundedInt

    starting_after = _BoundedInt(strict=False, load_default=None, validate=validate.Range(min=0, max=2**31 - 1),
                                 metadata={"description": "Cursor: the items after the one with this id, in the "
                                                          "list's `sort` order (for a sort other than id the item "
                                                          "must be in the list, else 404). `links.next` carries "
                                                          "it; page numbers are ignored."})
    updated_since = fields.AwareDateTime(load_default=None, metadata={
        "description": "Only documents changed at or after this moment (ISO 8601 with offset): what changed "
                       "since your last sync."})
    created_from = fields.Date(load_default=None, metadata={"description": "Created on or after this day (UTC)."})
    created_to = fields.Date(load_default=None, metadata={"description": "Created on or before this day (UTC)."})
    sort = fields.String(load_default="id", validate=_sort_enum(), metadata={
        "description": "Order: id, created_at or updated_at; a leading minus for newest first."})
    del _BoundedInt


class ListArgs(CursorArgs):
    """The filters every document list takes: CursorArgs plus the other company and the reference."""

    from portal.api.schemas import BoundedInt as _BoundedInt

    counterparty_id = _BoundedInt(strict=False, load_default=None, validate=validate.Range(min=1, max=2**31 - 1),
                                  metadata={"description": "Only documents with this other company (the supplier "
                                                           "for a buyer, the buyer for a supplier)."})
    reference = fields.String(load_default=None, validate=validate.Length(min=1, max=100), metadata={
        "description": "A document number or reference, or its beginning (case-insensitive)."})
    del _BoundedInt


class ListPlan:
    """How a resource answers ListArgs: which columns are its reference and who its counterparty is."""

    def __init__(self, model, *, reference=(), counterparty=None):
        self.model = model
        self.reference = reference
        self.counterparty = counterparty  # (company_id, counterparty_id) -> where clause


def _like_prefix(text: str) -> str:
    return text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def list_documents(stmt, plan: ListPlan, args: dict, company_id: int, endpoint: str, serialize, *, options=(),
                   batch=None, **url_params) -> dict:
    """Apply ListArgs to ``stmt`` (already scoped to the company) and answer the page envelope. ``options``
    eager-load what ``serialize`` reads (no statement per row); ``batch(rows)`` serialises a whole page at once
    when the rows need figures read together (it replaces ``serialize``)."""
    def _items(rows):
        return batch(rows) if batch is not None else [serialize(r) for r in rows]

    import sqlalchemy as sa
    from datetime import datetime, time as dtime, timedelta, timezone

    from portal.db import db

    model = plan.model
    if args.get("updated_since") is not None:
        stmt = stmt.where(model.updated_at >= args["updated_since"].astimezone(timezone.utc))
    if args.get("created_from") is not None:
        stmt = stmt.where(model.created_at >= datetime.combine(args["created_from"], dtime.min, timezone.utc))
    if args.get("created_to") is not None:
        stmt = stmt.where(model.created_at < datetime.combine(args["created_to"] + timedelta(days=1), dtime.min,
                                                              timezone.utc))
    if args.get("counterparty_id") is not None and plan.counterparty is not None:
        stmt = stmt.where(plan.counterparty(company_id, args["counterparty_id"]))
    if args.get("reference") and plan.reference:
        like = _like_prefix(args["reference"])
        stmt = stmt.where(sa.or_(*[sa.func.lower(col).like(like, escape="\\") for col in plan.reference]))
    sort = args.get("sort") or "id"
    desc = sort.startswith("-")
    column = getattr(model, sort.lstrip("-"))
    after = args.get("starting_after")
    keyset = None
    if after is not None:
        if sort.lstrip("-") == "id":
            keyset = model.id < after if desc else model.id > after
        else:  # the cursor item's place in this order: (value, id) after the cursor item's
            value = db.session.scalar(stmt.with_only_columns(column).where(model.id == after))
            if value is None:
                from portal.errors import NotFound

                raise NotFound(_l("starting_after=%(after)s is not an item of this list (it sorts by %(sort)s)."),
                               after=after, sort=sort,
                               errors={"starting_after": _l("Use an id from this list.")})
            keyset = (sa.or_(column < value, sa.and_(column == value, model.id < after)) if desc else
                      sa.or_(column > value, sa.and_(column == value, model.id > after)))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    page, per_page = args["page"], args["per_page"]
    ordered = stmt.order_by(column.desc() if desc else column.asc(), model.id.desc() if desc else model.id.asc())
    if options:
        ordered = ordered.options(*options)
    if keyset is not None:
        ordered = ordered.where(keyset)
        rows = db.session.scalars(ordered.limit(per_page + 1)).all()
        more = len(rows) > per_page
        rows = rows[:per_page]
        params = {k: v for k, v in request.args.items() if k not in ("page", "per_page", "starting_after")}
        params.update(url_params)
        nxt = url_for(endpoint, per_page=per_page, starting_after=rows[-1].id, **params) if more else None
        return {"items": _items(rows), "page": 1, "per_page": per_page, "total": total,
                "has_more": more, "links": {"next": nxt, "prev": None}}
    rows = db.session.scalars(ordered.offset((page - 1) * per_page).limit(per_page)).all()
    return page_envelope(_items(rows), total, page, per_page, endpoint, **url_params)


class PageLinks(Schema):
    next = fields.String(allow_none=True, metadata={"description": "The next page (or cursor page), null at the end."})
    prev = fields.String(allow_none=True)


def page_envelope(items: list, total: int, page: int, per_page: int, endpoint: str, **params) -> dict:
    last = max(1, -(-total // per_page))
    args = {k: v for k, v in request.args.items() if k not in ("page", "per_page")}
    args.update(params)
    nxt = url_for(endpoint, page=page + 1, per_page=per_page, **args) if page < last else None
    prev = url_for(endpoint, page=page - 1, per_page=per_page, **args) if page > 1 else None
    return {"items": items, "page": page, "per_page": per_page, "total": total, "has_more": page < last,
            "links": {"next": nxt, "prev": prev}}


def paged_schema(item_schema, name: str):
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item_schema)), "page": fields.Integer(),
        "per_page": fields.Integer(), "total": fields.Integer(),
        "has_more": fields.Boolean(metadata={"description": "More items after these."}),
        "links": fields.Nested(PageLinks),
    }, name=name)
