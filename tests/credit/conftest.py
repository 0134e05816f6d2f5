"""Credit test fixtures: accounts, submitted orders, and a local stub of an external credit service."""
from __future__ import annotations

import json
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from portal.credit.models import CreditAccount
from portal.db import db
from tests import factories
from flask.testing import FlaskClient


class IsolatedClient(FlaskClient):
    """Every request in an app context (and DB session) of its own, as in production."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(autouse=True)
def _isolated_requests(app, monkeypatch):
    monkeypatch.setattr(app, "test_client_class", IsolatedClient)


@pytest.fixture
def account():
    """account(supplier, buyer_or_None, limit, currency="EUR", terms=30, block=True) -> CreditAccount."""

    def _make(supplier, buyer, limit, currency="EUR", terms=30, block=True):
        acc = CreditAccount(supplier_company_id=supplier.id, buyer_company_id=buyer.id if buyer else None,
                            limit_amount=Decimal(str(limit)), currency=currency, payment_terms_days=terms,
                            block_on_overdue=block)
        db.session.add(acc)
        db.session.commit()
        return acc

    return _make


@pytest.fixture
def submitted(world):
    """submitted(amount="600", supplier=None, currency="EUR") -> a submitted order of one line worth amount."""

    def _make(amount="600", supplier=None, currency="EUR", buyer=None):
        return factories.order(buyer or world.buyer, supplier or world.supplier_a, world.procurement,
                               status="submitted", lines=[("1", amount)], currency=currency)

    return _make


class _StubHandler(BaseHTTPRequestHandler):
    server_version = "CreditStub/1"

    def log_message(self, *args):  # quiet
        pass

    def do_POST(self):  # noqa: N802
        srv = self.server
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        srv.requests.append(json.loads(body or b"{}"))
        mode = srv.mode
        if mode == "slow":
            time.sleep(srv.slow_seconds)
            mode = "approve"
        if mode == "error":
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"boom")
            return
        if mode == "malformed":
            payload = b"{not json"
        elif mode == "hold":
            payload = json.dumps({"decision": "hold", "reason": "Payment history is poor."}).encode()
        elif mode == "weird":
            payload = json.dumps({"decision": "maybe"}).encode()
        else:
            payload = json.dumps({"decision": "approve", "reason": "Rating A"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        try:
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture
def stub_server():
    """A local external credit service: set .mode to approve | hold | slow | error | malformed | weird."""
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _StubHandler)
    srv.daemon_threads = True
    srv.mode = "approve"
    srv.slow_seconds = 1.0
    srv.requests = []
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}/assess"
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def http_provider(app, stub_server):
    """Configure the HTTP provider against the stub for one test (short timeout, one retry)."""
    old = {k: app.config.get(k) for k in ("CREDIT_PROVIDER", "CREDIT_HTTP_URL", "CREDIT_HTTP_TIMEOUT",
                                          "CREDIT_HTTP_RETRIES")}
    app.config.update(CREDIT_PROVIDER="http", CREDIT_HTTP_URL=stub_server.url, CREDIT_HTTP_TIMEOUT=0.3,
                      CREDIT_HTTP_RETRIES=1)
    yield stub_server
    for k, v in old.items():
        if v is None:
            app.config.pop(k, None)
        else:
            app.config[k] = v
