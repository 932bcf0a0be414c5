"""The service's own routes: health and the front door."""

from __future__ import annotations

from aiohttp import web

from notifier import health
from notifier.app_keys import HTTP, PG, QUEUE, SETTINGS

routes = web.RouteTableDef()


@routes.get('/healthz', name='healthz')
async def healthz(request: web.Request) -> web.Response:
    app = request.app
    healthy, body = await health.report(app[SETTINGS], app[PG], app[QUEUE], app[HTTP])
    return web.json_response(body, status=200 if healthy else 503, headers={'Cache-Control': 'no-store'})


@routes.get('/', name='home')
async def home(request: web.Request) -> web.Response:
    return web.Response(
        text=(
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Tell Me</title></head>'
            '<body><h1>Tell Me</h1><p>This service is running. Its health is at <a href="/healthz">/healthz</a>.</p>'
            '</body></html>'
        ),
        content_type='text/html',
    )
