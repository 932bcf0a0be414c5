"""What Notify POSTs to us: delivery receipts and received text messages.

Each POST is checked (bearer token, compared in constant time with TELLME_NOTIFY_CALLBACK_TOKEN), stored in
`notify_callbacks` and committed, then answered 200; it is processed in-band right after the store, in a
transaction of its own. If processing fails the stored row stays unprocessed and the sweeper
(`process_unprocessed`) retries it, so Notify gets its answer quickly and nothing is lost. Storing is idempotent on
(kind, notify id, status): Notify retries, so duplicates are expected and are answered 200 and not reprocessed.
A NUL or lone surrogate (which PostgreSQL cannot hold) is stored as U+FFFD, with the exact body beside it as
ASCII-escaped JSON (`original_json`), so a resident's text is never lost to a 500.

Order-independence: Notify's final statuses (delivered, permanent-failure, temporary-failure, technical-failure) are
terminal for us. The first final status recorded for a notification stays; a later receipt for the same message
never overwrites it (Notify does not move a message from one final status to another). A receipt may arrive before
the worker has recorded `sent`, or while the row is `unknown`: it is applied all the same (Notify has the message,
so it must never be resent), and the worker's later `sent` does not overwrite it.

`permanent-failure` suppresses the contact point (reason 'permanent-failure'), so nothing more is sent there.
Received texts are handled in notifier/receipts/text_replies.py: STOP (STOPALL, UNSUBSCRIBE) suppresses that number
('stop-reply'), ends the resident's subscriptions that use only texts, takes texts off the others and confirms with
one text; START puts back what STOP ended; anything else is kept for staff.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from datetime import timedelta
from typing import Any
from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError

from notifier.api.auth import field_errors
from notifier.app_keys import PG, SETTINGS
from notifier.outbox import contacts, links, states
from notifier.outbox.rows import queue_message
from notifier.receipts import text_replies
from notifier.web import input_guard
from templates.personalisation import mask_address
from templates.registry import notice_message, outbox_purpose

logger = logging.getLogger('notifier.receipts.callbacks')

routes = web.RouteTableDef()

STORE = """
insert into notify_callbacks (kind, notify_id, reference, status, payload)
values ($1, $2, $3, $4, $5)
on conflict (kind, notify_id, coalesce(status, '')) do nothing
returning id
"""

FIND_NOTIFICATION = 'select status, contact_point_id from notifications where id = $1 or notify_id = $2'

SUPPRESSED_CONTACT = """
select cp.channel, cp.address, cp.resident_id, r.language
from contact_points cp join residents r on r.id = cp.resident_id
where cp.id = $1
"""
OTHER_CONTACTS = """
select id, channel from contact_points
where resident_id = $1 and id <> $2 and suppressed_at is null and verified_at is not null
  and channel in ('email', 'sms')
