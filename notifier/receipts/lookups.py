"""Asking Notify about messages it accepted but sent no receipt for, so none stays `sent` for ever.

A receipt may never come: Notify can set technical-failure without a callback, a callback we refused (a wrong token
gets 401, which Notify does not retry) is lost, and letters get no delivery receipts at all. So the sweeper asks
Notify (`GET /v2/notifications/{notify id}`) about each row `sent` for TELLME_NOTIFY_LOOKUP_AFTER_HOURS with no final
word, and settles it with the answer as a receipt would (`callbacks.apply_final`: permanent-failure suppresses the
address, technical-failure on an email or a text sends it again); a row Notify is still working on is asked about
again after TELLME_NOTIFY_LOOKUP_EVERY_HOURS.

When (the defaults): 6 hours after sending, then once a day. Notify retries a send to its providers for about 4
hours before calling it technical-failure, so after 6 hours nearly every email and text has its final status, and
asking sooner would mostly hear `sending`. A text may wait for the handset (`pending`), but Notify turns email and
text still `sending` or `pending` after 3 days into temporary-failure, so the daily look-up has its answer by day 4;
a letter is `accepted` until printed (the next working day), then `received`. There is no give-up date of our own:
a message Notify no longer holds (404: it keeps notifications for 7 days unless the council changed that, or the
key now belongs to another service) never will have an answer, so a 404 settles it `failed` with a reason saying
whether it arrived is not known. Each row is asked about a handful of times at most, and each sweep asks about at
most `limit` rows within `budget` (GETs are not rate limited by Notify; they are bounded here so one sweep stays
short).
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

import asyncpg

from notifier.outbox import delivery_states, references, states
from notifier.receipts.callbacks import apply_final
from notifier.sending import errors
from notifier.sending.notify_client import NotifyClient
from notifier.settings import Settings

logger = logging.getLogger('notifier.receipts.lookups')

# Notify no longer holds it: the case page and `last_error` say so (a later receipt would still be applied)
FORGOTTEN = 'outcome unknown: Notify no longer holds this message (not found when looked up)'
# a text to a number abroad ends `sent`: Notify gets no receipt for it, so none will come
SENT_ABROAD = 'sent abroad: Notify gets no delivery receipt for it'
# Notify's answers that are not a receipt's word; anything else not final (created, sending, pending, accepted,
# pending-virus-check) means it is still working on it
SETTLED = {
    'cancelled': ('cancelled', 'cancelled at Notify'),
    'validation-failed': ('failed', 'Notify: validation failed'),
    'virus-scan-failed': ('failed', 'Notify: virus scan failed'),
}


def meaning(channel: str, status: str) -> str:
    """Notify's status for this channel in our words: a letter's `received` is delivered (Notify's own name for it
    inside); everything else is as Notify says."""
    return 'delivered' if channel == 'letter' and status == 'received' else status


async def look_up_sent(
    pool: asyncpg.Pool,
    notify: NotifyClient,
    settings: Settings,
    *,
    after: timedelta | None = None,
    every: timedelta | None = None,
    limit: int = 100,
    budget: timedelta = timedelta(seconds=20),
) -> dict[str, int]:
    """Ask Notify about up to `limit` rows `sent` for `after` (default: the setting) with no final word and not asked
    about for `every`, oldest first, for at most `budget`; settle each with the answer. Outcome → how many."""
    after = after if after is not None else timedelta(hours=settings.notify_lookup_after_hours)
    every = every if every is not None else timedelta(hours=settings.notify_lookup_every_hours)
    rows = await delivery_states.find_awaiting_receipt(pool, after.total_seconds(), every.total_seconds(), limit)
    deadline = time.monotonic() + budget.total_seconds()
    outcomes: dict[str, int] = {}
    for row in rows:
        if time.monotonic() > deadline:
            break
        try:
            answer = await notify.get_notification(str(row['notify_id']))
        except errors.NotifyRejected as exc:
            if exc.status != 404:  # our key or set-up: every look-up would fail the same way until it is fixed
                logger.warning('Notify refused a look-up; trying again next sweep: %s', exc)
                break
            await delivery_states.settle_looked_up(pool, row['id'], row['notify_id'], 'failed', FORGOTTEN)
            outcome = 'looked up: forgotten'
        except errors.NotifyError as exc:  # unreachable, slow or busy: the next sweep asks again
            logger.warning('could not look up a message at Notify; trying again next sweep: %s', exc)
            break
        else:
            outcome = await _settle(pool, row, answer, settings)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


async def _settle(pool: asyncpg.Pool, row: asyncpg.Record, answer: dict[str, Any], settings: Settings) -> str:
    status = meaning(row['channel'], str(answer.get('status') or ''))
    if status in states.NOTIFY_FINAL:
        reference = references.for_send(row['id'], row['resends'])
        async with pool.acquire() as conn, conn.transaction():
            done = await apply_final(conn, reference, row['notify_id'], status, settings, via='lookup')
        logger.info('looked up at Notify: %s (%s)', status, done, extra={'notification_id': str(row['id'])})
        return f'looked up: {status}'
    settled = SETTLED.get(status) or (('sent', SENT_ABROAD) if status == 'sent' and row['channel'] == 'sms' else None)
    if settled is not None:
        await delivery_states.settle_looked_up(pool, row['id'], row['notify_id'], *settled)
        return f'looked up: {status}'
    await delivery_states.mark_looked_up(pool, row['id'], row['notify_id'])
    return 'looked up: still with Notify'
