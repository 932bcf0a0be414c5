"""`tellme web`: serve the app until told to stop, then stop the way a load balancer needs.

On SIGTERM (an orchestrator stopping the process):

1. /readyz answers 503 at once, while the app goes on serving for TELLME_SHUTDOWN_DRAIN seconds, so load balancers
   that probe /readyz take this process out before it stops accepting;
2. the listening socket closes (no new connections), idle keep-alive connections close, and requests in flight get
   the rest of TELLME_SHUTDOWN_GRACE to finish (aiohttp's `shutdown_timeout`); any still running then are cancelled;
3. the app's resources close (its database pool, Redis, the HTTP session) and the process exits 0.

SIGINT (Ctrl-C at a terminal) skips the drain: nobody is routing traffic to a process someone is watching.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from notifier.settings import Settings
from notifier.shell.app import create_app
from notifier.shell.views import READINESS

logger = logging.getLogger('notifier.shell.serve')


async def serve(settings: Settings, app: web.Application | None = None) -> int:
    """Serve `app` (default: create_app(settings)) on TELLME_HOST:TELLME_PORT until SIGTERM or SIGINT."""
    app = app if app is not None else create_app(settings)
    grace, drain = settings.shutdown_grace, settings.shutdown_drain
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=grace - drain)
    await runner.setup()
    loop = asyncio.get_running_loop()
    stopped: asyncio.Future[signal.Signals] = loop.create_future()

    def stop(signum: signal.Signals) -> None:
        if not stopped.done():
            stopped.set_result(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop, signum)
    try:
        await web.TCPSite(runner, settings.host, settings.port).start()
        logger.info('serving on http://%s:%d', settings.host, settings.port)
        signum = await stopped
        app[READINESS].stopping = True
        if signum == signal.SIGTERM and drain:
            logger.info('SIGTERM: /readyz answers 503; serving %.0f s more so load balancers stop sending', drain)
            await asyncio.sleep(drain)
        logger.info('stopping: finishing requests in flight (up to %.0f s)', grace - drain)
    finally:
        try:
            await runner.cleanup()
        finally:  # a second signal while stopping changes nothing: the handlers stay until the end
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)
    logger.info('stopped')
    return 0
