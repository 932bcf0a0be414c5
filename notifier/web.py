"""The web app factory: resources, middlewares and every package's routes (a composition root)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
from aiohttp import web

from notifier import callbacks, db, queue, views
from notifier.app_keys import HTTP, PG, QUEUE, SETTINGS
from notifier.settings import Settings
from sources import api as sources_api
from sources import cases_api
from sources import views as sources_views
from subscriptions import api as subscriptions_api
from subscriptions import digest_page
from subscriptions import pages as subscription_pages

logger = logging.getLogger('notifier.web')

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SECURITY_HEADERS = {
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Content-Security-Policy': "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
}


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes a plain answer; the traceback goes to the log, never to the person asking."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception:
        # the route's name, not its path: paths carry link tokens that never expire
        route = request.match_info.route.name or request.match_info.route.resource or 'unknown route'
        logger.exception('unhandled error on %s %s', request.method, route)
        return web.json_response({'message': 'Sorry, something went wrong. Please try again later.'}, status=500)


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers.update(SECURITY_HEADERS)
        raise
    response.headers.update(SECURITY_HEADERS)
    return response


async def _resources(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    if not settings.notify_callback_token.get_secret_value():
        logger.warning(
            'TELLME_NOTIFY_CALLBACK_TOKEN is not set: Notify delivery receipts will be refused, so bounced '
            'addresses are never suppressed. Set it to the bearer token configured in Notify callbacks.'
        )
    app[PG] = await db.create_pool(settings)
    try:
        app[QUEUE] = await queue.connect(settings)
        app[HTTP] = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=settings.notify_timeout))
        yield
    finally:
        if HTTP in app:
            await app[HTTP].close()
        if QUEUE in app:
            await app[QUEUE].aclose()
        await app[PG].close()


def create_app(settings: Settings) -> web.Application:
    app = web.Application(middlewares=[security_headers, error_middleware], client_max_size=1024**2)
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_resources)
    app.add_routes(views.routes)
    views.setup(app)
    app.add_routes(sources_api.routes)
    app.add_routes(cases_api.routes)
    app.add_routes(subscriptions_api.routes)
    app.add_routes(subscription_pages.routes)
    app.add_routes(digest_page.routes)
    app.add_routes(callbacks.routes)
    app.add_routes(sources_views.routes)
    return app
