"""The web app's metrics: every request counted and timed by its route, and `GET /metrics` (workers/metrics.py's
scrape, with this app's pool, Redis and settings).

A request is labelled with its route's path template (`/confirm/{token}`, `/e/{id}`, `/static` for every static
file), never the path it asked for, so no token or id reaches a label; a path no route matches is `unmatched`.
`/metrics` answers with TELLME_METRICS_TOKEN as a bearer token, or to a request from this host when no proxy sits in
front (TELLME_PROXY_HOPS=0): see notifier.metrics.refusal.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from notifier import metrics
from notifier.app_keys import PG, QUEUE, SETTINGS
from notifier.sending.daily_budget import DailyBudget
from workers.metrics import Scrape

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SCRAPE = web.AppKey('metrics_scrape', Scrape)


def setup(app: web.Application) -> None:
    """Count every request (outermost middleware, so refusals by the others count too) and serve /metrics."""
    app.middlewares.insert(0, middleware)
    app.router.add_get('/metrics', scrape, name='metrics', allow_head=False)
    app.on_startup.append(_start)  # after the app's resources (cleanup_ctx runs first)


async def _start(app: web.Application) -> None:
    settings = app[SETTINGS]
    budget = None
    if settings.notify_api_key.get_secret_value():
        budget = DailyBudget(app[QUEUE], app[PG], settings, settings.notify_service_id)
    app[SCRAPE] = Scrape(app[PG], settings, budget, local_trusted=settings.proxy_hops == 0)


async def scrape(request: web.Request) -> web.Response:
    return await request.app[SCRAPE].handle(request)


def route_of(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else 'unmatched'


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    except asyncio.CancelledError:
        status = 499  # the client went away before the answer
        raise
    finally:
        method = request.method if request.method in metrics.HTTP_METHODS else 'other'
        route = route_of(request)
        metrics.HTTP_REQUESTS.labels(route, method, str(status)).inc()
        metrics.HTTP_DURATION.labels(route, method).observe(metrics.since(started))
