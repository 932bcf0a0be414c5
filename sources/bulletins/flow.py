"""A bulletin's life: composed → (approved, or sent back to draft) → scheduled → sending ⇄ paused → sent, or
cancelled — each step audited.

Every step locks the bulletin's row and checks the state it expects, in the same transaction as its audit entry, so
two clicks, two tabs or a page and the scheduler racing each other do a step once. Sending records the bulletin as
an event and fans it out (sources/bulletins/audience.py) in one transaction; the caller wakes the senders
after it commits.

Approval: when the audience (people, each once) is over `approval_threshold` a second person with the approver role
must approve, and never the one who composed it (the database refuses that too). Every approver is emailed when
it starts to wait (sources/bulletins/notices.py, in the same transaction). The audience is counted again when
sending starts: if it has grown over the threshold since, the bulletin waits for approval again. Instead of
approving, an approver may send it back with a reason: it is a draft again, its author reads why on its page and by
email, changes it and asks again.
Pause holds the messages not yet handed to Notify; cancel cancels them. What Notify already has is not recalled.
A bulletin becomes `sent` once every message has left Tell Me (sources/bulletins/finish.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from notifier import audit
from notifier.outbox import states
from sources.bulletins import audience as bulletin_audience
from sources.bulletins import finish, notices
from sources.bulletins.costs import KIND, SOURCE, TOPIC
from sources.bulletins.drafts import Draft, Target
from sources.events.models import Event
from sources.events.queries import insert_version

EDITABLE = ('draft', 'awaiting_approval', 'scheduled')
CANCELLABLE = ('draft', 'awaiting_approval', 'scheduled', 'sending', 'paused')
PAUSED_NOTE = 'bulletin paused by staff'
CANCELLED_NOTE = 'bulletin cancelled by staff'
REASON_MAX = 1000


class BulletinError(ValueError):
    """A step that cannot be taken now; the message says why, for the person who tried."""


class BulletinNotFound(LookupError):
    pass


SAVE_COLUMNS = (
    'title, message, topics, area_kind, ward_codes, centre_postcode, centre_lat, centre_lng, radius_m, '
    'list_postcodes, list_uprns, channels, urgency'
)


def _values(draft: Draft, target: Target) -> list[object]:
    lat, lng = target.centre or (None, None)
    return [
        draft.title, draft.message, draft.topics, draft.area, target.ward_codes, target.postcode, lat, lng,
        target.radius_m, draft.postcodes if draft.area == 'list' else [], draft.uprns if draft.area == 'list' else [],
        draft.channels, draft.urgency,
    ]  # fmt: skip


def _details(draft: Draft) -> dict[str, object]:
    return {'title': draft.title[:80], 'area': draft.area, 'channels': draft.channels, 'urgency': draft.urgency}


async def create(conn: asyncpg.Connection, draft: Draft, target: Target, actor: audit.Actor) -> int:
    async with conn.transaction():
        bulletin_id = await conn.fetchval(
            f"""insert into bulletins ({SAVE_COLUMNS}, created_by_kind, created_by_id, created_by_name)
            values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) returning id""",
            *_values(draft, target), actor.kind, actor.id, actor.name,
        )  # fmt: skip
        await audit.record(conn, actor, 'bulletin.compose', target_kind='bulletin', target_id=bulletin_id,
                           details=_details(draft))  # fmt: skip
    return bulletin_id


async def _locked(conn: asyncpg.Connection, bulletin_id: int) -> asyncpg.Record:
    row = await conn.fetchrow('select * from bulletins where id = $1 for update', bulletin_id)
    if row is None:
        raise BulletinNotFound(bulletin_id)
    return row


async def update(conn: asyncpg.Connection, bulletin_id: int, draft: Draft, target: Target, actor: audit.Actor) -> None:
    """Change a bulletin not yet sent; it goes back to draft, so it is checked (and approved) again."""
    async with conn.transaction():
        row = await _locked(conn, bulletin_id)
        if row['status'] not in EDITABLE:
            raise BulletinError('This bulletin has been sent or cancelled, so it cannot be changed')
        sets = ', '.join(f'{name} = ${n}' for n, name in enumerate(SAVE_COLUMNS.split(', '), start=2))
        await conn.execute(
            f"""update bulletins set {sets}, status = 'draft', send_at = null, audience = null,
                needs_approval = false, approved_by_kind = null, approved_by_id = null, approved_by_name = null,
                approved_at = null where id = $1""",
            bulletin_id, *_values(draft, target),
        )  # fmt: skip
        await audit.record(conn, actor, 'bulletin.edit', target_kind='bulletin', target_id=bulletin_id,
                           details=_details(draft))  # fmt: skip


def reason_problem(reason: str) -> str | None:
    """What is wrong with an approver's reason for sending a bulletin back (the page's and the API's words)."""
    if not reason.strip():
        return 'Enter why you are sending it back, so its author knows what to change'
    if len(reason.strip()) > REASON_MAX:
        return f'The reason must be {REASON_MAX:,} characters or fewer'
    return None


