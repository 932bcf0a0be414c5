"""When a bulletin has gone: `sending` (or `paused`) → `sent`, once every message has left Tell Me's hands.

A message has left when it is delivered, failed, cancelled, gone out inside a digest, or with GOV.UK Notify waiting
for its receipt (`sent`). That last one counts because it is what a comms officer means by "sent": Tell Me has
nothing more to do, Pause and Cancel could not touch it, and Notify may take hours (a phone switched off, a look-up
after TELLME_NOTIFY_LOOKUP_AFTER_HOURS) or days to say. So the bulletin reads **Sent** as soon as the progress page
reaches 100%, and its report says how many are still "on the way" until their receipts come; a failure, then or
later, makes it read **Sent with failures** (`failed_any`, from the outbox, so a late receipt still counts). A
message waiting in a daily or weekly digest, held by a pause or still queued has not left: the bulletin is still
sending (or paused) and may still be paused or cancelled.

`settle` is idempotent: it locks the bulletin and moves it only from `sending` or `paused`, with one audit entry
(`bulletin.sent`, by the system, with the counts). The progress page and the API's status call it when they see
nothing queued; the worker's cron (workers/bulletins.py, every minute and at start-up) settles every bulletin that
finished while nobody was looking or while a worker was down.
"""

from __future__ import annotations

import asyncpg

from notifier import audit
from sources.bulletins import reports

GOING = ('sending', 'paused')
# bulletins with nothing left to send: reports.BUCKETS puts exactly these statuses in 'queued'
FINISHED = """
select b.id from bulletins b
where b.status in ('sending', 'paused') and b.event_id is not null
  and not exists (select 1 from notifications n where n.event_id = b.event_id and n.status = any($1::text[]))
order by b.id
limit $2
"""
QUEUED = [status for status, bucket in reports.BUCKETS.items() if bucket == 'queued']
# the statuses written out, so the planner can use the partial index on failures (a parameter would hide them)
FAILED_IN = '(' + ', '.join(f"'{status}'" for status in reports.FAILED) + ')'
FAILED_ANY = f'select exists (select 1 from notifications where event_id = $1 and status in {FAILED_IN})'


async def settle(conn: asyncpg.Connection, bulletin_id: int) -> bool:
    """Mark the bulletin sent if every message has left; True when this call did it."""
    async with conn.transaction():
        row = await conn.fetchrow('select status, event_id from bulletins where id = $1 for update', bulletin_id)
        if row is None or row['status'] not in GOING or row['event_id'] is None:
            return False
        progress = await reports.progress(conn, row['event_id'])
        if not progress.finished:
            return False
        await conn.execute("update bulletins set status = 'sent', finished_at = now() where id = $1", bulletin_id)
        counts = {bucket: progress.count(bucket) for bucket in reports.BUCKET_ORDER if bucket != 'queued'}
        await audit.record(conn, audit.SYSTEM, 'bulletin.sent', target_kind='bulletin', target_id=bulletin_id,
                           details={'messages': progress.total, **counts, 'was': row['status']})  # fmt: skip
    return True


async def settle_all(pool: asyncpg.Pool, limit: int = 100) -> list[int]:
    """Settle every bulletin that has finished (the worker's cron): the ids it moved to sent."""
    settled = []
    for row in await pool.fetch(FINISHED, QUEUED, limit):
        async with pool.acquire() as conn:
            if await settle(conn, row['id']):
                settled.append(row['id'])
    return settled


async def failed_any(db: asyncpg.Connection | asyncpg.Pool, event_id: int | None) -> bool:
    """Whether any message of the bulletin failed (migration 0023's index keeps this quick)."""
    if event_id is None:
        return False
    return await db.fetchval(FAILED_ANY, event_id)
