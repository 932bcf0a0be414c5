"""The security parts every resident page relies on: forged forms are refused, one-time codes and links work once
and resist guessing, and one address cannot be used to flood someone with messages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis

from notifier.web import throttle
from subscriptions.residents import one_time
from subscriptions.residents.one_time import CodeCheck
from tests.support.factories import make_resident

SECRET = b'security-parts-secret'
pytestmark = pytest.mark.settings(secret_key=SECRET.decode())  # for the `client` fixture


async def test_a_form_posted_without_our_token_is_refused_with_a_page_that_says_what_to_do(client: Any) -> None:
    forged = await client.post('/privacy', data={'anything': 'at all'})
    assert forged.status == 403
    assert 'This form has expired' in await forged.text()


async def test_a_token_only_works_with_the_cookie_it_was_made_for(client: Any) -> None:
    from notifier.web import csrf

    mine, theirs = 'a' * 22, 'b' * 22
    token_for_theirs = csrf._sign(SECRET, theirs)
    client.session.cookie_jar.update_cookies({csrf.COOKIE: mine})
    stolen = await client.post('/privacy', data={csrf.FIELD: token_for_theirs})
    assert stolen.status == 403 and 'This form has expired' in await stolen.text()
    own = await client.post('/privacy', data={csrf.FIELD: csrf._sign(SECRET, mine)})
    assert own.status == 405, 'past the forgery check, the page simply does not take forms'


async def test_a_one_time_link_works_once_and_only_for_its_purpose(pg: asyncpg.Pool) -> None:
    resident = await make_resident(pg)
    async with pg.acquire() as conn:
        token = await one_time.issue_link(conn, SECRET, purpose='sign-in', contact_point_id=resident.email_id)
        assert len(token) >= 22, '128 bits, base64url'
        wrong_purpose = await one_time.use_link(conn, [SECRET], purpose='confirm', token=token)
        first = await one_time.use_link(conn, [SECRET], purpose='sign-in', token=token)
        second = await one_time.use_link(conn, [SECRET], purpose='sign-in', token=token)
    assert wrong_purpose is None
    assert first is not None and first.contact_point_id == resident.email_id
    assert second is None, 'a link works once'


async def test_an_expired_link_does_nothing(pg: asyncpg.Pool) -> None:
    resident = await make_resident(pg)
    async with pg.acquire() as conn:
        token = await one_time.issue_link(
            conn, SECRET, purpose='sign-in', contact_point_id=resident.email_id, ttl=timedelta(seconds=-1)
        )
        assert await one_time.use_link(conn, [SECRET], purpose='sign-in', token=token) is None


async def test_a_code_allows_five_guesses_then_must_be_sent_again(pg: asyncpg.Pool) -> None:
    resident = await make_resident(pg, email=False, sms=True)
    async with pg.acquire() as conn:
        code = await one_time.issue_code(conn, SECRET, purpose='confirm', contact_point_id=resident.sms_id)
        wrong = f'{(int(code) + 1) % 1_000_000:06d}'
        results = [
            (
                await one_time.check_code(
                    conn, [SECRET], purpose='confirm', contact_point_id=resident.sms_id, code=wrong
                )
            )[0]
            for _ in range(5)
        ]
        after = await one_time.check_code(
            conn, [SECRET], purpose='confirm', contact_point_id=resident.sms_id, code=code
        )
    assert results == [CodeCheck.WRONG] * 4 + [CodeCheck.SPENT]
    assert after[0] == CodeCheck.SPENT, 'the right code no longer works after five wrong guesses'


async def test_the_right_code_with_spaces_works_once_and_a_new_code_replaces_the_old(pg: asyncpg.Pool) -> None:
    resident = await make_resident(pg, email=False, sms=True)
    cp = resident.sms_id
    async with pg.acquire() as conn:
        old = await one_time.issue_code(conn, SECRET, purpose='confirm', contact_point_id=cp)
        new = await one_time.issue_code(conn, SECRET, purpose='confirm', contact_point_id=cp)
        if old != new:
            stale = await one_time.check_code(conn, [SECRET], purpose='confirm', contact_point_id=cp, code=old)
            assert stale[0] == CodeCheck.WRONG, 'only the newest code works'
        spaced = f'{new[:3]} {new[3:]}'
        ok = await one_time.check_code(conn, [SECRET], purpose='confirm', contact_point_id=cp, code=spaced)
        again = await one_time.check_code(conn, [SECRET], purpose='confirm', contact_point_id=cp, code=new)
        other_purpose = await one_time.check_code(conn, [SECRET], purpose='sign-in', contact_point_id=cp, code=new)
    assert ok[0] == CodeCheck.OK
    assert again[0] == CodeCheck.SPENT and other_purpose[0] == CodeCheck.SPENT


async def test_an_expired_code_says_so(pg: asyncpg.Pool) -> None:
    resident = await make_resident(pg, email=False, sms=True)
    async with pg.acquire() as conn:
        code = await one_time.issue_code(
            conn, SECRET, purpose='sign-in', contact_point_id=resident.sms_id, ttl=timedelta(seconds=-1)
        )
        result = await one_time.check_code(
            conn, [SECRET], purpose='sign-in', contact_point_id=resident.sms_id, code=code
        )
    assert result[0] == CodeCheck.EXPIRED


async def test_one_address_gets_four_tries_a_minute_and_redis_never_sees_it(redis: Redis) -> None:
    allowed = [await throttle.allow(redis, SECRET, 'sign-up', 'Someone@Example.com') for _ in range(20)]
    assert allowed == [True] * 4 + [False] * 16
    assert await throttle.allow(redis, SECRET, 'sign-up', 'someone-else@example.com')
    keys = [key.decode() for key in await redis.keys('tellme:throttle:*')]
    assert keys and not any('example' in key.lower() for key in keys)


async def test_without_redis_the_throttle_lets_people_through() -> None:
    dead = Redis.from_url('redis://127.0.0.1:1/0', socket_connect_timeout=0.2)
    try:
        assert await throttle.allow(dead, SECRET, 'sign-up', 'someone@example.com')
    finally:
        await dead.aclose()


async def test_text_no_database_can_hold_gets_a_page_saying_so_not_a_crash(client: Any) -> None:
    query = await client.get('/privacy', params={'q': 'a\x00b'})
    assert query.status == 400 and 'Sorry, we could not read that' in await query.text()
    api = await client.get('/api/notifications/1', params={'x': 'a\x00b'})
    assert api.status == 400 and (await api.json())['errors']
    from notifier.web import csrf

    client.session.cookie_jar.update_cookies({csrf.COOKIE: 'c' * 22})
    form = await client.post('/privacy', data={csrf.FIELD: csrf._sign(SECRET, 'c' * 22), 'title': 'bad\x00title'})
    assert form.status == 400 and 'Sorry, we could not read that' in await form.text()
