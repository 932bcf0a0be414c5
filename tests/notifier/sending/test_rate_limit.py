"""The shared send limiter against real Redis, judged by the simulator's copy of Notify's token bucket.

Most tests give the limiter a clock of their own (its slots are then reckoned on it, not on Redis's), so a minute of
sending takes no time and nothing depends on how busy the machine is. The few that use `acquire` for real only
check lower bounds on waiting.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import random
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from notifier.notify_sim.rules.limits import TokenBuckets
from notifier.sending.rate_limit import (
    CHANNEL_COST,
    CLOCK_SKEW_SECONDS,
    TRANSIT_SECONDS,
    SendLimiter,
    next_midnight_utc,
    notify_bucket_max,
)
from notifier.settings import Settings
from tests.support.notify import FakeClock

SERVICE = '11111111-2222-3333-4444-555555555555'
NOTIFY_KEY = f'{SERVICE}-tokens-normal'
START = 1_800_000_000.0
RATE = 50 * 0.995  # the default share of Notify's 50/s at 3,000 a minute
CAPACITY = 1000 - 1 - RATE * (TRANSIT_SECONDS + CLOCK_SKEW_SECONDS)  # 946.8 tokens


def limiter(
    redis: Redis, clock: FakeClock | None = None, per_second: float = RATE, bucket: int = 1000, **options: float
) -> SendLimiter:
    """As a worker builds it at Notify's default 3,000 a minute (bucket 1,000), sustaining 99.5% of 50/s."""
    return SendLimiter(redis, SERVICE, per_second=per_second, bucket=bucket, clock=clock, **options)


# --- a small world: senders, Notify's bucket, requests in transit -----------------------------------------------


@dataclass
class World:
    """Senders (like the pumps' tasks) share limiters on one Redis key and post to Notify's bucket (the simulator's
    `TokenBuckets`, on the same timeline). Each request reaches Notify between CLOCK_SKEW_SECONDS before its slot
    (Notify's clocks, an early wake-up) and TRANSIT_SECONDS after it, at random (seeded)."""

    limiters: list[SendLimiter]
    clock: FakeClock
    senders: int = 32
    seed: int = 12
    notify_starts_empty: bool = False
    notify: TokenBuckets = field(init=False)
    accepted: list[tuple[float, int]] = field(default_factory=list)  # (time, tokens)
    refused: int = 0

    def __post_init__(self) -> None:
        self.notify = TokenBuckets(3000, clock=lambda: self.judge_time)
        self.judge_time = self.clock.now
        if self.notify_starts_empty:
            while self.notify.tally(NOTIFY_KEY) > 0:
                pass

    async def send(self, batches: list[tuple[float, list[str]]]) -> None:
        """Each batch's messages become ready at its time (seconds from now); the senders drain them all."""
        rng = random.Random(self.seed)
        t0 = self.clock.now
        ready = deque(sorted((t0 + at, channel) for at, channels in batches for channel in channels))
        arrivals: list[tuple[float, int]] = []
        wakeups = [(t0, n) for n in range(self.senders)]
        heapq.heapify(wakeups)
        while wakeups and ready:
            now, n = heapq.heappop(wakeups)
            if ready[0][0] > now:  # nothing ready yet: look again when the next message is
                heapq.heappush(wakeups, (ready[0][0], n))
                continue
            _, channel = ready.popleft()
            self.clock.now = now
            slot = await self.limiters[n % len(self.limiters)].reserve(channel)
            if not slot.reserved:
                ready.appendleft((now, channel))
                heapq.heappush(wakeups, (now + slot.ask_again, n))
                continue
            sent_at = now + slot.wait
            # mostly a tenth of a second, one in ten up to the full allowance
            delay = rng.uniform(-CLOCK_SKEW_SECONDS, 0.1 if rng.random() < 0.9 else TRANSIT_SECONDS)
            arrivals.append((sent_at + delay, CHANNEL_COST[channel]))
            heapq.heappush(wakeups, (sent_at + max(delay, 0) + rng.uniform(0.02, 0.2), n))  # Notify answers
        for at, cost in sorted(arrivals):
            self.judge_time = at
            if all(self.notify.tally(NOTIFY_KEY) >= 1 for _ in range(cost)):  # a letter: two checks, as Notify
                self.accepted.append((at, cost))
            else:
                self.refused += 1
        self.clock.now = max(self.clock.now, max((at for at, _ in arrivals), default=self.clock.now))

    def tokens_between(self, start: float, end: float) -> int:
        return sum(cost for at, cost in self.accepted if start <= at < end)


# --- what a user of the limiter notices ----------------------------------------------------------------------


