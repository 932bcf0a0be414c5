"""Every change of a row's status that the senders do not make (theirs are in `delivery_states.py`).

Each UPDATE names the states it expects to leave, so a late writer never overwrites a newer truth. Where a domain
statement must stay one statement (ending a subscription and cancelling its messages, suppressing or moving an
address), it composes a fragment from here as one of its CTEs; otherwise it calls a function. The states and the
whole machine are in the package's docstring (notifier/outbox/__init__.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from notifier.outbox import delivery_states, references

# not yet handed to Notify: what ending a subscription, suppressing an address or moving it cancels
UNSENT = ('pending', 'held', 'retry')
# Notify's final word (a receipt), never overwritten
NOTIFY_FINAL = ('delivered', 'permanent-failure', 'temporary-failure', 'technical-failure')
# every other status (migration 0003's check): a receipt may land on any of them (Notify has the message)
BEFORE_NOTIFY_FINAL = ('pending', 'held', 'digested', 'sending', 'retry', 'unknown', 'sent', 'failed', 'cancelled')
# nothing will send these (again): Notify's final word, refused or given up, cancelled, or gone out inside a digest;
# what the message said may be forgotten once it has been so long enough (retention.py, migration 0022's index).
# A receipt may still move `failed` or `cancelled` to Notify's final word; `sent` waits for one, so is not here.
FINISHED = (*NOTIFY_FINAL, 'failed', 'cancelled', 'digested')


def _in(states: tuple[str, ...]) -> str:
    return '(' + ', '.join(f"'{state}'" for state in states) + ')'


# --- cancelling what has not gone: fragments of the domain's own statements -------------------------------------
def cancel_for_subscriptions(subscriptions: str, reason: str) -> str:
    """A CTE body: pending, held and retry messages answering the subscriptions in `subscriptions` (a CTE with an
    `id` column) → cancelled; `reason` is the SQL for last_error. For a subscription ended."""
    return f"""update notifications set status = 'cancelled', last_error = {reason}
    where subscription_id in (select id from {subscriptions}) and status in {_in(UNSENT)}"""


def cancel_for_contact_points(points: str, reason: str, *, sparing_subscription: str | None = None) -> str:
    """A CTE body: pending, held and retry messages to the contact points in `points` (a CTE with an `id` column)
    → cancelled, except those answering `sparing_subscription` (SQL for a subscription id) if given; `reason` is the
    SQL for last_error. For an address suppressed, given again in a newer sign-up, or moved to a resident of its
    own."""
    spared = f' and subscription_id is distinct from {sparing_subscription}' if sparing_subscription else ''
    return f"""update notifications set status = 'cancelled', last_error = {reason}
    where contact_point_id in (select id from {points}){spared}
      and status in {_in(UNSENT)}"""


# --- Notify's receipts -------------------------------------------------------------------------------------------
# The row's current send takes it: the one with this notify id, or the row the reference names ($1) if that send is
# its latest ($4 = its resends before it; references.py). A late word on an older send of a row sent again is not
# applied: it would overwrite the newer send's state.
RECORD_RECEIPT = f"""
update notifications
set status = $3, notify_id = coalesce(notify_id, $2), sent_at = coalesce(sent_at, now()), completed_at = now(),
    claimed_by = null,
    last_error = case when $3 = 'technical-failure' then {delivery_states.FINAL_TECHNICAL_FAILURE} else last_error end
