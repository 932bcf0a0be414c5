"""What Notify POSTs to us: delivery receipts, received text messages and returned letters.

Each POST is checked (bearer token, compared in constant time with TELLME_NOTIFY_CALLBACK_TOKEN), stored in
`notify_callbacks` and committed, then answered 200; it is processed in-band right after the store, in a transaction
of its own. If processing fails the stored row stays unprocessed and the sweeper (`process_unprocessed`) retries it,
so Notify gets its answer quickly and nothing is lost. Only an unprocessed row is processed, under its row lock: one
the web process finished after the sweeper listed it is left alone. Storing is idempotent on (kind, notify id,
status): Notify retries, so duplicates are expected and are answered 200 and not reprocessed. A NUL or lone
surrogate (which PostgreSQL cannot hold) is stored as U+FFFD, with the exact body beside it as ASCII-escaped JSON
(`original_json`), so a resident's text is never lost to a 500.

Order-independence: Notify's final statuses (delivered, permanent-failure, temporary-failure, technical-failure) are
terminal for us. The first final status recorded for a notification stays; a later receipt for the same message
never overwrites it (Notify does not move a message from one final status to another). A receipt may arrive before
the worker has recorded `sent`, or while the row is `unknown`: it is applied all the same (Notify has the message,
so it must never be resent), and the worker's later `sent` does not overwrite it.

Every status as Notify means it (design notify.md §2): `technical-failure` on an email or a text means "send it
again", so the row goes back to `retry` and is sent as a new Notify notification with a new reference (`<id>.2`,
`<id>.3`: notifier/outbox/references.py), at most TELLME_NOTIFY_TECHNICAL_FAILURE_RESENDS times; after that, and
for a letter at once, technical-failure is final. A late receipt for an earlier send of a row sent again is kept but
not applied. The look-ups of messages that never got a receipt (lookups.py) settle through `apply_final` too.
`permanent-failure` suppresses the contact point (reason 'permanent-failure'), so nothing more is sent there.
A returned-letter callback (Notify: the letter came back) is stored once per letter and marks the row
`returned_at`, which the case officer sees ("Letter returned on …"); the letter's status stays.
Received texts are handled in notifier/receipts/text_replies.py: STOP (STOPALL, UNSUBSCRIBE) suppresses that number
('stop-reply'), ends the resident's subscriptions that use only texts, takes texts off the others and confirms with
one text; START puts back what STOP ended; BINS, HELP and a case reference are answered by text (text_answers.py);
anything else is kept for staff.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError

from notifier import metrics
from notifier.api.auth import field_errors
from notifier.app_keys import PG, SETTINGS
from notifier.logs import log_context
from notifier.outbox import contacts, links, references, states
from notifier.outbox.rows import queue_message
from notifier.receipts import text_answers, text_replies
from notifier.settings import Settings
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

# a callback another process holds, or has processed since the sweeper listed it, is left alone ('busy')
LOAD_ONE = """
select id, kind, notify_id, reference, status, payload, received_at from notify_callbacks
where id = $1 and processed_at is null
"""


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


class ReturnedLetter(BaseModel):
    """Notify's returned-letter callback: notification_id, reference, date_sent, sent_by, template_name,
    template_id, template_version, spreadsheet_file_name, spreadsheet_row_number, upload_letter_file_name."""

    model_config = ConfigDict(extra='allow')

    notification_id: UUID
    reference: str | None = None

    @property
    def id(self) -> UUID:  # stored, and de-duplicated, by Notify's id of the letter
        return self.notification_id


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
    ours = references.parse(reference)  # a receipt names our row: so does every line logged while applying it
    with log_context(notification_id=ours[0] if ours else None):
        try:
            await process(pool, callback_id, request.app[SETTINGS])
        except Exception:  # noqa: BLE001 - stored is what Notify needs to hear; processing is retried by the sweeper
            logger.exception('callback %s stored but not processed; the sweeper will retry', callback_id)
    return web.json_response({'stored': True})


@routes.post('/notify/callbacks/status', name='notify-callback-status')
async def status_callback(request: web.Request) -> web.Response:
    return await _receive(request, 'status', StatusCallback)


@routes.post('/notify/callbacks/inbound-sms', name='notify-callback-inbound-sms')
async def inbound_sms_callback(request: web.Request) -> web.Response:
    return await _receive(request, 'inbound-sms', InboundSms)


@routes.post('/notify/callbacks/returned-letter', name='notify-callback-returned-letter')
async def returned_letter_callback(request: web.Request) -> web.Response:
    return await _receive(request, 'returned-letter', ReturnedLetter)


# processing ------------------------------------------------------------------------------------------------------
async def process(pool: asyncpg.Pool, callback_id: int, settings: Settings) -> str:
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(LOAD_ONE + ' for update skip locked', callback_id)
        if row is None:
            return 'busy'
        if row['kind'] == 'status':
            outcome = await _apply_status(conn, row, settings)
        elif row['kind'] == 'returned-letter':
            outcome = await _apply_returned_letter(conn, row)
        else:
            mobile = canonical_mobile(str(row['payload'].get('source_number', '')))
            sent_at = text_answers.received_at(row['payload'], row['received_at'])
            outcome = await text_replies.apply(conn, callback_id, row['payload'], mobile, settings, sent_at)
        await conn.execute(MARK_PROCESSED, callback_id, outcome)
    logger.debug('%s callback %s: %s', row['kind'], callback_id, outcome)
    return outcome


async def _apply_status(conn: asyncpg.Connection, row: asyncpg.Record, settings: Settings) -> str:
    status = row['status']
    if status not in states.NOTIFY_FINAL:
        return f'ignored: {status} is not final'
    return await apply_final(conn, row['reference'], row['notify_id'], status, settings)


async def apply_final(
    conn: asyncpg.Connection, reference: str | None, notify_id: UUID, status: str, settings: Settings,
    *, via: str = 'callback',
) -> str:  # fmt: skip
    """Notify's final word (one of NOTIFY_FINAL) on the send with this `reference` and `notify_id`, from a receipt
    (`via` 'callback') or a look-up ('lookup'), in the caller's transaction: recorded, sent again (technical-failure on
    an email or a text), and a permanent-failure's address suppressed. What was done, in words for the callback's
    `outcome`."""
    receipt = await states.record_receipt(
        conn, reference, notify_id, status, max_resends=settings.notify_technical_failure_resends
    )
    if receipt.applied and receipt.channel:
        metrics.receipt(receipt.channel, status, via, receipt.lag_seconds)
    if receipt.resent is not None:
        limit = settings.notify_technical_failure_resends
        return f'technical-failure: sent again ({receipt.resent} of {limit})'
    contact = receipt.contact_point_id
    outcome = 'applied'
    if not receipt.applied:
        if receipt.status is None:
            return 'unmatched'
        if receipt.earlier_send:
            return f'kept {receipt.status}: about an earlier send of a message sent again'
        outcome = f'kept {receipt.status}'
        # the sweeper may have recorded this failure first (looked up by reference): still act on it
        contact = contact if receipt.status == status else None
    if status == 'permanent-failure' and contact is not None:
        # once per address, however many of its messages bounce: queued ones are cancelled with it
        if await contacts.suppress_contact_point(conn, contact, 'permanent-failure'):
            told = await _tell_other_channels(conn, contact, settings.public_url)
            outcome += '; contact point suppressed' + (f'; told on {told} other channel(s)' if told else '')
    return outcome


async def _apply_returned_letter(conn: asyncpg.Connection, row: asyncpg.Record) -> str:
    returned_at: datetime = row['received_at']
    if await states.record_returned_letter(conn, row['reference'], row['notify_id'], returned_at) is None:
        return 'unmatched: no letter of ours, or returned already'
    return 'letter returned'


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


async def process_unprocessed(pool: asyncpg.Pool, settings: Settings, *, older_than: timedelta = timedelta(seconds=30),
                              limit: int = 500) -> int:  # fmt: skip
    """Callbacks stored but not processed (the process died, or the database blinked): process them now."""
    rows = await pool.fetch(LOAD_UNPROCESSED, older_than.total_seconds(), limit)
    for row in rows:
        try:
            await process(pool, row['id'], settings)
        except (OSError, asyncpg.PostgresError) as exc:  # the database blinked: the next sweep tries again
            logger.warning('callback %s not processed yet: %s', row['id'], exc)
        except Exception as exc:  # noqa: BLE001 - one bad callback must not block the ones behind it
            logger.exception('callback %s cannot be processed; kept for staff', row['id'])
            await pool.execute(MARK_PROCESSED, row['id'], f'error: {type(exc).__name__}')
    return len(rows)
