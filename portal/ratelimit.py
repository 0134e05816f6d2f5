"""Our own counters on the rate-limit storage (the sign-in throttle, failed API authentications, the per-token
API budget): Flask-Limiter's strategy and storage (Redis in production), and memory while that storage is
unreachable — the same fallback Flask-Limiter applies to its own limits (RATELIMIT_IN_MEMORY_FALLBACK_ENABLED).
Counting in memory per process for a while is better than answering every sign-in and API call with 500.
"""
from __future__ import annotations

import logging
import time

import redis
from limits.errors import StorageError
from limits.storage import MemoryStorage

from portal.extensions import limiter

log = logging.getLogger(__name__)
STORAGE_ERRORS = (redis.exceptions.RedisError, StorageError, OSError)
_memory = None
_warned_at = 0.0


def _fallback():
    global _memory
    if _memory is None:
        from limits.strategies import MovingWindowRateLimiter

        strategy = type(limiter.limiter) if limiter.enabled else MovingWindowRateLimiter
        _memory = strategy(MemoryStorage())
    return _memory


def _run(call):
    global _warned_at
    if not limiter.enabled:  # RATELIMIT_ENABLED=False: Flask-Limiter built no strategy (its decorators are off);
        return call(_fallback())  # the sign-in throttle and the API budget still count, in memory
    try:
        return call(limiter.limiter)
    except STORAGE_ERRORS as exc:
        if time.monotonic() - _warned_at > 60:  # once a minute at most, not once per request
            _warned_at = time.monotonic()
            log.warning("Rate-limit storage unreachable (%s): counting sign-in and API limits in memory", exc)
        return call(_fallback())


class _Counters:
    """``counters.hit(item, *keys)``, ``.test``, ``.clear``, ``.get_window_stats``: the limiter's strategy with
    the fallback above."""

    def __getattr__(self, name):
        def method(*args, **kwargs):
            return _run(lambda strategy: getattr(strategy, name)(*args, **kwargs))

        return method


counters = _Counters()
