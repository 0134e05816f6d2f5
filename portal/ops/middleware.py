"""Per request: the request id (``X-Request-ID`` in and out), one structured log line and the request metrics.

Registered first among the before-request hooks and last among the after-request ones, so the duration covers
the other hooks and the line is written for every answer, error pages and early refusals included."""
from __future__ import annotations

import logging
import time

from flask import Flask, g, request

from portal.ops.context import accept_request_id, request_id_var

log = logging.getLogger("portal.request")
QUIET_ROUTES = {"/healthz", "/readyz", "/metrics"}  # probes: logged at DEBUG, not one line every few seconds


def _ids() -> tuple[int | None, int | None]:
    """The user and company of this request, when already known (never loads the user only to log it)."""
    user = g.get("api_user") or g.get("_login_user")
    if user is None or not getattr(user, "is_authenticated", False):
        return None, None
    return getattr(user, "id", None), getattr(user, "company_id", None)


def route_of() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else "(unmatched)"


def init_app(app: Flask) -> None:
    def start():
        g.portal_t0 = time.perf_counter()
        rid = accept_request_id(request.headers.get("X-Request-ID"))
        g.request_id = rid
        g.portal_rid_token = request_id_var.set(rid)

    def finish(resp):
        t0 = g.pop("portal_t0", None)
        if t0 is None:
            return resp
        duration = time.perf_counter() - t0
        rid = g.get("request_id")
        resp.headers["X-Request-ID"] = rid
        route = route_of()
        user_id, company_id = _ids()
        from portal.ops import metrics

        metrics.observe_request(request.method, route, resp.status_code, duration)
        level = logging.DEBUG if route in QUIET_ROUTES and resp.status_code < 500 else logging.INFO
        if log.isEnabledFor(level):
            log.log(level, "%s %s %s %.1fms", request.method, route, resp.status_code, duration * 1000,
                    extra={"fields": {"event": "request", "method": request.method, "route": route,
                                      "status": resp.status_code, "duration_ms": round(duration * 1000, 2),
                                      "user_id": user_id, "company_id": company_id, "request_id": rid}})
        return resp

    def forget(exc=None):
        token = g.pop("portal_rid_token", None)
        if token is not None:
            try:
                request_id_var.reset(token)
            except ValueError:
                pass

    app.before_request_funcs.setdefault(None, []).insert(0, start)
    app.after_request_funcs.setdefault(None, []).insert(0, finish)  # run in reverse order: this one last
    app.teardown_request_funcs.setdefault(None, []).append(forget)
