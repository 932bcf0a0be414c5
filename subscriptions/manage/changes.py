"""Signed in: change one thing about a subscription — how often, how far, which topics, which channels, quiet
hours. Each is one question on one page (GOV.UK radios or checkboxes), answered by POST and stored at once.

Only values offered on the page are accepted; anything else (a tampered form) gets the page back with its error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import time
from typing import Any

import asyncpg
from aiohttp import web

from notifier.app_keys import PG
from notifier.web.rendering import language, render, translate
from subscriptions.manage.common import contacts, flash, owned_or_404, see_other, signed_in_only, usable_channels
from subscriptions.residents.models import Subscription, bounding_box

routes = web.RouteTableDef()

RADII = (100, 200, 400, 800, 1600)
TOPICS = ('planning', 'licensing')
QUIET = {'none': None, '21-08': (time(21), time(8)), '22-07': (time(22), time(7)), '20-09': (time(20), time(9))}
Items = list[dict[str, str]]


@dataclass(frozen=True)
class Question:
    multiple: bool
    applies: Callable[[Subscription], bool]
    options: Callable[[Subscription, dict[str, str], str], Items]
    current: Callable[[Subscription], list[str]]
    store: Callable[[asyncpg.Connection, Subscription, list[str]], Awaitable[Any]]


def _quiet_key(sub: Subscription) -> str:
    if sub.quiet_start is None or sub.quiet_end is None:
        return 'none'
    return f'{sub.quiet_start:%H}-{sub.quiet_end:%H}' if sub.quiet_start.minute == sub.quiet_end.minute == 0 else ''


def _frequency_options(sub: Subscription, usable: dict[str, str], lang: str) -> Items:
    return [
        {'value': value, 'text': translate(lang, f'manage.frequency.{value}'),
         'hint': translate(lang, f'manage.frequency.{value}_hint')}
        for value in ('immediate', 'daily', 'weekly')
    ]  # fmt: skip


def _radius_options(sub: Subscription, usable: dict[str, str], lang: str) -> Items:
    radii = sorted({*RADII, sub.radius_m or RADII[0]})
    return [{'value': str(r), 'text': translate(lang, 'manage.radius.metres', metres=str(r))} for r in radii]


def _topic_options(sub: Subscription, usable: dict[str, str], lang: str) -> Items:
    topics = sorted({*TOPICS, *sub.topics})
    return [{'value': topic, 'text': translate(lang, f'manage.topic.{topic.split("/")[0]}')} for topic in topics]


def _channel_options(sub: Subscription, usable: dict[str, str], lang: str) -> Items:
    return [
        {'value': channel, 'text': translate(lang, f'manage.channel.{channel}'), 'hint': masked}
        for channel, masked in usable.items()
    ]


def _quiet_options(sub: Subscription, usable: dict[str, str], lang: str) -> Items:
    items = []
    for key, hours in QUIET.items():
        text = (
            translate(lang, 'manage.quiet.between', start=f'{hours[0]:%H:%M}', end=f'{hours[1]:%H:%M}')
            if hours
            else translate(lang, 'manage.quiet.none')
        )
        items.append({'value': key, 'text': text})
    return items


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


async def _store_quiet(conn: asyncpg.Connection, sub: Subscription, values: list[str]) -> None:
    hours = QUIET[values[0]] or (None, None)
    await conn.execute('update subscriptions set quiet_start = $2, quiet_end = $3 where id = $1', sub.id, *hours)


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
    'quiet-hours': Question(
        False, lambda s: _live(s) and 'sms' in s.channels, _quiet_options, lambda s: [_quiet_key(s)], _store_quiet
    ),
}
PATTERN = '{field:' + '|'.join(QUESTIONS) + '}'


def _page(request: web.Request, sub: Subscription, field: str, items: Items, chosen: list[str], error: bool) -> Any:
    lang = language(request)
    key = field.replace('-', '_')
    errors = {field: translate(lang, f'manage.change.{key}.error')} if error else {}
    return render(
        request,
        'manage/change.html',
        {
            'sub_id': sub.id, 'field': field, 'items': items, 'chosen': chosen, 'errors': errors,
            'multiple': QUESTIONS[field].multiple, 'legend': translate(lang, f'manage.change.{key}.legend'),
            'hint': translate(lang, f'manage.change.{key}.hint'),
        },
    )  # fmt: skip


async def _setup(request: web.Request, resident_id: int) -> tuple[Subscription, str, Items]:
    sub = await owned_or_404(request, resident_id)
    field = request.match_info['field']
    question = QUESTIONS[field]
    if not question.applies(sub):
        raise web.HTTPNotFound()
    usable = usable_channels(await contacts(request.app[PG], resident_id))
    return sub, field, question.options(sub, usable, language(request))


@routes.get(f'/manage/subscriptions/{{id}}/change/{PATTERN}', name='manage-change')
@signed_in_only
async def change_page(request: web.Request, resident_id: int) -> web.Response:
    sub, field, items = await _setup(request, resident_id)
    return _page(request, sub, field, items, QUESTIONS[field].current(sub), error=False)


@routes.post(f'/manage/subscriptions/{{id}}/change/{PATTERN}', name='manage-change-do')
@signed_in_only
async def change(request: web.Request, resident_id: int) -> web.Response:
    sub, field, items = await _setup(request, resident_id)
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
