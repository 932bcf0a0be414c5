"""Staff pages for the topic catalogue (administrators): /staff/topics lists every topic with its names, its group,
whether residents may choose it and how many subscriptions have it; a topic is added at /staff/topics/new and
changed (named, hinted, grouped, hidden or offered again) at /staff/topics/<key>/change. Every save goes through
catalogue.add or catalogue.change, which audit it in the same transaction; the key never changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from notifier.app_keys import PG
from notifier.staff import auth as staff_auth
from notifier.staff.pages import STAFF_MENU, render
from subscriptions.topics import catalogue
from subscriptions.topics.catalogue import GROUPS, Topic, TopicNotFound, TopicProblem

routes = web.RouteTableDef()
STAFF_MENU.append(('/staff/topics', 'Topics', ('admin',)))
KEY_PATH = '{key:[a-z]+(?:/[a-z0-9-]+)?}'
FORM_ORDER = ('key', 'name_en', 'name_cy', 'hint_en', 'hint_cy', 'group', 'offered')


def _form_values(form: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {name: str(form.get(name, '')) for name in catalogue.TEXTS}
    values['group'] = str(form.get('group', ''))
    offered = str(form.get('offered', ''))
    values['offered'] = {'yes': True, 'no': False}.get(offered)
    return values


def _ordered(errors: Mapping[str, str]) -> dict[str, str]:
    """The error summary in the order of the questions."""
    return {name: errors[name] for name in FORM_ORDER if name in errors}


def _form(request: web.Request, topic: Topic | None, typed: Mapping[str, Any], errors: Mapping[str, str],
          status: int = 200) -> web.Response:  # fmt: skip
    offered = typed.get('offered')
    context = {
        'topic': topic, 'typed': typed, 'errors': _ordered(errors),
        'offered': '' if offered is None else 'yes' if offered else 'no',
        'groups': [{'value': key, 'text': name} for key, name in GROUPS.items()],
        'back': '/staff/topics',
    }  # fmt: skip
    return render(request, 'staff/topics/form.html', context, status=status)


@routes.get('/staff/topics', name='staff-topics')
@staff_auth.staff_page('admin')
async def list_page(request: web.Request) -> web.Response:
    topics = await catalogue.load(request.app[PG])
    counts = await catalogue.subscribers(request.app[PG])
    saved = topics.get(request.query.get('saved', ''))
    context = {'topics': topics.topics, 'counts': counts, 'saved': saved, 'added': request.query.get('added') == '1'}
    return render(request, 'staff/topics/list.html', context)


@routes.get('/staff/topics/new', name='staff-topic-new')
@staff_auth.staff_page('admin')
async def new_page(request: web.Request) -> web.Response:
    return _form(request, None, {'offered': True}, {})


@routes.post('/staff/topics/new')
@staff_auth.staff_page('admin')
async def add(request: web.Request) -> web.Response:
    form = await request.post()
    values = _form_values(form)
    key = ' '.join(str(form.get('key', '')).split()).lower()
    staff = await staff_auth.current(request)
    assert staff is not None
    if values['offered'] is None:  # the form always sends one; without it, as the form first shows it
        values['offered'] = True
    async with request.app[PG].acquire() as conn:
        try:
            await catalogue.add(conn, key, values, staff_auth.actor(staff))
        except TopicProblem as exc:
            return _form(request, None, {**values, 'key': key}, exc.errors)
    raise web.HTTPSeeOther(f'/staff/topics?saved={key}&added=1')


async def _topic(request: web.Request) -> Topic:
    found = (await catalogue.load(request.app[PG])).get(request.match_info['key'])
    if found is None:
        raise web.HTTPNotFound()
    return found


@routes.get(f'/staff/topics/{KEY_PATH}/change', name='staff-topic')
@staff_auth.staff_page('admin')
async def change_page(request: web.Request) -> web.Response:
    topic = await _topic(request)
    return _form(request, topic, topic.as_json(), {})


@routes.post(f'/staff/topics/{KEY_PATH}/change')
@staff_auth.staff_page('admin')
async def change(request: web.Request) -> web.Response:
    topic = await _topic(request)
    values = _form_values(await request.post())
    if values['offered'] is None:
        values['offered'] = topic.offered
    staff = await staff_auth.current(request)
    assert staff is not None
    async with request.app[PG].acquire() as conn:
        try:
            await catalogue.change(conn, topic.key, values, staff_auth.actor(staff))
        except TopicNotFound:
            raise web.HTTPNotFound() from None
        except TopicProblem as exc:
            return _form(request, topic, {**values, 'key': topic.key}, exc.errors)
    raise web.HTTPSeeOther(f'/staff/topics?saved={topic.key}')
