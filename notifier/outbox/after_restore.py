"""After the database is restored from a backup: what was waiting to go at the backup may have gone since.

A message `pending` or `retry` in the backup, and due, may have reached Notify between the backup and the failure;
sending it again would reach the resident twice. So every such row becomes `unknown`, as a crashed worker's request
does, and the sweeper (`recover`, every 15 s, 500 at a time) looks each up at Notify by its reference before anything
is sent: found → recorded as Notify has it; not found → sent, once. Messages whose time had not come at the restore
(quiet hours, a bulletin's schedule, a later attempt) had not gone, and are left as they are; `sending` rows are
already looked up, because the worker that held them has no fresh heartbeat in the restored database.

Run before any worker starts on the restored database (`tellme outbox after-restore`): a worker that starts first
sends what it finds. Running it again marks nothing more.
"""

from __future__ import annotations

import asyncpg

REASON = 'restored from a backup: looked up at Notify before it is sent again'

_WAITING = "status in ('pending', 'retry') and not_before <= now()"

COUNT_WAITING = f"""
select channel, count(*) as messages from notifications where {_WAITING} group by channel order by channel
"""

# attempts + 1: the attempt whose outcome the restore lost, so a message not found at Notify goes round the retry
# ladder from its next step, as after any request whose answer never came; never past $2, the ladder's last step, so
# a message waiting for its last attempt still gets it
MARK_WAITING = f"""
with marked as (
    update notifications set status = 'unknown', claimed_by = null, attempts = least(attempts + 1, $2),
                             last_error = $1, updated_at = now()
    where {_WAITING}
    returning channel
)
select channel, count(*) as messages from marked group by channel order by channel
"""


async def waiting(pool: asyncpg.Pool) -> dict[str, int]:
    """The messages that would be looked up, by channel."""
    return {row['channel']: row['messages'] for row in await pool.fetch(COUNT_WAITING)}


async def mark_for_lookup(pool: asyncpg.Pool, *, most_attempts: int) -> dict[str, int]:
    """Mark them `unknown` for the sweeper to look up; how many, by channel. `most_attempts`: the retry ladder's
    steps (notifier.sending.delivery.BACKOFF), which the count of attempts made must not pass."""
    rows = await pool.fetch(MARK_WAITING, REASON, most_attempts)
    return {row['channel']: row['messages'] for row in rows}
