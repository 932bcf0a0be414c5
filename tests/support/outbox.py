"""Outbox rows and Notify's receipts as the pipeline leaves them, at a chosen time (this module holds no tests).

The retention tests need messages that finished days or weeks before the instant they run the clean-up at, so the
rows are written straight into `notifications` and `notify_callbacks` with their times; what happens to them after is
the product's own code.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import asyncpg

# Notify's final word: the message was handed over (sent_at) before it was completed
_HANDED_OVER = ('sent', 'delivered', 'permanent-failure', 'temporary-failure', 'technical-failure')
# how a status is reached: with completed_at (a receipt, a failure, a cancelled claim) or without (a subscription
# ended and its queued messages cancelled, a row still on its way, or inside a digest)
_COMPLETED = ('delivered', 'permanent-failure', 'temporary-failure', 'technical-failure', 'failed', 'cancelled')


async def message(
    db: asyncpg.Pool | asyncpg.Connection,
    contact_point_id: int,
    status: str,
    at: datetime,
    *,
    channel: str = 'email',
    purpose: str = 'notice',
    personalisation: dict[str, Any] | None = None,
    last_error: str | None = None,
    completed: bool | None = None,
    event_id: int | None = None,
    subscription_id: int | None = None,
    digest_id: int | None = None,
) -> uuid.UUID:
    """A row that reached `status` at `at` (queued an hour before); `completed` says whether that move set
    completed_at (default: for the statuses whose moves do, except `cancelled` by an ended subscription)."""
    if completed is None:
        completed = status in _COMPLETED
    handed_over = status in _HANDED_OVER
    return await db.fetchval(
        """insert into notifications (event_id, contact_point_id, subscription_id, digest_id, channel, purpose,
                                      template_id, personalisation, status, attempts, last_error, notify_id,
                                      created_at, updated_at, sent_at, completed_at)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $11, $12, $13, $14, $15)
           returning id""",
        event_id, contact_point_id, subscription_id, digest_id, channel, purpose,
        None if purpose == 'event' else uuid.uuid4(), personalisation, status, last_error,
        uuid.uuid4() if handed_over else None, at - timedelta(hours=1), at,
        at - timedelta(minutes=59) if handed_over else None, at if completed else None,
    )  # fmt: skip


async def receipt(db: asyncpg.Pool | asyncpg.Connection, notification_id: uuid.UUID, to: str, at: datetime) -> int:
    """Notify's delivery receipt for that row, as Notify sends it (naming the recipient), received and processed at
    `at`."""
    row = await db.fetchrow('select notify_id, status, channel from notifications where id = $1', notification_id)
    payload = {
        'id': str(row['notify_id']), 'reference': str(notification_id), 'to': to, 'status': row['status'],
        'created_at': at.isoformat(), 'completed_at': at.isoformat(), 'sent_at': at.isoformat(),
        'notification_type': row['channel'],
    }  # fmt: skip
    return await db.fetchval(
        """insert into notify_callbacks (kind, notify_id, reference, status, payload, received_at, processed_at,
                                         outcome)
           values ('status', $1, $2, $3, $4, $5, $5, 'applied') returning id""",
        row['notify_id'], str(notification_id), row['status'], payload, at,
    )  # fmt: skip
