"""arq's WorkerSettings and the worker's resources: a database pool, its heartbeat, an aiohttp session, the Notify
client, the shared send limiter, this process's sender (workers/pump.py) and its probes (workers/probe.py).

Sizes come from Settings: TELLME_WORKER_DATABASE_POOL connections (feed polls take up to POLL_CONCURRENCY more, from
a pool of their own), TELLME_WORKER_MAX_JOBS arq jobs at once, TELLME_SENDER_CONCURRENCY sends in flight in claims of
at most TELLME_SENDER_BATCH rows.

Stopping (SIGTERM, or SIGINT): the sender claims nothing more at once and the probe's /readyz says `stopping`; arq
picks no more jobs and waits for the running ones; the sends in flight finish and every row claimed but not started is
given back (`Sender.release`), all within TELLME_SHUTDOWN_GRACE, so nothing is left `sending` for the sweeper.
"""

from __future__ import annotations

import dataclasses
import logging
import signal
import time
from functools import partial
from typing import Any

import aiohttp
from arq import cron, func
from arq.worker import Worker, create_worker

from notifier import db
from notifier.sending.delivery import Sender
from notifier.sending.notify_client import NotifyClient
from notifier.sending.rate_limit import SendLimiter
from notifier.settings import Settings
from workers import bulletins, digests, evidence, housekeeping, polling, probe, sending, sweeper
from workers import metrics as worker_metrics
from workers.heartbeat import Heartbeat
from workers.job_logs import job_started
from workers.pump import Pump

logger = logging.getLogger('workers.settings')

POLL_CONCURRENCY = 4  # feeds polled at once; each poll holds a connection of its own (workers/polling.py)


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx['settings']
    ctx['pg'] = await db.create_pool(settings, max_size=settings.worker_database_pool)
    ctx['heartbeat'] = Heartbeat(ctx['pg'], every=settings.worker_heartbeat_seconds)
    await ctx['heartbeat'].start()
    logger.info('worker %s started', ctx['heartbeat'].worker_id)
    ctx['http'] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=settings.sender_concurrency * 2))
    ctx['notify'] = NotifyClient(
        ctx['http'], settings.notify_api_key.get_secret_value(), settings.notify_base_url,
        timeout=settings.notify_timeout,
    )  # fmt: skip
    ctx['limiter'] = SendLimiter.from_settings(ctx['redis'], ctx['notify'].service_id, settings)
    ctx['sender'] = Sender(ctx['pg'], ctx['notify'], ctx['limiter'], settings, worker_id=ctx['heartbeat'].worker_id)
    concurrency, batch = settings.sender_concurrency, settings.sender_batch
    ctx['pump'] = Pump(ctx['sender'], ctx['redis'], concurrency=concurrency, batch=batch)
    ctx['pump'].start()
    ctx['metrics'] = await worker_metrics.serve(settings, ctx['pg'], ctx['sender'].budget)  # TELLME_WORKER_METRICS_PORT
    if ctx.get('stopping'):  # told to stop while starting
        ctx['pump'].drain()
    ctx['probe'] = await probe.start(ctx)


async def shutdown(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx['settings']
    ctx['stopping'] = True
    if ctx.get('metrics'):
        await ctx['metrics'].stop()
    if 'pump' in ctx:
        left = ctx.get('stop_by', time.monotonic() + settings.shutdown_grace) - time.monotonic()
        await ctx['pump'].stop(timeout=max(left, 1.0))
    if 'http' in ctx:
        await ctx['http'].close()
    if 'heartbeat' in ctx:
        await ctx['heartbeat'].stop()
    if ctx.get('probe') is not None:
        await ctx['probe'].cleanup()
    if 'pg' in ctx:
        await ctx['pg'].close()


class WorkerSettings:
    functions: list[Any] = [func(sending.deliver_notification, max_tries=3)]
    cron_jobs = [
        cron(housekeeping.forget_dead_workers_job, minute=17, second=0, unique=True),
        cron(sweeper.sweep, second=30, unique=True, timeout=50),  # every minute, taking back stuck rows too
        # and every 15 s in all: a dead worker's rows go back as soon as its heartbeat lapses (issue 13 item 7)
        cron(sweeper.recover, second={0, 15, 45}, unique=True, timeout=50),
        cron(digests.close_digests, minute=set(range(0, 60, 5)), second=10, unique=True, timeout=240),
        cron(digests.queue_bin_reminders, minute=set(range(2, 60, 5)), second=20, unique=True, timeout=240),
        cron(polling.poll_due_sources, second=45, unique=True, timeout=540),  # every minute; each source's own interval
        cron(housekeeping.forget, minute=41, second=0, unique=True, timeout=300),  # hourly
        cron(evidence.evidence_reminders, minute=set(range(3, 60, 5)), second=40, unique=True, timeout=240),
        cron(bulletins.send_due_bulletins, second=5, unique=True, timeout=50),  # every minute: scheduled bulletins
        # every minute and at start-up: bulletins whose messages have all gone read Sent
        cron(bulletins.finish_sent_bulletins, second=35, unique=True, timeout=50, run_at_startup=True),
    ]
    on_startup = startup
    on_shutdown = shutdown
    on_job_start = job_started  # the job's id on every line it logs
    job_timeout = 30  # also how soon a crashed job is picked up again
    keep_result = 0  # results live in Postgres; frees a _job_id at once
    health_check_interval = 30


def _stop_sending(worker: Worker, signum: signal.Signals) -> None:
    """SIGTERM or SIGINT: the sender claims nothing more at once, then arq stops picking jobs and waits for the running
    ones (up to its job_completion_wait, the grace); shutdown() waits for the sends in flight in what is left."""
    settings: Settings = worker.ctx['settings']
    if not worker.ctx.get('stopping'):
        worker.ctx['stopping'] = True
        worker.ctx['stop_by'] = time.monotonic() + settings.shutdown_grace
        if 'pump' in worker.ctx:
            worker.ctx['pump'].drain()
    worker.handle_sig_wait_for_completion(signum)


def make_worker(settings: Settings, **overrides: Any) -> Worker:
    """A worker sized from the settings, stopping cleanly on SIGTERM, with cron schedules of its own: arq keeps each
    job's next run on the CronJob, so a second worker in one process (tests, a restart in place) would otherwise skip
    the jobs that run at start-up."""
    fresh = [dataclasses.replace(job, next_run=None) for job in WorkerSettings.cron_jobs]
    options: dict[str, Any] = {
        'max_jobs': settings.worker_max_jobs,
        'job_completion_wait': settings.shutdown_grace,  # drain running jobs on SIGTERM instead of cancelling them
        'cron_jobs': fresh,
    }
    worker = create_worker(
        WorkerSettings, redis_settings=settings.arq_redis, ctx={'settings': settings}, **(options | overrides)
    )
    if overrides.get('handle_signals', True):
        for signum in (signal.SIGINT, signal.SIGTERM):
            worker.loop.add_signal_handler(signum, partial(_stop_sending, worker, signum))
    return worker
