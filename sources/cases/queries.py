"""A case as an officer sees it: found by reference, its stage, every version, its subscribers (contact details
masked) and every message sent about it with what Notify said about delivery. Read only; shared by the case page
(/staff/cases) and `GET /api/cases/{reference}`.

"About the case" means an outbox row for one of the case's versions, or one answering one of the case's
subscriptions (a confirmation, an evidence reminder, an assisted sign-up letter). A message that went out in a
digest shows the digest's own delivery status; a letter Notify told us came back shows when. Messages that finished
more than TELLME_OUTBOX_KEEP_DAYS ago are no longer rows (notifier/outbox/archive.py): those about the case's versions
are kept as counts, shown as such (`older`); older confirmations and reminders are not shown at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from notifier.outbox import archive
from notifier.receipts.lookups import FORGOTTEN
from sources.cases import evidence
from sources.feeds.adapters.open311 import _STAGE_WORDS as STAGE_WORDS
from templates.personalisation import mask_address

CASES = """
select distinct on (e.source, e.case_reference)
       e.source, e.case_reference as reference, e.title, e.kind, e.attributes ->> 'stage' as stage, e.version,
       e.created_at as updated_at,
       coalesce(nullif(s.options ->> 'service_name', ''), e.source) as service
from events e left join sources s on s.name = e.source
where e.case_reference is not null and upper(e.case_reference) = upper($1) and ($2::text is null or e.source = $2)
order by e.source, e.case_reference, e.id desc
"""
HISTORY = """
select id, version, kind, title, summary, attributes, changes, occurred_at, created_at, matched_count
from events where source = $1 and case_reference = $2
order by id desc
"""
SUBSCRIBERS = """
select s.id, s.status, s.channels, s.created_at, s.confirmed_at, s.ended_at, s.ended_reason, r.language,
       coalesce((select jsonb_agg(jsonb_build_object(
                    'channel', cp.channel, 'address', cp.address, 'verified', cp.verified_at is not null,
                    'suppressed', cp.suppressed_reason) order by cp.channel)
                 from contact_points cp where cp.resident_id = s.resident_id and cp.channel = any(s.channels)),
                '[]'::jsonb) as contacts,
       (select jsonb_build_object('wording', c.wording, 'given_at', c.given_at, 'recorded_by', c.recorded_by,
                                  'agreed_by', c.agreed_by, 'method', c.method)
        from consents c where c.subscription_id = s.id order by c.id desc limit 1) as consent
from subscriptions s join residents r on r.id = s.resident_id
where s.kind = 'case' and s.case_source = $1 and s.case_reference = $2
order by s.id
"""
MESSAGES = """
select n.id, n.purpose, n.channel, n.status, n.last_error, n.created_at, n.sent_at, n.completed_at, n.attempts,
       n.subscription_id, n.returned_at, cp.address, e.version as event_version,
       (select d.status from notifications d where n.status = 'digested' and d.digest_id = n.digest_id
                                             and d.purpose = 'digest' limit 1) as digest_status
from notifications n
join contact_points cp on cp.id = n.contact_point_id
left join events e on e.id = n.event_id
where n.event_id in (select id from events where source = $1 and case_reference = $2)
   or n.subscription_id in (select id from subscriptions where kind = 'case' and case_source = $1
                                                          and case_reference = $2)
order by n.created_at desc, n.id
limit 1000
"""

# what each outbox status means to an officer, and whether it is good news, bad news or not yet known
STATUS_TEXT = {
    'pending': ('Waiting to be sent', 'waiting'),
    'retry': ('Waiting to try again', 'waiting'),
    'held': ('Waiting for the resident’s daily or weekly digest', 'waiting'),
    'sending': ('Being sent', 'waiting'),
    'unknown': ('Being checked with Notify', 'waiting'),
    'sent': ('Sent – Notify has not yet confirmed delivery', 'waiting'),
    'delivered': ('Delivered', 'delivered'),
    'permanent-failure': (
        'Not delivered: the email address, number or address does not exist or cannot get messages '
        '(Notify: permanent failure). Nothing more is sent there.', 'failed'),
    'temporary-failure': (
        'Not delivered: the inbox was full or the phone was off until Notify gave up (Notify: temporary failure)',
        'failed'),
    'technical-failure': ('Not delivered: a technical problem at Notify or the network (Notify: technical failure)',
                          'failed'),
    'failed': ('Not sent', 'failed'),
    'cancelled': ('Not sent', 'failed'),
}  # fmt: skip
PURPOSE_TEXT = {
    'event': 'Case update', 'confirmation': 'Confirm subscription', 'notice': 'Notice', 'digest': 'Digest',
    'reminder': 'Reminder', 'sign-in': 'Sign-in', 'bulletin': 'Bulletin', 'reply': 'Reply',
}  # fmt: skip
CHANNEL_TEXT = {'email': 'Email', 'sms': 'Text message', 'letter': 'Letter'}
LONDON = ZoneInfo('Europe/London')


@dataclass(frozen=True)
class Found:
    cases: list[dict[str, Any]]
    case: dict[str, Any] | None  # the one case meant (None: none, or several and no source chosen)


@dataclass
class CaseDetails:
    source: str
    reference: str
    title: str
    stage: str | None
    stage_name: str
    service: str
    updated_at: datetime
    history: list[dict[str, Any]] = field(default_factory=list)
    subscribers: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    evidence: list[evidence.Request] = field(default_factory=list)
    # messages about the case's versions kept only as counts: outcome ('delivered', 'failed', 'waiting') → messages
    older: dict[str, int] = field(default_factory=dict)


async def find(db: asyncpg.Pool | asyncpg.Connection, reference: str, source: str | None = None) -> Found:
    rows = [dict(row) for row in await db.fetch(CASES, reference.strip(), source)]
    return Found(rows, rows[0] if len(rows) == 1 else None)


def status_of(status: str, last_error: str | None, digest_status: str | None = None) -> tuple[str, str]:
    """(words for an officer, 'delivered' | 'failed' | 'waiting') for an outbox row's status."""
    if status == 'digested':
        if digest_status is None:
            return 'Sent in a digest', 'waiting'
        text, outcome = status_of(digest_status, None)
        return f'Sent in a digest: {text[:1].lower()}{text[1:]}', outcome
    if status == 'failed' and last_error == FORGOTTEN:  # sent, and then no word from Notify at all
        return 'Sent, but not known whether it arrived: Notify sent no receipt and no longer holds it', 'failed'
    text, outcome = STATUS_TEXT.get(status, (status, 'waiting'))
    if status in ('failed', 'cancelled') and last_error:
        text = f'{text}: {last_error}'
    return text, outcome


