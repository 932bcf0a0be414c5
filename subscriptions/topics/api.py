"""/api/topics: the topic catalogue as JSON. Any token reads it (a case system or a comms tool learns the keys and
names it may use); admin tokens add topics and change them, audited as the token, with the same rules as the staff
pages (subscriptions/topics/catalogue.py).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from notifier.api.auth import CALLER, json_error, read_body, requires
from notifier.app_keys import PG
from subscriptions.topics import catalogue
from subscriptions.topics.catalogue import GROUPS, HINT_MAX, KEY_MAX, NAME_MAX, TopicNotFound, TopicProblem

routes = web.RouteTableDef()
READERS = ('system', 'case_officer', 'comms', 'approver')


class TopicChange(BaseModel):
    """What to change about a topic: only the fields given."""

    model_config = ConfigDict(frozen=True, extra='forbid')

    name_en: str | None = Field(default=None, min_length=1, max_length=NAME_MAX, description='the name residents read')
    name_cy: str | None = Field(default=None, max_length=NAME_MAX, description="the Welsh name ('': the English one)")
    hint_en: str | None = Field(default=None, max_length=HINT_MAX, description='a few words under the name')
    hint_cy: str | None = Field(default=None, max_length=HINT_MAX)
    group: str | None = Field(default=None, json_schema_extra={'enum': list(GROUPS)})
    offered: bool | None = Field(default=None, description='residents may choose it (false: hidden)')


class NewTopic(TopicChange):
    """A topic to add: its key (fixed for good), its name and group; offered unless `offered` is false."""

    key: str = Field(min_length=1, max_length=KEY_MAX, pattern=catalogue.TOPIC_PATTERN)
    name_en: str = Field(min_length=1, max_length=NAME_MAX, description='the name residents read')  # type: ignore[assignment]
    group: str = Field(json_schema_extra={'enum': list(GROUPS)})  # type: ignore[assignment]


def _answer(topic: catalogue.Topic, counts: dict[str, int], status: int = 200) -> web.Response:
    return web.json_response({**topic.as_json(), 'subscriptions': counts.get(topic.key, 0)}, status=status)


def _problem(exc: TopicProblem) -> web.HTTPException:
    return json_error(exc.status, 'invalid request' if exc.status == 400 else str(exc), exc.errors)


@routes.get('/api/topics', name='api-topics')
@requires(*READERS)
async def list_topics(request: web.Request) -> web.Response:
    topics = await catalogue.load(request.app[PG])
    counts = await catalogue.subscribers(request.app[PG])
    body: list[dict[str, Any]] = [{**t.as_json(), 'subscriptions': counts.get(t.key, 0)} for t in topics.topics]
    return web.json_response({'topics': body, 'groups': [{'key': k, 'name': v} for k, v in GROUPS.items()]})


@routes.post('/api/topics', name='api-topics-add')
@requires('admin')
async def add_topic(request: web.Request) -> web.Response:
    given = await read_body(request, NewTopic)
    values = given.model_dump(exclude={'key'}, exclude_none=True)
    async with request.app[PG].acquire() as conn:
        try:
            topic = await catalogue.add(conn, given.key, values, request[CALLER].actor)
        except TopicProblem as exc:
            raise _problem(exc) from None
    return _answer(topic, {}, status=201)


@routes.patch('/api/topics/{key:[a-z]+(?:/[a-z0-9-]+)?}', name='api-topic')
@requires('admin')
async def change_topic(request: web.Request) -> web.Response:
    key = request.match_info['key']
    given = await read_body(request, TopicChange)
    async with request.app[PG].acquire() as conn:
        try:
            topic = await catalogue.change(conn, key, given.model_dump(exclude_none=True), request[CALLER].actor)
        except TopicNotFound:
            raise json_error(404, f'no topic {key[:40]!r}: GET /api/topics lists them') from None
        except TopicProblem as exc:
            raise _problem(exc) from None
        counts = await catalogue.subscribers(conn)
    return _answer(topic, counts)
