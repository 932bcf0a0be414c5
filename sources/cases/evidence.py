""" "We need something from you": a request for evidence by a date, its reminder and the officer's alert.

A need_info update with a due date (from an officer's page or a case system) opens a request (`after_update`, in
the update's transaction); any later version of the case closes it ('moved'; 'asked-again' when the new version
asks again). Every few minutes the worker (workers/evidence.py) runs `remind_and_alert`:

- at `remind_at` (09:00 London the morning after the due date), if the case has not moved, a reminder goes to
  each of the case's subscribers on each of their channels (an outbox row built from the need_info version, with
  "Reminder:" before its words), and `alert_at` is set ALERT_AFTER later;
- at `alert_at`, if the case still has not moved, the request is marked alerted: the officer sees it on the case
  page and at /staff/cases/waiting, the audit log has it, and a staff alert on the topic `staff/case-evidence`
  goes by email to whoever subscribed to it (as feeds' alerts do on `staff/source-health`).

The times are columns, so a test (or an operator) moves them instead of waiting.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

import asyncpg

from notifier import audit
from notifier.outbox import links
from notifier.outbox.rows import queue_message
from notifier.settings import Settings
from sources.events.ingest import ingest
from sources.events.models import Event
from sources.feeds import registry
from templates.personalisation import LONDON, EventInput
from templates.registry import event_message

logger = logging.getLogger('notifier.evidence')

REMIND_AT = time(9, 0)  # London wall-clock time, the morning after the due date
ALERT_AFTER = timedelta(days=3)  # after the reminder, with no movement, the officer is told
ALERT_TOPIC = 'staff/case-evidence'
REMINDER_PREFIX = {
    'en': 'Reminder: we have not heard from you yet.',
    'cy': 'Nodyn atgoffa: nid ydym wedi clywed gennych eto.',
}

MOVED = """exists (select 1 from events e where e.source = r.case_source and e.case_reference = r.case_reference
                   and e.id > r.event_id)"""
CLOSE_OPEN = """
update evidence_requests set closed_at = now(), closed_reason = $3
where case_source = $1 and case_reference = $2 and closed_at is null
"""
OPEN_REQUEST = """
insert into evidence_requests (case_source, case_reference, event_id, due_on, remind_at, requested_by, staff_id)
values ($1, $2, $3, $4, $5, $6, $7)
returning id
"""
CLOSE_MOVED = f"""
update evidence_requests r set closed_at = now(), closed_reason = 'moved'
where r.closed_at is null and {MOVED}
"""
DUE_REMINDERS = """
select r.id, r.case_source, r.case_reference, r.event_id from evidence_requests r
where r.closed_at is null and r.reminded_at is null and r.remind_at <= $1
order by r.remind_at
limit 200
for update skip locked
"""
RECIPIENTS = """
select distinct on (cp.id) s.id as subscription_id, cp.id as contact_point_id, cp.channel, res.language
from subscriptions s
join residents res on res.id = s.resident_id
join contact_points cp on cp.resident_id = s.resident_id and cp.channel = any(s.channels)
                      and cp.suppressed_at is null and cp.verified_at is not null
where s.status = 'active' and s.kind = 'case' and s.case_source = $1 and s.case_reference = $2
order by cp.id, s.id
"""
MARK_REMINDED = 'update evidence_requests set reminded_at = $2, alert_at = $3, reminders = $4 where id = $1'
DUE_ALERTS = """
update evidence_requests r set alerted_at = $1
where r.closed_at is null and r.alerted_at is null and r.alert_at <= $1
returning r.id, r.case_source, r.case_reference, r.requested_by, r.due_on
"""
REQUESTS = f"""
select r.*, {MOVED} as moved from evidence_requests r
where ($1::text is null or (r.case_source = $1 and r.case_reference = $2))
  and ($3 or r.closed_at is null)
