"""How much of the outbox is still on its way, read in one statement for the metrics (workers/metrics.py).

Only unfinished messages are counted, each state on the partial index it already has (migration 0003's
`notifications_ready`, `_in_flight`, `_held`; 0021's `_awaiting_receipt`), so the statement reads the backlog and
never the history: finished messages are counted as they finish (Notify's answers and receipts, notifier/metrics.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg

BACKLOG = """
select status, channel, count(*)::bigint as n,
       extract(epoch from now() - min(not_before) filter (where not_before <= now()))::float8 as oldest_ready
from notifications where status in ('pending', 'retry') group by status, channel
union all
select status, channel, count(*), null from notifications where status in ('sending', 'unknown') group by 1, 2
union all
select status, channel, count(*), null from notifications where status = 'held' group by 1, 2
union all
select status, channel, count(*), null from notifications where status = 'sent' and completed_at is null group by 1, 2
"""


@dataclass(frozen=True)
class Backlog:
    counts: list[tuple[str, str, int]] = field(default_factory=list)  # (state, channel, messages)
    oldest_ready: dict[str, float] = field(default_factory=dict)  # channel → seconds the oldest due message waited


async def backlog(db: asyncpg.Pool | asyncpg.Connection) -> Backlog:
    """Unfinished messages by state and channel (pending, retry, held, sending, unknown, and sent awaiting Notify's
    receipt), and how long the oldest message due to send (pending or retry, its not_before passed) has waited."""
    counts: list[tuple[str, str, int]] = []
    oldest: dict[str, float] = {}
    for row in await db.fetch(BACKLOG):
        counts.append((row['status'], row['channel'], int(row['n'])))
        if row['oldest_ready'] is not None:
            oldest[row['channel']] = max(oldest.get(row['channel'], 0.0), float(row['oldest_ready']))
    return Backlog(counts, oldest)
