"""A request id for every web request, and one access log line for it (notifier/logs.py).

The id is the caller's `X-Request-Id` when it looks like one (1 to 64 of A-Z a-z 0-9 . _ -: a load balancer's or a
council system's, so one id follows a request through both logs), else a new uuid4 in hex. It is in the context of
every line written while the request is handled (ours and the libraries': asyncpg, aiohttp) and goes back in the
response's `X-Request-Id`, errors and redirects included.

The access line names the route as it was written, never the path asked for: `/confirm/{token}`, not the token
(links in messages never expire, so a token in a log is a key to someone's subscriptions), and never the query
string. A path no route matches is logged by its first segment only (`/wp-admin/…`). The client's address is
personal data: it is logged only with TELLME_LOG_CLIENT_IP=true (as the per-IP limits see it, behind
TELLME_PROXY_HOPS proxies). Health checks and static files are logged at DEBUG, so a probe every few seconds does
not bury the rest. An exception that gets past every other middleware (the app's error page catches the handlers')
is logged here by its route and answered with a plain 500, rather than by aiohttp, whose line names the client.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web

from notifier import logs
from notifier.app_keys import SETTINGS
from notifier.web.client_ip import client_ip

logger = logging.getLogger('notifier.access')
errors = logging.getLogger('notifier.web.request_ids')

HEADER = 'X-Request-Id'
SANE = re.compile(r'[A-Za-z0-9._-]{1,64}')
QUIET_ROUTES = frozenset({'healthz', 'static'})  # route names logged at DEBUG
REQUEST_ID = web.RequestKey('request_id', str)
CLIENT_GONE = 499  # as nginx logs it: no answer was sent

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def request_id_for(given: str | None) -> str:
    """The caller's id if it is sane, else a new one."""
    return given if given is not None and SANE.fullmatch(given) else uuid.uuid4().hex


def route_of(request: web.Request) -> str:
    """The route template that answered (`/confirm/{token}`), or for a path no route matched its first segment."""
    resource = request.match_info.route.resource
    if resource is not None:
        return resource.canonical
    first, _, rest = request.path.lstrip('/').partition('/')
    return '/' + first[:40] + ('/…' if rest else '')


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost: sets the id (in the log context and on the request) and writes the access line."""
    rid = request_id_for(request.headers.get(HEADER))
    request[REQUEST_ID] = rid
    token = logs.bind(request_id=rid)
    started = time.perf_counter()
    status, size = 500, None
    try:
        try:
            response = await handler(request)
        except web.HTTPException as exc:  # redirects and errors raised as exceptions: they are answers too
            status, size = exc.status, exc.content_length
            raise
        except asyncio.CancelledError:  # the client went away before the answer
            status = CLIENT_GONE
            raise
        except Exception:  # noqa: BLE001 - past every other middleware: aiohttp's own line would name the client
            errors.exception('unhandled error on %s %s', request.method[:16], route_of(request))
            response = web.Response(status=500, text='500 Internal Server Error')
        status = response.status
        # a streamed answer (prepared by its handler) is finished only after this: its size is not known yet
        size = (response.body_length or None) if response.prepared else response.content_length
        return response
    finally:
        _access_line(request, status, size, time.perf_counter() - started)
        logs.unbind(token)


def _access_line(request: web.Request, status: int, size: int | None, seconds: float) -> None:
    route_name = request.match_info.route.name
    level = logging.DEBUG if route_name in QUIET_ROUTES and status < 400 else logging.INFO
    if not logger.isEnabledFor(level):
        return
    route = route_of(request)
    method = request.method[:16]
    fields: dict[str, object] = {
        'method': method,
        'route': route,
        'status': status,
        'duration_ms': round(seconds * 1000, 1),
        'bytes': size,
    }
    if request.app[SETTINGS].log_client_ip:
        fields['client_ip'] = client_ip(request)
    logger.log(level, '%s %s %d %.1f ms', method, route, status, seconds * 1000, extra=fields)


async def _header(request: web.Request, response: web.StreamResponse) -> None:
    """On every answer as it is sent: pages, JSON, redirects and errors raised as exceptions, streamed downloads."""
    rid = request.get(REQUEST_ID)
    if rid is not None:
        response.headers[HEADER] = rid


def setup(app: web.Application) -> None:
    """The middleware outside every other, so its line covers the whole answer; the header on every answer."""
    app.middlewares.insert(0, middleware)
    app.on_response_prepare.append(_header)
