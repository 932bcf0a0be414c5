"""The sweeper, every minute: what makes a lost job, a killed worker or a flushed Redis lose nothing.

- rows `unknown` for UNKNOWN_SETTLE, or `sending` for STUCK_AFTER (their worker died), are looked up at Notify by
  reference: found → recorded as sent with Notify's id and status; not found → back to `retry`;
- callbacks stored but not processed are processed;
- the senders are woken if rows are ready (they also poll every second on their own).
Ready `pending`/`retry` rows need no re-enqueueing: no job holds them; every worker's sender claims them from
the outbox (docs/decisions.md).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from notifier.outbox import queue
from notifier.receipts import callbacks
from notifier.sending import delivery

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
