"""Credit providers: who decides whether an order fits the buyer's credit.

The built-in provider compares the portal's own ledger with the limit. An external provider (HTTP) is asked in
addition when configured; both must approve. A provider that fails, times out or answers something unreadable
never approves: the order goes on hold with a sentence saying why, for a person to decide.

Configuration (read from the Flask config; see the report for the environment variables):
    CREDIT_PROVIDER       "builtin" (default) or "http"
    CREDIT_HTTP_URL       where the HTTP provider POSTs the request as JSON
    CREDIT_HTTP_TIMEOUT   seconds per attempt (default 5)
    CREDIT_HTTP_RETRIES   extra attempts after a timeout, connection error or 5xx answer (default 2)
"""
from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Protocol

from portal.money import ZERO, quantize

MANUAL = "the order is on hold for a manual decision."


def fmt(amount: Decimal, currency: str) -> str:
    """12400 EUR -> '12,400.00 EUR' (reasons are stored as text, so one neutral format)."""
    return f"{quantize(amount, currency):,} {currency}"


@dataclass(frozen=True)
class CreditRequest:
    supplier_company_id: int
    buyer_company_id: int
    supplier_vat_number: str | None
    buyer_vat_number: str | None
    order_id: int
    po_number: str
    order_amount: Decimal
    currency: str
    limit_amount: Decimal
    unpaid_invoices: Decimal = ZERO
    reserved_orders: Decimal = ZERO
    overdue_invoices: int = 0
    block_on_overdue: bool = True

    @property
    def exposure(self) -> Decimal:
        return self.unpaid_invoices + self.reserved_orders + self.order_amount

    def as_json(self) -> dict:
        data = asdict(self)
        for k, v in data.items():
            if isinstance(v, Decimal):
                data[k] = str(quantize(v, self.currency))
        data["exposure"] = str(quantize(self.exposure, self.currency))
        return data


@dataclass(frozen=True)
class CreditDecision:
    approved: bool
    reason: str
    provider: str
    # Each factor that decided, with its figures (plain JSON: amounts as strings), stored on the CreditCheck so
    # pages can say it in words: ({"factor": "over_limit", "figures": {...}}, ...). See ``factor_sentence``.
    factors: tuple = ()


# Utilisation of a credit limit: under 80 % ok, 80-100 % near the limit, over 100 % over the limit.
NEAR_SHARE = Decimal("0.8")


def utilisation(share: Decimal | None) -> str:
    """'ok' | 'near' | 'over' (None when there is no limit to compare with)."""
    if share is None:
        return None
    if share > 1:
        return "over"
    if share >= NEAR_SHARE:
        return "near"
    return "ok"


UTILISATION_WORDS = {"ok": "within the limit", "near": "near the limit", "over": "over the limit"}


def used_share(exposure: Decimal, limit: Decimal) -> Decimal:
    if limit <= 0:
        return Decimal(0) if exposure <= 0 else Decimal("Infinity")
    return exposure / limit


def percent_text(share: Decimal) -> str:
    if share.is_infinite():
        return "more than 100 %"
    return f"{(share * 100).quantize(Decimal('1')):,} %"


def factor_sentence(factor: dict) -> str:
    """One factor of a credit decision, in words with its figures."""
    kind, f = factor.get("factor"), factor.get("figures") or {}
    cur = f.get("currency", "")
    money = lambda key: fmt(Decimal(f[key]), cur)  # noqa: E731
    if kind == "overdue_invoices":
        n = int(f.get("count", 0))
        return (f"The buyer has {n} overdue invoice{'s' if n != 1 else ''} at this supplier, and overdue "
                f"invoices block new orders.")
    if kind == "over_limit":
        return (f"Exposure {money('exposure')} would exceed the limit of {money('limit')} by {money('over')} "
                f"({percent_text(Decimal(f['share']))} used, over the limit).")
    if kind == "within_limit":
        words = UTILISATION_WORDS[utilisation(Decimal(f["share"]))]
        return (f"Exposure {money('exposure')} is within the limit of {money('limit')} "
                f"({money('available')} still available; {percent_text(Decimal(f['share']))} used, {words}).")
    if kind == "no_limit":
        return f"{f.get('supplier', 'The supplier')} has set no credit limit for {f.get('buyer', 'the buyer')} and no default."
    if kind == "currency_mismatch":
        return (f"The order is in {f.get('order_currency')} but the credit limit is kept in "
                f"{f.get('limit_currency')}; amounts are not converted.")
    return str(f.get("reason") or kind or "")


def reason_text(factors, approved: bool) -> str:
    text = " ".join(factor_sentence(f) for f in factors)
    return text if approved else f"{text} {MANUAL[0].upper()}{MANUAL[1:]}"