def _message(row: asyncpg.Record) -> dict[str, Any]:
    text, outcome = status_of(row['status'], row['last_error'], row['digest_status'])
    if row['returned_at'] is not None:  # Notify's returned-letter callback: it came back undelivered
        text, outcome = f'Letter returned on {row["returned_at"].astimezone(LONDON):%-d %B %Y}', 'failed'
    return {
        'id': str(row['id']), 'purpose': row['purpose'], 'what': PURPOSE_TEXT.get(row['purpose'], row['purpose']),
        'channel': row['channel'], 'channel_name': CHANNEL_TEXT.get(row['channel'], row['channel']),
        'to': mask_address(row['channel'], row['address']), 'status': row['status'], 'status_text': text,
        'outcome': outcome, 'event_version': row['event_version'], 'subscription_id': row['subscription_id'],
        'created_at': row['created_at'], 'sent_at': row['sent_at'], 'completed_at': row['completed_at'],
        'returned_at': row['returned_at'],
    }  # fmt: skip


def _subscriber(row: asyncpg.Record) -> dict[str, Any]:
    contacts = [
        {'channel': point['channel'], 'channel_name': CHANNEL_TEXT.get(point['channel'], point['channel']),
         'address': mask_address(point['channel'], point['address']), 'verified': point['verified'],
         'suppressed': point['suppressed']}
        for point in row['contacts']
    ]  # fmt: skip
    return {
        'id': row['id'], 'status': row['status'], 'channels': list(row['channels']), 'language': row['language'],
        'contacts': contacts, 'created_at': row['created_at'], 'confirmed_at': row['confirmed_at'],
        'ended_at': row['ended_at'], 'ended_reason': row['ended_reason'], 'consent': row['consent'],
    }  # fmt: skip


def _version(row: asyncpg.Record) -> dict[str, Any]:
    attributes = row['attributes'] or {}
    stage = attributes.get('stage')
    return {
        'event_id': row['id'], 'version': row['version'], 'kind': row['kind'], 'title': row['title'],
        'stage': stage, 'stage_name': STAGE_WORDS.get(stage or '', attributes.get('status') or ''),
        'summary': row['summary'], 'note': attributes.get('notes'), 'respond_by': attributes.get('respond_by'),
        'occurred_at': row['occurred_at'], 'created_at': row['created_at'], 'messages': row['matched_count'] or 0,
    }  # fmt: skip


async def details(db: asyncpg.Pool, case: dict[str, Any]) -> CaseDetails:
    source, reference = case['source'], case['reference']
    found = CaseDetails(
        source, reference, case['title'], case['stage'], STAGE_WORDS.get(case['stage'] or '', 'Unknown'),
        case.get('service') or source, case['updated_at'],
    )  # fmt: skip
    found.history = [_version(row) for row in await db.fetch(HISTORY, source, reference)]
    found.subscribers = [_subscriber(row) for row in await db.fetch(SUBSCRIBERS, source, reference)]
    found.messages = [_message(row) for row in await db.fetch(MESSAGES, source, reference)]
    found.evidence = await evidence.requests(db, (source, reference), closed=True)
    for row in await archive.event_counts(db, [version['event_id'] for version in found.history]):
        outcome = status_of(row['status'], None)[1]
        found.older[outcome] = found.older.get(outcome, 0) + row['messages']
    return found


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    return value


async def as_json(db: asyncpg.Pool, case: dict[str, Any]) -> dict[str, Any]:
    found = await details(db, case)
    return _jsonable({
        'source': found.source, 'reference': found.reference, 'title': found.title, 'stage': found.stage,
        'stage_name': found.stage_name, 'updated_at': found.updated_at, 'history': found.history,
        'subscribers': found.subscribers, 'messages': found.messages, 'older_messages': found.older,
        'evidence_requests': [request.as_json() for request in found.evidence],
    })  # fmt: skip
