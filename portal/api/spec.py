"""The OpenAPI document of /api/v1 and the conventions every operation gets without asking.

flask-smorest builds the document from the decorators; this module adds, for every operation of every API
blueprint (including ones added later), what an integrator's generator needs:

* OpenAPI 3.1, so a nullable field is ``type: [..., "null"]`` / ``anyOf: [$ref, {type: null}]`` and generated
  clients keep its type;
* errors declared as ``application/problem+json`` responses (the components below), and ``required`` lists on
  every schema reachable from a response (all fields, minus a schema's ``OPTIONAL_FIELDS``).

The per-operation conventions (operationId, problem statuses, Idempotency-Key, Location, rate-limit headers)
are added by :class:`portal.api.common.ApiBlueprint`.
"""
from __future__ import annotations

import http

from apispec import BasePlugin
from flask_smorest import Api as _Api

from portal.api import versions

PROBLEM_CONTENT_TYPE = "application/problem+json"

RATE_LIMIT_HEADERS = {
    "RateLimit-Limit": {"description": "Requests this token may make per window.",
                        "schema": {"type": "integer", "minimum": 0}},
    "RateLimit-Remaining": {"description": "Requests left in the current window.",
                            "schema": {"type": "integer", "minimum": 0}},
    "RateLimit-Reset": {"description": "Seconds until the window resets.", "schema": {"type": "integer",
                                                                                    "minimum": 0}},
}
RETRY_AFTER = {"description": "Seconds to wait before trying again.", "required": True,
               "schema": {"type": "integer", "minimum": 0}}
PROBLEM_DESCRIPTIONS = {
    400: "Malformed request: not JSON, an unknown query parameter, a bad header.",
    401: "No, an unknown, revoked or expired token.",
    403: "Your role (or side: buyer/supplier) does not allow this.",
    404: "No such document, or it is not your company's (the two look the same).",
    405: "The URL is another operation's, which does not take this method (e.g. an id with a slash in it); "
         "`Allow` lists the methods it takes.",
    409: "Illegal transition for the document's state, or a stale `lock_version`.",
    413: "The request body is too large.",
    415: "The body is not sent as `application/json`.",
    422: "The body or query failed validation; `errors` names each field.",
    429: "Too many requests for this token (or failed tokens from this address).",
}

# Per schema class name: the output fields that are absent in some answers (e.g. buyer-only fields).
_OPTIONAL: dict[str, set[str]] = {}


class RequiredOutputPlugin(BasePlugin):
    """Remembers each schema's OPTIONAL_FIELDS (by component name) so the response schemas can list every other
    field as required."""

    def schema_helper(self, name, definition, **kwargs):
        schema = kwargs.get("schema")
        if schema is None:
            return None
        cls = schema if isinstance(schema, type) else type(schema)
        declared = getattr(cls, "_declared_fields", {})
        _OPTIONAL[name] = {(declared[n].data_key if n in declared else None) or n
                           for n in (getattr(cls, "OPTIONAL_FIELDS", ()) or ())}
        return None


