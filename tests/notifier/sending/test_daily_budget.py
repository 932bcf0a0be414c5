"""Each channel's daily Notify allowance: ordinary messages leave a reserve for sign-in codes, the count survives a
lost Redis, and a message Notify did not take gives its unit back."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest
from redis.asyncio import Redis

from notifier.sending.daily_budget import DailyBudget, next_day, spread
from tests.conftest import Services
from tests.support.app import settings_for
from tests.support.notify import many_notifications

NOON = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def budget(services: Services, redis: Redis, pg: asyncpg.Pool, limit: int = 10) -> DailyBudget:
    return DailyBudget(redis, pg, settings_for(services, notify_daily_limit_email=limit), 'service-1')


async def test_ordinary_messages_stop_at_their_share_and_codes_use_the_reserve(
    services: Services, redis: Redis, pg: asyncpg.Pool
) -> None:
    daily = budget(services, redis, pg)
    assert [await daily.take('email', 1, NOON) for _ in range(9)] == [None] * 9
    assert await daily.take('email', 1, NOON) == next_day(NOON)  # 10% of 10 kept back
    assert await daily.take('email', 0, NOON) is None  # a sign-in code
    assert await daily.take('email', 0, NOON) == next_day(NOON)  # the whole limit is used
    assert await daily.take('sms', 1, NOON) is None  # each channel has its own
    tomorrow = next_day(NOON)
    assert await daily.take('email', 1, tomorrow) is None  # a new UTC day, a new allowance


async def test_a_unit_notify_did_not_take_is_given_back(services: Services, redis: Redis, pg: asyncpg.Pool) -> None:
    daily = budget(services, redis, pg, limit=2)
    assert await daily.take('email', 0, NOON) is None and await daily.take('email', 0, NOON) is None
    await daily.give_back('email', NOON)
    assert await daily.used('email', NOON) == 1
    assert await daily.take('email', 0, NOON) is None


async def test_after_redis_is_lost_the_count_starts_from_what_the_outbox_sent_today(
    services: Services, redis: Redis, pg: asyncpg.Pool
) -> None:
    await many_notifications(pg, 7)
    now = NOON  # a chosen instant: the sends and the recount fall on one UTC day whatever the hour this runs
    await pg.execute("update notifications set status = 'delivered', sent_at = $1", now)
    await redis.flushdb()
    daily = budget(services, redis, pg)
    assert await daily.used('email', now) == 7
    assert await daily.take('email', 1, now) is None
    assert await daily.take('email', 1, now) is None
    assert await daily.take('email', 1, now) is not None  # 9 is the share for news


@pytest.mark.parametrize(
    ('messages', 'left', 'per_day', 'today', 'days'),
    [(2000, 450, 450, 450, 5), (6, 2, 2, 2, 3), (10, 10, 450, 10, 1), (0, 0, 450, 0, 1), (100, 0, 50, 0, 3)],
)
def test_how_many_days_a_bulletin_takes(messages: int, left: int, per_day: int, today: int, days: int) -> None:
    shown = spread('email', messages, left_today=left, per_day=per_day)
    assert (shown.today, shown.days) == (today, days)
