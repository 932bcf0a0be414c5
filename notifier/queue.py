"""The only door to arq outside `workers/`: connecting to the queue and naming its jobs."""

from __future__ import annotations

from arq.connections import ArqRedis, create_pool

from notifier.settings import Settings


async def connect(settings: Settings) -> ArqRedis:
    # Fail fast when Redis is absent: the web app still serves, and /healthz says Redis is down.
    return await create_pool(settings.arq_redis, retry=0)
