"""One send limiter per (Notify service, key type), in Redis, shared by every worker process.

Notify's own limiter is a token bucket per (service, key type): it refills `limit/60` tokens a second up to
`min(ceil(limit/3) + 1, 1000)`, refuses a request that would leave it with less than one token, and a refused
request still spends its token, so hammering after a 429 starves the sender (notify.md §2). Ours is a copy of that
bucket, kept in Redis and shared by every sender, that only ever holds tokens Notify is sure to have:

- **The same bucket, a little smaller and a little slower.** Our tokens refill at `per_second` (the settings'
  `notify_rate_fraction` of Notify's rate, 0.995 by default) up to `capacity`: Notify's bucket less a margin for
  requests in transit (see `MARGINS` below). After an idle spell the whole capacity may go at once; then sends
  follow at `per_second`. A letter costs 2 tokens (Notify checks the bucket twice for a templated letter).
- **Started empty.** A new or lost state (first start, a Redis flush, a week idle) starts below empty, as if
  Notify's bucket were drained: we never spend a token we cannot be sure Notify has.
- **Reservations, not polling.** One atomic Lua script hands each caller a slot: now if the bucket holds its
  cost, else the moment it will. The caller sleeps until its slot; nobody spins on Redis. A caller whose slot would
  be more than `max_ahead` seconds away reserves nothing and is told when to ask again.
- **AIMD.** A 429 `RateLimitError` means the model was wrong (another app on the same key type, a lower limit):
  whichever sender got it empties the shared bucket, pauses every sender for `pause_seconds`, halves the refill
  rate (down to a floor) and voids every reservation not yet used; the rate grows back additively to `per_second`,
  and the capacity shrinks and grows with it.
- **Daily limits.** A 429 `TooManyRequestsError` parks that channel (a shared key) until 00:00 UTC.

Redis keys: `notifier:ratelimit:<service>:<keytype>` (hash: tokens, at, rate, rate_at, epoch, paused_until,
rate_limited) and `…:parked:<channel>`.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis

if TYPE_CHECKING:
    from notifier.settings import Settings

logger = logging.getLogger('notifier.sending.rate_limit')

CHANNELS = ('email', 'sms', 'letter')
CHANNEL_COST = {'email': 1, 'sms': 1, 'letter': 2}
MAX_COST = max(CHANNEL_COST.values())
NOTIFY_BUCKET_CEILING = 1000

# MARGINS: why a bucket a little smaller and a refill a little slower than Notify's never overdraws it. Call n
# Notify's tokens (as if it refilled continuously), m ours (counting each reservation at its slot, so m ≥ 0), I the
# requests whose slot has passed but which Notify has not counted yet, and q = n - m - I.
# - A send leaves q alone: taking a slot moves a token from m to I; Notify counting it takes it from I and from n.
# - Below its top, n refills at least as fast as m (our rate ≤ Notify's), so q does not fall. Only while Notify's
#   bucket is at its top, throwing refill away, can q fall, and there q = top - (m + I).
# - A request arrives to find n = q + m + I ≥ q + 1 (I counts the request itself). Notify accepts it if n ≥ 2 (a
#   token must be left after taking one; its whole-token refill lags a continuous one by less than a token, which
#   the same inequality absorbs). So nothing is refused while q ≥ 1.
# What bounds m + I: each request in I had its slot within the last TRANSIT_SECONDS (older ones have reached
# Notify), so m + I is at most what our bucket held TRANSIT_SECONDS ago (≤ capacity) plus what it refilled since
# (per_second × TRANSIT_SECONDS). Hence `capacity = top - 1 - per_second × TRANSIT_SECONDS` keeps q ≥ 1 (see
# `safe_capacity`). The time from a slot to Notify's count is our event loop waking late, the `still_ours` query,
# a keep-alive or new TLS connection, the network, and Notify's queue before its rate check: typically 0.1-0.3 s,
# and TRANSIT_SECONDS allows a second. Nothing enforces it (a request may be held up to `notify_timeout` and still
# land), but one that takes longer only matters while Notify's bucket is at its top, that is in the first second
# of a burst after idle, and then costs at most a 429, which the AIMD pause absorbs.
# Clocks: every slot is reckoned on Redis's clock (TIME inside the script), so senders' clocks do not matter.
# Notify's API instances each stamp its bucket with their own clock, and asyncio may wake a millisecond early, so
# a request can look to Notify as if it came up to CLOCK_SKEW_SECONDS before its slot: per_second ×
# CLOCK_SKEW_SECONDS tokens, taken off the capacity and added to the starting debt. Clocks running at different
# speeds (tens of parts per million under NTP) are covered a hundred times over by refilling at 99.5%, which also
# rebuilds Notify's cushion (a quarter of a token a second at 3,000/min) after anything unforeseen.
# Start: a new state starts 1 + per_second × CLOCK_SKEW_SECONDS tokens below empty, so q starts ≥ 1 even if
# Notify's bucket holds nothing; after a Redis loss the requests still in flight were covered by the old q.
TRANSIT_SECONDS = 1.0
CLOCK_SKEW_SECONDS = 0.05
STATE_TTL_MS = 7 * 24 * 3600 * 1000  # a week idle forgets the state: the next start is empty again, which is safe

# The clock (Redis's, unless a test passes its own milliseconds) and the rate as Redis last saw it, grown back
# additively since `rate_at` (shared by both scripts).
_STATE = """
local function exact(x) return string.format('%.17g', x) end  -- tostring keeps 14 digits: 0.1 ms at today's dates
local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local max_rate, min_rate, recover = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local s = redis.call('HMGET', KEYS[1], 'tokens', 'at', 'rate', 'rate_at', 'epoch', 'paused_until')
local rate = tonumber(s[3]) or max_rate
local rate_at = tonumber(s[4]) or now
local epoch = tonumber(s[5]) or math.floor(now)
rate = math.min(max_rate, math.max(min_rate, rate + recover * math.max(now - rate_at, 0) / 1000))
"""

# ARGV: now_ms or '', max_rate, min_rate, recover, cost, capacity, max_ahead_ms, start_debt.
# Returns {ask_again_in_ms, wait_ms, epoch}: ask_again > 0 means nothing was reserved.
# `tokens` is the bucket's level at time `at`; `at` is in the future while a pause lasts or reservations queue.
RESERVE = (
    _STATE
    + """
