"""The sweeper, every minute: what makes a lost job, a killed worker or a flushed Redis lose nothing.

- rows `unknown` for UNKNOWN_SETTLE, or `sending` for STUCK_AFTER (their worker died), are looked up at Notify by
  reference: found → recorded as sent with Notify's id and status; not found → back to `retry`;
- callbacks stored but not processed are processed;
- the senders are woken if rows are ready (they also poll every second on their own).
Ready `pending`/`retry` rows need no re-enqueueing: no job holds them; every worker's sender claims them from
the outbox (docs/decisions.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import timedelta
from typing import Any

import asyncpg

from notifier import callbacks, db, delivery, queue
from notifier.settings import Settings
from sources.polling import poll_source
from sources.registry import Source, due_sources
from subscriptions.digests import close_due_digests
from subscriptions.reminders import queue_reminders

logger = logging.getLogger('notifier.sweeper')

READY = "select exists (select 1 from notifications where status in ('pending', 'retry') and not_before <= now())"


async def sweep(
    ctx: dict[str, Any],
    *,
    unknown_after: timedelta = delivery.UNKNOWN_SETTLE,
    sending_after: timedelta = delivery.STUCK_AFTER,
) -> dict[str, int]:
    sender: delivery.Sender = ctx['sender']
    outcomes = await sender.reconcile_stuck(unknown_after=unknown_after, sending_after=sending_after)
    outcomes['callbacks'] = await callbacks.process_unprocessed(ctx['pg'], public_url=sender.settings.public_url)
    if await ctx['pg'].fetchval(READY):
        await queue.wake_senders(ctx['redis'])
    if any(outcomes.values()):
        logger.info('sweep: %s', ', '.join(f'{name} {count}' for name, count in sorted(outcomes.items())))
    return outcomes


async def close_digests(ctx: dict[str, Any]) -> int:
    """Every few minutes: turn due daily/weekly digests into one message each, then wake the senders."""
    settings = ctx['settings']
    if not settings.link_secrets:
        logger.warning('digests not closed: TELLME_SECRET_KEY is not set, so their links cannot be made')
        return 0
    total = 0
    while True:
        async with ctx['pg'].acquire() as conn, conn.transaction():
            closed = await close_due_digests(
                conn, now=await conn.fetchval('select now()'), public_url=settings.public_url,
                secret=settings.link_secrets[0],
            )  # fmt: skip
        total += len(closed.messages)
        if closed.messages:
            await queue.wake_senders(ctx['redis'])
        if closed.digests + closed.empty == 0:
            break
    if total:
        logger.info('digests: %d sent to the outbox', total)
    return total


async def queue_bin_reminders(ctx: dict[str, Any]) -> int:
    """Every few minutes: queue the bin reminders due in the next day and a half (each once, at the resident's
    chosen time) and cancel those a moved collection overtook."""
    settings = ctx['settings']
    if not settings.link_secrets:
        logger.warning('bin reminders not queued: TELLME_SECRET_KEY is not set, so their links cannot be made')
        return 0
    async with ctx['pg'].acquire() as conn, conn.transaction():
        done = await queue_reminders(
            conn, now=await conn.fetchval('select now()'), public_url=settings.public_url,
            secret=settings.link_secrets[0],
        )  # fmt: skip
    if done.due_now:
        await queue.wake_senders(ctx['redis'])
    return len(done.queued)


async def poll_due_sources(ctx: dict[str, Any], *, concurrency: int = 4) -> dict[str, int]:
    """Every minute: poll each active source whose interval has come round, a few at a time; one failing or slow
    source never stops the others (each poll holds its own source's lock, so overlapping runs never poll a source
    twice at once).

    The locks are held on connections of a small pool of this run's own, not the worker's pool: a feed that takes
    minutes to answer must not hold a connection the senders need. Each poll fetches through a connection pool of its
    own that reaches only what its source may (sources.egress), never the worker's HTTP session for Notify."""
    gate = asyncio.Semaphore(concurrency)
    settings: Settings | None = ctx.get('settings')
    secrets = settings.link_secrets if settings is not None else []

    async def poll_one(source: Source, locks: asyncpg.Pool) -> str:
        async with gate:
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
