"""Every five minutes: remind residents who were asked for evidence and have not answered by the date, and alert
the officer when there is still nothing after the reminder (sources/cases/evidence.py)."""

from __future__ import annotations

import logging
from typing import Any

from notifier.outbox import queue
from sources.cases import evidence

logger = logging.getLogger('workers.evidence')


async def evidence_reminders(ctx: dict[str, Any]) -> dict[str, int]:
    queued, alerted = await evidence.remind_and_alert(ctx['pg'], ctx['settings'])
    if queued or alerted:  # reminders, and staff alerts by email
        try:
            await queue.wake_senders(ctx['redis'])
        except Exception:  # noqa: BLE001 - committed: the senders find pending rows in the outbox on their own
            logger.warning('could not wake the senders for evidence reminders and alerts', exc_info=True)
    if queued or alerted:
        logger.info('evidence requests: %d reminder messages queued, %d officers alerted', len(queued), len(alerted))
    return {'reminders': len(queued), 'alerts': len(alerted)}
