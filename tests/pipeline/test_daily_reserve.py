"""A bulletin bigger than a day's Notify allowance does not lock residents out: it takes the share for news, goes on
the next day, and a resident asking for a sign-in link that evening still gets one."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import asyncpg
from redis.asyncio import Redis

from notifier.sending.daily_budget import next_day
from notifier.shell.app import create_app
from tests.conftest import Services
from tests.support.app import settings_for
from tests.support.factories import make_resident
from tests.support.manage import PAGES
from tests.support.notify import DELIVERY_SETTINGS, link_in, many_notifications, sender_for, start_sim
from tests.support.pages import post_form


async def clear_of_midnight() -> None:
    """Notify counts the day by its UTC date: run this after 00:00 UTC rather than across it."""
    now = datetime.now(UTC)
    to_midnight = (next_day(now) - now).total_seconds()
    if to_midnight < 60:
        await asyncio.sleep(to_midnight + 0.5)


async def test_a_2000_person_bulletin_on_a_500_a_day_limit_leaves_room_for_sign_in_codes(
    services: Services, pg: asyncpg.Pool, redis: Redis, aiohttp_client: Any
) -> None:
    await clear_of_midnight()
    async with start_sim((), rate_limit_per_minute=1_000_000, status_delay=3600, daily_limits={'email': 500}) as notify:
        assert all(link.ok for link in await notify.link(pg))
        settings = settings_for(services, notify, **(DELIVERY_SETTINGS | PAGES), notify_daily_limit_email=500)
        sender = sender_for(pg, redis, notify.client(timeout=5), settings)
        await many_notifications(pg, 2000, purpose='bulletin')

        outcomes: dict[str, int] = {}
        while claimed := await sender.claim_ready(100):
            for one in claimed:
                outcome = await sender.send(one)
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
        # 450 today (500 less the 10% kept back), then the rest waits for tomorrow: nothing failed, nothing lost
        assert set(outcomes) == {'sent', 'daily-limit'} and outcomes['sent'] == 450
        tomorrow = next_day(datetime.now(UTC))
        waiting = await pg.fetch("select not_before from notifications where purpose = 'bulletin' and status <> 'sent'")
        assert len(waiting) == 1550 and {r['not_before'] for r in waiting} == {tomorrow}

        # that evening a resident asks to sign in: the code goes at once, on the share kept for it
        resident = await make_resident(pg, email='resident@example.com')
        client = await aiohttp_client(create_app(settings))
        asked = await post_form(client, '/manage', {'address': resident.email})
        assert asked.status == 303
        [code] = await pg.fetch("select id from notifications where purpose = 'sign-in'")
        assert await sender.deliver(code['id']) == 'sent'
        [delivered] = notify.sent(code['id'])
        assert delivered.to == 'resident@example.com' and link_in(delivered.body, '/manage')
        # and Notify itself never had to refuse anything
        assert len(notify.sim.store.all()) == 451
