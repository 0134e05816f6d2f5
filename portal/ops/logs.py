"""Log output: one JSON object per line in production (PORTAL_LOG_FORMAT=json), readable lines in development.

Every line carries the request id of the action it belongs to (web request or the job it enqueued). Structured
events pass their fields as ``extra={"fields": {...}}``; only ids, never names, addresses or secrets."""
from __future__ import annotations

import json
import logging
import sys
import time

from flask import Flask

from portal.ops.context import current_request_id

_MARK = "_portal_handler"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
               + f".{int(record.msecs):03d}Z",
               "level": record.levelname, "logger": record.name, "msg": record.getMessage()}
        fields = getattr(record, "fields", None) or {}
        rid = getattr(record, "request_id", None) or fields.get("request_id") or current_request_id()
        if rid:
            out["request_id"] = rid
        out.update({k: v for k, v in fields.items() if k != "request_id"})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = getattr(record, "fields", None) or {}
        rid = getattr(record, "request_id", None) or fields.get("request_id") or current_request_id()
        extra = " ".join(f"{k}={v}" for k, v in fields.items() if k not in _IN_MESSAGE and v is not None)
        if extra:
            line += f" [{extra}]"
        if rid:
            line += f" rid={rid[:12]}"
        return line


_IN_MESSAGE = {"event", "request_id", "method", "route", "status", "duration_ms", "job_id", "queue", "func",
               "outcome"}


def formatter_for(fmt: str) -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else TextFormatter()


def configure(app: Flask) -> None:
    """One handler on the root logger (stderr), replaced when the app is built again with another format."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, _MARK, False):
            root.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    setattr(handler, _MARK, True)
    handler.setFormatter(formatter_for(app.config.get("LOG_FORMAT", "text")))
    root.addHandler(handler)
    root.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    # (Flask adds its own handler to app.logger only when no handler is reachable: with this one it adds none.)
