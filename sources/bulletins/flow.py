"""A bulletin's life: composed → (approved) → scheduled → sending ⇄ paused, or cancelled — each step audited.

Every step locks the bulletin's row and checks the state it expects, in the same transaction as its audit entry, so
two clicks, two tabs or a page and the scheduler racing each other do a step once. Sending records the bulletin as
an event and fans it out (sources/bulletins/audience.py) in one transaction; the caller wakes the senders
after it commits.

Approval: when the audience (people, each once) is over `approval_threshold` a second person with the approver role
must approve, and never the one who composed it (the database refuses that too). The audience is counted again
when sending starts: if it has grown over the threshold since, the bulletin waits for approval again.
Pause holds the messages not yet handed to Notify; cancel cancels them. What Notify already has is not recalled.
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from notifier import audit
from notifier.outbox import states
from sources.bulletins import audience as bulletin_audience
from sources.bulletins.costs import KIND, SOURCE, TOPIC
from sources.bulletins.drafts import Draft, Target
from sources.events.models import Event
from sources.events.queries import insert_version

EDITABLE = ('draft', 'awaiting_approval', 'scheduled')
CANCELLABLE = ('draft', 'awaiting_approval', 'scheduled', 'sending', 'paused')
PAUSED_NOTE = 'bulletin paused by staff'
CANCELLED_NOTE = 'bulletin cancelled by staff'


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


async def get(db: asyncpg.Connection | asyncpg.Pool, bulletin_id: int) -> asyncpg.Record:
    row = await db.fetchrow('select * from bulletins where id = $1', bulletin_id)
    if row is None:
        raise BulletinNotFound(bulletin_id)
    return row


async def recent(db: asyncpg.Connection | asyncpg.Pool, limit: int = 50) -> list[asyncpg.Record]:
    return await db.fetch('select * from bulletins order by created_at desc, id desc limit $1', limit)


def _same(row: asyncpg.Record, actor: audit.Actor, prefix: str) -> bool:
    return (row[f'{prefix}_kind'], row[f'{prefix}_id']) == (actor.kind, actor.id)


async def submit(
    conn: asyncpg.Connection,
    bulletin_id: int,
    actor: audit.Actor,
    *,
    send_at: datetime | None,
    threshold: int,
    now: datetime | None = None,
) -> str:
    """Ask for it to go (now, or at `send_at`): its new status. Over the threshold it waits for approval; due now
    it starts sending (in this transaction; wake the senders after commit). `now` (default: the transaction's time)
    is the moment it is due at and its digests and quiet hours are reckoned from."""
    async with conn.transaction():
        row = await _locked(conn, bulletin_id)
        if row['status'] != 'draft':
            raise BulletinError(f'This bulletin is already {row["status"].replace("_", " ")}')
        audience = await bulletin_audience.count(conn, bulletin_id)
        if audience.people == 0:
            raise BulletinError('Nobody would get this bulletin: change its area, topics or channels')
        needs = audience.people > threshold
        status = 'awaiting_approval' if needs else 'scheduled'
        await conn.execute(
            'update bulletins set status = $2, send_at = $3, audience = $4, needs_approval = $5 where id = $1',
            bulletin_id, status, send_at, audience.people, needs,
        )  # fmt: skip
        await audit.record(
            conn, actor, 'bulletin.submit', target_kind='bulletin', target_id=bulletin_id,
            details={'people': audience.people, 'needs_approval': needs,
                     'send_at': send_at.isoformat() if send_at else 'now'},
        )  # fmt: skip
        if status == 'scheduled':
            return await _start_if_due(conn, bulletin_id, actor, threshold, now)
    return status


async def approve(conn: asyncpg.Connection, bulletin_id: int, actor: audit.Actor, *, threshold: int) -> str:
    async with conn.transaction():
        row = await _locked(conn, bulletin_id)
        if row['status'] != 'awaiting_approval':
            raise BulletinError('This bulletin is not waiting for approval')
        if _same(row, actor, 'created_by'):
            raise BulletinError('You composed this bulletin, so someone else with the approver role must approve it')
        await conn.execute(
            """update bulletins set status = 'scheduled', approved_by_kind = $2, approved_by_id = $3,
               approved_by_name = $4, approved_at = now() where id = $1""",
            bulletin_id, actor.kind, actor.id, actor.name,
        )  # fmt: skip
        await audit.record(conn, actor, 'bulletin.approve', target_kind='bulletin', target_id=bulletin_id,
                           details={'people': row['audience']})  # fmt: skip
        return await _start_if_due(conn, bulletin_id, actor, threshold)


async def _start_if_due(
    conn: asyncpg.Connection, bulletin_id: int, actor: audit.Actor, threshold: int, now: datetime | None = None
) -> str:
    due = await conn.fetchval(
        'select coalesce(send_at, c.at) <= c.at from bulletins, (select coalesce($2::timestamptz, now()) as at) c '
        'where id = $1',
        bulletin_id, now,
    )  # fmt: skip
    if not due:
        return 'scheduled'
    return await start_sending(conn, bulletin_id, actor, threshold=threshold, now=now)


async def start_sending(
    conn: asyncpg.Connection, bulletin_id: int, actor: audit.Actor, *, threshold: int, now: datetime | None = None
) -> str:
    """Record the event and write the outbox rows (call inside a transaction, with the row locked or lockable)."""
    async with conn.transaction():
        row = await _locked(conn, bulletin_id)
        if row['status'] != 'scheduled':
            return row['status']
        audience = await bulletin_audience.count(conn, bulletin_id)
        if audience.people > threshold and row['approved_by_id'] is None:
            await conn.execute(
                "update bulletins set status = 'awaiting_approval', audience = $2, needs_approval = true where id = $1",
                bulletin_id, audience.people,
            )  # fmt: skip
            await audit.record(conn, actor, 'bulletin.needs_approval', target_kind='bulletin', target_id=bulletin_id,
                               details={'people': audience.people})  # fmt: skip
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
