"""The sweeper: what makes a lost job, a killed worker or a flushed Redis lose nothing. `recover` runs every 15 s,
`sweep` (recover and the rest) every minute:

- rows `unknown` for UNKNOWN_SETTLE are looked up at Notify by reference: found → recorded as sent with Notify's id
  and status; not found → back to `retry` on the ladder;
- rows `sending` are taken back (→ `unknown`, their claim gone, so no worker can send them any more) and looked up
  the same way when the worker that claimed them has no fresh heartbeat (killed hard: kill -9, the OOM killer, a lost
  node), at once if its request to Notify had not begun and POSTED_SETTLE (30 s) after it began if it had; and,
  whoever claimed them, after STUCK_AFTER (delivery_states.FIND_STUCK). Nothing is sent again before Notify has been
  asked. With the default 10 s heartbeat (stale after 25 s) a killed worker's messages are on their way again within
  about a minute;
- callbacks stored but not processed are processed;
- rows `sent` with no receipt for TELLME_NOTIFY_LOOKUP_AFTER_HOURS are looked up at Notify by its id and settled with
  its answer, as a receipt would be (notifier/receipts/lookups.py: when and why);
- the senders are woken if rows are ready (they also poll every second on their own).
Ready `pending`/`retry` rows need no re-enqueueing: no job holds them; every worker's sender claims them from
the outbox (docs/decisions.md).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from notifier.outbox import queue
from notifier.receipts import callbacks, lookups
from notifier.sending import delivery

logger = logging.getLogger('notifier.sweeper')

READY = "select exists (select 1 from notifications where status in ('pending', 'retry') and not_before <= now())"


async def recover(
    ctx: dict[str, Any],
    *,
    unknown_after: timedelta = delivery.UNKNOWN_SETTLE,
    sending_after: timedelta = delivery.STUCK_AFTER,
) -> dict[str, int]:
    """Stuck rows looked up at Notify and put right, and the senders woken if anything is ready. Two short index
    scans of the rows in flight when nothing is stuck, so it may run often."""
    sender: delivery.Sender = ctx['sender']
    outcomes = await sender.reconcile_stuck(unknown_after=unknown_after, sending_after=sending_after)
    if await ctx['pg'].fetchval(READY):
        await queue.wake_senders(ctx['redis'])
    if any(outcomes.values()):
        logger.info('recover: %s', ', '.join(f'{name} {count}' for name, count in sorted(outcomes.items())))
    return outcomes


async def sweep(
    ctx: dict[str, Any],
    *,
    unknown_after: timedelta = delivery.UNKNOWN_SETTLE,
    sending_after: timedelta = delivery.STUCK_AFTER,
    sent_after: timedelta | None = None,
) -> dict[str, int]:
    """`sent_after` (default: TELLME_NOTIFY_LOOKUP_AFTER_HOURS) is how long a row waits `sent` for its receipt before
    it is looked up."""
    sender: delivery.Sender = ctx['sender']
    outcomes = await sender.reconcile_stuck(unknown_after=unknown_after, sending_after=sending_after)
    outcomes['callbacks'] = await callbacks.process_unprocessed(ctx['pg'], sender.settings)
    outcomes |= await lookups.look_up_sent(ctx['pg'], sender.notify, sender.settings, after=sent_after)
    if await ctx['pg'].fetchval(READY):
        await queue.wake_senders(ctx['redis'])
    if any(outcomes.values()):
        logger.info('sweep: %s', ', '.join(f'{name} {count}' for name, count in sorted(outcomes.items())))
    return outcomes
