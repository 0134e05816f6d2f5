"""Request-level wiring: error pages, security headers, template filters and globals."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time
from flask import Flask, g, has_app_context, jsonify, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from portal.errors import DomainError
from portal.money import format_money, format_quantity, input_number, reset_input_locale, set_input_locale

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
       "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'")


def _person():
    """The signed-in person, or None: Flask-Login's per-request user when it is loaded already (a templates' page
    asks for the locale and zone once per formatted cell: the proxy lookups were a fifth of a list page's CPU)."""
    user = g.get("_login_user") if has_app_context() else None
    if user is None:
        user = current_user._get_current_object() if current_user else None
    return user if user is not None and user.is_authenticated else None


def _formats() -> tuple[str, ZoneInfo]:
    """(locale, zone) of the person, worked out once per request and person (keyed on the settings they derive
    from, so a change within the request is seen)."""
    user = _person()
    if user is None:
        return "en_GB", ZoneInfo("UTC")
    key = (id(user), user.format_choice, user.language, user.timezone)
    cached = g.get("_portal_formats")
    if cached is not None and cached[0] == key:
        return cached[1]
    try:
        tz = ZoneInfo(user.timezone or "UTC")
    except Exception:  # noqa: BLE001
        tz = ZoneInfo("UTC")
    value = (user.locale or "en_GB", tz)
    g._portal_formats = (key, value)
    return value


def _locale() -> str:
    return _formats()[0]


def _tz() -> ZoneInfo:
    return _formats()[1]


