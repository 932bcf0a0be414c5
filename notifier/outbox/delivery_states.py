"""The senders' state changes (notifier/sending/delivery.py): claiming ready rows, and recording what became of each
send. Every change is guarded by the state it expects to leave, so a late writer (a slow worker, the sweeper, a
callback) never overwrites a newer truth. The functions take the pool or the caller's connection and never open a
transaction; a claim runs in the caller's short transaction, and nothing here is called across a Notify request.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from notifier.distance import great_circle_sql

Db = asyncpg.Pool | asyncpg.Connection

# An event's row brought by a near subscription: how far the event is from the subscription's postcode, in whole
# metres, for "about 150 m from M32 0TH" (templates/personalisation.py). Measured here, when the row is claimed, from
# rows the claim reads anyway, rather than stored when fan-out writes the row: nothing more to keep or forget (an
# event's rows hold no personalisation, so the retention job never has to visit them), and the fan-out statement
# stays as it is.
_METRES = great_circle_sql('s.centre_lat', 's.centre_lng', 'e.lat', 'e.lng')
_NEARBY = f"""(select jsonb_build_object('metres', round({_METRES}), 'place', s.postcode)
           from subscriptions s, events e
           where s.id = n.subscription_id and e.id = n.event_id and s.kind = 'near' and s.postcode is not null
             and e.lat is not null and e.lng is not null) as nearby"""


# Claimed rows come back with what sending needs: recipient, language, suppression, subscription state, how far
# the event is from the resident's place, and when quiet hours end if `now` (SQL for the claim's moment) falls
# inside them.
def _claim_returning(now: str) -> str:
    return f"""
returning n.id, n.event_id, n.contact_point_id, n.subscription_id, n.channel, n.purpose, n.template_id,
          n.personalisation, n.attempts, n.resends, n.priority, c.address, r.language,
          c.suppressed_at is not null as suppressed,
          (select s.status from subscriptions s where s.id = n.subscription_id) as subscription_status,
          {_NEARBY},
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
# wait, neither sent nor failed, and `tellme notify link` releases them. A claim names its worker (`claimed_by`, its
# heartbeat's id; null outside a worker), so the sweeper can take the rows of a worker whose heartbeat lapsed back at
# once (FIND_STUCK), and clears `posted_at` (this claim has not called Notify yet).
# $2: the moment to claim at (null: the database's clock), so a test can claim at a chosen time of day
CLAIM_ONE = """
with ready as (
    select id from notifications
    where id = $1 and status in ('pending', 'retry') and not_before <= coalesce($2::timestamptz, now())
      and channel in (select channel from notify_templates where state = 'linked')
    for update skip locked
)
update notifications n set status = 'sending', attempts = n.attempts + 1, claimed_by = $3, posted_at = null
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
update notifications n set status = 'sending', attempts = n.attempts + 1, claimed_by = $3, posted_at = null
from ready, contact_points c, residents r
where n.id = ready.id and c.id = n.contact_point_id and r.id = c.resident_id
""" + _claim_returning('now()')

# a worker stopping gives back what it claimed but did not send: ready again at once, the attempt uncounted
RELEASE = """
update notifications set status = 'retry', attempts = greatest(attempts - 1, 0), not_before = now(), claimed_by = null
where id = any($1::uuid[]) and status = 'sending'
"""

# just before the POST: is this row still ours? (a sender that waited past STUCK_AFTER, or whose heartbeat lapsed,
# may have lost it to the sweeper, and another worker may have claimed it since.) If so, `posted_at` says the request
# to Notify has begun: from now on the sweeper treats the row as a request that may be at Notify (FIND_STUCK).
STILL_OURS = """
update notifications set posted_at = now()
where id = $1 and status = 'sending' and attempts = $2
"""

RECORD_SENT = """
update notifications set status = 'sent', notify_id = $2, sent_at = now(), last_error = null, claimed_by = null
where id = $1 and status in ('sending', 'unknown')
"""

# why a technical-failure stays: a letter (Notify: never resend one), or an email or text sent as often as allowed
FINAL_TECHNICAL_FAILURE = """case
     when channel = 'letter' then 'technical failure at Notify (a letter is not sent again)'
     when resends = 0 then 'technical failure at Notify, not sent again'
     else 'technical failure at Notify on all ' || resends + 1 || ' sends, not sent again' end"""

# found at Notify by reference: its status, or 'sent' while Notify is still working on it (a technical-failure
# reaches this only when `resend` did not take it)
RECORD_FOUND = f"""
update notifications
set status = $3, notify_id = $2, sent_at = coalesce(sent_at, now()), claimed_by = null,
    completed_at = case when $3 = 'sent' then completed_at else now() end,
    last_error = case when $3 = 'technical-failure' then {FINAL_TECHNICAL_FAILURE} else last_error end
where id = $1 and status in ('sending', 'unknown')
"""

