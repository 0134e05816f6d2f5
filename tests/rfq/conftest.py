"""RFQ tests: the harness fixes shared by the other folders, plus small helpers of this folder."""
from __future__ import annotations

import html
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.db import db, utcnow
from flask.testing import FlaskClient


class _OwnContextClient(FlaskClient):
    """Each request in an app context (and DB session) of its own, as in production, so two signed-in
    clients of one test never share ``g`` or the session."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(autouse=True)
def _own_context_per_request(app, monkeypatch):
    monkeypatch.setattr(app, "test_client_class", _OwnContextClient)


@pytest.fixture
def login(app):
    """login(user) -> a test client signed in as user. Overrides tests/conftest.py's fixture for this folder:
    the session is written directly instead of posting the sign-in form, which spends ~0.1 s of scrypt per
    sign-in (this folder signs in some 400 times; the sign-in form itself is tested in tests/accounts)."""

    def _login(user):
        c = app.test_client()
        with c.session_transaction() as sess:
            sess["_user_id"] = user.get_id()
            sess["_fresh"] = True
        return c

    return _login


def text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def fresh(obj):
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def events(rfq_id, action=None):
    from portal.audit.models import AuditEvent

    stmt = sa.select(AuditEvent).where(AuditEvent.entity_type == "rfq", AuditEvent.entity_id == rfq_id)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    return list(db.session.scalars(stmt.order_by(AuditEvent.id)))


def notifications(user, kind=None):
    from portal.notifications.models import Notification

    stmt = sa.select(Notification).where(Notification.user_id == user.id)
    if kind:
        stmt = stmt.where(Notification.kind == kind)
    return list(db.session.scalars(stmt.order_by(Notification.id)))


def mails_to(user):
    from portal.notifications.models import OutboxMail

    return list(db.session.scalars(sa.select(OutboxMail).where(OutboxMail.to_address == user.email)))


def in_days(days=7, hours=0):
    return utcnow() + timedelta(days=days, hours=hours)


def local_input(dt, tz="Europe/Berlin") -> str:
    """The value a datetime-local input sends for an aware datetime, in the person's zone."""
    from zoneinfo import ZoneInfo

    return dt.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def draft(world):
    """A draft with 3 lines and supplier A invited (model level)."""
    from tests import factories

    return factories.rfq(world.buyer, world.procurement, status="draft", suppliers=[world.supplier_a])


@pytest.fixture
def open_rfq(world):
    """An open, sealed RFQ with 3 lines, suppliers A and B invited."""
    from tests import factories

    return factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a, world.supplier_b])
