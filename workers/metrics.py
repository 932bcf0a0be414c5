"""Serving the metrics (notifier/metrics.py): the scrape both the web app's `GET /metrics` and each worker's port
answer with, and the worker's little server.

A scrape first reads what is not counted but looked up: the outbox backlog (notifier/outbox/backlog.py, one
statement), how many workers' heartbeats are recent, and today's count against Notify's daily limits
(DailyBudget.used). What it read is kept for CACHE_SECONDS, so several Prometheus servers, or a dashboard asking
often, cost one query. A part that cannot be read is left out of that answer and counted in
tellme_metrics_scrape_errors_total; the counters are served all the same.

Each worker process serves on the first free port of TELLME_WORKER_METRICS_PORT (a port, or a range such as
9101-9108 for several workers on one host), at TELLME_WORKER_METRICS_HOST (127.0.0.1 by default). A worker that
finds no free port logs it and works on without one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import asyncpg
from aiohttp import web

from notifier import metrics
from notifier.outbox.backlog import backlog
from notifier.sending.daily_budget import DailyBudget
from notifier.settings import Settings
from workers import heartbeat

logger = logging.getLogger('notifier.metrics')

CACHE_SECONDS = 5.0


class Scrape:
    """One process's answer to GET /metrics: who may ask (metrics.refusal), then the figures read at scrape time
    and every counter."""

    def __init__(
        self, pool: asyncpg.Pool, settings: Settings, budget: DailyBudget | None, *, local_trusted: bool
    ) -> None:
        self.pool, self.settings, self.budget = pool, settings, budget
        self.local_trusted = local_trusted
        self._read_at = -CACHE_SECONDS
        self._lock = asyncio.Lock()

    async def handle(self, request: web.Request) -> web.Response:
        token = self.settings.metrics_token.get_secret_value()
        refused = metrics.refusal(
            authorization=request.headers.get('Authorization', ''), peer=request.remote, token=token,
            forwarded=any(name in request.headers for name in metrics.FORWARDING_HEADERS),
            local_trusted=self.local_trusted,
        )  # fmt: skip
        if refused == 401:
            return web.Response(status=401, text='metrics need the bearer token (TELLME_METRICS_TOKEN)\n',
                                headers={'WWW-Authenticate': 'Bearer'})  # fmt: skip
        if refused is not None:
            return web.Response(status=refused, text='metrics are served to this host only; set TELLME_METRICS_TOKEN '
                                'to read them from elsewhere\n')  # fmt: skip
        await self.read()
        body, content_type = metrics.exposition()
        return web.Response(body=body, headers={'Content-Type': content_type, 'Cache-Control': 'no-store'})

    async def read(self) -> None:
        """Read the outbox, the heartbeats and today's counts into metrics.SCRAPED, unless read in the last
        CACHE_SECONDS."""
        async with self._lock:
            if time.monotonic() - self._read_at < CACHE_SECONDS:
                return
            outbox = alive = daily = None
            try:
                found = await backlog(self.pool)
                outbox, oldest = found.counts, found.oldest_ready
                alive = await heartbeat.alive(self.pool, 2 * heartbeat.HEARTBEAT_SECONDS)
            except (OSError, asyncpg.PostgresError) as exc:
                logger.warning('metrics: the outbox could not be read: %s', exc)
                metrics.SCRAPE_ERRORS.labels('outbox').inc()
                oldest = None
            try:
                daily = await self._daily()
            except Exception as exc:  # noqa: BLE001 - Redis away: the rest of the scrape still answers
                logger.warning('metrics: daily counts could not be read: %s', exc)
                metrics.SCRAPE_ERRORS.labels('daily').inc()
            metrics.SCRAPED.set(outbox=outbox, oldest_ready=oldest, workers_alive=alive, daily=daily)
            self._read_at = time.monotonic()

    async def _daily(self) -> dict[str, tuple[int, int]] | None:
        if self.budget is None:
            return None
        channels = self.settings.notify_channel_list
        return {channel: (await self.budget.used(channel), self.settings.notify_daily_limit(channel))
                for channel in channels}  # fmt: skip


@dataclass
class Served:
    runner: web.AppRunner
    port: int

    async def stop(self) -> None:
        await self.runner.cleanup()


async def serve(settings: Settings, pool: asyncpg.Pool, budget: DailyBudget | None) -> Served | None:
    """This worker's /metrics on the first free port of TELLME_WORKER_METRICS_PORT; None when it is off or no port
    of the range is free."""
    ports = settings.worker_metrics_ports
    if not ports:
        return None
    app = web.Application()
    app.router.add_get('/metrics', Scrape(pool, settings, budget, local_trusted=True).handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    for port in ports:
        try:
            await web.TCPSite(runner, settings.worker_metrics_host, port).start()
        except OSError:
            continue
        logger.info('worker metrics on http://%s:%d/metrics', settings.worker_metrics_host, port)
        return Served(runner, port)
    await runner.cleanup()
    logger.warning('worker metrics are off: no free port in TELLME_WORKER_METRICS_PORT=%s (give each worker on this '
                   'host its own, or a range)', settings.worker_metrics_port)  # fmt: skip
    return None
