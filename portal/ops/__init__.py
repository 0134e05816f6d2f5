"""Operations: request ids, structured logs, Prometheus metrics, health and readiness (portal/ops/*).

``init_app`` wires them into the app factory; job logging and metrics hook into ``portal.jobs.queue.task``."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from portal.ops import health, metrics, middleware

    middleware.init_app(app)
    metrics.init_app(app)
    health.init_app(app)
