"""Sign-in throttling: slow attackers down without locking the account's owner (or their colleagues) out.

Three counters of *failed* sign-ins, on the rate-limit storage Flask-Limiter uses (Redis in production):

* the account-and-address pair (``LOGIN_RATE_LIMIT``): one address guessing one account's password is refused
  for a while; the same account from anywhere else, other accounts from the same address, and a browser that
  signed in to the account before (it counts apart), are not;
* the address (``LOGIN_ADDRESS_LIMIT``): clear abuse — an address failing for very many accounts. High enough
  that an office behind one address is not refused because a few people mistyped;
* the account, from every address (``LOGIN_ACCOUNT_SLOWDOWN``): past it the account is *slowed down*, not
  locked. A browser that has signed in to this account before (a signed "known browser" cookie) is not slowed
  at all; any other browser may try once per ``LOGIN_SLOWDOWN_SECONDS`` per address. An attacker spread over
  many addresses is reduced to a trickle, while the owner with the right password gets in at the latest after
  that short wait.

The address is ``request.remote_addr``: behind a reverse proxy set ``PORTAL_TRUSTED_PROXIES`` so that it is the
client's address (ProxyFix), not the proxy's.
"""
from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import RateLimitItemPerSecond, parse

from portal.ratelimit import counters

KNOWN_COOKIE = "portal_known_browser"
KNOWN_MAX_AGE = 180 * 24 * 3600
KNOWN_MAX_ACCOUNTS = 10


@dataclass
class Refusal:
    message: str
    retry_after: int


def _account(email: str) -> str:
    # hashed: the storage keys never hold e-mail addresses (and arbitrary input cannot shape the keys)
    return hashlib.sha256((email or "").strip().lower().encode("utf-8", "replace")).hexdigest()[:32]


def _address() -> str:
    return request.remote_addr or "unknown"


def _pair(email: str) -> tuple[str, str]:
    """The pair's key. A browser known for the account counts apart from the other browsers at its address, so
    a colleague (or malware) guessing from the same office does not lock the owner's own browser out."""
    addr = _address()
    return _account(email), addr + ("|known" if is_known_browser(email) else "")


def _wait(item, *keys) -> int:
    reset = counters.get_window_stats(item, *keys).reset_time
    return max(1, math.ceil(reset - time.time()))


def _items():
    cfg = current_app.config
    return (parse(cfg["LOGIN_RATE_LIMIT"]), parse(cfg["LOGIN_ADDRESS_LIMIT"]),
            parse(cfg["LOGIN_ACCOUNT_SLOWDOWN"]),
            RateLimitItemPerSecond(1, max(1, int(cfg["LOGIN_SLOWDOWN_SECONDS"]))))


def check(email: str) -> Refusal | None:
    """Before the password is checked: a Refusal when this attempt must wait, else None (and, when the account
    is being slowed down, this attempt is recorded against the pair's short wait)."""
    strategy = counters
    pair_item, address_item, account_item, wait_item = _items()
    addr, acct = _address(), _account(email)
    if not strategy.test(address_item, "signin-address", addr):
        return Refusal("Too many failed sign-ins from your network. Wait a few minutes and try again.",
                       _wait(address_item, "signin-address", addr))
    if not strategy.test(pair_item, "signin-pair", *_pair(email)):
        return Refusal("Too many failed sign-ins for this account from your network. Wait a few minutes and "
                       "try again.", _wait(pair_item, "signin-pair", *_pair(email)))
    if not strategy.test(account_item, "signin-account", acct) and not is_known_browser(email):
        if not strategy.hit(wait_item, "signin-slow", acct, addr):
            wait = _wait(wait_item, "signin-slow", acct, addr)
            return Refusal(f"This account has had many failed sign-ins, so each try from a new browser waits a "
                           f"moment. Try again in {wait} seconds.", wait)
    return None


def failed(email: str) -> None:
    """Count one failed sign-in against the pair, the address and the account."""
    strategy = counters
    pair_item, address_item, account_item, _ = _items()
    addr, acct = _address(), _account(email)
    strategy.hit(pair_item, "signin-pair", *_pair(email))
    strategy.hit(address_item, "signin-address", addr)
    strategy.hit(account_item, "signin-account", acct)


def succeeded(email: str) -> None:
    """A right password from this pair: its earlier failures are forgiven (the address and account counters
    stay: they describe others' attempts too)."""
    pair_item = parse(current_app.config["LOGIN_RATE_LIMIT"])
    counters.clear(pair_item, "signin-pair", *_pair(email))


# ------------------------------------------------------------------------------------- known browsers

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="portal-known-browser")


def _known() -> list[str]:
    raw = request.cookies.get(KNOWN_COOKIE)
    if not raw:
        return []
    try:
        value = _serializer().loads(raw, max_age=KNOWN_MAX_AGE)
    except (BadSignature, ValueError, TypeError):
        return []
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def is_known_browser(email: str) -> bool:
    return _account(email) in _known()


def remember_browser(response, email: str):
    """After a successful sign-in: this browser is known for this account (no slow-down next time)."""
    acct = _account(email)
    known = [acct] + [k for k in _known() if k != acct]
    cfg = current_app.config
    response.set_cookie(KNOWN_COOKIE, _serializer().dumps(known[:KNOWN_MAX_ACCOUNTS]), max_age=KNOWN_MAX_AGE,
                        httponly=True, samesite="Lax", secure=bool(cfg.get("SESSION_COOKIE_SECURE")))
    return response