order by r.alerted_at is null, r.remind_at, r.id desc
limit 500
"""


@dataclass(frozen=True)
class Request:
    id: int
    case_source: str
    case_reference: str
    due_on: date
    requested_by: str
    requested_at: datetime
    remind_at: datetime
    reminded_at: datetime | None
    reminders: int
    alert_at: datetime | None
    alerted_at: datetime | None
    closed_at: datetime | None
    closed_reason: str | None
    moved: bool = False  # the case moved on since (the worker closes it on its next run)

    @property
    def open(self) -> bool:
        return self.closed_at is None and not self.moved

    @property
    def state(self) -> str:
        if self.moved and self.closed_at is None:
            return 'answered'
        if self.closed_at is not None:
            return {'moved': 'answered', 'asked-again': 'asked again', 'dismissed': 'dismissed'}.get(
                self.closed_reason or '', 'closed'
            )
        if self.alerted_at is not None:
            return 'no response after the reminder'
        if self.reminded_at is not None:
            return 'reminder sent'
        return 'waiting'

    def as_json(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            'id': self.id, 'source': self.case_source, 'reference': self.case_reference,
            'due_on': self.due_on.isoformat(), 'requested_by': self.requested_by,
            'requested_at': iso(self.requested_at), 'remind_at': iso(self.remind_at),
            'reminded_at': iso(self.reminded_at), 'reminders': self.reminders, 'alert_at': iso(self.alert_at),
            'alerted_at': iso(self.alerted_at), 'closed_at': iso(self.closed_at), 'state': self.state,
        }  # fmt: skip


def remind_at_for(due_on: date) -> datetime:
    return datetime.combine(due_on + timedelta(days=1), REMIND_AT, tzinfo=LONDON)


async def after_update(
    conn: asyncpg.Connection,
    case: tuple[str, str],
    event_id: int,
    due_on: date | None,
    *,
    requested_by: str,
    staff_id: int | None = None,
) -> int | None:
    """A new version of the case was stored: it answers any open request; with a due date it opens a new one."""
    source, reference = case
    await conn.execute(CLOSE_OPEN, source, reference, 'asked-again' if due_on else 'moved')
    if due_on is None:
        return None
    return await conn.fetchval(
        OPEN_REQUEST, source, reference, event_id, due_on, remind_at_for(due_on), requested_by[:320], staff_id
    )


async def requests(
    db: asyncpg.Pool | asyncpg.Connection, case: tuple[str, str] | None = None, *, closed: bool = False
) -> list[Request]:
    """Open requests (and closed ones with `closed`), for one case or all; alerted ones first."""
    source, reference = case or (None, None)
    rows = await db.fetch(REQUESTS, source, reference, closed)
    fields = Request.__dataclass_fields__
    return [Request(**{name: row[name] for name in fields}) for row in rows if closed or not row['moved']]


async def dismiss(conn: asyncpg.Connection, request_id: int, actor: audit.Actor) -> tuple[str, str] | None:
    """The officer has dealt with it another way; the case it was for, or None if not open."""
    row = await conn.fetchrow(
        "update evidence_requests set closed_at = now(), closed_reason = 'dismissed' "
        'where id = $1 and closed_at is null returning case_source, case_reference',
        request_id,
    )
    if row is None:
        return None
    await audit.record(conn, actor, 'case.evidence_dismissed', target_kind='case', target_id=row['case_reference'],
                       details={'source': row['case_source'], 'request': request_id})  # fmt: skip
    return row['case_source'], row['case_reference']


def _reminder(event: asyncpg.Record, channel: str, language: str, subscription_id: int, settings: Settings) -> Any:
    data = EventInput.from_row(event)
    prefix = REMINDER_PREFIX.get(language, REMINDER_PREFIX['en'])
    data = replace(data, summary=f'{prefix} {data.summary}')
    secret = settings.link_secrets[0]
    return event_message(
        data,
        channel=channel,
        language=language,
        event_url=links.event_url(settings.public_url, event['id'], private=True, secret=secret),
        unsubscribe_url=links.unsubscribe_url(settings.public_url, secret, subscription_id),
        manage_url=links.manage_url(settings.public_url),
    )


async def _remind(
    conn: asyncpg.Connection, settings: Settings, request: asyncpg.Record, now: datetime
) -> list[uuid.UUID]:
    event = await conn.fetchrow('select * from events where id = $1', request['event_id'])
    queued: list[uuid.UUID] = []
    for recipient in await conn.fetch(RECIPIENTS, request['case_source'], request['case_reference']):
        message = _reminder(event, recipient['channel'], recipient['language'], recipient['subscription_id'], settings)
        queued.append(await queue_message(
            conn, message, contact_point_id=recipient['contact_point_id'], channel=recipient['channel'],
            purpose='notice', subscription_id=recipient['subscription_id'],
        ))  # fmt: skip
    await conn.execute(MARK_REMINDED, request['id'], now, now + ALERT_AFTER, len(queued))
    details = {'source': request['case_source'], 'request': request['id'], 'messages': len(queued)}
    await audit.record(
        conn,
        audit.SYSTEM,
        'case.evidence_reminder',
        target_kind='case',
        target_id=request['case_reference'],
        details=details,
    )
    return queued


def _alert(row: asyncpg.Record, settings: Settings, now: datetime) -> Event:
    source, reference = row['case_source'], row['case_reference']
    page = f'{settings.public_url}/staff/cases?' + urlencode({'reference': reference, 'source': source})
    summary = (
        f'{row["requested_by"]} asked for something on case {reference} by {row["due_on"]:%d %B %Y}. The resident '
        f'was reminded and the case has not moved since. See the case and its messages: {page}'
    )
    return Event(
        source=registry.RESERVED, external_key=f'case-evidence/{row["id"]}', kind='staff.evidence_overdue',
        topic=ALERT_TOPIC, title=f'No response on case {reference} after the reminder', summary=summary,
        attributes={'case_source': source, 'requested_by': row['requested_by']}, occurred_at=now,
    )  # fmt: skip


async def remind_and_alert(
    pool: asyncpg.Pool, settings: Settings, *, now: datetime | None = None
) -> tuple[list[uuid.UUID], list[int]]:
    """Close requests whose case moved, send due reminders, raise due alerts: (messages queued, requests alerted).
    The caller wakes the senders for the messages after this returns (they are committed)."""
    if not settings.link_secrets:
        logger.warning('TELLME_SECRET_KEY is not set: evidence reminders cannot carry links, so none are sent')
        return [], []
    async with pool.acquire() as conn, conn.transaction():
        now = now or await conn.fetchval('select now()')
        await conn.execute(CLOSE_MOVED)
        queued: list[uuid.UUID] = []
        for request in await conn.fetch(DUE_REMINDERS, now):
            queued += await _remind(conn, settings, request, now)
        alerted = await conn.fetch(DUE_ALERTS, now)
        for row in alerted:
            await ingest(conn, _alert(row, settings, now))
            details = {'source': row['case_source'], 'request': row['id'], 'requested_by': row['requested_by'],
                       'due_on': row['due_on'].isoformat()}  # fmt: skip
            await audit.record(
                conn,
                audit.SYSTEM,
                'case.evidence_overdue',
                target_kind='case',
                target_id=row['case_reference'],
                details=details,
            )
    return queued, [row['id'] for row in alerted]