async def test_after_idle_a_burst_goes_at_once_then_sends_follow_at_the_sustained_rate(redis: Redis) -> None:
    clock = FakeClock(START)
    lim = limiter(redis, clock)
    assert lim.capacity == pytest.approx(CAPACITY)
    await lim.reserve('email')
    clock.advance(60)  # idle: our bucket (and Notify's) fills
    waits = [(await lim.reserve('email')).wait for _ in range(1000)]
    at_once = sum(1 for wait in waits if wait == 0)
    assert at_once == math.floor(CAPACITY) == 946
    # then one every 1/RATE s (the first sooner: a fraction of a token was left), reserved ahead, each wait rounded
    # up to the millisecond
    gone = CAPACITY - at_once
    for k, wait in enumerate(waits[at_once : at_once + 40], start=1):
        assert wait == pytest.approx((k - gone) / RATE + 0.0005, abs=0.0006)


async def test_a_new_or_lost_state_starts_as_if_notifys_bucket_were_empty(redis: Redis) -> None:
    clock = FakeClock(START)
    lim = limiter(redis, clock)
    first = await lim.reserve('email')
    # one token below empty, plus the clock allowance, plus the email itself: nothing goes at once
    assert first.wait == pytest.approx((1 + RATE * CLOCK_SKEW_SECONDS + 1) / RATE, abs=0.001)
    clock.advance(120)
    assert (await lim.reserve('email')).wait == 0  # idle: tokens to spend
    await redis.flushdb()  # Redis lost: we no longer know, so the next send waits as at first
    assert (await lim.reserve('email')).wait == pytest.approx(first.wait, abs=0.001)


async def test_two_limiters_sharing_redis_never_overdraw_notifys_bucket(redis: Redis) -> None:
    """Two processes' limiters, 32 senders, requests landing out of order up to a second late: a backlog from a cold
    start, an idle spell, a burst with letters in it, then a trickle. Notify's bucket refuses nothing, the backlog goes
    at ≥ 99% of Notify's rate, and after idle nearly all of Notify's 999 spare tokens go at once."""
    clock = FakeClock(START)
    world = World([limiter(redis, clock), limiter(redis, clock)], clock)
    await world.send([(0, ['email'] * 3000)])
    assert world.refused == 0
    first = min(at for at, _ in world.accepted)
    assert world.tokens_between(first + 1, first + 51) >= 0.99 * 50 * 50  # sustained: 99% of Notify's 50/s

    clock.advance(40)  # idle; then 1,500 messages, one in ten a letter (two tokens), and a few more later
    burst_at = clock.now
    await world.send([(0, (['email'] * 9 + ['letter']) * 150), (15, ['sms'] * 20), (20, ['email'])])
    assert world.refused == 0
    # in 10 s: our 946 spare tokens and 10 s at 49.75/s, as fast as 32 senders go (Notify would allow 999 + 500)
    assert world.tokens_between(burst_at, burst_at + 10) >= 0.98 * (CAPACITY + 10 * RATE)


async def test_a_cold_notify_bucket_is_not_overdrawn_either(redis: Redis) -> None:
    clock = FakeClock(START)
    world = World([limiter(redis, clock), limiter(redis, clock)], clock, notify_starts_empty=True, seed=5)
    await world.send([(0, ['email'] * 500 + ['letter'] * 100)])
    clock.advance(30)
    await world.send([(0, ['letter'] * 400 + ['email'] * 600)])
    assert world.refused == 0


async def test_the_judge_catches_a_limiter_that_believes_in_a_bigger_bucket(redis: Redis) -> None:
    """The same world with a limiter told Notify's bucket holds 1,100: the simulator refuses the overdraft."""
    clock = FakeClock(START)
    world = World([limiter(redis, clock, bucket=1100)], clock)
    await world.send([(0, ['email'] * 10)])
    clock.advance(60)
    await world.send([(0, ['email'] * 2000)])
    assert world.refused > 0


@pytest.mark.parametrize(('late', 'refused'), [(TRANSIT_SECONDS, False), (1.5 * TRANSIT_SECONDS, True)])
async def test_the_transit_margin_holds_if_every_request_of_a_burst_is_held_back_that_long(
    redis: Redis, late: float, refused: bool
) -> None:
    """The worst case the margin is for: after idle, Notify's bucket is full and throws refill away until our first
    request lands; here every request of the burst and of the `late` seconds after it lands at once, `late` seconds
    on (as many senders as it takes), and then each lands CLOCK_SKEW_SECONDS early. One transit allowance passes;
    half as long again is refused, so the margin is no bigger than it needs to be."""
    clock = FakeClock(START)
    first, second = limiter(redis, clock), limiter(redis, clock)
    await first.reserve('email')
    clock.advance(60)
    burst_at, arrivals = clock.now, []
    while clock.now < burst_at + 3:
        slot = await (first, second)[len(arrivals) % 2].reserve('email')
        assert slot.reserved
        sent_at = clock.now + slot.wait
        arrivals.append(max(burst_at + late, sent_at - CLOCK_SKEW_SECONDS))
        clock.now = sent_at
    now = [burst_at]
    notify = TokenBuckets(3000, clock=lambda: now[0])
    notify.tally(NOTIFY_KEY)  # full after the idle spell (this tally's token is back long before the first arrival)
    rejected = 0
    for now[0] in sorted(arrivals):
        rejected += notify.tally(NOTIFY_KEY) < 1
    assert (rejected > 0) is refused


