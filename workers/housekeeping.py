"""Hourly: forget unconfirmed sign-ups, expired sessions and spent one-time secrets, and workers that stopped."""

from __future__ import annotations

import logging
from typing import Any

from subscriptions.residents import housekeeping
from workers.heartbeat import forget_dead_workers

logger = logging.getLogger('workers.housekeeping')


async def forget(ctx: dict[str, Any]) -> dict[str, int]:
    async with ctx['pg'].acquire() as conn:
        forgotten = await housekeeping.forget(conn)
    if forgotten.subscriptions or forgotten.residents:
        logger.info('forgot %d unconfirmed sign-ups and %d residents', forgotten.subscriptions, forgotten.residents)
    return vars(forgotten)


async def forget_dead_workers_job(ctx: dict[str, Any]) -> int:
    return await forget_dead_workers(ctx['pg'])
