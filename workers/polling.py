"""Every minute: poll the feeds whose interval has come round."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any

import asyncpg

from notifier import db
from notifier.logs import log_context
from notifier.settings import Settings
from sources.feeds.polling import poll_source
from sources.feeds.registry import Source, due_sources

logger = logging.getLogger('notifier.sweeper')


async def poll_due_sources(ctx: dict[str, Any], *, concurrency: int = 4) -> dict[str, int]:
    """Every minute: poll each active source whose interval has come round, a few at a time; one failing or slow
    source never stops the others (each poll holds its own source's lock, so overlapping runs never poll a source
    twice at once).

    The locks are held on connections of a small pool of this run's own, not the worker's pool: a feed that takes
    minutes to answer must not hold a connection the senders need. Each poll fetches through a connection pool of its
    own that reaches only what its source may (sources.feeds.egress), never the worker's HTTP session for Notify."""
    gate = asyncio.Semaphore(concurrency)
    settings: Settings | None = ctx.get('settings')
    secrets = settings.link_secrets if settings is not None else []

    async def poll_one(source: Source, locks: asyncpg.Pool) -> str:
        async with gate:
            with log_context(source=source.name):  # on every line this poll writes
                try:
                    result = await poll_source(ctx['pg'], source, redis=ctx.get('redis'), secrets=secrets, locks=locks)
                    return result.outcome
                except Exception:  # noqa: BLE001 - one broken source never stops another
                    logger.exception('polling source %s failed unexpectedly', source.name)
                    return 'crashed'

    due = await due_sources(ctx['pg'], await ctx['pg'].fetchval('select now()'))
    if not due:
        return {}
    # without settings (a caller that gives only a pool) the locks come from that pool, as the CLI's do
    locks = await db.create_pool(settings, min_size=0, max_size=concurrency) if settings is not None else ctx['pg']
    try:
        outcomes = Counter(await asyncio.gather(*(poll_one(source, locks) for source in due)))
    finally:
        if locks is not ctx['pg']:
            await locks.close()
    logger.info('polled sources: %s', ', '.join(f'{name} {count}' for name, count in sorted(outcomes.items())))
    return dict(outcomes)