"""
MARK_PROCESSED = 'update notify_callbacks set processed_at = now(), outcome = $2 where id = $1'

LOAD_UNPROCESSED = """
select id, kind, notify_id, reference, status, payload from notify_callbacks
where processed_at is null and received_at <= now() - make_interval(secs => $1)
order by received_at limit $2
"""

LOAD_ONE = 'select id, kind, notify_id, reference, status, payload from notify_callbacks where id = $1'


class StatusCallback(BaseModel):
    model_config = ConfigDict(extra='allow')

    id: UUID
    reference: str | None = None
    status: str
    notification_type: str | None = None


class InboundSms(BaseModel):
    model_config = ConfigDict(extra='allow')

    id: UUID
    source_number: str
    message: str


def _authorised(request: web.Request) -> bool:
    expected = request.app[SETTINGS].notify_callback_token.get_secret_value()
    header = request.headers.get('Authorization', '')
    scheme, _, given = header.partition(' ')
    if not expected or scheme.lower() != 'bearer':
        return False
    return hmac.compare_digest(given.strip().encode(), expected.encode())


async def _receive(request: web.Request, kind: str, model: type[BaseModel]) -> web.Response:
    if not _authorised(request):
        return web.json_response({'message': 'invalid or missing bearer token'}, status=401)
    try:
        received = await request.json()
        payload = input_guard.storable(received)
        parsed: Any = model.model_validate(payload)
    except ValueError as exc:  # pydantic's ValidationError and JSON errors are both ValueErrors
        details = field_errors(exc) if isinstance(exc, ValidationError) else 'the body is not JSON'
        return web.json_response({'message': 'invalid callback', 'details': details}, status=400)
    if payload != received:  # the exact original, recoverable with json.loads (ASCII, so storable)
        payload['original_json'] = json.dumps(received)
    pool = request.app[PG]
    status = getattr(parsed, 'status', None)
    reference = getattr(parsed, 'reference', None)
    callback_id = await pool.fetchval(STORE, kind, parsed.id, reference, status, payload)
    if callback_id is None:
        return web.json_response({'stored': False, 'duplicate': True})
    try:
        await process(pool, callback_id, public_url=request.app[SETTINGS].public_url)
    except Exception:  # noqa: BLE001 - stored is what Notify needs to hear; processing is retried by the sweeper
        logger.exception('callback %s stored but not processed; the sweeper will retry', callback_id)
    return web.json_response({'stored': True})


@routes.post('/notify/callbacks/status', name='notify-callback-status')
async def status_callback(request: web.Request) -> web.Response:
    return await _receive(request, 'status', StatusCallback)


@routes.post('/notify/callbacks/inbound-sms', name='notify-callback-inbound-sms')
async def inbound_sms_callback(request: web.Request) -> web.Response:
    return await _receive(request, 'inbound-sms', InboundSms)


# processing ------------------------------------------------------------------------------------------------------
async def process(pool: asyncpg.Pool, callback_id: int, *, public_url: str) -> str:
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(LOAD_ONE + ' for update skip locked', callback_id)
        if row is None:
            return 'busy'
        if row['kind'] == 'status':
            outcome = await _apply_status(conn, row, public_url)
        else:
            mobile = canonical_mobile(str(row['payload'].get('source_number', '')))
            outcome = await text_replies.apply(conn, callback_id, row['payload'], mobile)
        await conn.execute(MARK_PROCESSED, callback_id, outcome)
    return outcome


async def _apply_status(conn: asyncpg.Connection, row: asyncpg.Record, public_url: str) -> str:
    status, notify_id = row['status'], row['notify_id']
    reference = _uuid(row['reference'])
    if status not in states.NOTIFY_FINAL:
        return f'ignored: {status} is not final'
    contact = await states.record_receipt(conn, reference, notify_id, status)
    outcome = 'applied'
    if contact is None:
        found = await conn.fetchrow(FIND_NOTIFICATION, reference, notify_id)
        if found is None:
            return 'unmatched'
        outcome = f'kept {found["status"]}'
        # the sweeper may have recorded this failure first (looked up by reference): still act on it
        contact = found['contact_point_id'] if found['status'] == status else None
    if status == 'permanent-failure' and contact is not None:
        # once per address, however many of its messages bounce: queued ones are cancelled with it
        if await contacts.suppress_contact_point(conn, contact, 'permanent-failure'):
            told = await _tell_other_channels(conn, contact, public_url)
            outcome += '; contact point suppressed' + (f'; told on {told} other channel(s)' if told else '')
    return outcome


async def _tell_other_channels(conn: asyncpg.Connection, suppressed_id: int, public_url: str) -> int:
    """A resident whose email bounces for good (or whose number is dead) hears about it on their other contact
    point, if they have a working one, so they can fix it rather than silently stop hearing from us."""
    gone = await conn.fetchrow(SUPPRESSED_CONTACT, suppressed_id)
    if gone is None or gone['channel'] == 'letter':
        return 0
    told = 0
    for other in await conn.fetch(OTHER_CONTACTS, gone['resident_id'], suppressed_id):
        message = notice_message(
            'contact-suppressed', channel=other['channel'], language=gone['language'],
            masked_address=mask_address(gone['channel'], gone['address']), manage_url=links.manage_url(public_url),
        )  # fmt: skip
        await queue_message(
            conn, message, contact_point_id=other['id'], channel=other['channel'],
            purpose=outbox_purpose('contact-suppressed'),
        )  # fmt: skip
        told += 1
    return told


def canonical_mobile(number: str) -> str:
    """UK numbers as stored in contact_points: E.164 digits without '+' ('07700 900123' → '447700900123')."""
    digits = re.sub(r'\D', '', number)
    if digits.startswith('0') and not digits.startswith('00'):
        return '44' + digits[1:]
    return digits.removeprefix('00')


def _uuid(value: str | None) -> UUID | None:
    try:
        return UUID(value) if value else None
    except ValueError:
        return None


async def process_unprocessed(pool: asyncpg.Pool, *, public_url: str, older_than: timedelta = timedelta(seconds=30),
                              limit: int = 500) -> int:  # fmt: skip
    """Callbacks stored but not processed (the process died, or the database blinked): process them now."""
    rows = await pool.fetch(LOAD_UNPROCESSED, older_than.total_seconds(), limit)
    for row in rows:
        try:
            await process(pool, row['id'], public_url=public_url)
        except (OSError, asyncpg.PostgresError) as exc:  # the database blinked: the next sweep tries again
            logger.warning('callback %s not processed yet: %s', row['id'], exc)
        except Exception as exc:  # noqa: BLE001 - one bad callback must not block the ones behind it
            logger.exception('callback %s cannot be processed; kept for staff', row['id'])
            await pool.execute(MARK_PROCESSED, row['id'], f'error: {type(exc).__name__}')
    return len(rows)