async def get(db: asyncpg.Connection | asyncpg.Pool, bulletin_id: int) -> asyncpg.Record:
    row = await db.fetchrow('select * from bulletins where id = $1', bulletin_id)
    if row is None:
        raise BulletinNotFound(bulletin_id)
    return row


RECENT = f"""
select b.*, b.status = 'sent' and exists (
    select 1 from notifications n where n.event_id = b.event_id and n.status in {finish.FAILED_IN}
) as failed_any
from bulletins b order by b.created_at desc, b.id desc limit $1
"""


async def recent(db: asyncpg.Connection | asyncpg.Pool, limit: int = 50) -> list[asyncpg.Record]:
    """The latest bulletins, each with `failed_any`: sent, and some of its messages failed."""
    return await db.fetch(RECENT, limit)


def _same(row: asyncpg.Record, actor: audit.Actor, prefix: str) -> bool:
    return (row[f'{prefix}_kind'], row[f'{prefix}_id']) == (actor.kind, actor.id)


async def submit(
    conn: asyncpg.Connection,
    bulletin_id: int,
    actor: audit.Actor,
    *,
    send_at: datetime | None,
    threshold: int,
    public_url: str,
    now: datetime | None = None,
) -> str:
    """Ask for it to go (now, or at `send_at`): its new status. Over the threshold it waits for approval and every
    approver is emailed (links to the bulletin start at `public_url`); due now it starts sending (in this
    transaction; wake the senders after commit, either way). `now` (default: the transaction's time) is the moment
    it is due at and its digests and quiet hours are reckoned from."""
    async with conn.transaction():
        row = await _locked(conn, bulletin_id)
        if row['status'] != 'draft':
            raise BulletinError(f'This bulletin is already {row["status"].replace("_", " ")}')
        audience = await bulletin_audience.count(conn, bulletin_id)
        if audience.people == 0:
            raise BulletinError('Nobody would get this bulletin: change its area, topics or channels')
        needs = audience.people > threshold
        status = 'awaiting_approval' if needs else 'scheduled'
        waiting = await conn.fetchrow(
            'update bulletins set status = $2, send_at = $3, audience = $4, needs_approval = $5 where id = $1 '
            'returning *',
            bulletin_id, status, send_at, audience.people, needs,
        )  # fmt: skip
        asked = await notices.ask_approvers(conn, waiting, public_url) if needs else []
        await audit.record(
            conn, actor, 'bulletin.submit', target_kind='bulletin', target_id=bulletin_id,
            details={'people': audience.people, 'needs_approval': needs,
                     'send_at': send_at.isoformat() if send_at else 'now', 'approvers_emailed': len(asked)},
        )  # fmt: skip
        if status == 'scheduled':
            return await _start_if_due(conn, bulletin_id, actor, threshold, public_url, now)
    return status