class CreditProvider(Protocol):
    name: str

    def assess(self, request: CreditRequest) -> CreditDecision: ...


class BuiltinProvider:
    """The portal's own ledger: unpaid invoices + reserved orders + this order against the limit."""

    name = "builtin"

    def assess(self, request: CreditRequest) -> CreditDecision:
        """Every failing factor is named with its figures (an overdue invoice AND an exceeded limit: both)."""
        cur = request.currency
        exposure, limit = request.exposure, request.limit_amount
        share = used_share(exposure, limit)
        q = lambda d: str(quantize(d, cur))  # noqa: E731
        failing = []
        if request.block_on_overdue and request.overdue_invoices > 0:
            failing.append({"factor": "overdue_invoices", "figures": {"count": request.overdue_invoices}})
        if exposure > limit:
            failing.append({"factor": "over_limit", "figures": {
                "exposure": q(exposure), "limit": q(limit), "over": q(exposure - limit), "currency": cur,
                "share": str(share)}})
        if failing:
            return CreditDecision(False, reason_text(failing, False), self.name, tuple(failing))
        passed = [{"factor": "within_limit", "figures": {
            "exposure": q(exposure), "limit": q(limit), "available": q(limit - exposure), "currency": cur,
            "share": str(share)}}]
        return CreditDecision(True, reason_text(passed, True), self.name, tuple(passed))


class HttpProvider:
    """POSTs the request as JSON; expects {"decision": "approve"|"hold", "reason": "..."}."""

    name = "http"

    def __init__(self, url: str, timeout: float = 5, retries: int = 2, backoff: float = 0.2):
        self.url = url
        self.timeout = float(timeout)
        self.retries = max(0, int(retries))
        self.backoff = backoff

    def _hold(self, reason: str) -> CreditDecision:
        return CreditDecision(False, reason, self.name)

    def assess(self, request: CreditRequest) -> CreditDecision:
        if not self.url:
            return self._hold(f"The external credit check is not configured (no URL); {MANUAL}")
        body = json.dumps(request.as_json()).encode()
        last_problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * attempt)
            req = urllib.request.Request(self.url, data=body, method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "Accept": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 - configured URL
                    raw = resp.read(64 * 1024)
            except urllib.error.HTTPError as exc:
                last_problem = f"The external credit check failed (HTTP {exc.code}); {MANUAL}"
                if exc.code >= 500:
                    continue  # the service may recover: retry
                return self._hold(last_problem)
            except (TimeoutError, socket.timeout):
                last_problem = (f"The external credit check did not answer within {self.timeout:g} s; {MANUAL}")
                continue
            except urllib.error.URLError as exc:
                if isinstance(exc.reason, (TimeoutError, socket.timeout)):
                    last_problem = (f"The external credit check did not answer within {self.timeout:g} s; "
                                    f"{MANUAL}")
                else:
                    last_problem = f"The external credit check could not be reached ({exc.reason}); {MANUAL}"
                continue
            except OSError as exc:  # connection reset mid-answer and the like
                last_problem = f"The external credit check could not be reached ({exc}); {MANUAL}"
                continue
            return self._parse(raw)
        return self._hold(last_problem)

    def _parse(self, raw: bytes) -> CreditDecision:
        unreadable = f"The external credit check gave an answer we could not read; {MANUAL}"
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return self._hold(unreadable)
        if not isinstance(data, dict):
            return self._hold(unreadable)
        decision = data.get("decision")
        reason = str(data.get("reason") or "").strip()[:500].rstrip(".")
        if decision == "approve":
            return CreditDecision(True, f"The external credit check approved{': ' + reason if reason else ''}.",
                                  self.name)
        if decision == "hold":
            return self._hold(f"The external credit check put the order on hold: {reason or 'no reason given'}.")
        return self._hold(unreadable)


def external_provider(config) -> CreditProvider | None:
    """The configured external provider, or None when only the built-in check applies."""
    name = (config.get("CREDIT_PROVIDER") or "builtin").strip().lower()
    if name == "builtin":
        return None
    if name == "http":
        return HttpProvider(config.get("CREDIT_HTTP_URL") or "",
                            timeout=float(config.get("CREDIT_HTTP_TIMEOUT", 5) or 5),
                            retries=int(config.get("CREDIT_HTTP_RETRIES", 2) if config.get(
                                "CREDIT_HTTP_RETRIES") is not None else 2))
    return _Misconfigured(name)


class _Misconfigured:
    """An unknown provider name must not silently approve."""

    def __init__(self, configured: str):
        self.name = configured[:40] or "unknown"

    def assess(self, request: CreditRequest) -> CreditDecision:
        return CreditDecision(False, f"The credit provider {self.name!r} is unknown to the portal; {MANUAL}",
                              self.name)