local cost, capacity, ahead_ms = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local tokens = tonumber(s[1]) or -tonumber(ARGV[8])
local at = tonumber(s[2]) or now
capacity = math.max(cost, capacity * rate / max_rate)
if at < now then
  tokens = math.min(capacity, tokens + (now - at) * rate / 1000)
  at = now
end
local slot = at
if tokens >= cost then
  tokens = tokens - cost
else
  slot = at + (cost - tokens) * 1000 / rate
  tokens = 0
end
local wait = slot - now
if wait > ahead_ms then return {math.ceil(wait - ahead_ms), 0, tostring(epoch)} end
redis.call('HSET', KEYS[1], 'tokens', exact(tokens), 'at', exact(slot), 'rate', exact(rate), 'rate_at', exact(now),
           'epoch', tostring(epoch))
redis.call('PEXPIRE', KEYS[1], ARGV[9])
return {0, math.max(0, math.ceil(wait)), tostring(epoch)}
"""
)

# ARGV: now_ms or '', max_rate, min_rate, recover, pause_ms. Empties the bucket until the pause ends, halves the
# rate and voids outstanding reservations (a new epoch), once per pause.
REPORT_RATE_LIMITED = (
    _STATE
    + """
redis.call('HINCRBY', KEYS[1], 'rate_limited', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[6])
if now < (tonumber(s[6]) or 0) then return 0 end
local until_ms = now + tonumber(ARGV[5])
rate = math.max(min_rate, rate / 2)
redis.call('HSET', KEYS[1], 'tokens', '0', 'at', exact(until_ms), 'rate', exact(rate), 'rate_at', exact(until_ms),
           'epoch', tostring(epoch + 1), 'paused_until', exact(until_ms))
return 1
"""
)


def notify_bucket_max(rate_limit: int) -> int:
    """The top of Notify's bucket for a per-minute limit (notifications-api `check_service_over_api_rate_limit`)."""
    return min(math.ceil(rate_limit / 3) + 1, NOTIFY_BUCKET_CEILING)


def safe_capacity(
    per_second: float, bucket: int, *, transit: float = TRANSIT_SECONDS, skew: float = CLOCK_SKEW_SECONDS
) -> float:
    """The most tokens our bucket may hold: Notify's top, less the one it keeps, less what may be in transit."""
    return max(float(MAX_COST), bucket - 1 - per_second * (transit + skew))


def next_midnight_utc(now: datetime | None = None) -> datetime:
    """Notify's daily counters are keyed by the UTC date, so they reset at 00:00 UTC."""
    now = now or datetime.now(UTC)
    return datetime.combine(now.astimezone(UTC).date() + timedelta(days=1), datetime.min.time(), UTC)


@dataclass(frozen=True)
class Reservation:
    """The script's answer: `ask_again` seconds (nothing reserved), or a slot `wait` seconds from now in `epoch`."""

    ask_again: float
    wait: float
    epoch: str

    @property
    def reserved(self) -> bool:
        return self.ask_again <= 0