async def _awaiting_approval(
    conn: asyncpg.Connection, bulletin_id: int, actor: audit.Actor, *, not_waiting: str, own: str
) -> asyncpg.Record:
    """The bulletin's locked row, for an approver's step: it must be waiting for approval (else `not_waiting`) and
    the actor must not be its author (else `own`)."""
    row = await _locked(conn, bulletin_id)
    if row['status'] != 'awaiting_approval':
        raise BulletinError(not_waiting)
    if _same(row, actor, 'created_by'):
        raise BulletinError(own)
    return row


async def approve(
    conn: asyncpg.Connection, bulletin_id: int, actor: audit.Actor, *, threshold: int, public_url: str
) -> str:
    async with conn.transaction():
        row = await _awaiting_approval(
            conn, bulletin_id, actor,
            not_waiting='This bulletin is not waiting for approval',
            own='You composed this bulletin, so someone else with the approver role must approve it',
        )  # fmt: skip
        await conn.execute(
            """update bulletins set status = 'scheduled', approved_by_kind = $2, approved_by_id = $3,
               approved_by_name = $4, approved_at = now() where id = $1""",
            bulletin_id, actor.kind, actor.id, actor.name,
        )  # fmt: skip
        await audit.record(conn, actor, 'bulletin.approve', target_kind='bulletin', target_id=bulletin_id,
                           details={'people': row['audience']})  # fmt: skip
        return await _start_if_due(conn, bulletin_id, actor, threshold, public_url)


async def send_back(
    conn: asyncpg.Connection, bulletin_id: int, actor: audit.Actor, *, reason: str, public_url: str
) -> UUID | None:
    """An approver sends a bulletin waiting for approval back to draft, saying why: its author reads the reason on
    its page and by email (the email's id, None for an author with no address: a token). Wake the senders after
    commit."""
    problem = reason_problem(reason)
    if problem:
        raise BulletinError(problem)
    reason = reason.strip().replace('\r\n', '\n')
    async with conn.transaction():
        row = await _awaiting_approval(
            conn, bulletin_id, actor,
            not_waiting='This bulletin is not waiting for approval, so it cannot be sent back',
            own='You composed this bulletin: change it instead of sending it back',
        )  # fmt: skip
        await conn.execute(
            """update bulletins set status = 'draft', send_at = null, audience = null, needs_approval = false,
               sent_back_reason = $2, sent_back_by_name = $3, sent_back_at = now() where id = $1""",
            bulletin_id, reason, actor.name,
        )  # fmt: skip
        emailed = await notices.tell_author(conn, row, actor.name, reason, public_url)
        await audit.record(conn, actor, 'bulletin.send_back', target_kind='bulletin', target_id=bulletin_id,
                           details={'reason': reason, 'author_emailed': emailed is not None})  # fmt: skip
    return emailed


async def _start_if_due(
    conn: asyncpg.Connection,
    bulletin_id: int,
    actor: audit.Actor,
    threshold: int,
    public_url: str,
    now: datetime | None = None,
) -> str:
    due = await conn.fetchval(
        'select coalesce(send_at, c.at) <= c.at from bulletins, (select coalesce($2::timestamptz, now()) as at) c '
        'where id = $1',
        bulletin_id, now,
    )  # fmt: skip
    if not due:
        return 'scheduled'
    return await start_sending(conn, bulletin_id, actor, threshold=threshold, public_url=public_url, now=now)


