"""The request id of the current business action: set per web request (incoming ``X-Request-ID`` or a new one),
carried in the RQ job's meta into every job the request enqueued, and put on every log line."""
from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("portal_request_id", default=None)
_VALID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


def new_request_id() -> str:
    return uuid.uuid4().hex


def accept_request_id(incoming: str | None) -> str:
    """A proxy's id is kept when it is a plain token (so logs of proxy and portal join); anything else is
    replaced (log injection)."""
    if incoming and _VALID.match(incoming):
        return incoming
    return new_request_id()


def current_request_id() -> str | None:
    return request_id_var.get()