class SendLimiter:
    """`await limiter.acquire('email')` before each POST to Notify; report 429s with `rate_limited()` / `park()`.

    `per_second`: the sustained rate (at most Notify's `limit/60`). `bucket`: the top of Notify's bucket; by default
    the smallest Notify could have at a limit of `per_second × 60` a minute, which is never more than the real one.
    `burst`: the most tokens to spend at once after idle; by default, and at most, `safe_capacity`. `clock`: seconds,
    for tests only (the slots are then reckoned on it instead of Redis's clock; sleeping stays real)."""

    def __init__(
        self,
        redis: Redis,
        service_id: str,
        *,
        per_second: float,
        key_type: str = 'live',
        bucket: int | None = None,
        burst: float | None = None,
        transit: float = TRANSIT_SECONDS,
        skew: float = CLOCK_SKEW_SECONDS,
        max_ahead: float = 2.0,
        pause_seconds: float = 1.5,
        floor_fraction: float = 0.1,
        recover_seconds: float = 20.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if per_second <= 0:
            raise ValueError('per_second must be positive')
        self.redis = redis
        self.per_second = per_second
        self.key = f'notifier:ratelimit:{service_id}:{key_type}'
        self.bucket = bucket if bucket is not None else min(math.ceil(per_second * 20) + 1, NOTIFY_BUCKET_CEILING)
        most = safe_capacity(per_second, self.bucket, transit=transit, skew=skew)
        self.capacity = most if burst is None else max(float(MAX_COST), min(float(burst), most))
        # Notify's bucket may hold nothing (a refused request leaves 0): start one token below empty, plus the skew
        self.start_debt = 1 + per_second * skew
        self.max_ahead_ms = max_ahead * 1000
        self.pause_ms = int(pause_seconds * 1000)
        self.min_rate = per_second * floor_fraction
        # additive increase: from the floor back to full speed in about `recover_seconds`
        self.recover = per_second / recover_seconds
        self.clock = clock
        self._reserve = redis.register_script(RESERVE)
        self._report = redis.register_script(REPORT_RATE_LIMITED)

    @classmethod
    def from_settings(cls, redis: Redis, service_id: str, settings: Settings, **options: Any) -> SendLimiter:
        """The limiter the settings describe: `notify_rate_limit`, `notify_rate_fraction` and `notify_burst`."""
        return cls(
            redis,
            service_id,
            per_second=settings.notify_sends_per_second,
            bucket=notify_bucket_max(settings.notify_rate_limit),
            burst=settings.notify_burst,
            **options,
        )

    def _args(self) -> list[Any]:
        now = '' if self.clock is None else repr(self.clock() * 1000)
        return [now, self.per_second, self.min_rate, self.recover]

    async def reserve(self, channel: str) -> Reservation:
        """Take this channel's cost from the shared bucket: a slot now or later, or "ask again" if too far ahead."""
        ask_again_ms, wait_ms, epoch = await self._reserve(
            keys=[self.key],
            args=[*self._args(), CHANNEL_COST[channel], self.capacity, self.max_ahead_ms, self.start_debt,
                  STATE_TTL_MS],
        )  # fmt: skip
        return Reservation(int(ask_again_ms) / 1000, int(wait_ms) / 1000, _text(epoch))

    async def acquire(self, channel: str) -> None:
        """Wait for this channel's send slot (letters cost 2). Sleeps; never spins on Redis."""
        while True:
            slot = await self.reserve(channel)
            if not slot.reserved:
                await asyncio.sleep(slot.ask_again)
                continue
            if slot.wait <= 0:
                return
            await asyncio.sleep(slot.wait)
            if _text(await self.redis.hget(self.key, 'epoch')) == slot.epoch:
                return
            # a 429 (or lost state) voided our slot while we slept: queue again behind the pause

    async def rate_limited(self) -> bool:
        """Notify answered RateLimitError: pause every sender on this key and restart at half the rate.
        Returns True for the report that started the pause (others in flight at the time only count)."""
        started = await self._report(keys=[self.key], args=[*self._args(), self.pause_ms, STATE_TTL_MS])
        if started:
            logger.warning('Notify rate limit hit: pausing all senders for %d ms and slowing down', self.pause_ms)
        return bool(started)

    async def current_rate(self) -> float:
        rate = await self.redis.hget(self.key, 'rate')
        return float(rate) if rate is not None else self.per_second

    async def rate_limited_count(self) -> int:
        """How many RateLimitErrors senders have reported (since the state was last forgotten)."""
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


def _text(value: bytes | str | None) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
