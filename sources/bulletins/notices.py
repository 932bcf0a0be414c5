"""Staff hear about bulletins by email, through the outbox like any other message: every approver (but its author)
when a bulletin waits for approval — urgent ones say so in the subject and are sent first — and the author when an
approver sends it back, with the reason. Each email links to the bulletin's page.

Called by sources/bulletins/flow.py in the transaction of the step that causes it; the caller wakes the senders
after the commit. A staff address becomes a contact point as subscriptions/residents/staff_addresses.py says. An
author who is an API token has no address: its tool reads the reason from GET /api/bulletins/{id}.
Staff pages and these emails are in English (the wording file holds Welsh too, as it does for every notice).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from notifier.outbox.rows import queue_message
from subscriptions.residents.staff_addresses import staff_contact_point
from templates.personalisation import NO, YES
from templates.public_text import plain
from templates.registry import notice_message, outbox_purpose

# who may approve: the approver role (admins may too, but are not asked), an account still in use, not its author
APPROVERS = """
select id, email, name from staff
where 'approver' = any(roles) and disabled_at is null and not ($1 = 'staff' and id = $2)
order by id
"""
STAFF = 'select id, email, name from staff where id = $1 and disabled_at is null'


def bulletin_url(public_url: str, bulletin_id: int) -> str:
    return f'{public_url.rstrip("/")}/staff/bulletins/{bulletin_id}'


async def approvers(db: asyncpg.Connection | asyncpg.Pool, row: Any) -> list[asyncpg.Record]:
    """The people asked to approve this bulletin: every active approver but the one who composed it."""
    return await db.fetch(APPROVERS, row['created_by_kind'], row['created_by_id'])


async def _queue(conn: asyncpg.Connection, email: str, purpose: str, urgency: Any, **values: str) -> UUID | None:
    point = await staff_contact_point(conn, email)
    if point is None:
        return None
    message = notice_message(purpose, channel='email', language='en', **values)
    return await queue_message(conn, message, contact_point_id=point, channel='email',
                               purpose=outbox_purpose(purpose), urgency=urgency)  # fmt: skip


async def ask_approvers(conn: asyncpg.Connection, row: Any, public_url: str) -> list[UUID]:
    """Email every approver that `row` (the bulletin as it now is, waiting for approval) waits for them."""
    urgent = row['urgency'] == 'urgent'
    values = {
        'title': plain(row['title']), 'author': plain(row['created_by_name']), 'people': f'{row["audience"] or 0:,}',
        'is_urgent': YES if urgent else NO, 'bulletin_url': bulletin_url(public_url, row['id']),
    }  # fmt: skip
    queued = []
    for person in await approvers(conn, row):
        sent = await _queue(conn, person['email'], 'bulletin-approval', 'urgent' if urgent else 'normal', **values)
        if sent is not None:
            queued.append(sent)
    return queued


async def tell_author(conn: asyncpg.Connection, row: Any, approver: str, reason: str, public_url: str) -> UUID | None:
    """Email the author of `row` that `approver` sent it back, and why; None when the author has no address."""
    if row['created_by_kind'] != 'staff':
        return None
    author = await conn.fetchrow(STAFF, row['created_by_id'])
    if author is None:
        return None
    return await _queue(
        conn, author['email'], 'bulletin-sent-back', row['urgency'], title=plain(row['title']),
        approver=plain(approver), reason=plain(reason), bulletin_url=bulletin_url(public_url, row['id']),
    )  # fmt: skip
