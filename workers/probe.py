"""A worker process's own probes, on TELLME_HOST:TELLME_WORKER_PROBE_PORT (0, the default: none).

- /livez: this worker's sender is going round its loop: some slot claimed, sent, or found nothing and waited within
  TELLME_WORKER_STUCK_AFTER seconds. A stuck sender (a call that never returns) is what restarting cures.
- /readyz: live, its own heartbeat recorded in the database within 2.5 heartbeat intervals, and not stopping. A
  database that is away makes it unready, not dead: restarting would not bring the database back.

Each answer says why, with this worker's id (`hostname:pid:random`, as in worker_heartbeats). Without a port,
`tellme check-worker --id ID` or `--pid PID` asks the database about one worker instead.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from notifier.settings import Settings
from workers.heartbeat import Heartbeat
from workers.pump import Pump

logger = logging.getLogger('workers.probe')

STATE = web.AppKey('worker_state', dict)


def report(ctx: dict[str, Any]) -> tuple[bool, bool, dict[str, Any]]:
    """(live, ready, body) for the worker whose arq context is `ctx`."""
    settings: Settings = ctx['settings']
    heartbeat: Heartbeat = ctx['heartbeat']
    pump: Pump = ctx['pump']
    idle, age = pump.idle_for(), heartbeat.age()
    live = idle <= settings.worker_stuck_after
    fresh = age <= settings.worker_stale_after
    stopping = bool(ctx.get('stopping'))
    ready = live and fresh and not stopping
    problems = []
    if not live:
        problems.append(f'the sender has not gone round its loop for {idle:.0f} s')
    if not fresh:
        problems.append('no heartbeat recorded yet' if age == float('inf') else f'last heartbeat {age:.0f} s ago')
    if stopping:
        problems.append('stopping')
    body = {
        'status': 'ok' if ready else 'stopping' if stopping and live and fresh else 'unready',
        'worker_id': heartbeat.worker_id,
        'heartbeat_seconds_ago': round(age, 1) if age != float('inf') else None,
        'sender_idle_seconds': round(idle, 1),
        'problems': problems,
    }
    return live, ready, body


async def livez(request: web.Request) -> web.Response:
    live, _, body = report(request.app[STATE])
    return web.json_response({**body, 'status': 'ok' if live else 'stuck'}, status=200 if live else 503,
                             headers={'Cache-Control': 'no-store'})  # fmt: skip


async def readyz(request: web.Request) -> web.Response:
    _, ready, body = report(request.app[STATE])
    return web.json_response(body, status=200 if ready else 503, headers={'Cache-Control': 'no-store'})


async def start(ctx: dict[str, Any]) -> web.AppRunner | None:
    """Serve this worker's probes, if TELLME_WORKER_PROBE_PORT is set; the runner to clean up, else None."""
    settings: Settings = ctx['settings']
    if not settings.worker_probe_port:
        return None
    app = web.Application()
    app[STATE] = ctx
    app.router.add_get('/livez', livez)
    app.router.add_get('/readyz', readyz)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1)
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.worker_probe_port).start()
    logger.info('worker probes on http://%s:%d/livez and /readyz', settings.host, settings.worker_probe_port)
    return runner
