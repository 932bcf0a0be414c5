"""The senders' state changes (notifier/sending/delivery.py): claiming ready rows, and recording what became of each
send. Every change is guarded by the state it expects to leave, so a late writer (a slow worker, the sweeper, a
callback) never overwrites a newer truth. The functions take the pool or the caller's connection and never open a
transaction; a claim runs in the caller's short transaction, and nothing here is called across a Notify request.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

Db = asyncpg.Pool | asyncpg.Connection


# Claimed rows come back with what sending needs: recipient, language, suppression, subscription state, and
# when quiet hours end if `now` (SQL for the claim's moment) falls inside them.
def _claim_returning(now: str) -> str:
    return f"""
returning n.id, n.event_id, n.contact_point_id, n.subscription_id, n.channel, n.purpose, n.template_id,
          n.personalisation, n.attempts, c.address, r.language, c.suppressed_at is not null as suppressed,
          (select s.status from subscriptions s where s.id = n.subscription_id) as subscription_status,
          (select case
                      -- codes the resident asked for, and reminders at the time they chose, are not held
                      when n.channel = 'sms' and n.urgency <> 'urgent'
                           and n.purpose not in ('confirmation', 'sign-in', 'reminder')
                           and s.quiet_start is not null
                           and (case when s.quiet_start < s.quiet_end
                                     then l.t >= s.quiet_start and l.t < s.quiet_end
                                     else l.t >= s.quiet_start or l.t < s.quiet_end end)
                      then (case when date_trunc('day', l.local) + s.quiet_end > l.local
                                 then date_trunc('day', l.local) + s.quiet_end
                                 else date_trunc('day', l.local) + interval '1 day' + s.quiet_end
                            end) at time zone 'Europe/London'
                  end
           from subscriptions s,
                (select {now} at time zone 'Europe/London' as local,
                        ({now} at time zone 'Europe/London')::time as t) l
           where s.id = n.subscription_id) as quiet_until
"""


# Rows on a channel whose Notify template is not linked (notifier/sending/template_links.py) are never claimed: they
# wait, neither sent nor failed, and `tellme notify link` releases them.
# $2: the moment to claim at (null: the database's clock), so a test can claim at a chosen time of day
CLAIM_ONE = """
with ready as (
    select id from notifications
    where id = $1 and status in ('pending', 'retry') and not_before <= coalesce($2::timestamptz, now())
      and channel in (select channel from notify_templates where state = 'linked')
    for update skip locked
)
update notifications n set status = 'sending', attempts = n.attempts + 1
from ready, contact_points c, residents r
where n.id = ready.id and c.id = n.contact_point_id and r.id = c.resident_id
""" + _claim_returning('coalesce($2::timestamptz, now())')

CLAIM_READY = """
with ready as (
    select id from notifications
    where status in ('pending', 'retry') and not_before <= now() and not (channel = any($2::text[]))
      and channel in (select channel from notify_templates where state = 'linked')
    order by priority, not_before
    limit $1
    for update skip locked
)
update notifications n set status = 'sending', attempts = n.attempts + 1
from ready, contact_points c, residents r
where n.id = ready.id and c.id = n.contact_point_id and r.id = c.resident_id
""" + _claim_returning('now()')

# a worker stopping gives back what it claimed but did not send: ready again at once, the attempt uncounted
RELEASE = """
update notifications set status = 'retry', attempts = greatest(attempts - 1, 0), not_before = now()
where id = any($1::uuid[]) and status = 'sending'
"""

# just before the POST: is this row still ours? (a sender that waited past STUCK_AFTER may have lost it to the
# sweeper, and another worker may have claimed it since; touching updated_at also tells the sweeper we are alive)
STILL_OURS = """
update notifications set updated_at = now()
where id = $1 and status = 'sending' and attempts = $2
"""

RECORD_SENT = """
update notifications set status = 'sent', notify_id = $2, sent_at = now(), last_error = null
where id = $1 and status in ('sending', 'unknown')
"""

# found at Notify by reference: its status, or 'sent' while Notify is still working on it
RECORD_FOUND = """
update notifications
set status = $3, notify_id = $2, sent_at = coalesce(sent_at, now()),
    completed_at = case when $3 = 'sent' then completed_at else now() end
where id = $1 and status in ('sending', 'unknown')
"""

# not sent, and never will be: the contact was suppressed or the subscription ended (cancelled), or the message
# cannot be sent (failed)
CANCEL_CLAIMED = """
update notifications set status = 'cancelled', last_error = $2, completed_at = now()
where id = $1 and status = 'sending'
"""
FAIL_CLAIMED = """
update notifications set status = 'failed', last_error = $2, completed_at = now()
where id = $1 and status = 'sending'
"""

# the retry ladder ran out
GIVE_UP = """
update notifications set status = 'failed', last_error = $2, completed_at = now()
where id = $1 and status in ('sending', 'unknown')
"""

MARK_UNKNOWN = """
update notifications set status = 'unknown', last_error = $2 where id = $1 and status = 'sending'
"""

# the next rung of the ladder: the attempt counts
MARK_RETRY = """
update notifications set status = 'retry', not_before = now() + make_interval(secs => $2), last_error = $3
where id = $1 and status in ('sending', 'unknown')
"""

# Notify did not take it (rate limit): try again after the pause; the attempt does not count
MARK_LATER_UNCOUNTED = """
update notifications
set status = 'retry', not_before = now() + make_interval(secs => $2), last_error = $3,
    attempts = greatest(attempts - 1, 0)
