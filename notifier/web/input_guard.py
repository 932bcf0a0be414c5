"""Refuse text no page could store: a NUL or a lone surrogate in the path, the query or a form field.

PostgreSQL cannot hold either in text, so without this check such a request reached a query and came back as a
500. Here it is a 400 page ("we could not read that"), before any handler runs. JSON bodies are checked by
api_auth.read_json.

Notify's callbacks (/notify/) are never refused: Notify would not retry a 400 usefully, and a resident's text must
not be lost. They read JSON only and make it storable themselves (`storable`: U+FFFD in place of each such
character).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from notifier.web.csrf import FORM_TYPES

UNSTORABLE = re.compile('[\x00\ud800-\udfff]')
NEVER_REFUSED = ('/notify/',)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _bad(text: str) -> bool:
    return bool(UNSTORABLE.search(text))


def storable(value: Any) -> Any:
    """The same JSON value with U+FFFD in place of each NUL and lone surrogate, so PostgreSQL can hold it."""
    if isinstance(value, str):
        return UNSTORABLE.sub('\ufffd', value)
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable(item) for item in value]
    return value


def _refuse(request: web.Request) -> web.Response:
    if request.path.startswith('/api/'):
        message = 'the request contains a character we cannot store (a NUL or a lone surrogate)'
        return web.json_response({'message': message, 'errors': {'request': message}}, status=400)
    raise web.HTTPBadRequest()  # the page layer answers with a GOV.UK page


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(NEVER_REFUSED):
        return await handler(request)
    if _bad(request.path) or any(_bad(key) or _bad(value) for key, value in request.query.items()):
        return _refuse(request)
    if request.method == 'POST' and request.content_type in FORM_TYPES:
        form = await request.post()
        if any(_bad(key) or (isinstance(value, str) and _bad(value)) for key, value in form.items()):
            return _refuse(request)
    return await handler(request)
