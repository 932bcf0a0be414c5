"""The shared send limiter against real Redis: several limiters on one key behave as one sender."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from notifier.sending.rate_limit import SendLimiter, next_midnight_utc

SERVICE = '11111111-2222-3333-4444-555555555555'


def limiter(redis: Redis, per_second: float = 40.0, **options: float) -> SendLimiter:
    return SendLimiter(redis, SERVICE, per_second=per_second, burst_seconds=0.1, **options)


async def timed(coroutine: object) -> float:
    loop = asyncio.get_running_loop()
    started = loop.time()
    await coroutine  # type: ignore[misc]
    return loop.time() - started


async def test_two_processes_together_stay_at_the_shared_rate(redis: Redis) -> None:
    first, second = limiter(redis), limiter(redis)  # as two worker processes would build them
    assert first.key == f'notifier:ratelimit:{SERVICE}:live'

    async def sends(lim: SendLimiter, count: int) -> None:
        for _ in range(count):
            await lim.acquire('email')

    elapsed = await timed(asyncio.gather(*(sends(lim, 20) for lim in (first, second, first, second))))
    # 80 sends at 40/s with a 4-send burst: at least (80 - 4) / 40 seconds
    assert elapsed >= 76 / 40 - 0.05
    assert elapsed < 76 / 40 + 0.6


async def test_waiting_for_a_slot_sleeps_rather_than_polling_redis(redis: Redis) -> None:
    lim = limiter(redis, per_second=20)
    await redis.config_resetstat()
    await asyncio.gather(*(lim.acquire('email') for _ in range(30)))
    stats = await redis.info('commandstats')
    calls = sum(v['calls'] for k, v in stats.items() if k.startswith('cmdstat_eval'))
    assert calls <= 30 * 2  # a reservation each, and a second ask only for those told to come back later


async def test_a_letter_costs_two_tokens(redis: Redis) -> None:
    lim = limiter(redis, per_second=20)
    await lim.acquire('email')  # spend the burst
    await lim.acquire('email')
    letters = await timed(asyncio.gather(*(lim.acquire('letter') for _ in range(5))))
    emails = await timed(asyncio.gather(*(lim.acquire('email') for _ in range(5))))
    assert letters == pytest.approx(2 * emails, rel=0.35)


async def test_a_rate_limit_error_pauses_everyone_halves_the_rate_once_and_recovers(redis: Redis) -> None:
    first, second = limiter(redis, pause_seconds=0.5, recover_seconds=1.0), limiter(redis, pause_seconds=0.5)
    assert await first.rate_limited() is True
    assert await second.rate_limited() is False  # the same 429 seen by another sender in flight: no second halving
    assert await second.current_rate() == pytest.approx(20.0)
    assert await first.rate_limited_count() == 2
    waited = await timed(second.acquire('email'))
    assert waited >= 0.45
    await asyncio.sleep(1.2)  # additive increase back to the configured rate
    await first.acquire('email')
    assert await first.current_rate() == pytest.approx(40.0)


async def test_the_daily_limit_parks_one_channel_until_midnight_utc(redis: Redis) -> None:
    # Parked in the last seconds before midnight UTC, the channel rightly reopens before the test can look at it:
    # run this part after midnight instead (Redis expires the key on its own clock, which no argument can set).
    to_midnight = (next_midnight_utc() - datetime.now(UTC)).total_seconds()
    if to_midnight < 5:
        await asyncio.sleep(to_midnight + 0.1)
    lim = limiter(redis)
    until = await lim.park('sms')
    assert until == next_midnight_utc()
    assert await limiter(redis).parked_until('sms') == until
    assert await lim.parked_until('email') is None
    assert await lim.parked_channels() == ['sms']
    ttl = await redis.ttl(f'{lim.key}:parked:sms')
    assert 0 < ttl <= (until - datetime.now(UTC)).total_seconds() + 1


def test_next_midnight_is_utc_whatever_the_local_clock_says() -> None:
    late = datetime(2026, 3, 29, 23, 59, 59, tzinfo=UTC)
    assert next_midnight_utc(late) == datetime(2026, 3, 30, tzinfo=UTC)
