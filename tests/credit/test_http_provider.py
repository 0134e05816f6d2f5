"""The external credit provider over HTTP, against a local stub: a failure never approves."""
from __future__ import annotations

import time
from decimal import Decimal

import pytest

from portal.credit import services
from portal.credit.providers import BuiltinProvider, CreditRequest, HttpProvider, external_provider
from portal.orders.states import OrderStatus
from tests.credit.helpers import fresh


def _request(**kw):
    base = dict(supplier_company_id=1, buyer_company_id=2, supplier_vat_number="DE1", buyer_vat_number="DE2",
                order_id=3, po_number="PO-1", order_amount=Decimal("600"), currency="EUR",
                limit_amount=Decimal("1000"), unpaid_invoices=Decimal("0"), reserved_orders=Decimal("0"))
    base.update(kw)
    return CreditRequest(**base)


def test_http_approve_and_payload(stub_server):
    d = HttpProvider(stub_server.url, timeout=1, retries=0).assess(_request())
    assert d.approved and "Rating A" in d.reason
    sent = stub_server.requests[0]
    assert sent["order_amount"] == "600.00" and sent["buyer_vat_number"] == "DE2" and sent["exposure"] == "600.00"


def test_http_hold_carries_the_reason(stub_server):
    stub_server.mode = "hold"
    d = HttpProvider(stub_server.url, timeout=1, retries=0).assess(_request())
    assert not d.approved and d.reason == "The external credit check put the order on hold: Payment history is poor."


def test_http_timeout_never_approves_and_says_so(stub_server):
    stub_server.mode = "slow"
    stub_server.slow_seconds = 1.0
    started = time.monotonic()
    d = HttpProvider(stub_server.url, timeout=0.2, retries=1, backoff=0).assess(_request())
    assert time.monotonic() - started < 1.5
    assert not d.approved
    assert d.reason == ("The external credit check did not answer within 0.2 s; the order is on hold for a "
                        "manual decision.")
    assert len(stub_server.requests) == 2  # one retry


def test_default_timeout_is_worded_in_seconds():
    p = external_provider({"CREDIT_PROVIDER": "http", "CREDIT_HTTP_URL": "http://x"})
    assert (p.timeout, p.retries) == (5.0, 2)


def test_http_500_is_retried_then_holds(stub_server):
    stub_server.mode = "error"
    d = HttpProvider(stub_server.url, timeout=1, retries=2, backoff=0).assess(_request())
    assert not d.approved and "HTTP 500" in d.reason
    assert len(stub_server.requests) == 3


@pytest.mark.parametrize("mode", ["malformed", "weird"])
def test_http_unreadable_answer_holds(stub_server, mode):
    stub_server.mode = mode
    d = HttpProvider(stub_server.url, timeout=1, retries=2, backoff=0).assess(_request())
    assert not d.approved and "could not read" in d.reason
    assert len(stub_server.requests) == 1  # a bad answer is not retried


def test_http_unreachable_holds():
    d = HttpProvider("http://127.0.0.1:9/none", timeout=0.5, retries=0).assess(_request())
    assert not d.approved and "could not be reached" in d.reason


def test_unknown_or_unconfigured_provider_never_approves():
    assert not external_provider({"CREDIT_PROVIDER": "magic"}).assess(_request()).approved
    assert not external_provider({"CREDIT_PROVIDER": "http", "CREDIT_HTTP_URL": ""}).assess(_request()).approved
    assert external_provider({}) is None


def test_builtin_provider_compares_with_the_limit():
    assert BuiltinProvider().assess(_request()).approved
    d = BuiltinProvider().assess(_request(reserved_orders=Decimal("500")))
    assert not d.approved and d.reason.startswith("Exposure 1,100.00 EUR would exceed")


# --- wired into check_order ------------------------------------------------------------------------------

def test_check_with_http_approval_places(world, account, submitted, http_provider):
    account(world.supplier_a, world.buyer, "1000")
    order = submitted("600")
    cc = services.check_order(order.id)
    assert cc.outcome == "passed" and cc.provider == "builtin+http"
    assert fresh(order).status == OrderStatus.placed
    assert len(http_provider.requests) == 1


@pytest.mark.parametrize("mode, words", [("hold", "Payment history is poor"), ("slow", "did not answer within"),
                                         ("error", "HTTP 500"), ("malformed", "could not read")])
def test_check_with_http_failure_holds(world, account, submitted, http_provider, mode, words):
    http_provider.mode = mode
    account(world.supplier_a, world.buyer, "1000")
    order = submitted("600")
    cc = services.check_order(order.id)
    assert cc.outcome == "hold" and words in cc.reason
    assert cc.limit_amount == Decimal("1000")  # the built-in figures are still recorded
    assert fresh(order).status == OrderStatus.credit_hold


def test_builtin_runs_first_and_http_is_not_asked_over_the_limit(world, account, submitted, http_provider):
    account(world.supplier_a, world.buyer, "100")
    cc = services.check_order(submitted("600").id)
    assert cc.outcome == "hold" and "would exceed the limit" in cc.reason
    assert http_provider.requests == []
