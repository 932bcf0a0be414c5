"""The aiohttp app: Notify's v2 routes behind its authentication, plus /_status and the /_sim/ admin pages."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from . import admin, outbox, reading, sending
from .faults import ERROR_ACTIONS, Fault
from .rules.auth import authenticate
from .rules.errors import ApiError, internal_error, rate_limit_error, too_many_requests
from .simulator import API_KEY, FAULT, SERVICE, SIM, Simulator

logger = logging.getLogger('notifier.notify_sim.server')

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SLOW_DEFAULT_SECONDS = 35.0
CHANNEL_BY_FIELD = {'email_address': 'email', 'phone_number': 'sms'}


def not_found_body(request: web.Request) -> web.Response:
    message = (
        'The requested URL was not found on the server. If you entered the URL manually please check your spelling '
        'and try again.'
    )
    return web.json_response({'result': 'error', 'message': message}, status=404)


def fault_error(fault: Fault, request: web.Request) -> web.Response:
    sim: Simulator = request.app[SIM]
    channel = request.match_info.get('channel', 'email')
    if fault.action == '503':
        return web.Response(status=503, text='<html><body><h1>503 Service Unavailable</h1></body></html>',
                            content_type='text/html')  # fmt: skip
    if fault.action == '429-rate':
        error = rate_limit_error(request[API_KEY].key_type, sim.rate_limit)
    elif fault.action == '429-daily':
        limit_name = channel if channel in sim.daily.limits else 'email'
        error = too_many_requests(limit_name, sim.daily.limits[limit_name])
    elif fault.action == '500':
        error = internal_error()
    elif fault.action == '403':
        error = ApiError(403, 'AuthError', 'Invalid token: API key not found')
    else:
        field = 'phone_number' if channel == 'sms' else 'email_address'
        reason = 'Not a UK mobile number' if channel == 'sms' else 'Not a valid email address'
        error = ApiError(400, 'ValidationError', f'{field} {reason}')
    if fault.error or fault.message:
        error = ApiError(error.status, fault.error or error.error, fault.message or error.messages[0])
    return error.response()


async def drop_connection(request: web.Request, delay: float) -> web.Response:
    await asyncio.sleep(delay)
    if request.transport is not None:
        request.transport.abort()  # no response bytes at all: the client sees a reset or its own timeout
    return web.Response(status=204)  # never written: the transport is gone


async def with_fault(request: web.Request, handler: Handler) -> web.StreamResponse:
    sim: Simulator = request.app[SIM]
    is_send = request.method == 'POST' and request.path.startswith('/v2/notifications/')
    fault = sim.faults.pick(await request.read() if is_send else b'', is_send=is_send)
    if fault is None:
        return await handler(request)
    logger.info('fault %s injected on %s %s', fault.action, request.method, request.path)
    request[FAULT] = fault
    if fault.action in ERROR_ACTIONS:
        return fault_error(fault, request)
    if fault.action == 'slow':
        await asyncio.sleep(fault.delay if fault.delay is not None else SLOW_DEFAULT_SECONDS)
    try:
        response = await handler(request)
    except ApiError:
        if fault.action != 'drop':
            raise
        return await drop_connection(request, fault.delay or 0.0)
    if fault.action == 'drop':
        return await drop_connection(request, fault.delay or 0.0)
    return response


@web.middleware
async def notify_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        if not request.path.startswith('/v2/'):
            return await handler(request)
        service, key = authenticate(request.headers, request.app[SIM].services)
        request[SERVICE], request[API_KEY] = service, key
        return await with_fault(request, handler)
    except ApiError as exc:
        return exc.response()
    except web.HTTPNotFound:
        return not_found_body(request)
    except web.HTTPMethodNotAllowed:
        return web.json_response({'result': 'error', 'message': 'The method is not allowed for the requested URL.'},
                                 status=405)  # fmt: skip
    except web.HTTPException:
        raise
    except Exception:
        logger.exception('unhandled error on %s %s', request.method, request.path)
        return internal_error().response()


async def show_status(request: web.Request) -> web.Response:
    if request.query.get('simple'):
        return web.json_response({'status': 'ok'})
    return web.json_response(
        {'status': 'ok', 'git_commit': 'notify-sim', 'build_time': 'notify-sim', 'db_version': 'notify-sim'},
        headers={'Cache-Control': 'no-cache, no-store, must-revalidate', 'Pragma': 'no-cache', 'Expires': '0'},
    )


async def _close(app: web.Application) -> None:
    await app[SIM].close()


def create_app(sim: Simulator) -> web.Application:
    app = web.Application(middlewares=[notify_middleware], client_max_size=10 * 1024 * 1024)
    app[SIM] = sim
    app.router.add_get('/', show_status)
    app.router.add_get('/_status', show_status)
    app.router.add_post('/_status', show_status)
    app.router.add_post('/v2/notifications/{channel}', sending.post_notification)
    app.add_routes(reading.routes)
    app.add_routes(admin.routes)
    app.add_routes(outbox.routes)
    app.on_cleanup.append(_close)
    return app


async def serve(sim: Simulator, host: str = '127.0.0.1', port: int = 0) -> tuple[web.AppRunner, str]:
    """Start the simulator on host:port (0 picks a free port). Returns the runner (call .cleanup()) and base URL."""
    runner = web.AppRunner(sim.make_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound_port = runner.addresses[0][1] if runner.addresses else port
    url = f'http://{host}:{bound_port}'
    logger.info('notify simulator listening on %s', url)
    return runner, url
