"""Signing in to manage your updates, without a password: a link by email or a 6-digit code by text.

Whoever types an address gets the same answer whether or not we know it ("If … is signed up, we have sent …"), so
nobody can find out who is signed up; a code typed for a number we do not know fails exactly as a wrong one would,
attempts included. Requests are limited per address and per IP (notifier/web/throttle.py). A sign-in link works once,
for 30 minutes, and opening it only shows a button: mail scanners fetch links, and must not spend it.

The manage link in a message (/manage/s/{token}) needs no sign-in for its own subscription:
subscriptions/manage/link_scope.py.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from aiohttp import web

from notifier.app_keys import PG, QUEUE, SETTINGS
from notifier.outbox.rows import queue_message
from notifier.web import sessions, throttle
from notifier.web.client_ip import client_ip
from notifier.web.rendering import language, render, translate
from subscriptions.manage.common import see_other
from subscriptions.residents import one_time
from subscriptions.residents.models import InvalidContactPoint, canonical_address
from subscriptions.residents.signup import send_confirmation
from templates.registry import notice_message, outbox_purpose

routes = web.RouteTableDef()

PURPOSE = 'sign-in'
JOURNEY = 'manage'
# Only an address the resident proved (a confirmation reached it) signs in: an address typed at sign-up alongside
# someone else's is not theirs to sign in with (subscriptions/residents/signup.py `place`). An unproved one is answered
# exactly as an unknown one.
KNOWN = """
select cp.id, cp.resident_id, r.language from contact_points cp join residents r on r.id = cp.resident_id
where cp.channel = $1 and cp.address = $2 and cp.suppressed_at is null and cp.verified_at is not null
"""
OWNER = 'select resident_id from contact_points where id = $1 and verified_at is not null and suppressed_at is null'


def _read_address(typed: str) -> tuple[str, str] | str:
    """(channel, canonical address), or the key of the error message to show."""
    if not typed:
        return 'manage.sign_in.error_empty'
    channel = 'email' if '@' in typed else 'sms'
    try:
        return channel, canonical_address(channel, typed)
    except InvalidContactPoint:
        return 'manage.sign_in.error_email' if channel == 'email' else 'manage.sign_in.error_mobile'


def _form(request: web.Request, typed: str = '', error: str | None = None, status: int = 200) -> web.Response:
    errors = {'address': translate(language(request), error)} if error else {}
    return render(request, 'manage/sign_in.html', {'typed': typed, 'errors': errors}, status=status)


@routes.get('/manage', name='manage-signin')
async def sign_in_page(request: web.Request) -> web.Response:
    if (await sessions.get(request)).signed_in:
        return see_other('/manage/subscriptions')
    return _form(request)


async def _allowed(request: web.Request, address: str) -> bool:
    settings, redis = request.app[SETTINGS], request.app[QUEUE]
    secret = settings.link_secrets[0]
    by_ip = await throttle.allow(redis, secret, 'manage-sign-in-ip', client_ip(request), throttle.PER_IP)
    by_address = await throttle.allow(redis, secret, 'manage-sign-in', address)
    return by_ip and by_address


async def _queue_message(
    conn: asyncpg.Connection, request: web.Request, channel: str, address: str
) -> uuid.UUID | None:
    """The sign-in link or code, in the outbox; None (and nothing sent) for an address we do not know."""
    known = await conn.fetchrow(KNOWN, channel, address)
    if known is None:
        return None
    settings = request.app[SETTINGS]
    if channel == 'email':
        token = await one_time.issue_link(conn, settings.link_secrets[0], purpose=PURPOSE, contact_point_id=known['id'])
        values = {'sign_in_url': f'{settings.public_url}/manage/sign-in/{token}',
                  'minutes': str(int(one_time.LINK_TTL.total_seconds() // 60))}  # fmt: skip
        notice = 'sign-in-link'
    else:
        code = await one_time.issue_code(conn, settings.link_secrets[0], purpose=PURPOSE, contact_point_id=known['id'])
        values = {'code': code, 'minutes': str(int(one_time.CODE_TTL.total_seconds() // 60))}
        notice = 'sign-in'
    message = notice_message(notice, channel=channel, language=known['language'], **values)
    return await queue_message(
        conn, message, contact_point_id=known['id'], channel=channel, purpose=outbox_purpose(notice)
    )


@routes.post('/manage', name='manage-signin-ask')
async def ask(request: web.Request) -> web.Response:
    typed = str((await request.post()).get('address', '')).strip()[:320]
    read = _read_address(typed)
    if isinstance(read, str):
        return _form(request, typed, read)
    channel, address = read
    if not await _allowed(request, address):
        return _form(request, typed, 'manage.sign_in.error_too_many', status=429)
    async with request.app[PG].acquire() as conn, conn.transaction():
        notification_id = await _queue_message(conn, request, channel, address)
    if notification_id is not None:
        await send_confirmation(request.app[QUEUE], notification_id)
    session = await sessions.get(request)
    journey = session.journey(JOURNEY)
    journey.clear()
    journey.update(channel=channel, address=address, shown=typed, misses=0)
    await sessions.save(request, session)
    return see_other('/manage/check-email' if channel == 'email' else '/manage/enter-code')


async def _journey(request: web.Request, channel: str) -> dict[str, Any] | None:
    journey = (await sessions.get(request)).journey(JOURNEY)
    return journey if journey.get('channel') == channel else None


@routes.get('/manage/check-email', name='manage-check-email')
async def check_email(request: web.Request) -> web.Response:
    journey = await _journey(request, 'email')
    if journey is None:
        return see_other('/manage')
    minutes = int(one_time.LINK_TTL.total_seconds() // 60)
    return render(request, 'manage/check_email.html', {'shown': journey['shown'], 'minutes': minutes})


def _code_page(request: web.Request, journey: dict[str, Any], error: str | None = None, code: str = '') -> web.Response:
    errors = {'code': translate(language(request), error)} if error else {}
    return render(request, 'manage/enter_code.html', {'shown': journey['shown'], 'errors': errors, 'code': code})


@routes.get('/manage/enter-code', name='manage-enter-code')
async def enter_code(request: web.Request) -> web.Response:
    journey = await _journey(request, 'sms')
    return see_other('/manage') if journey is None else _code_page(request, journey)


CODE_ERRORS = {
    one_time.CodeCheck.WRONG: 'manage.code.error_wrong',
    one_time.CodeCheck.EXPIRED: 'manage.code.error_expired',
    one_time.CodeCheck.SPENT: 'manage.code.error_spent',
}


@routes.post('/manage/enter-code', name='manage-check-code')
async def check_code(request: web.Request) -> web.Response:
    journey = await _journey(request, 'sms')
    if journey is None:
        return see_other('/manage')
    typed = ''.join(str((await request.post()).get('code', '')).split())[:20]
    if not typed:
        return _code_page(request, journey, 'manage.code.error_empty')
    if not (typed.isdigit() and len(typed) == 6):
        return _code_page(request, journey, 'manage.code.error_format', typed)
    pool, keys = request.app[PG], request.app[SETTINGS].link_secrets
    async with pool.acquire() as conn:
        known = await conn.fetchrow(KNOWN, 'sms', journey['address'])
        if known is None:  # fail exactly as a wrong code would, and run out of attempts the same way
            journey['misses'] = journey.get('misses', 0) + 1
            await sessions.save(request, await sessions.get(request))
            spent = journey['misses'] >= one_time.MAX_ATTEMPTS
            result = one_time.CodeCheck.SPENT if spent else one_time.CodeCheck.WRONG
        else:
            result, _ = await one_time.check_code(conn, keys, purpose=PURPOSE, contact_point_id=known['id'], code=typed)
    if result is not one_time.CodeCheck.OK:
        return _code_page(request, journey, CODE_ERRORS[result])
    return await _signed_in(request, known['id'])


async def _signed_in(request: web.Request, contact_point_id: int) -> web.Response:
    """Sign the person in (a new session id) and show them everything they hold."""
    resident_id = await request.app[PG].fetchval(OWNER, contact_point_id)
    if resident_id is None:  # suppressed (or deleted) since the link or code was sent
        return render(request, 'manage/link_broken.html', status=404)
    await sessions.sign_in(request, resident_id)
    return see_other('/manage/subscriptions')


@routes.get('/manage/sign-in/{token}', name='manage-signin-link')
async def sign_in_link(request: web.Request) -> web.Response:
    """A button, not an action: a mail scanner opening the link must not use it up."""
    return render(request, 'manage/sign_in_link.html')


@routes.post('/manage/sign-in/{token}', name='manage-signin-use')
async def use_sign_in_link(request: web.Request) -> web.Response:
    token, keys = request.match_info['token'], request.app[SETTINGS].link_secrets
    async with request.app[PG].acquire() as conn:
        redeemed = await one_time.use_link(conn, keys, purpose=PURPOSE, token=token)
    if redeemed is None:
        return render(request, 'manage/link_broken.html', status=404)
    return await _signed_in(request, redeemed.contact_point_id)
