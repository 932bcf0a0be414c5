"""The service's own routes: the probes (/livez, /readyz, /healthz), the front door and the cookies page (the council's
pages, privacy, accessibility and contact, are in council_pages.py)."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from notifier import db
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


class Readiness:
    """/readyz's state: `stopping` from the moment the process is told to stop (notifier/shell/serve.py), and one
    answer shared by every caller for READY_CACHE_SECONDS."""

    def __init__(self, latest_migration: str) -> None:
        self.latest_migration = latest_migration
        self.stopping = False
        self.lock = asyncio.Lock()
        self.at, self.ready, self.body = float('-inf'), False, {}

    def fresh(self) -> bool:
        return time.monotonic() - self.at <= health.READY_CACHE_SECONDS


READINESS = web.AppKey('readiness', Readiness)
NO_STORE = {'Cache-Control': 'no-store'}


def setup(app: web.Application) -> None:
    app[HEALTH] = HealthCache()
    app[READINESS] = Readiness(db.latest_migration())
    app.on_shutdown.append(_stopping)


async def _stopping(app: web.Application) -> None:
    app[READINESS].stopping = True


@routes.get('/livez', name='livez')
async def livez(request: web.Request) -> web.Response:
    """The process is serving: nothing outside it is asked."""
    return web.json_response({'status': 'ok'}, headers=NO_STORE)


@routes.get('/readyz', name='readyz')
async def readyz(request: web.Request) -> web.Response:
    """Ready for traffic: not stopping, the database migrated to this code's newest migration, Redis answering."""
    app, state = request.app, request.app[READINESS]
    if state.stopping:
        return web.json_response({'status': 'stopping', 'checks': {}}, status=503, headers=NO_STORE)
    if not state.fresh():
        async with state.lock:
            if not state.fresh():
                state.ready, state.body = await health.readiness(app[PG], app[QUEUE], state.latest_migration)
                state.at = time.monotonic()
    if state.stopping:  # told to stop while the checks ran
        return web.json_response({'status': 'stopping', 'checks': {}}, status=503, headers=NO_STORE)
    return web.json_response(state.body, status=200 if state.ready else 503, headers=NO_STORE)


@routes.get('/healthz', name='healthz')
async def healthz(request: web.Request) -> web.Response:
    app, cache = request.app, request.app[HEALTH]
    if not cache.fresh():
        async with cache.lock:
            if not cache.fresh():
                cache.healthy, cache.body = await health.report(app[SETTINGS], app[PG], app[QUEUE], app[HTTP])
                cache.at = time.monotonic()
    return web.json_response(cache.body, status=200 if cache.healthy else 503, headers=NO_STORE)


@routes.get('/', name='home')
async def home(request: web.Request) -> web.Response:
    return rendering.render(request, 'start.html')


@routes.get('/cookies', name='cookies')
async def cookies(request: web.Request) -> web.Response:
    return rendering.render(request, 'cookies.html')
