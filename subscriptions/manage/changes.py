"""Change one thing about a subscription — how often, how far, which topics, which channels, quiet hours. Each is one
question on one page (GOV.UK radios or checkboxes), answered by POST and stored at once; the subscription's owner,
signed in, and a browser that opened its manage link may ask them (subscriptions/manage/common.py
`subscription_page`).

The answers offered are sign-up's (subscriptions/residents/choices.py), plus the subscription's own value when it is
another, so a resident can always get back to what they chose at sign-up. Only values offered on the page are
accepted; anything else (a tampered form) gets the page back with its error. Channels are only the addresses the
resident already has: no question here adds one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiohttp import web

from notifier.app_keys import PG
from notifier.web.rendering import language, render, translate
from subscriptions.manage.common import Access, contacts, flash, see_other, subscription_page, usable_channels
from subscriptions.residents import choices
from subscriptions.residents.models import Subscription, bounding_box

routes = web.RouteTableDef()

Items = list[dict[str, str]]


@dataclass(frozen=True)
class Question:
    multiple: bool
    applies: Callable[[Subscription], bool]
    options: Callable[[web.Request, Subscription], Awaitable[Items]]
    current: Callable[[Subscription], list[str]]
    store: Callable[[asyncpg.Connection, Subscription, list[str]], Awaitable[Any]]


def _t(request: web.Request) -> Callable[..., str]:
    lang = language(request)
    return lambda key, **values: translate(lang, key, **values)


async def _frequency_options(request: web.Request, sub: Subscription) -> Items:
    t = _t(request)
    return [
        {'value': value, 'text': t(f'manage.frequency.{value}'), 'hint': t(f'manage.frequency.{value}_hint')}
        for value in choices.FREQUENCIES
    ]


async def _radius_options(request: web.Request, sub: Subscription) -> Items:
    t = _t(request)
    return [{'value': str(r), 'text': choices.radius_words(t, r)} for r in choices.radii(sub.radius_m)]


async def _topic_options(request: web.Request, sub: Subscription) -> Items:
    return await choices.topic_items(request.app[PG], language(request), sub.topics)


async def _channel_options(request: web.Request, sub: Subscription) -> Items:
    t = _t(request)
    usable = usable_channels(await contacts(request.app[PG], sub.resident_id))
    return [
        {'value': channel, 'text': t(f'manage.channel.{channel}'), 'hint': masked} for channel, masked in usable.items()
    ]


async def _store_frequency(conn: asyncpg.Connection, sub: Subscription, values: list[str]) -> None:
    await conn.execute('update subscriptions set frequency = $2 where id = $1', sub.id, values[0])


async def _store_radius(conn: asyncpg.Connection, sub: Subscription, values: list[str]) -> None:
    radius = int(values[0])
    assert sub.centre_lat is not None and sub.centre_lng is not None
    west, south, east, north = bounding_box(sub.centre_lat, sub.centre_lng, radius)
    await conn.execute(
        'update subscriptions set radius_m = $2, bbox = box(point($3, $4), point($5, $6)) where id = $1',
        sub.id, radius, west, south, east, north,
    )  # fmt: skip


async def _store_topics(conn: asyncpg.Connection, sub: Subscription, values: list[str]) -> None:
    await conn.execute('update subscriptions set topics = $2 where id = $1', sub.id, sorted(values))


async def _store_channels(conn: asyncpg.Connection, sub: Subscription, values: list[str]) -> None:
    keep_letters = ['letter'] if 'letter' in sub.channels else []
    chosen = [channel for channel in ('email', 'sms') if channel in values] + keep_letters
    await conn.execute('update subscriptions set channels = $2 where id = $1', sub.id, chosen)


def _live(sub: Subscription) -> bool:
    return sub.status != 'ended'


QUESTIONS = {
    'frequency': Question(
        False,
        lambda s: _live(s) and 'letter' not in s.channels,
        _frequency_options,
        lambda s: [s.frequency],
        _store_frequency,
    ),
    'radius': Question(
        False, lambda s: _live(s) and s.kind == 'near', _radius_options, lambda s: [str(s.radius_m)], _store_radius
    ),
    'topics': Question(
        True,
        lambda s: _live(s) and s.kind in ('near', 'area'),
        _topic_options,
        lambda s: list(s.topics),
        _store_topics,
    ),
    'channels': Question(True, _live, _channel_options, lambda s: list(s.channels), _store_channels),
}
PATTERN = '{field:' + '|'.join(QUESTIONS) + '}'


def _page(request: web.Request, sub: Subscription, field: str, items: Items, chosen: list[str], error: bool) -> Any:
    t = _t(request)
    key = field.replace('-', '_')
    errors = {field: t(f'manage.change.{key}.error')} if error else {}
    return render(
        request,
        'manage/change.html',
        {
            'sub_id': sub.id, 'field': field, 'items': items, 'chosen': chosen, 'errors': errors,
            'multiple': QUESTIONS[field].multiple, 'legend': t(f'manage.change.{key}.legend'),
            'hint': t(f'manage.change.{key}.hint'),
        },
    )  # fmt: skip


async def _setup(request: web.Request, access: Access) -> tuple[Subscription, str, Items]:
    sub = access.subscription
    field = request.match_info['field']
    question = QUESTIONS[field]
    if not question.applies(sub):
        raise web.HTTPNotFound()
    return sub, field, await question.options(request, sub)


@routes.get(f'/manage/subscriptions/{{id}}/change/{PATTERN}', name='manage-change')
@subscription_page
async def change_page(request: web.Request, access: Access) -> web.Response:
    sub, field, items = await _setup(request, access)
    return _page(request, sub, field, items, QUESTIONS[field].current(sub), error=False)


@routes.post(f'/manage/subscriptions/{{id}}/change/{PATTERN}', name='manage-change-do')
@subscription_page
async def change(request: web.Request, access: Access) -> web.Response:
    sub, field, items = await _setup(request, access)
    question = QUESTIONS[field]
    chosen = [str(value) for value in (await request.post()).getall(field, [])]
    offered = {item['value'] for item in items}
    valid = bool(chosen) and set(chosen) <= offered and (question.multiple or len(chosen) == 1)
    if not valid:
        return _page(request, sub, field, items, [value for value in chosen if value in offered], error=True)
    async with request.app[PG].acquire() as conn:
        await question.store(conn, sub, chosen)
    await flash(request, 'manage.flash.changed')
    return see_other(f'/manage/subscriptions/{sub.id}')


# --- quiet hours for texts: sign-up's question, with the resident's own window ----------------------------------

QUIET_PATH = '/manage/subscriptions/{id}/change/quiet-hours'


def _quiet_page(request: web.Request, sub: Subscription, chosen: str, typed: dict[str, str],
                errors: dict[str, str]) -> web.Response:  # fmt: skip
    typed = {**dict.fromkeys(choices.QUIET_FIELDS, ''), **typed}
    return render(request, 'manage/change_quiet_hours.html',
                  {'sub_id': sub.id, 'chosen': chosen, 'typed': typed, 'errors': errors})  # fmt: skip


def _texts(access: Access) -> Subscription:
    if not (_live(access.subscription) and 'sms' in access.subscription.channels):
        raise web.HTTPNotFound()
    return access.subscription


@routes.get(QUIET_PATH, name='manage-change-quiet-hours')
@subscription_page
async def quiet_page(request: web.Request, access: Access) -> web.Response:
    sub = _texts(access)
    chosen, typed = choices.quiet_choice(sub.quiet_start, sub.quiet_end)
    return _quiet_page(request, sub, chosen, typed, {})


@routes.post(QUIET_PATH, name='manage-change-quiet-hours-do')
@subscription_page
async def change_quiet(request: web.Request, access: Access) -> web.Response:
    sub = _texts(access)
    form = await request.post()
    chosen = str(form.get('quiet', ''))
    typed = {name: str(form.get(name, '')).strip()[:20] for name in choices.QUIET_FIELDS}
    problems = choices.quiet_problems(chosen, typed)
    if problems:
        t = _t(request)
        errors = {name: t(problem.key, **problem.values) for name, problem in problems.items()}
        return _quiet_page(request, sub, chosen if chosen in choices.QUIET_CHOICES else '', typed, errors)
    hours = choices.quiet_hours(chosen, typed) or (None, None)
    async with request.app[PG].acquire() as conn:
        await conn.execute('update subscriptions set quiet_start = $2, quiet_end = $3 where id = $1', sub.id, *hours)
    await flash(request, 'manage.flash.changed')
    return see_other(f'/manage/subscriptions/{sub.id}')
