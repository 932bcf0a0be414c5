"""A digest goes out at the time the resident chose, on the London clock, summer or winter."""

from __future__ import annotations

from datetime import UTC, datetime, time

import asyncpg
import pytest

from tests.support.factories import make_event, make_resident, make_subscription, record


@pytest.mark.parametrize(
    ('published', 'expected_due'),
    [
        # winter (GMT): 18:30 London is 18:30 UTC, later the same day
        (datetime(2026, 11, 23, 12, 0, tzinfo=UTC), datetime(2026, 11, 23, 18, 30, tzinfo=UTC)),
        # summer (BST): 18:30 London is 17:30 UTC
        (datetime(2026, 7, 14, 12, 0, tzinfo=UTC), datetime(2026, 7, 14, 17, 30, tzinfo=UTC)),
        # after today's time has passed: tomorrow's
        (datetime(2026, 11, 23, 19, 0, tzinfo=UTC), datetime(2026, 11, 24, 18, 30, tzinfo=UTC)),
        # the day the clocks go back (25 Oct 2026): 18:30 that evening is GMT again
        (datetime(2026, 10, 25, 9, 0, tzinfo=UTC), datetime(2026, 10, 25, 18, 30, tzinfo=UTC)),
    ],
)
async def test_a_daily_digest_is_due_at_the_chosen_london_time(
    pg: asyncpg.Pool, published: datetime, expected_due: datetime
) -> None:
    resident = await make_resident(pg)
    await make_subscription(pg, resident, near='M32 0AH', radius_m=500, frequency='daily', digest_time=time(18, 30))
    await record(pg, make_event(), now=published)
    assert await pg.fetchval('select due_at from digests') == expected_due


async def test_the_default_is_eight_in_the_morning(pg: asyncpg.Pool) -> None:
    resident = await make_resident(pg)
    await make_subscription(pg, resident, near='M32 0AH', radius_m=500, frequency='weekly')
    await record(pg, make_event(), now=datetime(2026, 11, 25, 12, 0, tzinfo=UTC))  # a Wednesday
    assert await pg.fetchval('select due_at from digests') == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # Monday
