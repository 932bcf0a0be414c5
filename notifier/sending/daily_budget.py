"""Each channel's share of Notify's daily limit, with some kept back for the messages a resident is waiting for.

Notify's daily limit is per service and channel (250,000 emails, 250,000 texts, 20,000 letters for a live service;
50 in trial mode), counted by the UTC date. Without a budget of our own, one large bulletin could use a day up and
stop sign-in codes and confirmation links with it until midnight. So the senders take one unit from a shared daily
counter in Redis before each POST, and ordinary messages (news, bulletins, digests, reminders) may take only
`1 - TELLME_NOTIFY_DAILY_RESERVE` of the limit; priority-0 messages (sign-in codes, confirmations, urgent news: the
outbox's `priority` column) may use it all. A bulletin bigger than what is left today waits for the next UTC day,
and the next, at the same share: it is spread over days, and the compose page says how many before it is sent.

The count is taken atomically (a Lua script: never more than the cap, whatever the number of workers), given back
when Notify did not take the message, and kept when the outcome is unknown (Notify may have counted it). If Redis
loses the counter, it is set again from the outbox (messages sent since 00:00 UTC) before the next take.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import asyncpg
from redis.asyncio import Redis

from notifier.settings import Settings

# KEYS: counter. ARGV: cap, ttl seconds. Returns the count after taking one, or -1 when the cap is reached.
TAKE = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then return -1 end
n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return n
"""
GIVE_BACK = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then return redis.call('DECR', KEYS[1]) end
return 0
"""
SENT_TODAY = """
select count(*) from notifications
where channel = $1 and sent_at >= $2 and status not in ('pending', 'retry', 'sending')
"""
KEEP_FOR = 2 * 24 * 3600  # a day's counter outlives its day, so a late give-back finds it


def next_day(now: datetime) -> datetime:
    return datetime.combine(now.astimezone(UTC).date() + timedelta(days=1), datetime.min.time(), UTC)


@dataclass(frozen=True)
class Spread:
    """How a number of messages on one channel would go out at the daily limits."""

    channel: str
    messages: int
    today: int  # how many of them fit in what is left of today
    days: int  # the days it takes, today included (1: all today)


class DailyBudget:
    def __init__(self, redis: Redis, pool: asyncpg.Pool, settings: Settings, service_id: str,
                 key_type: str = 'live') -> None:  # fmt: skip
        self.redis, self.pool, self.settings = redis, pool, settings
        self.prefix = f'notifier:daily:{service_id}:{key_type}'
        self._take = redis.register_script(TAKE)
        self._give_back = redis.register_script(GIVE_BACK)
        self._counted: set[tuple[str, date]] = set()

    def cap(self, channel: str, priority: int) -> int:
        """How many messages on `channel` a day messages of this priority may bring the count to."""
        limit = self.settings.notify_daily_limit(channel)
        return limit if priority == 0 else ordinary_cap(limit, self.settings.notify_daily_reserve)

    def _key(self, channel: str, day: date) -> str:
        return f'{self.prefix}:{channel}:{day.isoformat()}'

    async def _ensure_counted(self, channel: str, day: date) -> None:
        """After a Redis loss the counter starts from what the outbox says went today, never from zero."""
        if (channel, day) in self._counted:
            return
        key = self._key(channel, day)
        if not await self.redis.exists(key):
            midnight = datetime.combine(day, datetime.min.time(), UTC)
            sent = int(await self.pool.fetchval(SENT_TODAY, channel, midnight))
            await self.redis.set(key, sent, nx=True, ex=KEEP_FOR)
        self._counted.add((channel, day))

    async def take(self, channel: str, priority: int, now: datetime | None = None) -> datetime | None:
        """Take one message from today's allowance: None when taken, else when to try again (the next UTC day)."""
        now = now or datetime.now(UTC)
        day = now.astimezone(UTC).date()
        await self._ensure_counted(channel, day)
        taken = await self._take(keys=[self._key(channel, day)], args=[self.cap(channel, priority), KEEP_FOR])
        return None if int(taken) >= 0 else next_day(now)

    async def give_back(self, channel: str, now: datetime | None = None) -> None:
        """Notify did not take the message after all: its unit is free again."""
        day = (now or datetime.now(UTC)).astimezone(UTC).date()
        await self._give_back(keys=[self._key(channel, day)])

    async def used(self, channel: str, now: datetime | None = None) -> int:
        day = (now or datetime.now(UTC)).astimezone(UTC).date()
        await self._ensure_counted(channel, day)
        return int(await self.redis.get(self._key(channel, day)) or 0)

    async def spread(self, channel: str, messages: int, now: datetime | None = None) -> Spread:
        """How `messages` ordinary messages on `channel` would go: today's share left, then a day's share a day."""
        per_day = self.cap(channel, 1)
        left = max(per_day - await self.used(channel, now), 0)
        return spread(channel, messages, left_today=left, per_day=per_day)


def ordinary_cap(limit: int, reserve: float) -> int:
    return max(math.floor(limit * (1 - reserve)), 0)


def spread(channel: str, messages: int, *, left_today: int, per_day: int) -> Spread:
    today = min(messages, left_today)
    rest = messages - today
    days = 1 + (math.ceil(rest / per_day) if rest and per_day else (0 if not rest else 10**6))
    return Spread(channel, messages, today, days)
