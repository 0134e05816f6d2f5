"""Webhook fixtures: a real receiver process (standardwebhooks verifies every request), private receivers
allowed as in development, and a shipped order ready to invoice."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from portal.db import db
from tests import factories

HERE = Path(__file__).resolve().parent


class Receiver:
    def __init__(self, state: Path, proc):
        self.state, self.proc = state, proc
        self.port = int((state / "port").read_text())
        self.url = f"http://127.0.0.1:{self.port}/hooks/portal"

    def use_secret(self, secret: str) -> None:
        (self.state / "secret").write_text(secret)

    def mode(self, mode: str) -> None:
        (self.state / "mode").write_text(mode)

    def requests(self) -> list[dict]:
        log = self.state / "log.jsonl"
        if not log.exists():
            return []
        out = []
        for line in log.read_text().splitlines():
            entry = json.loads(line)
            entry["json"] = json.loads(entry["body"]) if entry["body"] else None
            out.append(entry)
        return out


@pytest.fixture
def receiver(tmp_path):
    state = tmp_path / "receiver"
    state.mkdir()
    proc = subprocess.Popen([sys.executable, str(HERE / "receiver.py"), str(state)])
    try:
        for _ in range(200):
            if (state / "port").exists() and (state / "port").read_text().strip():
                break
            if proc.poll() is not None:
                raise RuntimeError("the receiver process ended at start")
            time.sleep(0.05)
        else:
            raise RuntimeError("the receiver did not start")
        yield Receiver(state, proc)
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def allow_private(app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE_URLS", True)


@pytest.fixture
def token_for():
    from portal.api.auth import create_token

    def _make(user, name="test"):
        _, raw = create_token(user, name)
        return {"Authorization": f"Bearer {raw}"}

    return _make


@pytest.fixture
def banked(world):
    world.supplier_a.iban = "DE89370400440532013000"
    world.supplier_a.bic = "COBADEFFXXX"
    world.supplier_a.vat_number = "DE136695976"
    world.buyer.vat_number = "DE129273398"
    db.session.commit()
    return world


@pytest.fixture
def shipped(banked):
    """An acknowledged order of supplier A, shipped in full (one shipment, not yet invoiced)."""
    from portal.orders import shipping

    w = banked
    order = factories.order(w.buyer, w.supplier_a, w.procurement, status="acknowledged")
    shipment = shipping.record_shipment(order, w.sales_a, order.lock_version,
                                        {ln.id: str(ln.quantity) for ln in order.lines}, "DHL", "1")
    return SimpleNamespace(world=w, order=order, shipment=shipment)


def issue_invoice(shipped):
    from portal.invoices import services as invoice_services

    w = shipped.world
    inv = invoice_services.create_draft(w.accounts_a, shipment_id=shipped.shipment.id)
    return invoice_services.issue(inv, w.accounts_a, inv.lock_version)
