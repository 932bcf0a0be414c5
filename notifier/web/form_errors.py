"""A form answered with its errors is shown by a GET: POST → 303 → GET, so Back never lands on the answer to a POST.

Our pages are `Cache-Control: no-store` (they hold what residents type), so a browser keeps no copy of them; Back to a
page that was the answer to a POST then finds nothing to show and offers to send the form again (Chromium's
ERR_CACHE_MISS, Firefox's "Document expired"). Instead, a resident page rendered on a POST with errors
(`rendering.render` marks it) is kept in the session and the browser is sent to GET the same address, which shows
it, once. The browser's history then holds only GETs, each of which can be asked for again.

The page is kept as rendered, for a minute; its script nonce is swapped for the new answer's (the
Content-Security-Policy names a fresh one). Nothing else changes: the form, its CSRF token, what was typed and the
status (a 429 for too many sign-ins stays a 429). A POST without a session to keep it in (an ended session: signing
out) and the staff pages are answered as before.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from notifier.web import rendering, sessions

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

KEPT = 'form_answer'  # session key: {'path', 'status', 'html', 'nonce', 'at'}
KEEP_FOR = 60  # seconds: the redirect is followed at once
EXCLUDED = ('/staff', *rendering.HTML_PREFIXES_EXCLUDED)
FORM_PATHS = web.AppKey('form_paths', frozenset[str])


def setup(app: web.Application) -> None:
    """Once every route is added: the paths that take a POST. Only their GETs can have an answer waiting, so no
    other page reads the session for one."""
    app[FORM_PATHS] = frozenset(
        route.resource.canonical for route in app.router.routes() if route.method == 'POST' and route.resource
    )


def _applies(request: web.Request) -> bool:
    resource = request.match_info.route.resource
    return (
        not request.path.startswith(EXCLUDED)
        and resource is not None
        and resource.canonical in request.app.get(FORM_PATHS, frozenset())
        and bool(request.cookies.get(sessions.COOKIE) or request.method == 'POST')
    )


async def _take(request: web.Request) -> web.Response | None:
    session = await sessions.get(request)
    kept = session.data.get(KEPT)
    if not isinstance(kept, dict):
        return None
    session.data.pop(KEPT)
    await sessions.save(request, session)
    if kept.get('path') != request.path_qs or time.time() - float(kept.get('at', 0)) > KEEP_FOR:
        return None
    nonce = request.get(rendering.NONCE, '')
    html = str(kept['html']).replace(f'nonce="{kept["nonce"]}"', f'nonce="{nonce}"')
    response = web.Response(text=html, status=int(kept['status']), content_type='text/html', charset='utf-8')
    response.headers['Cache-Control'] = 'no-store'
    return response


async def _keep(request: web.Request, response: web.Response) -> web.StreamResponse:
    session = await sessions.get(request)
    if request.get(sessions.ENDED) or response.text is None:
        return response
    session.set(KEPT, {'path': request.path_qs, 'status': response.status, 'html': response.text,
                       'nonce': request.get(rendering.NONCE, ''), 'at': time.time()})  # fmt: skip
    await sessions.save(request, session)
    return web.Response(status=303, headers={'Location': request.path_qs, 'Cache-Control': 'no-store'})


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not _applies(request):
        return await handler(request)
    if request.method == 'GET':
        kept = await _take(request)
        if kept is not None:
            return kept
    response = await handler(request)
    if request.method == 'POST' and isinstance(response, web.Response) and response.get(rendering.FORM_ERRORS):
        return await _keep(request, response)
    return response