# Notify's technical-failure on an email or a text means "send it again" (letters: never; design notify.md §2). The
# send it is about goes back to `retry`, due now, and is sent as a new Notify notification with the next reference
# (outbox/references.py), at most $4 times. Only the row's current send ($2 = its resends, or its notify id $3), and
# only while that send is ours in flight (sending / unknown / sent): a late word on an older send, or on a row that
# has moved on, changes nothing. The attempts go on counting; the retry ladder is for failed POSTs, not for this.
RESEND = """
update notifications
set status = 'retry', resends = resends + 1, notify_id = null, not_before = now(), sent_at = null,
    completed_at = null, looked_up_at = null, claimed_by = null,
    last_error = 'technical failure at Notify: sent again (' || resends + 1 || ' of ' || $4::int || ')'
where ((id = $1 and resends = $2 and (notify_id is null or notify_id = $3)) or notify_id = $3)
  and status in ('sending', 'unknown', 'sent') and channel in ('email', 'sms') and resends < $4::int
returning resends, contact_point_id, channel
"""

# not sent, and never will be: the contact was suppressed or the subscription ended (cancelled), or the message
# cannot be sent (failed)
CANCEL_CLAIMED = """
update notifications set status = 'cancelled', last_error = $2, completed_at = now(), claimed_by = null
where id = $1 and status = 'sending'
"""
FAIL_CLAIMED = """
update notifications set status = 'failed', last_error = $2, completed_at = now(), claimed_by = null
where id = $1 and status = 'sending'
"""

# The ladder's writes name the attempt they are about ($3), so a sweeper looking up an `unknown` row never moves a
# newer claim of it (another sweep already sent it back to `retry` and a worker claimed it again).
# the retry ladder ran out
GIVE_UP = """
update notifications set status = 'failed', last_error = $2, completed_at = now(), claimed_by = null
where id = $1 and status in ('sending', 'unknown') and attempts = $3
"""

MARK_UNKNOWN = """
update notifications set status = 'unknown', last_error = $2, claimed_by = null where id = $1 and status = 'sending'
"""

# the next rung of the ladder: the attempt counts
MARK_RETRY = """
update notifications set status = 'retry', not_before = now() + make_interval(secs => $2), last_error = $3,
    claimed_by = null
where id = $1 and status in ('sending', 'unknown') and attempts = $4
"""

# Notify did not take it (rate limit): try again after the pause; the attempt does not count
MARK_LATER_UNCOUNTED = """
update notifications
set status = 'retry', not_before = now() + make_interval(secs => $2), last_error = $3,
    attempts = greatest(attempts - 1, 0), claimed_by = null
where id = $1 and status = 'sending'
"""

# not before a given time (the daily limit's 00:00 UTC, a parked channel, the end of quiet hours); not counted
MARK_LATER = """
update notifications
set status = 'retry', not_before = $2, last_error = $3, attempts = greatest(attempts - 1, 0), claimed_by = null
where id = $1 and status = 'sending'
"""

# a parked channel's ready rows move to when it reopens, so claims stop walking past them in the ready index
DEFER_CHANNEL = """
update notifications set not_before = $2
where channel = $1 and status in ('pending', 'retry') and not_before < $2
"""

# the day's share for ordinary messages is used: they wait for the next day; codes and urgent news (priority 0) do not
DEFER_ORDINARY = """
update notifications set not_before = $2
where channel = $1 and status in ('pending', 'retry') and priority = 1 and not_before < $2
"""

LOAD_IN_FLIGHT = """
select attempts, last_error, resends from notifications
where id = $1 and status in ('sending', 'unknown') and updated_at <= now() - make_interval(secs => $2)
"""


def _taken_back(sending_after: str, dead_after: str, posted_after: str) -> str:
    """A `sending` row the sweeper takes back (`n`): its claim quiet for `sending_after` seconds (STUCK_AFTER, whoever
    holds it), or at once when the worker that claimed it has no fresh heartbeat (none for `dead_after` seconds,
    Settings.worker_stale_after, or none at all) and its request to Notify either never began or began `posted_after`
    seconds ago (delivery.POSTED_SETTLE: Notify has finished or dropped it by then). The arguments are SQL
    (parameters)."""
    return f"""n.status = 'sending'
  and (n.updated_at <= now() - make_interval(secs => {sending_after})
       or (n.claimed_by is not null
           and (n.posted_at is null or n.posted_at <= now() - make_interval(secs => {posted_after}))
           and not exists (select 1 from worker_heartbeats h
                           where h.worker_id = n.claimed_by
                             and h.last_seen_at > now() - make_interval(secs => {dead_after}))))"""


