"""Confirming a text-only sign-up with the 6-digit code we sent (/confirm/code), and the page that follows.

The code is tied to the contact point the sign-up was sent to, which this browser's session remembers (never the
URL). A right code activates the subscription and verifies the number; a wrong one says so (each code allows
one_time.MAX_ATTEMPTS guesses); an expired or spent one offers "send a new code", itself limited per number and
per IP like sign-ups. Email sign-ups confirm by the link in the email (subscriptions/pages/links.py).
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from notifier.app_keys import PG, QUEUE, SETTINGS
from notifier.web import rendering, sessions, throttle
from notifier.web.client_ip import client_ip
from subscriptions.journey.steps import see_other, t_for
from subscriptions.journey.submit import SIGNUP, queue_code
from subscriptions.residents import one_time, queries, signup
from subscriptions.residents.api import confirm_subscription
from subscriptions.topics import catalogue as topic_catalogue
from templates.personalisation import describe_subscription

routes = web.RouteTableDef()


def _code_page(request: web.Request, last: dict[str, Any], **context: Any) -> web.Response:
    context.setdefault('errors', {})
    context.setdefault('typed', '')
    context.setdefault('resend', False)
    context.setdefault('resent', False)
    return rendering.render(request, 'signup/code.html', {'shown': last['shown'], **context})


async def _pending_code(request: web.Request) -> dict[str, Any] | None:
    last = (await sessions.get(request)).data.get(SIGNUP)
    return last if last and last.get('channel') == 'sms' and not last.get('confirmed') else None


@routes.get('/confirm/code', name='confirm-code')
async def code_page(request: web.Request) -> web.StreamResponse:
    last = await _pending_code(request)
    if last is None:
        return rendering.render(request, 'signup/no_code.html')
    return _code_page(request, last, resent=bool(request.query.get('resent')))


@routes.post('/confirm/code')
async def code_post(request: web.Request) -> web.StreamResponse:
    last = await _pending_code(request)
    if last is None:
        return rendering.render(request, 'signup/no_code.html')
    t = t_for(request)
    typed = str((await request.post()).get('code', '')).strip()
    digits = re.sub(r'\s', '', typed)
    if not re.fullmatch(r'[0-9]{6}', digits):
        key = 'signup.error.code_missing' if not digits else 'signup.error.code_format'
        return _code_page(request, last, typed=typed, errors={'code': t(key)})
    secrets = request.app[SETTINGS].link_secrets
    signed_in = (await sessions.get(request)).resident_id
    async with request.app[PG].acquire() as conn, conn.transaction():
        result, subscription_id = await one_time.check_code(
            conn, secrets, purpose='confirm', contact_point_id=last['contact_point_id'], code=digits
        )
        confirmed = result is one_time.CodeCheck.OK
        status = await confirm_subscription(conn, subscription_id, signed_in=signed_in) if confirmed else None
    if result is not one_time.CodeCheck.OK:
        key = {
            one_time.CodeCheck.WRONG: 'signup.error.code_wrong',
            one_time.CodeCheck.EXPIRED: 'signup.error.code_expired',
            one_time.CodeCheck.SPENT: 'signup.error.code_spent',
        }[result]
        resend = result is not one_time.CodeCheck.WRONG
        return _code_page(request, last, typed=typed, errors={'code': t(key)}, resend=resend)
    session = await sessions.get(request)
    session.set(SIGNUP, {**last, 'confirmed': status or 'gone'})
    await sessions.save(request, session)
    return see_other('/signup/confirmed')


@routes.post('/confirm/code/resend', name='confirm-code-resend')
async def resend(request: web.Request) -> web.StreamResponse:
    last = await _pending_code(request)
    if last is None:
        return rendering.render(request, 'signup/no_code.html')
    settings, redis = request.app[SETTINGS], request.app[QUEUE]
    async with request.app[PG].acquire() as conn:
        point = await conn.fetchrow('select address from contact_points where id = $1', last['contact_point_id'])
        subscription = await queries.get_subscription(conn, last['subscription_id'])
        names = await topic_catalogue.names(conn)
    if point is None or subscription is None or subscription.status != 'pending':
        return rendering.render(request, 'signup/no_code.html')
    allowed = await throttle.allow(redis, settings.link_secrets[0], 'signup-ip', client_ip(request), throttle.PER_IP)
    allowed &= await throttle.allow(redis, settings.link_secrets[0], 'signup', point['address'])
    if not allowed:
        return _code_page(request, last, errors={'code': t_for(request)('signup.error.wait')}, resend=True)
    what = describe_subscription(
        last['language'], kind=subscription.kind, topics=subscription.topics, radius_m=subscription.radius_m,
        place=last.get('place'), case_reference=subscription.case_reference, names=names,
    )  # fmt: skip
    async with request.app[PG].acquire() as conn, conn.transaction():
        notification_id = await queue_code(
            conn, settings, subscription_id=subscription.id, contact_point_id=last['contact_point_id'],
            language=last['language'], subscription=what,
        )  # fmt: skip
    await signup.send_confirmation(redis, notification_id)
    return see_other('/confirm/code?resent=1')


@routes.get('/signup/confirmed', name='signup-confirmed')
async def confirmed(request: web.Request) -> web.StreamResponse:
    last = (await sessions.get(request)).data.get(SIGNUP)
    if not last or not last.get('confirmed'):
        return see_other('/')
    return rendering.render(request, 'signup/confirmed.html', {'status': last['confirmed']})
