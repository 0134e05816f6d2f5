"""Small helpers for the credit tests."""
from __future__ import annotations

import html

from portal.db import db


def fresh(obj):
    """Reload an ORM object from the database (other sessions and requests changed it)."""
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))
