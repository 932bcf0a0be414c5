"""How a bulletin is going, from the outbox itself: progress, the delivery report, and the urgent delivery check.

Every number is counted from `notifications` rows for the bulletin's event (and, for messages that finished more than
TELLME_OUTBOX_KEEP_DAYS ago, from the counts they were moved into: notifier/outbox/archive.py), so what the page says
is what the senders and Notify's receipts have recorded: queued (waiting, held by a pause or for quiet hours, or being
sent), with Notify (accepted, no receipt yet), delivered, failed (with Notify's reason), in a digest (normal
bulletins for daily or weekly subscribers: the digest message carries the receipt), cancelled. Contact details are
shown masked (enough to recognise, not to use).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg

from templates.personalisation import mask_address

BUCKETS = {
    'pending': 'queued', 'retry': 'queued', 'held': 'queued', 'sending': 'queued', 'unknown': 'queued',
    'sent': 'sent', 'delivered': 'delivered', 'digested': 'digest',
    'failed': 'failed', 'permanent-failure': 'failed', 'temporary-failure': 'failed', 'technical-failure': 'failed',
    'cancelled': 'cancelled',
}  # fmt: skip
BUCKET_ORDER = ('queued', 'sent', 'delivered', 'failed', 'digest', 'cancelled')
STATUS_WORDS = {
    'pending': 'Queued', 'retry': 'Queued to try again', 'held': 'Held', 'sending': 'Being sent',
    'unknown': 'Being checked with Notify', 'sent': 'With Notify', 'delivered': 'Delivered',
    'digested': 'In a digest', 'failed': 'Not sent', 'permanent-failure': 'Failed: address does not exist',
    'temporary-failure': 'Failed: inbox full or phone off', 'technical-failure': 'Failed: technical problem',
    'cancelled': 'Cancelled',
}  # fmt: skip
CHANNEL_WORDS = {'email': 'Email', 'sms': 'Text message', 'letter': 'Letter'}


@dataclass(frozen=True)
class Progress:
    total: int = 0
    buckets: dict[str, int] = field(default_factory=dict)  # bucket → count
    by_channel: dict[str, dict[str, int]] = field(default_factory=dict)  # channel → status → count
    summarised: int = 0  # of the total, finished long enough ago to be kept only as counts (no recipients listed)

    def count(self, bucket: str) -> int:
        return self.buckets.get(bucket, 0)

    @property
    def done(self) -> int:
        return self.total - self.count('queued')

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else int(100 * self.done / self.total)

    @property
    def finished(self) -> bool:
        return self.count('queued') == 0


PROGRESS = """
select channel, status, count(*)::bigint as n, false as summarised from notifications where event_id = $1
group by channel, status
union all
select channel, status, sum(messages)::bigint, true from notification_counts where event_id = $1
group by channel, status
"""


async def progress(db: asyncpg.Pool | asyncpg.Connection, event_id: int | None) -> Progress:
    if event_id is None:
        return Progress()
    buckets: dict[str, int] = {}
    by_channel: dict[str, dict[str, int]] = {}
    summarised = 0
    for row in await db.fetch(PROGRESS, event_id):
        bucket = BUCKETS.get(row['status'], 'queued')
        buckets[bucket] = buckets.get(bucket, 0) + row['n']
        statuses = by_channel.setdefault(row['channel'], {})
        statuses[row['status']] = statuses.get(row['status'], 0) + row['n']
        summarised += row['n'] if row['summarised'] else 0
    return Progress(sum(buckets.values()), buckets, by_channel, summarised)


@dataclass(frozen=True)
class Line:
    channel: str
    contact: str  # masked
    status: str
    reason: str
    sent_at: str
    completed_at: str


LINES = """
select n.channel, c.address, n.status, coalesce(n.last_error, '') as reason, n.sent_at, n.completed_at, n.created_at
from notifications n join contact_points c on c.id = n.contact_point_id
where n.event_id = $1 and n.status = any($2::text[])
  and ($3::timestamptz is null or n.created_at <= $3)
order by n.channel, n.status, n.created_at, n.id
limit $4
"""


def _when(moment: object) -> str:
    return moment.strftime('%d %b %Y %H:%M:%S') if moment else ''  # type: ignore[attr-defined]


def _lines(rows: list[asyncpg.Record]) -> list[Line]:
    return [
        Line(row['channel'], mask_address(row['channel'], row['address']), row['status'], row['reason'],
             _when(row['sent_at']), _when(row['completed_at']))
        for row in rows
    ]  # fmt: skip


FAILED = ['failed', 'permanent-failure', 'temporary-failure', 'technical-failure']
NOT_YET = ['pending', 'retry', 'held', 'sending', 'unknown', 'sent']


async def failures(db: asyncpg.Pool | asyncpg.Connection, event_id: int | None, limit: int = 1000) -> list[Line]:
    if event_id is None:
        return []
    return _lines(await db.fetch(LINES, event_id, FAILED, None, limit))


async def deliveries(db: asyncpg.Pool | asyncpg.Connection, event_id: int | None, limit: int = 5000) -> list[Line]:
    """Every message of the bulletin, one line each (the report's full list)."""
    if event_id is None:
        return []
    return _lines(await db.fetch(LINES, event_id, list(BUCKETS), None, limit))


async def not_delivered(
    db: asyncpg.Pool | asyncpg.Connection, event_id: int | None, minutes: int, limit: int = 1000
) -> tuple[int, list[Line]]:
    """Messages queued more than `minutes` ago that Notify has not yet delivered (nor failed): (how many, the list)."""
    if event_id is None:
        return 0, []
    total = await db.fetchval(
        """select count(*) from notifications where event_id = $1 and status = any($2::text[])
           and created_at <= now() - make_interval(mins => $3)""",
        event_id, NOT_YET, minutes,
    )  # fmt: skip
    cutoff = await db.fetchval('select now() - make_interval(mins => $1)', minutes)
    return total, _lines(await db.fetch(LINES, event_id, NOT_YET, cutoff, limit))