def format_moment(value: datetime, locale: str, tz, *, full: bool = False, zone: bool = False) -> str:
    """The one date-time format of the portal: the locale's medium date and the time without seconds
    (6 Dec 2026, 16:00 / 06.12.2026, 16:00); ``full`` adds the weekday and the zone's name, ``zone`` its id."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    if isinstance(tz, str):
        try:
            tz = ZoneInfo(tz or "UTC")
        except Exception:  # noqa: BLE001
            tz = ZoneInfo("UTC")
    local = value.astimezone(tz)
    text = (f"{format_date(local.date(), 'full' if full else 'medium', locale=locale)}, "
            f"{format_time(local, 'short', tzinfo=tz, locale=locale)}")
    if full:
        return text + " " + format_datetime(value, "zzzz", tzinfo=tz, locale=locale)
    return text + (f" ({tz.key})" if zone else "")


def _wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json")


TITLES = {400: "Malformed request", 401: "Authentication required", 403: "Not allowed", 404: "Not found",
          405: "Method not allowed", 409: "Conflict", 413: "Payload too large", 422: "Invalid input",
          429: "Too many requests", 500: "Server error"}


def _error(status: int, template: str, message: str | None = None, errors: dict | None = None):
    if _wants_json():
        resp = jsonify({"type": "about:blank", "title": TITLES.get(status, "Error"), "status": status,
                        "detail": message or "", "errors": errors or {}})
        resp.status_code = status
        resp.mimetype = "application/problem+json"
        return resp
    return render_template(f"errors/{template}.html", message=message), status


def _flatten(msgs) -> list[str]:
    if isinstance(msgs, str):
        return [msgs]
    if isinstance(msgs, dict):
        return [f"{k}: {m}" for k, v in msgs.items() for m in _flatten(v)]
    out = []
    for m in msgs or []:
        out.extend(_flatten(m))
    return out


# ------------------------------------------------------------------------------------------ input filter
# Text no database column can hold (NUL; lone UTF-16 surrogates, which cannot even be encoded as UTF-8) and JSON
# nested deep enough to exhaust the parser's recursion are refused here, for every form, query string and JSON
# body, before any view sees them.

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


def _bad_text(value) -> bool:
    return isinstance(value, str) and _UNSTORABLE.search(value) is not None


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text, found without parsing it (strings, which may
    hold brackets, are skipped first)."""
    if body.count(b"[") + body.count(b"{") == 0:
        return 0
    depth = deepest = 0
    for m in _BRACKETS.finditer(_JSON_STRING.sub(b"", body)):
        if m.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _walk_bad(value) -> bool:
    """True when a string (key or value) anywhere in parsed JSON holds NUL or a lone surrogate."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _bad_text(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def input_problem(max_depth: int) -> str | None:
    """A sentence when the request carries input that must be refused, else None."""
    import json

    for key, value in request.args.items(multi=True):
        if _bad_text(key) or _bad_text(value):
            return ("The address contains a character that cannot be used (a NUL byte or an unpaired "
                    "surrogate). Remove it and try again.")
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for key, value in request.form.items(multi=True):
                if _bad_text(key) or _bad_text(value):
                    return (f"The field “{_UNSTORABLE.sub('', key)[:60]}” contains a character that cannot be "
                            f"saved (a NUL byte or an unpaired surrogate). Remove it and try again.")
        elif request.is_json:  # application/json and */*+json: the only bodies the JSON parsers read
            body = request.get_data(cache=True)
            if not body:
                return None
            if json_depth(body) > max_depth:
                return f"The JSON body is nested too deeply; at most {max_depth} levels of arrays and objects."
            try:
                parsed = json.loads(body)
            except (ValueError, RecursionError):
                return None  # not JSON: the endpoint answers that in its own words
            if _walk_bad(parsed):
                return ("The JSON body contains a character that cannot be saved (a NUL byte, \\u0000, or an "
                        "unpaired surrogate such as \\ud800). Remove it and try again.")
    return None


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        if _wants_json():
            return _error(400, "400", _("Your form was open too long or came from elsewhere (missing or wrong "
                                        "security token). Reload the page and try again."))
        from portal.formstate import csrf_refusal_page  # keeps the person's input (issue 19)
        return csrf_refusal_page()

    @app.errorhandler(400)
    def bad_request(exc):
        return _error(400, "400", getattr(exc, "description", None))

    @app.errorhandler(403)
    def forbidden(exc):
        return _error(403, "403", _("Your role does not allow this."))

    @app.errorhandler(404)
    def not_found(exc):
        return _error(404, "404", _("We could not find that page."))

    @app.errorhandler(405)
    def not_allowed(exc):
        resp = _error(405, "400", _("That action is not available here."))
        methods = getattr(exc, "valid_methods", None)
        if methods and not isinstance(resp, tuple):
            resp.headers["Allow"] = ", ".join(sorted(methods))
        elif methods:
            resp = app.make_response(resp)
            resp.headers["Allow"] = ", ".join(sorted(methods))
        return resp

    @app.errorhandler(422)
    def unprocessable(exc):
        # webargs/flask-smorest put the field messages in exc.data["messages"] = {location: {field: [..]}}
        messages = (getattr(exc, "data", None) or {}).get("messages") or {}
        errors = {}
        for location in messages.values():
            if isinstance(location, dict):
                for field, msgs in location.items():
                    errors[str(field)] = "; ".join(_flatten(msgs))
        detail = "; ".join(f"{k}: {v}" for k, v in errors.items()) or "The request body is not valid."
        return _error(422, "400", detail, errors)

    @app.errorhandler(413)
    def too_large(exc):
        size = app.config["MAX_CONTENT_LENGTH"]
        limit = f"{size // (1024 * 1024)} MB" if size >= 1024 * 1024 else f"{max(1, size // 1024)} KB"
        return _error(413, "413", _("The upload is too large. The limit is %(limit)s per request.", limit=limit))

    @app.errorhandler(429)
    def too_many(exc):
        return _error(429, "429", getattr(exc, "description", None) or _("Too many requests; wait a moment."))

    @app.errorhandler(DomainError)
    def domain_error(exc):
        # Views normally catch these; an escaped one is still a sentence, never a 500.
        template = {404: "404", 403: "403"}.get(exc.status, "400")
        return _error(exc.status, template, exc.message)

    @app.errorhandler(500)
    def server_error(exc):
        return _error(500, "500", _("Something went wrong on our side. It has been logged."))

    @app.after_request
    def security_headers(resp):
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault("Content-Security-Policy", CSP)
        resp.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config["PORTAL_ENV"] == "production":
            resp.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if current_user and getattr(current_user, "is_authenticated", False):
            resp.headers.setdefault("Cache-Control", "private, no-store")
        return resp

    @app.before_request
    def refuse_unstorable_input():
        problem = input_problem(app.config.get("MAX_JSON_DEPTH", 32))
        if problem:
            return _error(400, "400", problem)

    @app.before_request
    def read_numbers_in_the_persons_locale():
        # Form fields accept the person's decimal comma; the API keeps to JSON's plain "12.50".
        if not request.path.startswith("/api/"):
            g.input_locale_token = set_input_locale(_locale())

    @app.teardown_request
    def forget_input_locale(exc=None):
        token = g.pop("input_locale_token", None)
        if token is not None:
            try:
                reset_input_locale(token)
            except ValueError:  # set in another context (streamed response): nothing to undo here
                pass

    @app.template_filter("num_in")
    def input_number_filter(value):
        """A number as the value of an input field: reads back exactly (no grouping separators)."""
        return input_number(value, _locale())

    @app.template_filter("money")
    def money_filter(amount, currency="EUR"):
        return format_money(amount, currency, _locale())

    @app.template_filter("qty")
    def qty_filter(q):
        return format_quantity(q, _locale())

    @app.template_filter("dt")
    def dt_filter(value, fmt="medium"):
        """A moment in the person's time zone. "short" and "medium" are one format everywhere: the medium date
        and the time without seconds (1 Dec 2026, 16:00 / 01.12.2026, 16:00); "full" adds the weekday and zone."""
        if value is None:
            return "—"
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        tz, loc = _tz(), _locale()
        if fmt in ("short", "medium", "full"):
            return format_moment(value, loc, tz, full=fmt == "full")
        return format_datetime(value, format=fmt, tzinfo=tz, locale=loc)

    @app.template_filter("d")
    def date_filter(value, fmt="medium"):
        if value is None or value == "":
            return "—"
        if isinstance(value, str):  # an ISO date from a frozen snapshot (statements, documents)
            try:
                value = date.fromisoformat(value)
            except ValueError:
                return value
        if isinstance(value, datetime):
            value = value.astimezone(_tz()).date()
        return format_date(value, format=fmt, locale=_locale())

    @app.template_filter("iso")
    def iso_filter(value):
        return value.isoformat() if isinstance(value, (date, datetime)) else ""

    def notice_text(notification, part: str) -> str:
        """A notification's title or body in the reader's language and format (portal/notifications/messages)."""
        from portal.notifications.messages import for_reader

        return for_reader(notification, part, locale=_locale(), tz=str(_tz()))

    @app.template_filter("audit_detail")
    def audit_detail_filter(event) -> str:
        """An audit event's detail in the reader's language and format (stored figures; old rows as stored)."""
        return event.text(_locale(), str(_tz())) if hasattr(event, "text") else (getattr(event, "detail", "") or "")

    @app.context_processor
    def globals_():
        from portal.accounts.models import Role

        unread = 0
        if current_user and getattr(current_user, "is_authenticated", False):
            from portal.notifications.services import unread_count

            try:
                unread = unread_count(current_user)
            except Exception:  # noqa: BLE001 - an error page must render even when the database is down
                unread = 0
        return {"Role": Role, "unread_notifications": unread, "user_tz": str(_tz()), "notice_text": notice_text,
                "has_endpoint": lambda name: name in app.view_functions}
