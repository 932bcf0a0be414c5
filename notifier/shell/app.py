"""The web app factory: resources, middlewares and every package's routes (a composition root)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
from aiohttp import web

import notifier
from notifier import db
from notifier.app_keys import HTTP, PG, QUEUE, SETTINGS
from notifier.outbox import queue
from notifier.overview import pages as overview_pages
from notifier.receipts import callbacks
from notifier.settings import Settings
from notifier.shell import council_pages, openapi, views
from notifier.shell import metrics as web_metrics
from notifier.staff import oidc_pages
from notifier.staff import pages as staff_pages
from notifier.staff import replies as staff_replies
from notifier.web import csrf, form_errors, input_guard, rendering
from notifier.web.request_ids import CLIENT_GONE
from notifier.web.request_ids import setup as setup_request_ids
from sources.bulletins import api as bulletin_api
from sources.bulletins import approval_pages as bulletin_approval_pages
from sources.bulletins import pages as bulletin_pages
from sources.bulletins import send_pages as bulletin_send_pages
from sources.cases import api as cases_api
from sources.cases import pages as case_pages
from sources.cases import signup as case_signup
from sources.cases import template_pages as case_template_pages
from sources.cases import tools_api as case_tools_api
from sources.events import api as sources_api
from sources.feeds import views as sources_views
from subscriptions.journey import bins as journey_bins
from subscriptions.journey import case as journey_case
from subscriptions.journey import confirm as journey_confirm
from subscriptions.journey import near as journey_near
from subscriptions.journey import steps as journey
from subscriptions.journey import submit as journey_submit
from subscriptions.manage import changes as manage_changes
from subscriptions.manage import link_scope as manage_link_scope
from subscriptions.manage import pages as manage_pages
from subscriptions.manage import sign_in as manage_sign_in
from subscriptions.manage import sign_out as manage_sign_out
from subscriptions.manage import your_data
from subscriptions.pages import digest as digest_page
from subscriptions.pages import links as subscription_pages
from subscriptions.residents import api as subscriptions_api
from subscriptions.topics import api as topics_api
from subscriptions.topics import pages as topic_pages

logger = logging.getLogger('notifier.shell.app')

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SECURITY_HEADERS = {
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Permissions-Policy': 'geolocation=(), camera=(), microphone=(), interest-cohort=()',
}
# Strict: our own files only, and the one inline script GOV.UK Frontend needs, by a per-request nonce.
CSP = (
    "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
STATIC = Path(notifier.__file__).parent / 'static'


def _headers(request: web.Request) -> dict[str, str]:
    headers = dict(SECURITY_HEADERS)
    headers['Content-Security-Policy'] = CSP.format(nonce=request.get(rendering.NONCE, 'none'))
    if request.app[SETTINGS].secure_cookies:
        headers['Strict-Transport-Security'] = 'max-age=31536000; includeSubDomains'
    return headers


def _route(request: web.Request) -> str:
    """The route's name, not its path: paths carry link tokens that never expire."""
    route = request.match_info.route
    return route.name or (route.resource.canonical if route.resource is not None else 'unknown route')


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes a plain answer; the traceback goes to the log, never to the person asking."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except ConnectionResetError:
        if not _client_gone(request):
            # ours, with the resident still waiting: PostgreSQL's connection reset in a failover, a pooler restarting
            logger.exception('unhandled error on %s %s', request.method, _route(request))
            return _sorry(request)
        # the client hung up while we read its request (a phone losing signal, a proxy's timeout): nobody is left
        # to answer and nothing of ours failed, so no traceback; the access line says 499, as nginx would
        logger.info('the client went away during %s %s', request.method, _route(request))
        return web.Response(status=CLIENT_GONE)
    except Exception:
        logger.exception('unhandled error on %s %s', request.method, _route(request))
        return _sorry(request)


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


def _sorry(request: web.Request) -> web.StreamResponse:
    if rendering.wants_page(request):
        return rendering.server_error(request)
    return web.json_response({'message': 'Sorry, something went wrong. Please try again later.'}, status=500)


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers.update(_headers(request))
        raise
    if not response.prepared:
        response.headers.update(_headers(request))
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


def _serve_vendor_assets(app: web.Application, settings: Settings) -> None:
    """GOV.UK Frontend is served from where `tellme assets` put it (TELLME_ASSETS_DIR), which may be outside the
    package. Without it the pages still work, unstyled, so the web app says so and starts."""
    vendor = settings.vendor_dir
    if not (vendor / 'govuk-frontend').is_dir():
        logger.warning(
            'GOV.UK Frontend is not in %s: pages will have no styles until `tellme assets` fetches it', vendor
        )
    if vendor.is_dir():
        app.router.add_static('/static/vendor/', vendor, name='vendor', append_version=False)
    else:  # not yet fetched: nothing under /static/vendor/, rather than another folder's copy
        app.router.add_get('/static/vendor/{path:.*}', _not_fetched, name='vendor')


async def _not_fetched(request: web.Request) -> web.StreamResponse:
    raise web.HTTPNotFound()


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        middlewares=[
            security_headers,
            rendering.middleware,
            form_errors.middleware,
            error_middleware,
            input_guard.middleware,
            csrf.middleware,
        ],
        client_max_size=1024**2,
    )
    app[SETTINGS] = settings
    setup_request_ids(app)  # outermost: X-Request-Id and the access log (notifier/web/request_ids.py)
    rendering.setup(app)
    _serve_vendor_assets(app, settings)
    app.router.add_static('/static/', STATIC, name='static', append_version=False)
    app.cleanup_ctx.append(_resources)
    web_metrics.setup(app)  # counts every request; GET /metrics
    app.add_routes(views.routes)
    views.setup(app)
    app.add_routes(council_pages.routes)
    app.add_routes(sources_api.routes)
    app.add_routes(cases_api.routes)
    app.add_routes(case_pages.routes)
    app.add_routes(case_template_pages.routes)
    app.add_routes(case_signup.routes)
    app.add_routes(case_tools_api.routes)
    app.add_routes(subscriptions_api.routes)
    app.add_routes(journey_confirm.routes)  # /confirm/code before /confirm/{token}
    app.add_routes(journey.routes)
    app.add_routes(journey_submit.routes)
    app.add_routes(journey_near.routes)
    app.add_routes(journey_bins.routes)
    app.add_routes(journey_case.routes)
    app.add_routes(subscription_pages.routes)
    app.add_routes(digest_page.routes)
    app.add_routes(manage_sign_in.routes)
    app.add_routes(manage_link_scope.routes)
    app.add_routes(manage_sign_out.routes)
    app.add_routes(manage_pages.routes)
    app.add_routes(manage_changes.routes)
    app.add_routes(your_data.routes)
    app.add_routes(callbacks.routes)
    app.add_routes(sources_views.routes)
    app.add_routes(staff_pages.routes)
    app.add_routes(staff_replies.routes)
    app.add_routes(overview_pages.routes)
    app.add_routes(oidc_pages.routes)
    app.add_routes(bulletin_pages.routes)
    app.add_routes(bulletin_send_pages.routes)
    app.add_routes(bulletin_approval_pages.routes)
    app.add_routes(bulletin_api.routes)
    app.add_routes(topic_pages.routes)
    app.add_routes(topics_api.routes)
    app.add_routes(openapi.routes)
    form_errors.setup(app)  # after every route
    return app
