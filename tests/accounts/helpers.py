"""Small helpers shared by the foundation tests."""
from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from portal.db import db


def text(resp) -> str:
    """The response body as text with HTML entities decoded (so "company's" reads as typed)."""
    return html.unescape(resp.get_data(as_text=True))


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def fresh(obj):
    """Reload an ORM object from the database (other sessions and requests changed it)."""
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def location_path(resp) -> str:
    from urllib.parse import urlsplit

    return urlsplit(resp.headers.get("Location", "")).path


def csrf_token(client, url: str) -> str:
    body = client.get(url).get_data(as_text=True)
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', body) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', body)
    assert m, f"no csrf_token on {url}"
    return m.group(1)


# ---------------------------------------------------------------------------------------------------
# Harness fix for tests/conftest.py (which the foundation suite may not edit); imported by the folders'
# conftest.py files and by the top-level foundation test modules.
# ---------------------------------------------------------------------------------------------------


class IsolatedClient(FlaskClient):
    """Every request runs in an app context of its own, as in production.

    Without this a request reuses the test's app context (Flask only pushes a new one when none is active),
    so ``g`` and the DB session are shared by every request of a test: Flask-Login caches the user in
    ``g._login_user`` and one client's sign-in leaks into every other client's requests.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(autouse=True)
def _isolated_requests(app, monkeypatch):
    monkeypatch.setattr(app, "test_client_class", IsolatedClient)