async def start_sending(
    conn: asyncpg.Connection,
    bulletin_id: int,
    actor: audit.Actor,
    *,
    threshold: int,
    public_url: str,
    now: datetime | None = None,
) -> str:
    """Record the event and write the outbox rows (call inside a transaction, with the row locked or lockable);
    or, if the audience grew over the threshold unapproved, wait for approval again and email the approvers."""
    async with conn.transaction():
        row = await _locked(conn, bulletin_id)
        if row['status'] != 'scheduled':
            return row['status']
        audience = await bulletin_audience.count(conn, bulletin_id)
        if audience.people > threshold and row['approved_by_id'] is None:
            waiting = await conn.fetchrow(
                "update bulletins set status = 'awaiting_approval', audience = $2, needs_approval = true where id = $1 "
                'returning *',
                bulletin_id, audience.people,
            )  # fmt: skip
            asked = await notices.ask_approvers(conn, waiting, public_url)
            await audit.record(conn, actor, 'bulletin.needs_approval', target_kind='bulletin', target_id=bulletin_id,
                               details={'people': audience.people, 'approvers_emailed': len(asked)})  # fmt: skip
            return 'awaiting_approval'
        event = Event(
            source=SOURCE, external_key=f'bulletin-{bulletin_id}', kind=KIND, topic=TOPIC, title=row['title'],
            summary=row['message'], urgency=row['urgency'], occurred_at=now or datetime.now(UTC),
            area_codes=list(row['ward_codes'])[:20],
        )  # fmt: skip
        event_id = await insert_version(conn, event, version=1, changes=[]) or await conn.fetchval(
            'select id from events where source = $1 and external_key = $2 and version = 1',
            SOURCE, event.external_key,
        )  # fmt: skip
        await conn.execute(
            "update bulletins set status = 'sending', event_id = $2, sent_at = now(), audience = $3 where id = $1",
            bulletin_id, event_id, audience.people,
        )  # fmt: skip
        written = await bulletin_audience.fan_out(conn, bulletin_id, now=now)
        await audit.record(
            conn, actor, 'bulletin.send', target_kind='bulletin', target_id=bulletin_id,
            details={'people': audience.people, 'messages': written, **audience.by_channel},
        )  # fmt: skip
    return 'sending'


async def pause(conn: asyncpg.Connection, bulletin_id: int, actor: audit.Actor) -> int:
    async with conn.transaction():
        row = await _locked(conn, bulletin_id)
        if row['status'] != 'sending':
            raise BulletinError('Only a bulletin that is sending can be paused')
        held = await states.hold_event(conn, row['event_id'], PAUSED_NOTE)
        await conn.execute("update bulletins set status = 'paused' where id = $1", bulletin_id)
        await audit.record(conn, actor, 'bulletin.pause', target_kind='bulletin', target_id=bulletin_id,
                           details={'held': held})  # fmt: skip
    return held


async def resume(conn: asyncpg.Connection, bulletin_id: int, actor: audit.Actor) -> int:
    async with conn.transaction():
        row = await _locked(conn, bulletin_id)
        if row['status'] != 'paused':
            raise BulletinError('Only a paused bulletin can be resumed')
        released = await states.release_event(conn, row['event_id'], PAUSED_NOTE)
        await conn.execute("update bulletins set status = 'sending' where id = $1", bulletin_id)
        await audit.record(conn, actor, 'bulletin.resume', target_kind='bulletin', target_id=bulletin_id,
                           details={'released': released})  # fmt: skip
    return released


async def cancel(conn: asyncpg.Connection, bulletin_id: int, actor: audit.Actor) -> int:
    """Stop it: messages not yet with Notify are cancelled (those in digests too); how many were stopped."""
    async with conn.transaction():
        row = await _locked(conn, bulletin_id)
        if row['status'] == 'sent':
            raise BulletinError('Every message of this bulletin has already gone, so there is nothing to cancel')
        if row['status'] not in CANCELLABLE:
            raise BulletinError('This bulletin has already been cancelled')
        stopped = 0
        if row['event_id'] is not None:
            stopped = await states.cancel_event(conn, row['event_id'], CANCELLED_NOTE)
        await conn.execute("update bulletins set status = 'cancelled', cancelled_at = now() where id = $1", bulletin_id)
        await audit.record(conn, actor, 'bulletin.cancel', target_kind='bulletin', target_id=bulletin_id,
                           details={'stopped': stopped, 'was': row['status']})  # fmt: skip
    return stopped


async def due(db: asyncpg.Connection | asyncpg.Pool, limit: int = 20) -> list[int]:
    """Scheduled bulletins whose time has come (the scheduler starts each under its own lock)."""
    rows = await db.fetch(
        "select id from bulletins where status = 'scheduled' and coalesce(send_at, created_at) <= now() "
        'order by send_at nulls first, id limit $1',
        limit,
    )
    return [row['id'] for row in rows]
