"""The end of every sign-up journey: check your answers, then sign up and send the confirmation.

Submitting writes, in one transaction (subscriptions/residents/signup.py, as the API does): the resident (speaking the
page's language) or the one these addresses already belong to, their contact points, the subscription
(pending) and the confirmation in the outbox — a link by email when there is an email address, else a 6-digit
code by text (subscriptions/residents/one_time.py), entered on /confirm/code (subscriptions/journey/confirm.py).

Sign-ups are limited per address and per IP (notifier/web/throttle.py: GOV.UK's 4 a minute, 11 an hour per
address): over the limit nothing is written or sent, the page asks the person to wait, and their answers stay.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from aiohttp import web
from pydantic import ValidationError

from notifier.app_keys import PG, QUEUE, SETTINGS
from notifier.outbox.rows import queue_message
from notifier.settings import Settings
from notifier.web import rendering, sessions, throttle
from notifier.web.client_ip import client_ip
from subscriptions.journey import steps as journey
from subscriptions.journey.steps import NAMES, Journey, journey_of, see_other, t_for, url
from subscriptions.residents import one_time, queries, signup
from subscriptions.residents.models import NewSubscription
from subscriptions.topics import catalogue as topic_catalogue
from templates.personalisation import TopicNames, describe_subscription
from templates.registry import notice_message, outbox_purpose

logger = logging.getLogger('notifier.journey')

routes = web.RouteTableDef()

SIGNUP = 'signup'  # session key: what the last sign-up sent, for the pages that follow it


def shared_rows(t: journey.Translate, answers: dict[str, Any]) -> journey.Rows:
    channels = answers['channels']
    how = 'both' if len(channels) == 2 else channels[0]
    rows = [{'key': t('signup.check.channel'), 'value': t(f'signup.channel.{how}'), 'slug': 'channel'}]
    if 'email' in channels:
        rows.append({'key': t('signup.check.email'), 'value': answers['email_typed'], 'slug': 'contact'})
    if 'sms' in channels:
        rows.append({'key': t('signup.check.mobile'), 'value': answers['mobile_typed'], 'slug': 'contact'})
        if 'quiet' in answers:
            quiet = answers['quiet']
            value = (
                t('signup.quiet.between', start=answers['quiet_start'], end=answers['quiet_end'])
                if quiet == 'choose'
                else t(f'signup.quiet.{quiet}')
            )
            rows.append({'key': t('signup.check.quiet'), 'value': value, 'slug': 'quiet-hours'})
    return rows


def check_page(
    request: web.Request, chosen: Journey, answers: dict[str, Any], *, errors: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:  # fmt: skip
    t = t_for(request)
    rows = [*chosen.check_rows(t, answers), *shared_rows(t, answers)]
    for row in rows:
        row['href'] = url(chosen.name, row.pop('slug')) + '?change=1'
        row['action'] = t('common.change')
        row['hidden'] = row['key'].lower()
    last = journey.steps(chosen, answers)[-1][0]
    context = {'rows': rows, 'errors': errors or {}, 'journey': chosen.name, 'back': url(chosen.name, last)}
    return rendering.render(request, 'signup/check.html', context, status=status)


@routes.get(f'/{{journey:{NAMES}}}/check', name='signup-check')
async def check(request: web.Request) -> web.Response:
    chosen = journey_of(request)
    answers = await journey.answers_for(request, chosen, 'check')
    return check_page(request, chosen, answers)


async def _allowed(request: web.Request, addresses: dict[str, str]) -> bool:
    settings, redis = request.app[SETTINGS], request.app[QUEUE]
    secret = settings.link_secrets[0]
    allowed = await throttle.allow(redis, secret, 'signup-ip', client_ip(request), throttle.PER_IP)
    for address in addresses.values():
        allowed &= await throttle.allow(redis, secret, 'signup', address)
    return allowed


async def queue_code(
    conn: asyncpg.Connection, settings: Settings, *, subscription_id: int, contact_point_id: int, language: str,
    subscription: str,
) -> Any:  # fmt: skip
    """A new 6-digit code for a text-only sign-up, and the text that carries it, in the outbox."""
    code = await one_time.issue_code(
        conn, settings.link_secrets[0], purpose='confirm', contact_point_id=contact_point_id,
        subscription_id=subscription_id,
    )  # fmt: skip
    minutes = str(int(one_time.CODE_TTL.total_seconds() // 60))
    message = notice_message(
        'confirm-code', channel='sms', language=language, subscription=subscription, code=code, minutes=minutes
    )
    return await queue_message(
        conn, message, contact_point_id=contact_point_id, channel='sms', purpose=outbox_purpose('confirm-code'),
        subscription_id=subscription_id,
    )  # fmt: skip


def describe(
    chosen: Journey, spec: NewSubscription, language: str, answers: dict[str, Any], names: TopicNames | None = None
) -> str:
    return describe_subscription(
        language, kind=spec.kind, topics=spec.topics, radius_m=spec.radius_m, place=chosen.place(answers),
        case_reference=spec.case_reference, names=names,
    )  # fmt: skip


# A case reported with contact details (a consent from the case system) is followed from the website only with those
# details: a case reference is short and guessable, and a case's updates can say where someone lives.
REPORTER_GUARD = """
select exists (
           select 1 from consents where case_source = $1 and upper(case_reference) = upper($2)
       ) as guarded,
       exists (
           select 1 from consents c
           where c.case_source = $1 and upper(c.case_reference) = upper($2)
             and (exists (select 1 from jsonb_each_text(coalesce(c.addresses, '{}')) a where a.value = any($3::text[]))
                  or exists (select 1 from contact_points p
                             where p.resident_id = c.resident_id and p.address = any($3::text[])))
       ) as reporter
