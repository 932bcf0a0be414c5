"""Daily and weekly subscribers get one combined message per channel when their digest falls due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from notifier.notify_sim.rules.rendering import render
from notifier.outbox.tokens import read_token
from notifier.shell.app import create_app
from subscriptions.matching.digests import close_due_digests, see_all_url
from subscriptions.residents import queries
from templates.registry import template
from tests.conftest import Services
from tests.support.app import settings_for
from tests.support.factories import make_event, make_resident, make_subscription, record

SECRET = b'digest-test-secret'
PUBLIC = 'https://tellme.example.gov.uk'
MONDAY_NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


async def _close(pg: asyncpg.Pool, now: datetime):  # type: ignore[no-untyped-def]
    async with pg.acquire() as conn, conn.transaction():
        return await close_due_digests(conn, now=now, public_url=PUBLIC, secret=SECRET)


async def test_a_daily_subscriber_gets_one_digest_with_every_event(pg: asyncpg.Pool) -> None:
    resident = await make_resident(pg)
    await make_subscription(pg, resident, near='M32 0AH', radius_m=500, frequency='daily', topics=['planning'])
    titles = ['Loft conversion', 'Rear extension', 'New shopfront']
    for title in titles:
        assert (await record(pg, make_event(title=title), now=MONDAY_NOON)).matched == 1
    assert await pg.fetchval("select count(*) from notifications where status = 'held'") == 3

    nothing_yet = await _close(pg, MONDAY_NOON)
    assert nothing_yet.messages == []

    closed = await _close(pg, MONDAY_NOON + timedelta(days=1))
    assert closed.digests == 1 and len(closed.messages) == 1
    row = await pg.fetchrow('select * from notifications where id = $1', closed.messages[0])
    assert row['purpose'] == 'digest' and row['status'] == 'pending' and row['channel'] == 'email'
    body = render(template(str(row['template_id']))['body'], row['personalisation'])
    for title in titles:
        assert title in body
    assert '((' not in body
    assert await pg.fetchval("select count(*) from notifications where status = 'digested'") == 3
    # closing again sends nothing more: the digest is closed, and the next event opens a new one
    assert (await _close(pg, MONDAY_NOON + timedelta(days=2))).messages == []


async def test_items_of_an_ended_subscription_are_not_sent(pg: asyncpg.Pool) -> None:
    resident = await make_resident(pg)
    sub = await make_subscription(pg, resident, near='M32 0AH', radius_m=500, frequency='weekly')
    await record(pg, make_event(), now=MONDAY_NOON)
    async with pg.acquire() as conn:
        assert await queries.end_subscription(conn, sub, reason='unsubscribed', by='resident')
    closed = await _close(pg, MONDAY_NOON + timedelta(days=8))
    assert closed.messages == [] and closed.empty == 1
    assert await pg.fetchval("select status from notifications where purpose = 'event'") == 'cancelled'


async def test_the_see_all_link_is_permanent_and_unguessable() -> None:
    url = see_all_url(PUBLIC, SECRET, 42)
    token = url.rsplit('/', 1)[1]
    assert read_token([SECRET], 'digest', token) == 42
    assert read_token([SECRET], 'digest', token[:-2] + 'AA') is None
    assert read_token([b'another-key'], 'digest', token) is None


async def test_the_see_all_page_lists_every_item(aiohttp_client: Any, services: Services, pg: asyncpg.Pool) -> None:
    resident = await make_resident(pg)
    await make_subscription(pg, resident, near='M32 0AH', radius_m=500, frequency='daily')
    titles = [f'Application {n}' for n in range(12)]  # more than an email digest shows
    for title in titles:
        await record(pg, make_event(title=title), now=MONDAY_NOON)
    await _close(pg, MONDAY_NOON + timedelta(days=1))
    digest_id = await pg.fetchval('select id from digests')
    settings = settings_for(services, secret_key=SECRET.decode(), public_url=PUBLIC)
    client = await aiohttp_client(create_app(settings))
    response = await client.get(see_all_url(PUBLIC, SECRET, digest_id).removeprefix(PUBLIC))
    assert response.status == 200
    text = await response.text()
    assert all(title in text for title in titles)
    assert response.headers['Cache-Control'] == 'no-store'
    assert (await client.get(f'/d/{digest_id}.AAAAAAAAAAAAAAAAAAAAAA')).status == 404


async def test_a_digest_names_news_on_a_catalogue_topic_as_the_catalogue_does(pg: asyncpg.Pool) -> None:
    """A topic the council added (trees) and one shipped in the catalogue only (roadworks): named, not 'News'."""
    await pg.execute(
        "insert into topics (key, name_en, name_cy, hint_en, hint_cy, group_key, offered) values ('trees', "
        "'Tree works', 'Gwaith coed', '', '', 'other', true)"
    )
    resident = await make_resident(pg)
    topics = ['planning', 'trees', 'roadworks']
    await make_subscription(pg, resident, near='M32 0AH', radius_m=500, frequency='daily', topics=topics)
    assert (
        await record(pg, make_event(kind='works.planned', topic='trees', title='Felling on Park Road'), now=MONDAY_NOON)
    ).matched == 1
    await record(pg, make_event(kind='roads.closure', topic='roadworks', title='A56 closed'), now=MONDAY_NOON)
    await record(pg, make_event(title='Loft conversion'), now=MONDAY_NOON)

    closed = await _close(pg, MONDAY_NOON + timedelta(days=1))
    row = await pg.fetchrow('select * from notifications where id = $1', closed.messages[0])
    body = render(template(str(row['template_id']))['body'], row['personalisation'])
    assert '* Tree works: Felling on Park Road' in body
    assert '* Roadworks and road closures: A56 closed' in body
    assert '* New planning application: Loft conversion' in body
    assert 'News' not in body