async def test_a_letter_costs_two_tokens(redis: Redis) -> None:
    clock = FakeClock(START)
    lim = limiter(redis, clock, per_second=20)
    await lim.reserve('email')
    first = await lim.reserve('email')
    letter = await lim.reserve('letter')
    email = await lim.reserve('email')
    assert letter.wait - first.wait == pytest.approx(2 / 20, abs=0.002)
    assert email.wait - letter.wait == pytest.approx(1 / 20, abs=0.002)


async def test_a_rate_limit_error_pauses_everyone_halves_the_rate_once_and_recovers(redis: Redis) -> None:
    clock = FakeClock(START)
    first = limiter(redis, clock, per_second=40, pause_seconds=0.5, recover_seconds=1.0)
    second = limiter(redis, clock, per_second=40, pause_seconds=0.5, recover_seconds=1.0)
    before = await first.reserve('email')
    assert await first.rate_limited() is True
    assert await second.rate_limited() is False  # the same 429 seen by another sender in flight: no second halving
    assert await second.current_rate() == pytest.approx(20.0)
    assert await first.rate_limited_count() == 2
    after = await second.reserve('email')
    assert after.epoch != before.epoch  # slots reserved before the 429 are void; their senders queue again
    assert after.wait == pytest.approx(0.5 + 1 / 20, abs=0.002)  # after the pause, at half the rate
    clock.advance(0.5 + 1.0)  # additive increase back to the configured rate
    await first.reserve('email')
    assert await first.current_rate() == pytest.approx(40.0)


def test_the_settings_give_notifys_bucket_less_the_margin_and_can_only_lower_it() -> None:
    def capacity(**values: object) -> float:
        return SendLimiter.from_settings(Redis(), SERVICE, Settings(**values)).capacity  # type: ignore[arg-type]

    assert notify_bucket_max(3000) == 1000 and notify_bucket_max(600) == 201
    assert Settings().notify_sends_per_second == pytest.approx(RATE)
    assert capacity() == pytest.approx(CAPACITY)
    assert capacity(notify_rate_limit=600) == pytest.approx(200 - 10 * 0.995 * 1.05)
    assert capacity(notify_burst=48) == 48
    assert capacity(notify_burst=5000) == pytest.approx(CAPACITY)
    assert capacity(notify_burst=0) == 2  # a letter must still fit


# --- acquire() for real: lower bounds only ---------------------------------------------------------------------


async def timed(coroutine: object) -> float:
    loop = asyncio.get_running_loop()
    started = loop.time()
    await coroutine  # type: ignore[misc]
    return loop.time() - started


async def test_acquire_sleeps_until_the_slot_and_does_not_poll_redis(redis: Redis) -> None:
    lim = limiter(redis, per_second=50)
    await redis.config_resetstat()
    elapsed = await timed(asyncio.gather(*(lim.acquire('email') for _ in range(30))))
    assert elapsed >= (30 + lim.start_debt) / 50 - 0.01  # a cold start: no burst
    stats = await redis.info('commandstats')
    calls = sum(v['calls'] for k, v in stats.items() if k.startswith('cmdstat_eval'))
    assert calls <= 30 * 2  # a reservation each, and a second ask only for those told to come back later


async def test_a_slot_voided_by_a_rate_limit_error_waits_for_the_pause(redis: Redis) -> None:
    lim = limiter(redis, per_second=20, pause_seconds=0.4)
    for _ in range(30):  # queue 1.5 s of slots, so the next sender sleeps long enough for the 429 to land
        await lim.reserve('email')
    waiter = asyncio.create_task(timed(lim.acquire('email')))
    await asyncio.sleep(0.05)
    assert await lim.rate_limited() is True
    assert await waiter >= 0.4 + 1 / 10  # woke, found its slot void, queued behind the pause at half the rate


async def test_the_daily_limit_parks_one_channel_until_midnight_utc(redis: Redis) -> None:
    # Parked in the last seconds before midnight UTC, the channel rightly reopens before the test can look at it:
    # run this part after midnight instead (Redis expires the key on its own clock, which no argument can set).
    to_midnight = (next_midnight_utc() - datetime.now(UTC)).total_seconds()
    if to_midnight < 5:
        await asyncio.sleep(to_midnight + 0.1)
    lim = limiter(redis)
    assert lim.key == f'notifier:ratelimit:{SERVICE}:live'
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
