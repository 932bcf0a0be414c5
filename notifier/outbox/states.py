"""Every change of a row's status that the senders do not make (theirs are in `delivery_states.py`).

Each UPDATE names the states it expects to leave, so a late writer never overwrites a newer truth. Where a domain
statement must stay one statement (ending a subscription and cancelling its messages, suppressing or moving an
address), it composes a fragment from here as one of its CTEs; otherwise it calls a function. The states and the
whole machine are in the package's docstring (notifier/outbox/__init__.py).
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

# not yet handed to Notify: what ending a subscription, suppressing an address or moving it cancels
UNSENT = ('pending', 'held', 'retry')
# Notify's final word (a receipt), never overwritten
NOTIFY_FINAL = ('delivered', 'permanent-failure', 'temporary-failure', 'technical-failure')
# every other status (migration 0003's check): a receipt may land on any of them (Notify has the message)
BEFORE_NOTIFY_FINAL = ('pending', 'held', 'digested', 'sending', 'retry', 'unknown', 'sent', 'failed', 'cancelled')


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
RECORD_RECEIPT = f"""
update notifications
set status = $3, notify_id = coalesce(notify_id, $2), sent_at = coalesce(sent_at, now()), completed_at = now()
where (id = $1 or notify_id = $2) and status in {_in(BEFORE_NOTIFY_FINAL)}
returning contact_point_id
"""


async def record_receipt(conn: asyncpg.Connection, reference: UUID | None, notify_id: UUID, status: str) -> int | None:
    """Notify's final word (one of NOTIFY_FINAL) on the message with our id `reference` or its `notify_id`: the row
    takes it from any earlier state (a receipt may beat the worker's `sent`, or find the row `unknown`); the first
    final word stays. The message's contact point, or None if no row took it."""
    return await conn.fetchval(RECORD_RECEIPT, reference, notify_id, status)


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
