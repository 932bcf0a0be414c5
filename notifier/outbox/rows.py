"""Writing outbox rows: every `insert into notifications` is here.

- `queue_message`: one message already built (a confirmation, a sign-in code, a notice, a reply to STOP, a digest,
  a case letter or reminder); it goes out as soon as a sender claims it.
- `queue_messages_from`: many such messages in one statement, from a CTE the caller builds (bin reminders, which
  record each row in `bin_reminders` in the same statement).
- `CLOCK`, `OPEN_DIGESTS` and `event_rows`: the fragments a fan-out statement composes (subscriptions/matching and
  sources/bulletins), so that an event's rows are written in ONE statement with the matching: one row per
  recipient, `held` in the open digest of a daily or weekly recipient, otherwise `pending` from the end of its quiet
  hours; a second fan-out of the same event writes nothing (the unique (event, contact point, channel) index).

Each function takes the caller's connection and never opens a transaction: a row is written in the same transaction
as the news that caused it, and the caller wakes the senders after the commit.
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

import asyncpg

from templates.registry import Message

Channel = Literal['email', 'sms', 'letter']
# notifications.purpose (migrations 0003 and 0012): an event's news, or a message built when it was queued
PURPOSES = ('event', 'digest', 'confirmation', 'sign-in', 'notice', 'bulletin', 'reminder', 'reply')

QUEUE_MESSAGE = """
insert into notifications (
    contact_point_id, subscription_id, digest_id, channel, purpose, template_id, personalisation, urgency
)
values ($1, $2, $3, $4, $5, $6, $7, $8)
returning id
"""


async def queue_message(
    conn: asyncpg.Connection,
    message: Message,
    *,
    contact_point_id: int,
    channel: Channel,
    purpose: str,
    subscription_id: int | None = None,
    digest_id: int | None = None,
    urgency: Literal['normal', 'urgent'] = 'normal',
) -> UUID:
    """Put one built message in the outbox, `pending` and ready now; its id (for `queue.enqueue_delivery`).

    `purpose` is one of PURPOSES other than 'event'; `subscription_id` is the subscription the message answers (its
    unsubscribe link), `digest_id` the digest it carries; an `urgent` message (an urgent bulletin waiting for an
    approver) is claimed first, as urgent news is, and may use the daily reserve."""
    return await conn.fetchval(
        QUEUE_MESSAGE, contact_point_id, subscription_id, digest_id, channel, purpose,
        UUID(message.template_id), message.personalisation, urgency,
    )  # fmt: skip


def queue_messages_from(source: str) -> str:
    """An insert of built messages from `source` (a CTE or subquery with the columns id, contact_point_id,
    subscription_id, channel, purpose, template_id, personalisation, not_before); the caller adds `returning`."""
    return f"""insert into notifications (id, contact_point_id, subscription_id, channel, purpose, template_id,
                           personalisation, not_before)
select id, contact_point_id, subscription_id, channel, purpose, template_id, personalisation, not_before
from {source}"""


# --- an event's rows: fragments of the fan-out statement ----------------------------------------------------------
# Wall-clock times are Europe/London; `local` is the same instant as a London timestamp without zone.
_LONDON = "'Europe/London'"

# The fan-out's "now" ($2, or the database's clock) in UTC and on the London wall clock.
CLOCK = f"""clock as materialized (
    select coalesce($2::timestamptz, now()) as now,
           coalesce($2::timestamptz, now()) at time zone {_LONDON} as local
)"""

_NEXT_DIGEST = f"""(case k.frequency
        when 'daily' then
            case when date_trunc('day', clock.local) + k.digest_time > clock.local
                 then date_trunc('day', clock.local) + k.digest_time
                 else date_trunc('day', clock.local) + interval '1 day' + k.digest_time end
        else
            case when date_trunc('week', clock.local) + k.digest_time > clock.local
                 then date_trunc('week', clock.local) + k.digest_time
                 else date_trunc('week', clock.local) + interval '7 days' + k.digest_time end
        end) at time zone {_LONDON}"""

_IN_QUIET_HOURS = """(case when r.quiet_start < r.quiet_end
              then clock.local::time >= r.quiet_start and clock.local::time < r.quiet_end
              else clock.local::time >= r.quiet_start or clock.local::time < r.quiet_end end)"""

_NOT_BEFORE = f"""case
        when d.id is not null then d.due_at
        when r.channel = 'sms' and r.urgency <> 'urgent' and r.quiet_start is not null and {_IN_QUIET_HOURS} then
            (case when date_trunc('day', clock.local) + r.quiet_end > clock.local
                  then date_trunc('day', clock.local) + r.quiet_end
                  else date_trunc('day', clock.local) + interval '1 day' + r.quiet_end end) at time zone {_LONDON}
        else clock.now end"""

# From a `recipients` CTE (contact_point_id, channel, subscription_id, urgency, quiet_start, quiet_end, digest_time,
# frequency) and `clock`: open (or find) each digest that daily and weekly recipients' rows wait in — the upsert
# changes nothing and only locks the open digest and returns its id.
OPEN_DIGESTS = f"""open_digests as (
    insert into digests (contact_point_id, channel, frequency, due_at)
    select k.contact_point_id, k.channel, k.frequency, {_NEXT_DIGEST}
    from (select contact_point_id, channel, frequency, min(digest_time) as digest_time
          from recipients where frequency <> 'immediate'
          group by contact_point_id, channel, frequency) k
    cross join clock
    on conflict (contact_point_id, channel, frequency) where status = 'open'
        do update set due_at = digests.due_at
    returning id, contact_point_id, channel, frequency, due_at
)"""


def event_rows(source: str, event_id: str, where: str = '') -> str:
    """The `written` CTE (after `clock`, `recipients` and `open_digests`): one outbox row per recipient, held in its
    digest or due when quiet hours allow. `source` is the CTE holding the event and `event_id` the expression for
    its id (both constants of the caller, never values)."""
    return f"""written as (
    insert into notifications (
        event_id, digest_id, contact_point_id, subscription_id, channel, purpose, status, urgency, not_before
    )
    select {event_id}, d.id, r.contact_point_id, r.subscription_id, r.channel, 'event',
           case when d.id is null then 'pending' else 'held' end, r.urgency,
           {_NOT_BEFORE}
    from recipients r
    cross join {source}
    cross join clock
    left join open_digests d
        on d.contact_point_id = r.contact_point_id and d.channel = r.channel and d.frequency = r.frequency
    {where}
    on conflict (event_id, contact_point_id, channel) where event_id is not null do nothing
    returning 1
)"""
