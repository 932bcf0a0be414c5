"""Notify's per-(service, key type) token bucket and per-channel daily limits, with an injectable clock.

The bucket copies the arithmetic of notifications-utils' `tally-bucket-rate-limit` Lua script: refill
floor(elapsed * rate/60) whole tokens, cap at bucket_max, take one token even when that leaves the bucket empty,
and move `last_replenished` forward only by the time those whole tokens took. A request is refused when the
tokens left *after* taking one are < 1, so a refused request still spends its token.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from .errors import rate_limit_error, too_many_requests

TOKEN_BUCKET_MAX = 1000
TOKEN_BUCKET_MIN = 0
DEFAULT_RATE_LIMIT = 3000
DEFAULT_DAILY_LIMITS = {'email': 250_000, 'sms': 250_000, 'letter': 20_000, 'international_sms': 100}

Clock = Callable[[], float]


def bucket_max_for(rate_limit: int) -> int:
    return min(math.ceil(rate_limit / 3) + 1, TOKEN_BUCKET_MAX)


class TokenBuckets:
    def __init__(self, rate_limit: int = DEFAULT_RATE_LIMIT, clock: Clock | None = None) -> None:
        self.rate_limit = rate_limit
        self.clock = clock or time.time
        self.replenish_per_sec = rate_limit / 60
        self.bucket_max = bucket_max_for(rate_limit)
        self._state: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def tally(self, key: str) -> int:
        """Take one token from `key`'s bucket and return what remains (the Lua script's return value)."""
        now = self.clock()
        with self._lock:
            last, tokens = self._state.get(key, (now, self.bucket_max))
            elapsed = max(now - last, 0)
            replenishment = math.floor(elapsed * self.replenish_per_sec)
            tokens = min(tokens + replenishment, self.bucket_max)
            tokens = max(tokens - 1, TOKEN_BUCKET_MIN)
            last = last + replenishment / self.replenish_per_sec
            self._state[key] = (last, tokens)
            return tokens

    def check(self, service_id: str, key_type: str) -> None:
        internal = 'normal' if key_type == 'live' else key_type
        if self.tally(f'{service_id}-tokens-{internal}') < 1:
            raise rate_limit_error(key_type, self.rate_limit)

    def reset(self) -> None:
        with self._lock:
            self._state.clear()


class DailyLimits:
    """Counters per (service, channel, UTC date). Checked before sending, incremented when a message is stored."""

    def __init__(self, limits: dict[str, int] | None = None, clock: Clock | None = None) -> None:
        self.limits = {**DEFAULT_DAILY_LIMITS, **(limits or {})}
        self.clock = clock or time.time
        self._counts: dict[tuple[str, str, str], int] = {}
        self._lock = threading.Lock()

    def _key(self, service_id: str, channel: str) -> tuple[str, str, str]:
        day = datetime.fromtimestamp(self.clock(), UTC).strftime('%Y-%m-%d')
        return service_id, channel, day

    def check(self, service_id: str, channel: str, count: int = 1) -> None:
        limit = self.limits[channel]
        with self._lock:
            used = self._counts.get(self._key(service_id, channel), 0)
        if used + count > limit:
            raise too_many_requests(channel, limit)

    def increment(self, service_id: str, channel: str) -> None:
        key = self._key(service_id, channel)
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1

    def used(self, service_id: str, channel: str) -> int:
        with self._lock:
            return self._counts.get(self._key(service_id, channel), 0)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