"""


async def _check_reporter(conn: asyncpg.Connection, spec: NewSubscription, addresses: dict[str, str]) -> None:
    if spec.kind != 'case':
        return
    row = await conn.fetchrow(REPORTER_GUARD, spec.case_source, spec.case_reference, list(addresses.values()))
    if row['guarded'] and not row['reporter']:
        raise signup.SignupRefused('not the reporter of this case', {'case': 'not the reporter'})


async def _sign_up(
    request: web.Request, chosen: Journey, answers: dict[str, Any], spec: NewSubscription, addresses: dict[str, str]
) -> tuple[Any, dict[str, Any]]:
    """(the confirmation's outbox id, what the next page needs); SignupRefused when we cannot."""
    settings = request.app[SETTINGS]
    async with request.app[PG].acquire() as conn, conn.transaction():
        await _check_reporter(conn, spec, addresses)
        session = await sessions.get(request)
        placed = await signup.place(conn, rendering.language(request), addresses, signed_in=session.resident_id)  # type: ignore[arg-type]
        language, points = placed.language, placed.points
        subscription_id = await queries.create_subscription(conn, placed.resident_id, spec)
        if 'email' in addresses:
            notification_id, _ = await signup.queue_confirmation(
                conn, settings, subscription_id, spec, language=language, points=points, place=chosen.place(answers)
            )
            return notification_id, {'channel': 'email', 'shown': answers['email_typed']}
        if 'sms' not in points:
            raise signup.SignupRefused('that address was registered by someone else just now; try again')
        notification_id = await queue_code(
            conn, settings, subscription_id=subscription_id, contact_point_id=points['sms'].id, language=language,
            subscription=describe(chosen, spec, language, answers, await topic_catalogue.names(conn)),
        )  # fmt: skip
        sent = {'channel': 'sms', 'shown': answers['mobile_typed'], 'contact_point_id': points['sms'].id}
        return notification_id, {
            **sent,
            'subscription_id': subscription_id,
            'language': language,
            'place': chosen.place(answers),
        }


@routes.post(f'/{{journey:{NAMES}}}/check')
async def submit(request: web.Request) -> web.StreamResponse:
    chosen = journey_of(request)
    session = await sessions.get(request)
    last = session.data.get(SIGNUP) or {}
    if not session.journey(chosen.name) and last.get('journey') == chosen.name:  # a second press of the button
        return see_other('/signup/sent' if last.get('channel') == 'email' else '/confirm/code')
    answers = await journey.answers_for(request, chosen, 'check')
    t = t_for(request)
    try:
        spec = journey.subscription(chosen, answers)
    except ValidationError:
        logger.warning('a %s sign-up could not be made from its answers', chosen.name)
        return check_page(request, chosen, answers, errors={'main-content': t('signup.error.start_again')})
    addresses = {channel: answers['email' if channel == 'email' else 'mobile'] for channel in spec.channels}
    if not await _allowed(request, addresses):
        return check_page(request, chosen, answers, errors={'main-content': t('signup.error.wait')}, status=429)
    try:
        notification_id, sent = await _sign_up(request, chosen, answers, spec, addresses)
    except signup.SignupRefused as exc:
        key = (
            'signup.error.not_reporter'
            if 'case' in exc.errors
            else 'signup.error.suppressed'
            if exc.errors
            else 'signup.error.refused'
        )
        return check_page(request, chosen, answers, errors={'main-content': t(key)})
    await signup.send_confirmation(request.app[QUEUE], notification_id)
    session.data.get('journeys', {}).pop(chosen.name, None)
    session.set(SIGNUP, {**sent, 'journey': chosen.name})
    await sessions.save(request, session)
    return see_other('/signup/sent' if sent['channel'] == 'email' else '/confirm/code')


@routes.get('/signup/sent', name='signup-sent')
async def sent(request: web.Request) -> web.StreamResponse:
    last = (await sessions.get(request)).data.get(SIGNUP)
    if not last or last.get('channel') != 'email':
        return see_other('/')
    return rendering.render(request, 'signup/sent.html', {'shown': last['shown'], 'journey': last['journey']})
