"""Every minute: start the scheduled bulletins whose time has come (each under its own row lock, audited as the
system), then wake the senders. A bulletin whose audience grew over the approval threshold since it was approved
waits for approval instead (sources/bulletins/flow.py)."""

from __future__ import annotations

import logging
from typing import Any

from notifier import audit
from notifier.outbox import queue
from sources.bulletins import flow as bulletins

logger = logging.getLogger('notifier.bulletins')


async def send_due_bulletins(ctx: dict[str, Any]) -> int:
    settings = ctx['settings']
    started = 0
    for bulletin_id in await bulletins.due(ctx['pg']):
        try:
            async with ctx['pg'].acquire() as conn:
                status = await bulletins.start_sending(
                    conn, bulletin_id, audit.SYSTEM, threshold=settings.approval_threshold
                )
        except Exception:  # noqa: BLE001 - one bulletin that cannot start never stops the others
            logger.exception('bulletin %d could not be started', bulletin_id)
            continue
        if status == 'sending':
            started += 1
            logger.info('bulletin %d: sending started', bulletin_id)
    if started:
        await queue.wake_senders(ctx['redis'])
    return started
