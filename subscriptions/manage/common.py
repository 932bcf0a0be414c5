"""What the manage pages share: who is signed in, their subscriptions, a subscription in words, and flashes.

A signed-in session (notifier/web/sessions.py) holds only the resident's id. Every page that shows or changes a
subscription loads it together with that id, so one resident can never see or change another's, whatever number
is typed into the address bar (it is simply "page not found").

A session may instead (or as well) hold the ids of subscriptions whose manage link this browser opened
(subscriptions/manage/link_scope.py): each opens that one subscription's pages (`subscription_page`), and nothing
else of its resident's. Asked for any other subscription, such a session gets what a stranger gets: "sign in".
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiohttp import web

from notifier.app_keys import PG, SETTINGS
from notifier.outbox.links import MANAGE_TOKEN_PURPOSE
from notifier.outbox.tokens import make_token, read_token
from notifier.web import sessions
from notifier.web.rendering import language, translate
from subscriptions.residents import queries
from subscriptions.residents.models import Subscription
from subscriptions.topics.catalogue import Catalogue
from templates.personalisation import TopicNames, describe_subscription, distance_words, mask_address

LINKED = 'manage_links'  # the subscription ids whose manage links this browser opened (link_scope.py)
FLASH = 'flash'

OWNED = 'select * from subscriptions where id = $1 and resident_id = $2'
CONTACTS = """
select id, channel, address, verified_at, suppressed_at from contact_points
where resident_id = $1 and channel in ('email', 'sms') order by channel, id
"""

SignedInHandler = Callable[[web.Request, int], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Access:
    """The subscription a page is about, and how this browser may reach it."""

    subscription: Subscription
    by_link: bool  # only through its manage link: this subscription's page and changes, nothing else


SubscriptionHandler = Callable[[web.Request, Access], Awaitable[web.StreamResponse]]


def see_other(location: str) -> web.Response:
    """303 after a POST (returned, not raised, so the session cookie set on the way out is kept)."""
    return web.Response(status=303, headers={'Location': location, 'Cache-Control': 'no-store'})


def manage_path(secret: bytes, subscription_id: int) -> str:
    """The permanent link in a message that opens that subscription's page for changes."""
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


def linked(session: sessions.Session) -> list[int]:
    """The subscriptions this browser opened with their manage links."""
    ids = session.data.get(LINKED)
    return [i for i in ids if isinstance(i, int)] if isinstance(ids, list) else []


def subscription_page(handler: SubscriptionHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The page is about the subscription in the path: its owner, signed in, or a browser that opened its manage
    link may go on; a signed-in resident gets "page not found" for anyone else's, anyone else is sent to sign in
    (so a manage link tells its holder nothing about any other subscription)."""

    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        session = await sessions.get(request)
        text = request.match_info.get('id', '')
        wanted = int(text) if text.isdigit() and len(text) <= 18 else None
        pool = request.app[PG]
        if wanted is not None and session.resident_id is not None:
            found = await owned(pool, session.resident_id, wanted)
            if found is not None:
                return await handler(request, Access(found, by_link=False))
        if wanted is not None and wanted in linked(session):
            found = await queries.get_subscription(pool, wanted)
            if found is not None:
                return await handler(request, Access(found, by_link=True))
        if session.resident_id is None:
            return see_other('/manage')
        raise web.HTTPNotFound()

    return wrapper


async def owned(conn: asyncpg.Connection | asyncpg.Pool, resident_id: int, subscription_id: int) -> Subscription | None:
    row = await conn.fetchrow(OWNED, subscription_id, resident_id)
    return Subscription.model_validate(dict(row)) if row else None


async def contacts(conn: asyncpg.Connection | asyncpg.Pool, resident_id: int) -> list[asyncpg.Record]:
    return list(await conn.fetch(CONTACTS, resident_id))


def usable_channels(points: list[asyncpg.Record]) -> dict[str, str]:
    """channel → the masked address we would send to, for the channels this resident can be reached on."""
    usable = {}
    for point in points:
        if point['suppressed_at'] is None and point['channel'] not in usable:
            usable[point['channel']] = mask_address(point['channel'], point['address'])
    return usable


def describe(subscription: Subscription, lang: str, *, capital: bool = True, names: TopicNames | None = None) -> str:
    """'Planning applications within 400 m of M32 0TH' (capitalised for a heading); a near subscription made at a
    point with no postcode is 'within 400 m of the place you chose'. `names`: the council's topic catalogue
    (subscriptions/topics), which names the topics."""
    place = (subscription.postcode or translate(lang, 'manage.your_place')) if subscription.kind == 'near' else None
    what = describe_subscription(
        lang, kind=subscription.kind, topics=subscription.topics, radius_m=subscription.radius_m, place=place,
        case_reference=subscription.case_reference, standalone=capital, names=names,
    )  # fmt: skip
    return what[:1].upper() + what[1:] if capital else what


def channels_text(subscription: Subscription, lang: str) -> str:
    names = [translate(lang, f'manage.channel.{channel}') for channel in subscription.channels]
    text = translate(lang, 'manage.and').join(names) if len(names) == 2 else ', '.join(names)
    return text[:1] + text[1:].lower()  # 'Email and text message'


def topics_text(subscription: Subscription, lang: str, catalogue: Catalogue | None = None) -> str:
    """The topics by the names the council gave them (subscriptions/topics), in the reader's language."""
    catalogue = catalogue or Catalogue()
    names = [catalogue.name(topic, lang) for topic in subscription.topics]
    return ', '.join(dict.fromkeys(names)) or translate(lang, 'manage.topic.all')


def quiet_text(subscription: Subscription, lang: str) -> str:
    if subscription.quiet_start is None or subscription.quiet_end is None:
        return translate(lang, 'manage.quiet.none')
    return translate(
        lang, 'manage.quiet.between', start=f'{subscription.quiet_start:%H:%M}', end=f'{subscription.quiet_end:%H:%M}'
    )


def summary(subscription: Subscription, lang: str, catalogue: Catalogue | None = None) -> dict[str, Any]:
    """What the list and the subscription page show about one subscription (topics named from `catalogue`)."""
    return {
        'id': subscription.id,
        'what': describe(subscription, lang, names=catalogue.names() if catalogue else None),
        'channels': channels_text(subscription, lang),
        'frequency': translate(lang, f'manage.frequency.{subscription.frequency}'),
        'status': subscription.status,
        'status_text': translate(lang, f'manage.status.{subscription.status}'),
        'quiet': quiet_text(subscription, lang),
        'topics': topics_text(subscription, lang, catalogue),
        'texts': 'sms' in subscription.channels,
        'radius_m': subscription.radius_m,
        'radius': translate(lang, 'choices.radius.within', distance=distance_words(subscription.radius_m or 0)),
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
