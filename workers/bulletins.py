"""Every minute: start the scheduled bulletins whose time has come (each under its own row lock, audited as the
system), then wake the senders. A bulletin whose audience grew over the approval threshold since it was approved
waits for approval instead, and its approvers are emailed (sources/bulletins/flow.py).

Every minute, and when a worker starts: mark sent every bulletin whose messages have all gone
(sources/bulletins/finish.py), so one that finished while nobody had its page open, or while the workers were down,
reads Sent with its report rather than Sending for ever. Settling is idempotent: one `bulletin.sent` each."""

from __future__ import annotations

import logging
from typing import Any

from notifier import audit
from notifier.outbox import queue
from sources.bulletins import finish
from sources.bulletins import flow as bulletins

logger = logging.getLogger('notifier.bulletins')


async def send_due_bulletins(ctx: dict[str, Any]) -> int:
    settings = ctx['settings']
    started = waiting = 0
    for bulletin_id in await bulletins.due(ctx['pg']):
        try:
            async with ctx['pg'].acquire() as conn:
                status = await bulletins.start_sending(
                    conn, bulletin_id, audit.SYSTEM, threshold=settings.approval_threshold,
                    public_url=settings.public_url,
                )  # fmt: skip
        except Exception:  # noqa: BLE001 - one bulletin that cannot start never stops the others
            logger.exception('bulletin %d could not be started', bulletin_id)
            continue
        if status == 'sending':
            started += 1
            logger.info('bulletin %d: sending started', bulletin_id)
        elif status == 'awaiting_approval':
            waiting += 1
            logger.info('bulletin %d: its audience grew over the threshold, so it waits for approval', bulletin_id)
    if started or waiting:  # the messages, or the approvers' emails
        await queue.wake_senders(ctx['redis'])
    return started


async def finish_sent_bulletins(ctx: dict[str, Any]) -> int:
    settled = await finish.settle_all(ctx['pg'])
    for bulletin_id in settled:
        logger.info('bulletin %d: every message has gone, so it is sent', bulletin_id)
    return len(settled)
