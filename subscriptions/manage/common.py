"""What the manage pages share: who is signed in, their subscriptions, a subscription in words, and flashes.

A signed-in session (notifier/web/sessions.py) holds only the resident's id. Every page that shows or changes a
subscription loads it together with that id, so one resident can never see or change another's, whatever number
is typed into the address bar (it is simply "page not found").
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from aiohttp import web

from notifier.app_keys import PG, SETTINGS
from notifier.outbox.links import MANAGE_TOKEN_PURPOSE
from notifier.outbox.tokens import make_token, read_token
from notifier.web import sessions
from notifier.web.rendering import language, translate
from subscriptions.residents.models import Subscription
from templates.personalisation import describe_subscription, mask_address

NEXT = 'manage_next'  # the subscription a manage link asked for, kept in the session until sign-in
FLASH = 'flash'

OWNED = 'select * from subscriptions where id = $1 and resident_id = $2'
CONTACTS = """
select id, channel, address, verified_at, suppressed_at from contact_points
where resident_id = $1 and channel in ('email', 'sms') order by channel, id
"""

SignedInHandler = Callable[[web.Request, int], Awaitable[web.StreamResponse]]


def see_other(location: str) -> web.Response:
    """303 after a POST (returned, not raised, so the session cookie set on the way out is kept)."""
    return web.Response(status=303, headers={'Location': location, 'Cache-Control': 'no-store'})


def manage_path(secret: bytes, subscription_id: int) -> str:
    """The permanent link in a message that opens that subscription's page (after signing in if need be)."""
    return f'/manage/s/{make_token(secret, MANAGE_TOKEN_PURPOSE, subscription_id)}'


def manage_url(public_url: str, secret: bytes, subscription_id: int) -> str:
    return public_url + manage_path(secret, subscription_id)


def read_manage_token(secrets: list[bytes], token: str) -> int | None:
    return read_token(secrets, MANAGE_TOKEN_PURPOSE, token)


def signed_in_only(handler: SignedInHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The page needs a signed-in resident; anyone else is sent to sign in (nothing is shown or changed)."""

    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        session = await sessions.get(request)
        if session.resident_id is None:
            return see_other('/manage')
        return await handler(request, session.resident_id)

    return wrapper


async def owned(conn: asyncpg.Connection | asyncpg.Pool, resident_id: int, subscription_id: int) -> Subscription | None:
    row = await conn.fetchrow(OWNED, subscription_id, resident_id)
    return Subscription.model_validate(dict(row)) if row else None


async def owned_or_404(request: web.Request, resident_id: int) -> Subscription:
    text = request.match_info.get('id', '')
    found = await owned(request.app[PG], resident_id, int(text)) if text.isdigit() and len(text) <= 18 else None
    if found is None:
        raise web.HTTPNotFound()
    return found


async def contacts(conn: asyncpg.Connection | asyncpg.Pool, resident_id: int) -> list[asyncpg.Record]:
    return list(await conn.fetch(CONTACTS, resident_id))


def usable_channels(points: list[asyncpg.Record]) -> dict[str, str]:
    """channel → the masked address we would send to, for the channels this resident can be reached on."""
    usable = {}
    for point in points:
        if point['suppressed_at'] is None and point['channel'] not in usable:
            usable[point['channel']] = mask_address(point['channel'], point['address'])
    return usable


def describe(subscription: Subscription, lang: str, *, capital: bool = True) -> str:
    """'Planning applications within 400 metres of the place you chose' (capitalised for a heading)."""
    place = translate(lang, 'manage.your_place') if subscription.kind == 'near' else None
    what = describe_subscription(
        lang, kind=subscription.kind, topics=subscription.topics, radius_m=subscription.radius_m, place=place,
        case_reference=subscription.case_reference,
    )  # fmt: skip
    return what[:1].upper() + what[1:] if capital else what


def channels_text(subscription: Subscription, lang: str) -> str:
    names = [translate(lang, f'manage.channel.{channel}') for channel in subscription.channels]
    text = translate(lang, 'manage.and').join(names) if len(names) == 2 else ', '.join(names)
    return text[:1] + text[1:].lower()  # 'Email and text message'


def topics_text(subscription: Subscription, lang: str) -> str:
    names = [translate(lang, f'manage.topic.{topic.split("/")[0]}') for topic in subscription.topics]
    return ', '.join(dict.fromkeys(names)) or translate(lang, 'manage.topic.all')


def quiet_text(subscription: Subscription, lang: str) -> str:
    if subscription.quiet_start is None or subscription.quiet_end is None:
        return translate(lang, 'manage.quiet.none')
    return translate(
        lang, 'manage.quiet.between', start=f'{subscription.quiet_start:%H:%M}', end=f'{subscription.quiet_end:%H:%M}'
    )


def summary(subscription: Subscription, lang: str) -> dict[str, Any]:
    """What the list and the subscription page show about one subscription."""
    return {
        'id': subscription.id,
        'what': describe(subscription, lang),
        'channels': channels_text(subscription, lang),
        'frequency': translate(lang, f'manage.frequency.{subscription.frequency}'),
        'status': subscription.status,
        'status_text': translate(lang, f'manage.status.{subscription.status}'),
        'quiet': quiet_text(subscription, lang),
        'topics': topics_text(subscription, lang),
        'texts': 'sms' in subscription.channels,
        'radius_m': subscription.radius_m,
        'kind': subscription.kind,
    }


async def flash(request: web.Request, key: str, **values: str) -> None:
    """A success message for the next page ("You have paused …")."""
    session = await sessions.get(request)
    session.set(FLASH, {'key': key, 'values': values})
    await sessions.save(request, session)


async def take_flash(request: web.Request) -> str | None:
    session = await sessions.get(request)
    message = session.data.pop(FLASH, None)
    if not message:
        return None
    await sessions.save(request, session)
    return translate(language(request), message['key'], **message.get('values', {}))


def secrets_of(request: web.Request) -> list[bytes]:
    return request.app[SETTINGS].link_secrets
