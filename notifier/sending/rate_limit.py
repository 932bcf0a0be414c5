"""One send limiter per (Notify service, key type), in Redis, shared by every worker process.

Notify's own limiter is a token bucket per (service, key type) in which a refused request still spends a token,
so hammering after a 429 starves the sender (notify.md §2). Ours stays under it:

- **Reservations, not polling.** One atomic Lua script hands each caller a slot on a shared schedule (GCRA: the
  "theoretical arrival time" moves on by cost / rate per send). The caller sleeps until its slot; nobody spins on
  Redis. A caller whose slot would be more than `max_ahead` seconds away reserves nothing and is told when to ask
  again, so a pause is not undone by a queue of old reservations.
- **AIMD.** A 429 `RateLimitError` (reported by whichever sender got it) halves the shared rate, down to a floor,
  and sets a shared pause key; the rate then grows back additively to the configured maximum.
- **Daily limits.** A 429 `TooManyRequestsError` parks that channel (a shared key) until 00:00 UTC.
- Letters cost 2 tokens (Notify checks the bucket twice for a templated letter).

Redis keys: `notifier:ratelimit:<service>:<keytype>` (hash: tat, rate, rate_at, rate_limited),
`…:pause` and `…:parked:<channel>`. Losing them (a flushall) only restarts the schedule at full speed.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

logger = logging.getLogger('notifier.sending.rate_limit')

CHANNELS = ('email', 'sms', 'letter')
CHANNEL_COST = {'email': 1, 'sms': 1, 'letter': 2}

# The rate as Redis last saw it, grown back additively since `rate_at` (shared by both scripts).
_CURRENT_RATE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local max_rate, min_rate, recover = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local s = redis.call('HMGET', KEYS[1], 'tat', 'rate', 'rate_at')
local tat = tonumber(s[1]) or 0
local rate = tonumber(s[2]) or max_rate
local rate_at = tonumber(s[3]) or now
rate = math.min(max_rate, math.max(min_rate, rate + recover * math.max(now - rate_at, 0) / 1000))
"""

# KEYS: state, pause. ARGV: max_rate, min_rate, recover, cost, burst_ms, max_ahead_ms.
# Returns {ask_again_in_ms, wait_ms}: ask_again > 0 means nothing was reserved.
ACQUIRE = (
    _CURRENT_RATE
    + """
local pause = redis.call('PTTL', KEYS[2])
if pause > 0 then return {pause, 0} end
local cost, burst_ms, ahead_ms = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local slot = math.max(tat, now - burst_ms)
local wait = slot - now
if wait > ahead_ms then return {math.ceil(wait - ahead_ms), 0} end
redis.call('HSET', KEYS[1], 'tat', tostring(slot + cost * 1000 / rate), 'rate', tostring(rate), 'rate_at', now)
redis.call('PEXPIRE', KEYS[1], 3600000)
return {0, math.max(0, math.ceil(wait))}
"""
)

# KEYS: state, pause. ARGV: max_rate, min_rate, recover, pause_ms. Halves the rate once per pause.
REPORT_RATE_LIMITED = (
    _CURRENT_RATE
    + """
redis.call('HINCRBY', KEYS[1], 'rate_limited', 1)
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local pause_ms = tonumber(ARGV[4])
rate = math.max(min_rate, rate / 2)
redis.call('HSET', KEYS[1], 'tat', tostring(now + pause_ms), 'rate', tostring(rate), 'rate_at', now + pause_ms)
redis.call('PEXPIRE', KEYS[1], 3600000)
redis.call('SET', KEYS[2], '1', 'PX', pause_ms)
return 1
"""
)


def next_midnight_utc(now: datetime | None = None) -> datetime:
    """Notify's daily counters are keyed by the UTC date, so they reset at 00:00 UTC."""
    now = now or datetime.now(UTC)
    return datetime.combine(now.astimezone(UTC).date() + timedelta(days=1), datetime.min.time(), UTC)


class SendLimiter:
    """`await limiter.acquire('email')` before each POST to Notify; report 429s with `rate_limited()` / `park()`."""

    def __init__(
        self,
        redis: Redis,
        service_id: str,
        *,
        per_second: float,
        key_type: str = 'live',
        burst_seconds: float = 1.0,
        max_ahead: float = 2.0,
        pause_seconds: float = 1.5,
        floor_fraction: float = 0.1,
        recover_seconds: float = 20.0,
    ) -> None:
        if per_second <= 0:
            raise ValueError('per_second must be positive')
        self.redis = redis
        self.per_second = per_second
        self.key = f'notifier:ratelimit:{service_id}:{key_type}'
        self.pause_key = f'{self.key}:pause'
        self.burst_ms = burst_seconds * 1000
        self.max_ahead_ms = max_ahead * 1000
        self.pause_ms = int(pause_seconds * 1000)
        self.min_rate = per_second * floor_fraction
        # additive increase: from the floor back to full speed in about `recover_seconds`
        self.recover = per_second / recover_seconds
        self._acquire = redis.register_script(ACQUIRE)
        self._report = redis.register_script(REPORT_RATE_LIMITED)

    def _rate_args(self) -> list[Any]:
        return [self.per_second, self.min_rate, self.recover]

    async def acquire(self, channel: str) -> None:
        """Wait for this channel's send slot (letters cost 2). Sleeps; never spins on Redis."""
        cost = CHANNEL_COST[channel]
        while True:
            ask_again_ms, wait_ms = await self._acquire(
                keys=[self.key, self.pause_key], args=[*self._rate_args(), cost, self.burst_ms, self.max_ahead_ms]
            )
            if ask_again_ms > 0:
                await asyncio.sleep(int(ask_again_ms) / 1000)
                continue
            if wait_ms <= 0:
                return
            await asyncio.sleep(int(wait_ms) / 1000)
            if not await self.redis.exists(self.pause_key):
                return
            # a 429 paused everyone while we slept: our slot is void, queue again after the pause

    async def rate_limited(self) -> bool:
        """Notify answered RateLimitError: pause every sender on this key and restart at half the rate.
        Returns True for the report that started the pause (others in flight at the time only count)."""
        started = await self._report(keys=[self.key, self.pause_key], args=[*self._rate_args(), self.pause_ms])
        if started:
            logger.warning('Notify rate limit hit: pausing all senders for %d ms and slowing down', self.pause_ms)
        return bool(started)

    async def current_rate(self) -> float:
        rate = await self.redis.hget(self.key, 'rate')
        return float(rate) if rate is not None else self.per_second

    async def rate_limited_count(self) -> int:
        """How many RateLimitErrors senders have reported (since the key last expired or Redis was flushed)."""
        return int(await self.redis.hget(self.key, 'rate_limited') or 0)

    async def park(self, channel: str, until: datetime | None = None) -> datetime:
        """Notify answered TooManyRequestsError: no sender uses this channel until 00:00 UTC."""
        until = until or next_midnight_utc()
        await self.redis.set(f'{self.key}:parked:{channel}', until.isoformat(), exat=int(until.timestamp()))
        logger.warning('Notify daily limit reached for %s: parked until %s', channel, until.isoformat())
        return until

    async def parked_until(self, channel: str) -> datetime | None:
        value = await self.redis.get(f'{self.key}:parked:{channel}')
        return datetime.fromisoformat(value.decode() if isinstance(value, bytes) else value) if value else None

    async def parked_channels(self) -> list[str]:
        values = await self.redis.mget([f'{self.key}:parked:{channel}' for channel in CHANNELS])
        return [channel for channel, value in zip(CHANNELS, values, strict=True) if value]