where id = $1 and status = 'sending'
"""

# not before a given time (the daily limit's 00:00 UTC, a parked channel, the end of quiet hours); not counted
MARK_LATER = """
update notifications
set status = 'retry', not_before = $2, last_error = $3, attempts = greatest(attempts - 1, 0)
where id = $1 and status = 'sending'
"""

# a parked channel's ready rows move to when it reopens, so claims stop walking past them in the ready index
DEFER_CHANNEL = """
update notifications set not_before = $2
where channel = $1 and status in ('pending', 'retry') and not_before < $2
"""

LOAD_IN_FLIGHT = """
select attempts, last_error from notifications
where id = $1 and status in ('sending', 'unknown') and updated_at <= now() - make_interval(secs => $2)
"""

FIND_STUCK = """
(select id, status from notifications
 where status = 'unknown' and updated_at <= now() - make_interval(secs => $1) order by updated_at limit $3)
union all
(select id, status from notifications
 where status = 'sending' and updated_at <= now() - make_interval(secs => $2) order by updated_at limit $3)
"""


# claiming: pending/retry → sending --------------------------------------------------------------------------------
async def claim_one(conn: asyncpg.Connection, notification_id: UUID, now: datetime | None) -> asyncpg.Record | None:
    """This row if it is ready at `now` (None: the database's clock), with what sending needs."""
    return await conn.fetchrow(CLAIM_ONE, notification_id, now)


async def claim_ready(conn: asyncpg.Connection, limit: int, skip_channels: list[str]) -> list[asyncpg.Record]:
    """Up to `limit` ready rows, most urgent and oldest first, `for update skip locked`."""
    return await conn.fetch(CLAIM_READY, limit, skip_channels)


async def release(db: Db, ids: list[UUID]) -> int:
    """sending → retry, due now and the attempt uncounted; how many."""
    return int((await db.execute(RELEASE, ids)).split()[-1])


async def still_ours(db: Db, notification_id: UUID, attempts: int) -> bool:
    """Still `sending` under this claim (its attempt number)? Touches updated_at if so."""
    return await db.execute(STILL_OURS, notification_id, attempts) == 'UPDATE 1'


# what became of a send ------------------------------------------------------------------------------------------
async def record_sent(db: Db, notification_id: UUID, notify_id: UUID) -> None:
    """sending/unknown → sent, with Notify's id."""
    await db.execute(RECORD_SENT, notification_id, notify_id)


async def record_found(db: Db, notification_id: UUID, notify_id: UUID, status: str) -> None:
    """sending/unknown → sent or Notify's final status, found at Notify by our reference."""
    await db.execute(RECORD_FOUND, notification_id, notify_id, status)


async def cancel_claimed(db: Db, notification_id: UUID, reason: str) -> None:
    """sending → cancelled (the contact was suppressed or the subscription ended since it was queued)."""
    await db.execute(CANCEL_CLAIMED, notification_id, reason)


async def fail_claimed(db: Db, notification_id: UUID, reason: str) -> None:
    """sending → failed (a message we cannot build or send, or Notify refused it)."""
    await db.execute(FAIL_CLAIMED, notification_id, reason)


async def give_up(db: Db, notification_id: UUID, reason: str) -> None:
    """sending/unknown → failed: the retry ladder ran out."""
    await db.execute(GIVE_UP, notification_id, reason)


async def mark_unknown(db: Db, notification_id: UUID, reason: str) -> None:
    """sending → unknown: it may have reached Notify; look it up by reference before any resend."""
    await db.execute(MARK_UNKNOWN, notification_id, reason)


async def mark_retry(db: Db, notification_id: UUID, delay_seconds: float, reason: str) -> None:
    """sending/unknown → retry after `delay_seconds` (the attempt counts)."""
    await db.execute(MARK_RETRY, notification_id, delay_seconds, reason)


async def mark_later(db: Db, notification_id: UUID, until: datetime, reason: str) -> None:
    """sending → retry, not before `until` (the attempt does not count)."""
    await db.execute(MARK_LATER, notification_id, until, reason)


async def mark_later_uncounted(db: Db, notification_id: UUID, delay_seconds: float, reason: str) -> None:
    """sending → retry after `delay_seconds` (rate limited: the attempt does not count)."""
    await db.execute(MARK_LATER_UNCOUNTED, notification_id, delay_seconds, reason)


async def defer_channel(db: Db, channel: str, until: datetime) -> None:
    """Ready (pending/retry) rows on a parked channel: not before `until` (their status stays)."""
    await db.execute(DEFER_CHANNEL, channel, until)


# rows in flight, for the sweeper --------------------------------------------------------------------------------
async def load_in_flight(db: Db, notification_id: UUID, settle_seconds: float) -> asyncpg.Record | None:
    """attempts and last_error of this row if it has been `sending` or `unknown` for `settle_seconds`."""
    return await db.fetchrow(LOAD_IN_FLIGHT, notification_id, settle_seconds)


async def find_stuck(db: Db, unknown_after: float, sending_after: float, limit: int) -> list[asyncpg.Record]:
    """Rows `unknown` for `unknown_after` seconds and rows `sending` for `sending_after` (id, status)."""
    return await db.fetch(FIND_STUCK, unknown_after, sending_after, limit)
