"""arq's WorkerSettings and the worker's resources: a database pool, its heartbeat, an aiohttp session, the Notify
client, the shared send limiter and this process's sender (workers/pump.py)."""

from __future__ import annotations

from typing import Any

import aiohttp
from arq import cron, func
from arq.worker import Worker, create_worker

from notifier import db
from notifier.sending.delivery import Sender
from notifier.sending.notify_client import NotifyClient
from notifier.sending.rate_limit import SendLimiter
from notifier.settings import Settings
from workers import bulletins, digests, evidence, housekeeping, polling, sending, sweeper
from workers.heartbeat import Heartbeat
from workers.pump import Pump

SENDER_CONCURRENCY = 16  # sends in flight per process: Notify's rate × its latency, with room to spare


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx['settings']
    ctx['pg'] = await db.create_pool(settings, max_size=SENDER_CONCURRENCY + 4)
    ctx['heartbeat'] = Heartbeat(ctx['pg'])
    await ctx['heartbeat'].start()
    ctx['http'] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=SENDER_CONCURRENCY * 2))
    ctx['notify'] = NotifyClient(
        ctx['http'], settings.notify_api_key.get_secret_value(), settings.notify_base_url,
        timeout=settings.notify_timeout,
    )  # fmt: skip
    ctx['limiter'] = SendLimiter.from_settings(ctx['redis'], ctx['notify'].service_id, settings)
    ctx['sender'] = Sender(ctx['pg'], ctx['notify'], ctx['limiter'], settings)
    ctx['pump'] = Pump(ctx['sender'], ctx['redis'], concurrency=SENDER_CONCURRENCY)
    ctx['pump'].start()


async def shutdown(ctx: dict[str, Any]) -> None:
    if 'pump' in ctx:
        await ctx['pump'].stop(timeout=WorkerSettings.job_completion_wait)
    if 'http' in ctx:
        await ctx['http'].close()
    if 'heartbeat' in ctx:
        await ctx['heartbeat'].stop()
    if 'pg' in ctx:
        await ctx['pg'].close()


class WorkerSettings:
    functions: list[Any] = [func(sending.deliver_notification, max_tries=3)]
    cron_jobs = [
        cron(housekeeping.forget_dead_workers_job, minute=17, second=0, unique=True),
        cron(sweeper.sweep, second=30, unique=True, timeout=50),  # every minute
        cron(digests.close_digests, minute=set(range(0, 60, 5)), second=10, unique=True, timeout=240),
        cron(digests.queue_bin_reminders, minute=set(range(2, 60, 5)), second=20, unique=True, timeout=240),
        cron(polling.poll_due_sources, second=45, unique=True, timeout=540),  # every minute; each source's own interval
        cron(housekeeping.forget, minute=41, second=0, unique=True, timeout=300),  # hourly
        cron(evidence.evidence_reminders, minute=set(range(3, 60, 5)), second=40, unique=True, timeout=240),
        cron(bulletins.send_due_bulletins, second=5, unique=True, timeout=50),  # every minute: scheduled bulletins
    ]
    on_startup = startup
    on_shutdown = shutdown
    max_jobs = 20
    job_timeout = 30  # also how soon a crashed job is picked up again
    keep_result = 0  # results live in Postgres; frees a _job_id at once
    job_completion_wait = 20  # drain running jobs on SIGTERM instead of cancelling them
    health_check_interval = 30


def make_worker(settings: Settings, **overrides: Any) -> Worker:
    return create_worker(WorkerSettings, redis_settings=settings.arq_redis, ctx={'settings': settings}, **overrides)
