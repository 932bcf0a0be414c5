"""Hourly: forget unconfirmed sign-ups and numbers that only texted us (subscriptions/residents/housekeeping.py),
expired sessions and spent one-time secrets, what finished messages said once the retention period has passed
(notifier/outbox/retention.py), finished messages themselves once TELLME_OUTBOX_KEEP_DAYS has passed, kept as counts
(notifier/outbox/archive.py), and workers that stopped."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from notifier.outbox import archive, retention
from notifier.settings import Settings
from subscriptions.residents import housekeeping
from workers.heartbeat import forget_dead_workers

logger = logging.getLogger('workers.housekeeping')


async def forget(ctx: dict[str, Any], *, now: datetime | None = None) -> dict[str, int]:
    """`now`: the moment sign-ups, texting numbers and message retention are judged at (default: the database's
    clock)."""
    settings: Settings = ctx['settings']
    async with ctx['pg'].acquire() as conn:
        forgotten = await housekeeping.forget(conn, now=now)
        cleared = await retention.forget(conn, days=settings.notification_retention_days, now=now)
        moved = await archive.move_out(conn, days=settings.outbox_keep_days, now=now)
    if forgotten.subscriptions or forgotten.residents:
        logger.info('forgot %d unconfirmed sign-ups and %d residents', forgotten.subscriptions, forgotten.residents)
    if cleared.messages or cleared.receipts:
        logger.info('forgot what %d messages said and whom %d receipts named', cleared.messages, cleared.receipts)
    if moved:
        logger.info('moved %d finished messages out of the outbox into daily counts', moved)
    return vars(forgotten) | {
        'message_contents': cleared.messages, 'receipt_addresses': cleared.receipts, 'messages_counted': moved,
    }  # fmt: skip


async def forget_dead_workers_job(ctx: dict[str, Any]) -> int:
    return await forget_dead_workers(ctx['pg'])
