"""arq's WorkerSettings and the worker's resources (a database pool, its heartbeat)."""

from __future__ import annotations

from typing import Any

from arq import cron
from arq.worker import Worker, create_worker

from notifier import db
from notifier.settings import Settings
from workers import jobs
from workers.heartbeat import Heartbeat


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx['settings']
    ctx['pg'] = await db.create_pool(settings)
    ctx['heartbeat'] = Heartbeat(ctx['pg'])
    await ctx['heartbeat'].start()


async def shutdown(ctx: dict[str, Any]) -> None:
    if 'heartbeat' in ctx:
        await ctx['heartbeat'].stop()
    if 'pg' in ctx:
        await ctx['pg'].close()


class WorkerSettings:
    functions: list[Any] = []
    cron_jobs = [cron(jobs.forget_dead_workers_job, minute=17, second=0, unique=True)]
    on_startup = startup
    on_shutdown = shutdown
    max_jobs = 20
    job_timeout = 60  # also how soon a crashed job is picked up again
    keep_result = 0  # results live in Postgres; frees a _job_id at once
    job_completion_wait = 20  # drain running jobs on SIGTERM instead of cancelling them
    health_check_interval = 30


def make_worker(settings: Settings, **overrides: Any) -> Worker:
    return create_worker(WorkerSettings, redis_settings=settings.arq_redis, ctx={'settings': settings}, **overrides)
