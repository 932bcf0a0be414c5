"""The service's own routes: health and the front door."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from notifier.app_keys import HTTP, PG, QUEUE, SETTINGS
from notifier.shell import health
from notifier.web import rendering

routes = web.RouteTableDef()


class HealthCache:
    """One /healthz report shared by every caller for CACHE_SECONDS (it is unauthenticated: load balancers call
    it), so a flood of requests cannot become a flood of database queries and Notify calls."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.clear()

    def clear(self) -> None:
        self.at, self.healthy, self.body = float('-inf'), False, {}

    def fresh(self) -> bool:
        return time.monotonic() - self.at <= health.CACHE_SECONDS


HEALTH = web.AppKey('health', HealthCache)


def setup(app: web.Application) -> None:
    app[HEALTH] = HealthCache()


@routes.get('/healthz', name='healthz')
async def healthz(request: web.Request) -> web.Response:
    app, cache = request.app, request.app[HEALTH]
    if not cache.fresh():
        async with cache.lock:
            if not cache.fresh():
                cache.healthy, cache.body = await health.report(app[SETTINGS], app[PG], app[QUEUE], app[HTTP])
                cache.at = time.monotonic()
    return web.json_response(cache.body, status=200 if cache.healthy else 503, headers={'Cache-Control': 'no-store'})


@routes.get('/', name='home')
async def home(request: web.Request) -> web.Response:
    return rendering.render(request, 'start.html')


@routes.get('/privacy', name='privacy')
async def privacy(request: web.Request) -> web.Response:
    kept = rendering.days(rendering.language(request), request.app[SETTINGS].notification_retention_days)
    return rendering.render(request, 'privacy.html', {'retention_days': kept})


@routes.get('/cookies', name='cookies')
async def cookies(request: web.Request) -> web.Response:
    return rendering.render(request, 'cookies.html')


@routes.get('/accessibility', name='accessibility')
async def accessibility(request: web.Request) -> web.Response:
    return rendering.render(request, 'accessibility.html')