# $1 unknown_after, $2 sending_after, $3 limit of each, $4 dead_after, $5 posted_after (seconds): `unknown` rows that
# have settled, and `sending` rows to take back. Both read only migration 0003's small notifications_in_flight, so a
# sweep that finds nothing costs two short index scans.
FIND_STUCK = f"""
(select id, status from notifications
 where status = 'unknown' and updated_at <= now() - make_interval(secs => $1) order by updated_at limit $3)
union all
(select n.id, n.status from notifications n where {_taken_back('$2', '$4', '$5')} order by n.updated_at limit $3)
"""

# The sweeper takes a `sending` row back before it asks Notify about it: `unknown` (it may be at Notify), its claim
# gone, so its worker, if it is alive after all, no longer passes STILL_OURS and cannot send it; the conditions are
# checked again on the row as it is now, so a claim that began its POST meanwhile is left alone.
TAKE_BACK = f"""
update notifications n set status = 'unknown', claimed_by = null
where n.id = $1 and {_taken_back('$2', '$3', '$4')}
"""

# Messages Notify accepted with no final word for $1 seconds, not asked about for $2: the oldest first
# (notifier/receipts/lookups.py asks Notify about each by its id)
FIND_AWAITING_RECEIPT = """
select id, notify_id, channel, resends from notifications
where status = 'sent' and completed_at is null and notify_id is not null
  and sent_at <= now() - make_interval(secs => $1)
  and (looked_up_at is null or looked_up_at <= now() - make_interval(secs => $2))
order by sent_at
limit $3
"""

# asked, and Notify is still working on it: ask again later
MARK_LOOKED_UP = """
update notifications set looked_up_at = now() where id = $1 and notify_id = $2 and status = 'sent'
"""

# asked, and Notify's answer is not one a receipt brings: a letter cancelled or refused at Notify, a text sent abroad
# (no receipt will ever come: stays `sent`, completed), or Notify no longer holds it (`failed`, outcome unknown)
SETTLE_LOOKED_UP = """
update notifications set status = $3, last_error = $4, completed_at = now(), looked_up_at = now()
where id = $1 and notify_id = $2 and status = 'sent'
"""


# claiming: pending/retry → sending --------------------------------------------------------------------------------
async def claim_one(
    conn: asyncpg.Connection, notification_id: UUID, now: datetime | None, worker_id: str | None = None
) -> asyncpg.Record | None:
    """This row if it is ready at `now` (None: the database's clock), with what sending needs; claimed by
    `worker_id` (the worker's heartbeat id; None outside a worker)."""
    return await conn.fetchrow(CLAIM_ONE, notification_id, now, worker_id)


async def claim_ready(
    conn: asyncpg.Connection, limit: int, skip_channels: list[str], worker_id: str | None = None
) -> list[asyncpg.Record]:
    """Up to `limit` ready rows, most urgent and oldest first, `for update skip locked`, claimed by `worker_id`."""
    return await conn.fetch(CLAIM_READY, limit, skip_channels, worker_id)


async def release(db: Db, ids: list[UUID]) -> int:
    """sending → retry, due now and the attempt uncounted; how many."""
    return int((await db.execute(RELEASE, ids)).split()[-1])


async def still_ours(db: Db, notification_id: UUID, attempts: int) -> bool:
    """Still `sending` under this claim (its attempt number)? If so, its request to Notify begins now (`posted_at`)."""
    return await db.execute(STILL_OURS, notification_id, attempts) == 'UPDATE 1'


# what became of a send ------------------------------------------------------------------------------------------
async def record_sent(db: Db, notification_id: UUID, notify_id: UUID) -> None:
    """sending/unknown → sent, with Notify's id."""
    await db.execute(RECORD_SENT, notification_id, notify_id)


async def record_found(db: Db, notification_id: UUID, notify_id: UUID, status: str) -> None:
    """sending/unknown → sent or Notify's final status, found at Notify by our reference."""
    await db.execute(RECORD_FOUND, notification_id, notify_id, status)


async def resend(
    db: Db, notification_id: UUID | None, resends: int | None, notify_id: UUID, max_resends: int
) -> asyncpg.Record | None:
    """sending/unknown/sent → retry, due now, as a new send: Notify said technical-failure about this row's current
    send (the row's id and `resends` before that send, or None and its `notify_id`). Emails and texts only, at most
    `max_resends` times. The row's resends now and its contact point, or None if it was not sent again."""
    return await db.fetchrow(RESEND, notification_id, resends, notify_id, max_resends)