where (notify_id = $2 or (id = $1 and resends = $4)) and status in {_in(BEFORE_NOTIFY_FINAL)}
returning contact_point_id, channel, extract(epoch from clock_timestamp() - sent_at)::float8 as lag_seconds
"""
# whose receipt it was when no row took it
FIND_RECEIPTS_ROW = """
select status, contact_point_id, resends from notifications where notify_id = $2 or id = $1
order by notify_id = $2 desc nulls last limit 1
"""


@dataclass(frozen=True)
class Receipt:
    applied: bool  # the row took Notify's word (or was sent again)
    contact_point_id: int | None  # the message's contact point, if a row is found at all
    status: str | None  # the row's status now (None: no row is this message's)
    resent: int | None = None  # technical-failure: the row is being sent again, as its `resent`-th resend
    earlier_send: bool = False  # the word is about an older send of a row sent again since
    channel: str | None = None  # the message's channel, when applied (for the metrics)
    lag_seconds: float | None = None  # from sending it to this word, when applied as final


async def record_receipt(
    conn: asyncpg.Connection, reference: str | None, notify_id: UUID, status: str, *, max_resends: int
) -> Receipt:
    """Notify's final word (one of NOTIFY_FINAL) on the send with our `reference` or its `notify_id`, from a receipt
    or a look-up. technical-failure on an email or a text sends the row again (delivery_states.resend) up to
    `max_resends` times; otherwise the row takes it from any earlier state (a receipt may beat the worker's `sent`,
    or find the row `unknown`) and the first final word stays."""
    row_id, resends = references.parse(reference) or (None, None)
    if status == 'technical-failure':
        resent = await delivery_states.resend(conn, row_id, resends, notify_id, max_resends)
        if resent is not None:
            point, channel = resent['contact_point_id'], resent['channel']
            return Receipt(True, point, 'retry', resent=resent['resends'], channel=channel)
    taken = await conn.fetchrow(RECORD_RECEIPT, row_id, notify_id, status, resends)
    if taken is not None:
        point, channel, lag = taken['contact_point_id'], taken['channel'], taken['lag_seconds']
        return Receipt(True, point, status, channel=channel, lag_seconds=lag)
    found = await conn.fetchrow(FIND_RECEIPTS_ROW, row_id, notify_id)
    if found is None:
        return Receipt(False, None, None)
    earlier = resends is not None and resends < found['resends']
    return Receipt(False, found['contact_point_id'], found['status'], earlier_send=earlier)


# --- Notify's returned-letter callback: the letter came back undelivered -------------------------------------------
# The status stays what Notify said about sending it (Notify still calls a returned letter `received`); when it came
# back is kept beside it, once.
RECORD_RETURNED_LETTER = """
update notifications set returned_at = $3, last_error = 'letter returned'
where channel = 'letter' and returned_at is null and (notify_id = $2 or (id = $1 and notify_id is null))
returning id
"""


async def record_returned_letter(
    conn: asyncpg.Connection, reference: str | None, notify_id: UUID, returned_at: datetime
) -> UUID | None:
    """The letter Notify knows as `notify_id` (or our `reference`, if its notify id was never recorded) came back on
    `returned_at`. The row's id, or None if no letter of ours took it (unknown, or returned already)."""
    row_id, _ = references.parse(reference) or (None, None)
    return await conn.fetchval(RECORD_RETURNED_LETTER, row_id, notify_id, returned_at)


# --- a bulletin paused, resumed or cancelled ----------------------------------------------------------------------
HOLD_EVENT = """
with h as (update notifications set status = 'held', last_error = $2
           where event_id = $1 and status in ('pending', 'retry') and digest_id is null returning 1)
select count(*) from h
"""
RELEASE_EVENT = """
with r as (update notifications set status = 'pending', last_error = null, not_before = now()
           where event_id = $1 and status = 'held' and digest_id is null and last_error = $2
           returning 1)
select count(*) from r
"""
CANCEL_EVENT = """
with c as (update notifications set status = 'cancelled', completed_at = now(), last_error = $2
           where event_id = $1 and status in ('pending', 'retry', 'held') returning 1)
select count(*) from c
"""


async def hold_event(conn: asyncpg.Connection, event_id: int, note: str) -> int:
    """Pending and retry messages of this event that wait in no digest → held, marked with `note`; how many."""
    return await conn.fetchval(HOLD_EVENT, event_id, note)


async def release_event(conn: asyncpg.Connection, event_id: int, note: str) -> int:
    """What `hold_event` held with this `note` → pending, due now; how many."""
    return await conn.fetchval(RELEASE_EVENT, event_id, note)


async def cancel_event(conn: asyncpg.Connection, event_id: int, reason: str) -> int:
    """Every message of this event not yet handed to Notify (pending, retry, held, in digests too) → cancelled."""
    return await conn.fetchval(CANCEL_EVENT, event_id, reason)


# --- a digest closed ----------------------------------------------------------------------------------------------
DIGESTED = """
update notifications set status = 'digested', completed_at = null
where id = any($1::uuid[]) and status = 'held'
"""
CANCEL_HELD = """
update notifications set status = 'cancelled', completed_at = now()
where id = any($1::uuid[]) and status = 'held'
"""
FAIL_HELD = """
update notifications set status = 'failed', last_error = $2, completed_at = now()
where digest_id = $1 and status = 'held'
"""


async def mark_digested(conn: asyncpg.Connection, ids: list[UUID]) -> None:
    """Held items that went out inside their digest's own message → digested."""
    await conn.execute(DIGESTED, ids)


async def cancel_held(conn: asyncpg.Connection, ids: list[UUID]) -> None:
    """Held items no longer wanted when their digest closed (subscription ended, address suppressed) → cancelled."""
    await conn.execute(CANCEL_HELD, ids)


async def fail_held(conn: asyncpg.Connection, digest_id: int, reason: str) -> None:
    """The items held in a digest that could not be built → failed."""
    await conn.execute(FAIL_HELD, digest_id, reason)


# --- queued messages overtaken (a bin reminder whose collection moved) ---------------------------------------------
CANCEL_QUEUED = """
update notifications set status = 'cancelled', last_error = $2, completed_at = now()
where id = any($1::uuid[]) and status in ('pending', 'retry')
returning id
"""


async def cancel_queued(conn: asyncpg.Connection, ids: list[UUID], reason: str) -> list[UUID]:
    """These messages, if still pending or retry → cancelled; the ids cancelled now."""
    return [row['id'] for row in await conn.fetch(CANCEL_QUEUED, ids, reason)]
