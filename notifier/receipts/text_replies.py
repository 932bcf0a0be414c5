"""Texts residents send us (Notify's inbound SMS): STOP, START, the questions we answer, and anything else.

STOP, STOPALL or UNSUBSCRIBE — in any case, with spaces or punctuation, alone or starting the text ("Stop please")
— suppresses the number ('stop-reply'), ends the subscriptions that only use texts and takes texts off the others,
and sends one confirmation text. Each change is kept in `text_stops`, so START (or UNSTOP) from the same number
puts back exactly what STOP took away and confirms it. A second STOP, or a START with nothing to resume, changes
nothing and sends nothing. STOP or START from a number we do not know changes nothing and sends nothing.

BINS, HELP, a case reference and their Welsh and misspelt forms (text_commands.py) are answered by text from what
the number follows (text_answers.py). Everything else is kept for staff (`notify_callbacks.for_staff`), never
lost, and acknowledged once a day; the text itself is never logged.

A UK mobile we hold nothing for that texts a command or a message for staff is first given a resident of its own
(`residents.from_text`, migration 0030) in the language it wrote in, holding only the number, unverified: it is
then answered like any number (a command gets the "not signed up for that" answer with the sign-up link, or HELP;
a message the acknowledgement), through the outbox and within the same daily limit, and never learns anything, as no
unproved number does. Housekeeping forgets it 7 days later (subscriptions/residents/housekeeping.py); a sign-up with
the number takes it as any unproved address (subscriptions/residents/signup.py). Thanks and symbols from such a
number wait for staff and make nothing, and so does everything from it while TELLME_TEXT_REPLIES_PER_DAY is 0
(answers off): nothing would be sent to it, so its number is not kept.
The confirmation texts go out as purpose 'reply' (migration 0012): the senders let only that purpose through a
'stop-reply' suppression. If this Notify account has no reply templates yet, the change is made all the same and
a warning says which template to add.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

import asyncpg

from notifier.notify_sim.rules.recipients import InvalidRecipient, normalise_phone_number
from notifier.outbox import contacts
from notifier.outbox.rows import queue_message
from notifier.receipts import text_answers, text_commands
from notifier.settings import Settings
from templates.registry import REGISTRY, notice_message, outbox_purpose

logger = logging.getLogger('notifier.receipts.text_replies')

STOP_WORDS = frozenset({'STOP', 'STOPALL', 'UNSUBSCRIBE'})
START_WORDS = frozenset({'START', 'UNSTOP'})
STOPPED, STARTED = 'texts-stopped', 'texts-started'

FIND_MOBILE = """
select cp.id, cp.resident_id, cp.suppressed_reason, cp.verified_at, r.language
from contact_points cp join residents r on r.id = cp.resident_id
where cp.channel = 'sms' and cp.address = $1
"""
END_TEXT_ONLY = """
with before as (
    select id, status from subscriptions
    where resident_id = $1 and status <> 'ended' and channels = array['sms']
    for update
), ended as (
    update subscriptions s set status = 'ended', ended_reason = 'stop-reply', ended_by = 'resident', ended_at = now()
    from before where s.id = before.id
    returning s.id, before.status
)
insert into text_stops (contact_point_id, subscription_id, action, previous_status)
select $2, id, 'ended', status from ended
returning subscription_id
"""
DROP_TEXTS = """
with dropped as (
    update subscriptions set channels = array_remove(channels, 'sms')
    where resident_id = $1 and status <> 'ended' and 'sms' = any(channels) and cardinality(channels) > 1
    returning id
)
insert into text_stops (contact_point_id, subscription_id, action) select $2, id, 'removed-texts' from dropped
returning subscription_id
"""
UNSUPPRESS = """
update contact_points set suppressed_at = null, suppressed_reason = null
where id = $1 and suppressed_reason = 'stop-reply'
"""
RESTORE = """
with open_stops as (
    update text_stops set restored_at = now()
    where contact_point_id = $1 and restored_at is null
    returning subscription_id, action, previous_status
), reopened as (
    update subscriptions s set status = o.previous_status, ended_reason = null, ended_by = null, ended_at = null
    from open_stops o
    where s.id = o.subscription_id and o.action = 'ended' and s.status = 'ended' and s.ended_reason = 'stop-reply'
    returning s.id
), texts_again as (
    update subscriptions s set channels = array_append(s.channels, 'sms')
    from open_stops o
    where s.id = o.subscription_id and o.action = 'removed-texts' and s.status <> 'ended'
      and not ('sms' = any(s.channels))
    returning s.id
)
select (select count(*) from reopened) + (select count(*) from texts_again)
"""
FOR_STAFF = 'update notify_callbacks set for_staff = true where id = $1'
NEW_RESIDENT = 'insert into residents (language, from_text) values ($1, true) returning id'
ADD_NUMBER = """
insert into contact_points (resident_id, channel, address) values ($1, 'sms', $2)
on conflict (channel, address) do nothing
returning id
"""


def words_of(message: str) -> list[str]:
    return re.sub(r'[^A-Za-z]', ' ', message).upper().split()


def intent(message: str) -> str | None:
    """'stop', 'start' or None for anything else ('Stop!', 'stop all', ' UnSubscribe.' are all 'stop')."""
    words = words_of(message)
    if not words:
        return None
    joined = ''.join(words)
    if joined in STOP_WORDS or words[0] in STOP_WORDS:
        return 'stop'
    if joined in START_WORDS or words[0] in START_WORDS:
        return 'start'
    return None


async def _reply(conn: asyncpg.Connection, contact: asyncpg.Record, notice: str) -> bool:
    language = contact['language']
    if (notice, 'sms', language) not in REGISTRY:
        logger.warning('no %s text template: add it to templates/notify_templates.json to confirm STOP/START', notice)
        return False
    message = notice_message(notice, channel='sms', language=language)
    await queue_message(conn, message, contact_point_id=contact['id'], channel='sms', purpose=outbox_purpose(notice))
    return True


async def stop(conn: asyncpg.Connection, contact: asyncpg.Record) -> str:
    if not await contacts.suppress_contact_point(conn, contact['id'], 'stop-reply'):
        return f'stop: already suppressed ({contact["suppressed_reason"]}), nothing sent'
    ended = await conn.fetch(END_TEXT_ONLY, contact['resident_id'], contact['id'])
    await conn.fetch(DROP_TEXTS, contact['resident_id'], contact['id'])
    replied = await _reply(conn, contact, STOPPED)
    logger.info('STOP received: texts suppressed, %d subscriptions ended', len(ended))
    return f'stop: suppressed, {len(ended)} ended' + ('; confirmed' if replied else '')


async def start(conn: asyncpg.Connection, contact: asyncpg.Record) -> str:
    if contact['suppressed_reason'] != 'stop-reply':
        return 'start: nothing to resume'
    await conn.execute(UNSUPPRESS, contact['id'])
    restored = await conn.fetchval(RESTORE, contact['id'])
    replied = await _reply(conn, contact, STARTED)
    logger.info('START received: texts resumed, %d subscriptions restored', restored)
    return f'start: resumed, {restored} restored' + ('; confirmed' if replied else '')


async def _stranger(conn: asyncpg.Connection, mobile: str, language: str) -> asyncpg.Record | None:
    """A resident of its own for a number we hold nothing for (see the module's docstring), as FIND_MOBILE reads it;
    None for a number that is not a UK mobile (sign-up would refuse it too)."""
    try:
        if normalise_phone_number(mobile) != mobile:
            return None
    except InvalidRecipient:
        return None
    async with conn.transaction():  # a savepoint: no empty resident is left if the same number's other text won
        resident = await conn.fetchval(NEW_RESIDENT, language)
        if await conn.fetchval(ADD_NUMBER, resident, mobile) is None:
            await conn.execute('delete from residents where id = $1', resident)
    return await conn.fetchrow(FIND_MOBILE, mobile)


async def apply(
    conn: asyncpg.Connection, callback_id: int, payload: dict[str, Any], mobile: str, settings: Settings,
    now: datetime,
) -> str:  # fmt: skip
    """Act on one received text (in the caller's transaction); the outcome stored with the callback. `now` is when
    the resident sent it."""
    message = str(payload.get('message', ''))
    wanted = intent(message)
    contact = await conn.fetchrow(FIND_MOBILE, mobile)
    if wanted is not None:
        if contact is None:
            return f'{wanted} from an unknown number'
        return await (stop if wanted == 'stop' else start)(conn, contact)
    if not message.strip():
        return 'empty: nothing to answer or keep'
    command = text_commands.parse(message)
    written_in = text_commands.language_of(message)
    answering = settings.text_replies_per_day > 0  # 0: answers are off, so no number is kept to send one to
    if contact is None and answering and command.kind not in (text_commands.THANKS, text_commands.EMPTY):
        contact = await _stranger(conn, mobile, written_in)
    if contact is None:  # thanks or symbols, a number we could not text, or answers off: for staff, nothing made
        await conn.execute(FOR_STAFF, callback_id)
        return 'stored'
    language = 'cy' if written_in == 'cy' else contact['language']  # Welsh correspondence gets a Welsh reply
    outcome, for_staff = await text_answers.answer_text(conn, callback_id, contact, command, language, settings, now)
    if for_staff:
        await conn.execute(FOR_STAFF, callback_id)
    return outcome
