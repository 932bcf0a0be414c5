"""The outbox stays small (issue 13 item 9): a finished message leaves `notifications` `keep_days`
(TELLME_OUTBOX_KEEP_DAYS, 35) after it finished and is kept from then on only as a count in `notification_counts`
(migration 0027): per London day it was created, channel, purpose, status, event, and for a failed one the reason.

Which rows: finished (states.FINISHED: Notify's final word, failed, cancelled, digested; or `sent` and settled by a
look-up, completed_at set) for `keep_days`, reckoned from the moment they finished as retention.py reckons it, and only
once retention.py has forgotten what they said (or they said nothing personal), so no address can reach a count. A
message still on its way is never touched, however old. What still needs them, and why `keep_days` is at least 31:

- the service overview (notifier/overview/figures.py) counts the last 30 days from the outbox itself, each person
  once per update for the contacts avoided: counts could not say that, so those rows stay (it adds the counts of the
  window's days too, which hold only the messages of residents forgotten early: `move_out_of` below);
- a bulletin's report (sources/bulletins/reports.py) and a case page (sources/cases/queries.py) add the counts of
  their event's older messages to the rows still here and say that older messages are summarised;
- a resident's data download and GET /api/notifications/{id} know only the rows still here.

A resident forgotten before that (a number that only texted us: subscriptions/residents/housekeeping.py) has
its finished messages moved into the counts first, however recent, by the same statement (`move_out_of`); their
failures' reasons are counted only if retention has cleared them of addresses, else as ''.

Each delete and the counts it adds are one statement, so a row is either in the outbox or counted, never both, and a
second run (or two at once: `for update skip locked`) counts nothing twice. Each run is bounded: at most `batches`
statements of `batch` rows, oldest first by created_at (migration 0016's index), and what is left waits for the next
hourly run (workers/housekeeping.py).
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from notifier.outbox.states import FINISHED

BATCH = 5000
BATCHES = 20  # 100,000 messages an hour at most: a year of history goes in days, an ordinary day's in one run

_FINISHED = '(' + ', '.join(f"'{state}'" for state in FINISHED) + ')'
_FAILED = "('failed', 'permanent-failure', 'temporary-failure', 'technical-failure')"


def _moving(old: str) -> str:
    """One statement deleting the outbox rows the query `old` selects (their ids) and adding them to the counts; it
    returns how many. A failure's reason is counted only once retention.py has cleared it of addresses."""
    return f"""
with old as ({old}),
gone as (
    delete from notifications n using old where n.id = old.id
    returning n.created_at, n.channel, n.purpose, n.status, n.event_id,
              case when n.personal_data_removed_at is not null then n.last_error end as last_error
),
counted as (
    insert into notification_counts as c (day, channel, purpose, status, event_id, reason, messages)
    select (created_at at time zone 'Europe/London')::date, channel, purpose, status, coalesce(event_id, 0),
           case when status in {_FAILED} then coalesce(left(last_error, 160), '') else '' end, count(*)
    from gone
    group by 1, 2, 3, 4, 5, 6
    on conflict (day, channel, purpose, status, event_id, reason)
    do update set messages = c.messages + excluded.messages
)
select count(*) from gone
"""


_DONE = f"(status in {_FINISHED} or (status = 'sent' and completed_at is not null))"
# $1 the moment to judge at (null: the database's clock), $2 days, $3 how many
MOVE_OUT = _moving(f"""
    select id from notifications
    where created_at < coalesce($1::timestamptz, now()) - make_interval(days => $2)
      and {_DONE}
      and coalesce(completed_at, updated_at) < coalesce($1::timestamptz, now()) - make_interval(days => $2)
      and (personal_data_removed_at is not null or (personalisation is null and last_error is null))
    order by created_at
    limit $3
    for update skip locked
""")
# $1 residents about to be deleted: their finished messages, however recent (the rest go with them uncounted)
MOVE_OUT_OF = _moving(f"""
    select n.id from notifications n join contact_points c on c.id = n.contact_point_id
    where c.resident_id = any($1::bigint[]) and {_DONE}
    for update of n
""")

# what a bulletin's report or a case page adds for messages no longer in the outbox
EVENT_COUNTS = """
select event_id, channel, status, sum(messages)::bigint as messages, min(day) as first_day, max(day) as last_day
from notification_counts where event_id = any($1::bigint[])
group by event_id, channel, status
"""


async def move_out(
    conn: asyncpg.Connection, *, days: int, now: datetime | None = None, batch: int = BATCH, batches: int = BATCHES
) -> int:
    """Count and delete the rows that finished more than `days` before `now` (None: the database's clock); at most
    `batches` × `batch`, each batch one statement; how many."""
    moved = 0
    for _ in range(batches):
        done = int(await conn.fetchval(MOVE_OUT, now, days, batch))
        moved += done
        if done < batch:
            break
    return moved


async def move_out_of(conn: asyncpg.Connection, resident_ids: list[int]) -> int:
    """Count and delete the finished messages of residents about to be deleted (in the caller's transaction), so the
    overview and reports still count what was sent after the people are forgotten; how many."""
    return int(await conn.fetchval(MOVE_OUT_OF, resident_ids))


async def event_counts(db: asyncpg.Pool | asyncpg.Connection, event_ids: list[int]) -> list[asyncpg.Record]:
    """Messages of these events no longer in the outbox: (event_id, channel, status, messages, first_day,
    last_day)."""
    return await db.fetch(EVENT_COUNTS, event_ids)