async def cancel_claimed(db: Db, notification_id: UUID, reason: str) -> None:
    """sending → cancelled (the contact was suppressed or the subscription ended since it was queued)."""
    await db.execute(CANCEL_CLAIMED, notification_id, reason)


async def fail_claimed(db: Db, notification_id: UUID, reason: str) -> None:
    """sending → failed (a message we cannot build or send, or Notify refused it)."""
    await db.execute(FAIL_CLAIMED, notification_id, reason)


async def give_up(db: Db, notification_id: UUID, attempts: int, reason: str) -> None:
    """sending/unknown → failed, if still at attempt `attempts`: the retry ladder ran out."""
    await db.execute(GIVE_UP, notification_id, reason, attempts)


async def mark_unknown(db: Db, notification_id: UUID, reason: str) -> None:
    """sending → unknown: it may have reached Notify; look it up by reference before any resend."""
    await db.execute(MARK_UNKNOWN, notification_id, reason)


async def mark_retry(db: Db, notification_id: UUID, attempts: int, delay_seconds: float, reason: str) -> None:
    """sending/unknown → retry after `delay_seconds`, if still at attempt `attempts` (it counts)."""
    await db.execute(MARK_RETRY, notification_id, delay_seconds, reason, attempts)


async def mark_later(db: Db, notification_id: UUID, until: datetime, reason: str) -> None:
    """sending → retry, not before `until` (the attempt does not count)."""
    await db.execute(MARK_LATER, notification_id, until, reason)


async def mark_later_uncounted(db: Db, notification_id: UUID, delay_seconds: float, reason: str) -> None:
    """sending → retry after `delay_seconds` (rate limited: the attempt does not count)."""
    await db.execute(MARK_LATER_UNCOUNTED, notification_id, delay_seconds, reason)


async def defer_channel(db: Db, channel: str, until: datetime) -> None:
    """Ready (pending/retry) rows on a parked channel: not before `until` (their status stays)."""
    await db.execute(DEFER_CHANNEL, channel, until)


async def defer_ordinary(db: Db, channel: str, until: datetime) -> None:
    """Ready ordinary (priority 1) rows on `channel`: not before `until` (sign-in codes and urgent news stay ready)."""
    await db.execute(DEFER_ORDINARY, channel, until)


# rows in flight, for the sweeper --------------------------------------------------------------------------------
async def load_in_flight(db: Db, notification_id: UUID, settle_seconds: float) -> asyncpg.Record | None:
    """attempts, last_error and resends of this row if it has been `sending` or `unknown` for `settle_seconds`."""
    return await db.fetchrow(LOAD_IN_FLIGHT, notification_id, settle_seconds)


async def find_stuck(
    db: Db, unknown_after: float, sending_after: float, limit: int, *, dead_after: float, posted_after: float
) -> list[asyncpg.Record]:
    """Rows `unknown` for `unknown_after` seconds, and `sending` rows to take back (id, status): claimed
    `sending_after` seconds ago, or by a worker with no heartbeat for `dead_after` seconds whose request to Notify
    never began or began `posted_after` seconds ago. Up to `limit` of each."""
    return await db.fetch(FIND_STUCK, unknown_after, sending_after, limit, dead_after, posted_after)


async def take_back(
    db: Db, notification_id: UUID, *, sending_after: float, dead_after: float, posted_after: float
) -> bool:
    """sending → unknown, its claim cleared, if it is still one to take back (as for `find_stuck`); whether it was."""
    done = await db.execute(TAKE_BACK, notification_id, sending_after, dead_after, posted_after)
    return done == 'UPDATE 1'


async def find_awaiting_receipt(db: Db, after: float, every: float, limit: int) -> list[asyncpg.Record]:
    """Up to `limit` rows `sent` for `after` seconds with no final word, not looked up for `every` seconds (id,
    notify_id, channel, resends), oldest first."""
    return await db.fetch(FIND_AWAITING_RECEIPT, after, every, limit)


async def mark_looked_up(db: Db, notification_id: UUID, notify_id: UUID) -> None:
    """Still `sent`: Notify is working on it; looked up now."""
    await db.execute(MARK_LOOKED_UP, notification_id, notify_id)


async def settle_looked_up(db: Db, notification_id: UUID, notify_id: UUID, status: str, reason: str) -> bool:
    """sent → `status` (failed, cancelled, or sent for good), completed, with the reason: Notify's answer when asked
    was not a receipt's. Only while it is still `sent` with this notify id; whether it was."""
    return await db.execute(SETTLE_LOOKED_UP, notification_id, notify_id, status, reason) == 'UPDATE 1'
