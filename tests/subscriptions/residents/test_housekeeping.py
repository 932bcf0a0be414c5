"""We keep our promise to forget: a sign-up nobody confirms is gone after 7 days, with the person if nothing else of
theirs is left; someone with a confirmed subscription keeps it."""

from __future__ import annotations

import asyncpg

from subscriptions.residents import housekeeping
from tests.support.factories import make_resident, make_subscription


async def _age(pg: asyncpg.Pool, subscription_id: int, days: int) -> None:
    await pg.execute(
        'update subscriptions set created_at = now() - make_interval(days => $2) where id = $1', subscription_id, days
    )


async def test_an_unconfirmed_sign_up_is_forgotten_after_seven_days_with_its_person(pg: asyncpg.Pool) -> None:
    stranger = await make_resident(pg, verified=False)
    old = await make_subscription(pg, stranger, status='pending', kind='topic', topics=['planning'])
    await _age(pg, old, 8)
    recent_person = await make_resident(pg, verified=False)
    recent = await make_subscription(pg, recent_person, status='pending', kind='topic', topics=['planning'])
    await _age(pg, recent, 6)

    async with pg.acquire() as conn:
        forgotten = await housekeeping.forget(conn)

    assert forgotten.subscriptions >= 1 and forgotten.residents >= 1
    assert await pg.fetchval('select count(*) from subscriptions where id = $1', old) == 0
    assert await pg.fetchval('select count(*) from residents where id = $1', stranger.id) == 0
    assert await pg.fetchval('select count(*) from contact_points where resident_id = $1', stranger.id) == 0
    assert await pg.fetchval('select status from subscriptions where id = $1', recent) == 'pending'


async def test_a_resident_with_a_confirmed_subscription_keeps_it_and_their_address(pg: asyncpg.Pool) -> None:
    resident = await make_resident(pg)  # verified email
    active = await make_subscription(pg, resident, kind='topic', topics=['planning'])
    stale = await make_subscription(pg, resident, status='pending', kind='topic', topics=['licensing'])
    await _age(pg, stale, 30)
    await _age(pg, active, 30)

    async with pg.acquire() as conn:
        await housekeeping.forget(conn)

    assert await pg.fetchval('select status from subscriptions where id = $1', active) == 'active'
    assert await pg.fetchval('select count(*) from subscriptions where id = $1', stale) == 0
    assert await pg.fetchval('select count(*) from residents where id = $1', resident.id) == 1


async def test_expired_sessions_go(pg: asyncpg.Pool) -> None:
    await pg.execute(
        "insert into web_sessions (id_hash, expires_at) values ($1, now() - interval '1 minute'), "
        "($2, now() + interval '1 hour')",
        b'x' * 32,
        b'y' * 32,
    )
    async with pg.acquire() as conn:
        await housekeeping.forget(conn)
    left = await pg.fetch('select id_hash from web_sessions where id_hash = any($1::bytea[])', [b'x' * 32, b'y' * 32])
    assert [row['id_hash'] for row in left] == [b'y' * 32]