def _refs(node, out: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            out.add(ref.rsplit("/", 1)[1])
        for v in node.values():
            _refs(v, out)
    elif isinstance(node, list):
        for v in node:
            _refs(v, out)


def _input_schemas(spec: dict) -> set[str]:
    names: set[str] = set()
    for item in spec.get("paths", {}).values():
        for op in item.values():
            if isinstance(op, dict):
                _refs(op.get("requestBody", {}), names)
                _refs(op.get("parameters", []), names)
    return names


def _operations(spec: dict):
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if isinstance(op, dict) and "responses" in op:
                yield path, method, op


def _path_params(path: str) -> list[str]:
    import re

    return re.findall(r"{([^}]+)}", path)


def _add_links(spec: dict) -> None:
    """Turn each 201's Location (x-portal-location) into OpenAPI links to every operation under the created
    resource's URL whose path ids it knows; x-portal-links are added as given. The private keys are removed."""
    by_id = {op["operationId"]: (path, method) for path, method, op in _operations(spec) if "operationId" in op}
    for _path, _method, op in _operations(spec):
        for resp in op["responses"].values():
            if not isinstance(resp, dict):
                continue
            location = resp.pop("x-portal-location", None)
            extra = resp.pop("x-portal-links", None) or {}
            found = {}
            if location:
                from portal.api.common import camel

                target = by_id.get(camel(location["endpoint"].rsplit(".", 1)[-1]))
                params = {k: "$response.body#/" + v for k, v in location["parameters"].items()}
                if target:
                    base = target[0]
                    for path, method, other in _operations(spec):
                        if path != base and not path.startswith(base + "/"):
                            continue
                        needed = _path_params(path)
                        if set(needed) <= set(params):
                            found[other["operationId"]] = {
                                "operationId": other["operationId"],
                                "parameters": {k: params[k] for k in needed}}
            for op_id, mapping in extra.items():
                if op_id in by_id:
                    found[op_id] = {"operationId": op_id,
                                    "parameters": {k: "$response.body#/" + v for k, v in mapping.items()}}
            if found:
                resp["links"] = found


def _enum_names() -> dict[frozenset, str]:
    """Enums worth a name of their own (generated clients then share one `OrderStatus` class between the order,
    the list filter and the award's orders)."""
    from portal.accounts.models import CompanyKind
    from portal.invoices.models import CreditReason, DocumentKind
    from portal.invoices.states import InvoiceStatus
    from portal.jobs.models import JobStatus
    from portal.notifications.models import NotificationKind
    from portal.orders.models import LineAck, OrderSource
    from portal.orders.states import OrderStatus
    from portal.quotes.states import QuoteStatus
    from portal.rfq.states import RfqStatus

    named = {cls.__name__: [m.value for m in cls] for cls in (
        CompanyKind, CreditReason, DocumentKind, InvoiceStatus, JobStatus, LineAck, OrderSource, OrderStatus,
        QuoteStatus, RfqStatus, NotificationKind)}
    named["InvoiceKind"] = named.pop("DocumentKind")
    named.update({"InvoiceStatusFilter": ["draft", "issued", "partially_paid", "paid", "open", "overdue"],
                  "AwardMode": ["whole", "split"], "ComparisonCellState": ["quoted", "declined", "missing"],
                  "LineOutcome": ["won", "not_awarded"], "CompanyRole": ["supplier", "buyer"],
                  "ApprovalDecision": ["approved", "rejected"], "AckDecision": ["accept", "change", "reject"]})
    from portal.api.common import SORTS

    named["ListSort"] = SORTS
    from portal.budgets.models import BudgetMode, PeriodKind
    from portal.requisitions.states import RequisitionStatus

    named.update({cls.__name__: [m.value for m in cls] for cls in (BudgetMode, PeriodKind, RequisitionStatus)})
    from portal.suppliers.states import AnswerReview, CertificateType, SupplierStatus  # supplier onboarding

    named.update({c.__name__: [m.value for m in c] for c in (AnswerReview, CertificateType, SupplierStatus)})
    named["SupplierInvitationState"] = ["pending", "accepted", "expired", "revoked"]
    return {frozenset(values): name for name, values in named.items()}


def _name_enum(node: dict, names: dict, schemas: dict, *, in_query: bool = False) -> dict:
    values = [v for v in node.get("enum", []) if v is not None]
    name = names.get(frozenset(values))
    if not name or not values:
        return node
    schemas.setdefault(name, {"type": "string", "enum": values})
    ref = {"$ref": f"#/components/schemas/{name}"}
    types = node.get("type")
    nullable = None in node.get("enum", []) or (isinstance(types, list) and "null" in types)
    extra = {k: v for k, v in node.items() if k in ("description", "example", "default") and v is not None}
    if nullable and not in_query:
        return {"anyOf": [ref, {"type": "null"}], **extra}
    return {**ref, **extra}


def _name_enums(spec: dict) -> None:
    names = _enum_names()
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for schema in list(schemas.values()):
        for prop, node in list((schema.get("properties") or {}).items()):
            if "enum" in node:
                schema["properties"][prop] = _name_enum(node, names, schemas)
            elif node.get("type") == "array" and "enum" in node.get("items", {}):
                node["items"] = _name_enum(node["items"], names, schemas)
    for _path, _method, op in _operations(spec):
        for param in op.get("parameters", []):
            if param.get("in") == "query" and "schema" in param:
                sch = param["schema"]
                if isinstance(sch.get("type"), list):  # a query string is never JSON null
                    kinds = [t for t in sch["type"] if t != "null"]
                    sch["type"] = kinds[0] if len(kinds) == 1 else kinds
                    if sch.get("default", 0) is None:
                        del sch["default"]
                if "enum" in sch:
                    sch["enum"] = [v for v in sch["enum"] if v is not None]
                    param["schema"] = _name_enum(sch, names, schemas, in_query=True)


def finish_spec(spec: dict) -> dict:
    """Links from the Location conventions; named enums; every schema reachable from a response lists its
    fields as required (minus its OPTIONAL_FIELDS)."""
    _add_links(spec)
    _name_enums(spec)
    schemas = spec.get("components", {}).get("schemas", {})
    reachable: set[str] = set()
    for item in spec.get("paths", {}).values():
        for op in item.values():
            if isinstance(op, dict):
                _refs(op.get("responses", {}), reachable)
    for comp in spec.get("components", {}).get("responses", {}).values():
        _refs(comp, reachable)
    todo = list(reachable)
    while todo:
        name = todo.pop()
        found: set[str] = set()
        _refs(schemas.get(name, {}), found)
        for n in found - reachable:
            reachable.add(n)
            todo.append(n)
    inputs = _input_schemas(spec)
    for name in reachable:
        schema = schemas.get(name)
        if not schema or "properties" not in schema:
            continue
        if name in inputs:  # shared in and out (Money): keep the input's own required list
            continue
        optional = _OPTIONAL.get(name, set())
        schema["required"] = [p for p in schema["properties"] if p not in optional]
    return spec


def as_openapi_30(spec: dict) -> dict:
    """The same document in OpenAPI 3.0 terms, for the bundled Swagger UI (which renders 3.0 only): a nullable
    ``type: [X, "null"]`` becomes ``type: X, nullable: true``, ``anyOf: [{$ref}, {type: null}]`` becomes
    ``allOf: [{$ref}], nullable: true``, a ``$ref`` with siblings is wrapped in ``allOf``. Integrators use the 3.1
    document (/api/v1/openapi.json); this one is only what the browser shows."""
    import copy

    def walk(node):
        if isinstance(node, list):
            return [walk(v) for v in node]
        if not isinstance(node, dict):
            return node
        node = dict(node)
        types = node.get("type")
        if isinstance(types, list):
            kinds = [t for t in types if t != "null"]
            node["type"] = kinds[0] if len(kinds) == 1 else kinds[0]
            if "null" in types:
                node["nullable"] = True
        any_of = node.get("anyOf")
        if isinstance(any_of, list) and {"type": "null"} in any_of:
            rest = [s for s in any_of if s != {"type": "null"}]
            del node["anyOf"]
            node.update({"allOf": rest, "nullable": True} if len(rest) == 1 else {"anyOf": rest, "nullable": True})
        if "$ref" in node and len(node) > 1 and "#/components/schemas/" in str(node["$ref"]):
            ref = node.pop("$ref")
            node["allOf"] = [{"$ref": ref}]
        if node.get("type") == "null":
            node.pop("type")
        return {k: walk(v) for k, v in node.items()}

    out = walk(copy.deepcopy(spec))
    out["openapi"] = "3.0.3"
    return out


class Api(_Api):
    """flask-smorest's Api without its app-wide HTTPException handler: the portal's own handlers answer
    problem+json under /api/ and friendly pages elsewhere."""

    from portal.api.schemas import ProblemSchema as ERROR_SCHEMA  # noqa: N811 - errors are problem+json

    DEFAULT_ERROR_RESPONSE_NAME = None  # every status is declared per operation instead of a catch-all

    def _register_error_handlers(self):  # noqa: D401 - deliberately nothing
        return None

    def _init_spec(self, *, extra_plugins=None, **options):
        super()._init_spec(extra_plugins=[*(extra_plugins or ()), RequiredOutputPlugin()], **options)
        spec = self.spec
        plain_to_dict = spec.to_dict

        def to_dict():
            return finish_spec(plain_to_dict())

        spec.to_dict = to_dict
        from portal.api.schemas import register_spec_components

        register_spec_components(spec)
        for name, header in RATE_LIMIT_HEADERS.items():
            spec.components.header(name, header)
        spec.components.header("RetryAfter", RETRY_AFTER)

    def _register_responses(self):
        """The shared problem responses (component names are the HTTPStatus names, as flask-smorest refers to
        them), served and documented as application/problem+json."""
        for status in http.HTTPStatus:
            if status < 400:
                continue
            response = {"description": PROBLEM_DESCRIPTIONS.get(int(status), status.phrase),
                        "content": {PROBLEM_CONTENT_TYPE: {"schema": self.ERROR_SCHEMA}}}
            if status == 429:
                response["headers"] = {"Retry-After": RETRY_AFTER}
            if status == 405:
                response["headers"] = {"Allow": {"description": "The methods the URL takes.", "required": True,
                                                 "schema": {"type": "string"}}}
            self.spec.components.response(status.name, response, lazy=True)

    def register_blueprint(self, blp, *, parameters=None, **options):
        """As flask-smorest's, but the section (global tag) is the blueprint's readable ``tag`` ("Sourcing"),
        the one its operations carry, instead of its name ("api_sourcing")."""
        super().register_blueprint(blp, parameters=parameters, **options)
        readable = getattr(blp, "tag", None)
        name = options.get("name", blp.name)
        if readable and readable != name:
            for tag in self.spec._tags:  # apispec keeps the global tag list here; flask-smorest just added ours
                if tag.get("name") == name:
                    tag["name"] = readable


api = Api()

API_CONFIG = {
    "API_TITLE": "Procurement Portal API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.1.0",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    "API_SPEC_OPTIONS": {
        "info": {"description": "Everything a person does in the browser for RFQs, quotes, orders, shipments "
                                "and invoices. Authenticate with a personal token: `Authorization: Bearer <token>` "
                                "(create one under the account menu → API tokens). Money is `{amount: \"1234.50\", currency: "
                                "\"EUR\"}` (the `Money` schema, in and out), quantities are decimal strings, "
                                "timestamps ISO 8601 with offset. Errors are application/problem+json (RFC 9457).\n\n"
                                "**Idempotency**: every write accepts an `Idempotency-Key` header (1-200 visible "
                                "ASCII characters). A key belongs to the token, the method and the path. A retry "
                                "with the same key and the same JSON (key order and whitespace do not matter) "
                                "replays the first answer: same status, body and content type, with "
                                "`Idempotent-Replayed: true`; the same key with other JSON is 422. As at Stripe, "
                                "an answer is stored only once the endpoint started executing: a request refused "
                                "before (malformed JSON, a failed schema validation, 401/403 of the token, 429, "
                                "or a 409 because the same key is still in flight) stores nothing and may be "
                                "retried with the same key; an error raised by the operation itself (a 404, 409 "
                                "or 422 from the business rules) is stored and replayed. A server error stores "
                                "nothing. A key may be reused after 24 hours.\n\n"
                                "**Lists** page with `page`/`per_page` or with a cursor: `starting_after=<id>` "
                                "returns the items after that id (`links.next` carries it). Unknown query "
                                "parameters are refused with 400.\n\n" + versions.describe()},
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearerAuth": []}],
    },
}
