"""Every few minutes: daily and weekly digests closed into one message each, and bin-day reminders queued."""

from __future__ import annotations

import logging
from typing import Any

from notifier.outbox import queue
from subscriptions.matching.digests import close_due_digests
from subscriptions.matching.reminders import queue_reminders

logger = logging.getLogger('notifier.sweeper')


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
