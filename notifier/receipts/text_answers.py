"""Answering a resident's text by text: their next bin collections, where their case is, what they can ask, or a
line saying staff will reply (the commands: text_commands.py).

Only what the number itself follows is ever answered: the bins of the addresses its resident follows, a case its
resident follows, and only from a number they proved was theirs (a verified contact point). A reference the number
does not follow, whether it exists or not, gets the same "not signed up for that" answer as a number following
nothing, so a text can never find out whether someone else's case exists. A number we held nothing for reaches here
on a resident made for it (text_replies.py), unverified: it hears HELP, "not signed up for that", or the
acknowledgement, and nothing else.

Each answer is one ordinary outbox row, purpose 'reply' (so it reaches a number that texted STOP and is now asking),
in the language the text was written in when it is clearly Welsh (text_commands.language_of: Welsh correspondence
gets a Welsh reply), else in the resident's, and is recorded in `text_answers` (migration 0029) with the moment the
text was received, before it is queued: a text already recorded is never answered twice. At most
TELLME_TEXT_REPLIES_PER_DAY answers go to one number in any 24 hours: past that, its texts are kept for staff
unanswered, so two auto-responders texting each other cost at most that many texts a day. The number is locked while
one of its texts is answered, so texts that arrive together are counted one after the other. A text that is not a
command waits for staff and is acknowledged once per number per London day. The text itself and the number are never
logged, and no answer repeats the resident's words.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from notifier.outbox import links
from notifier.outbox.rows import queue_message
from notifier.receipts import text_commands as commands
from notifier.settings import Settings
from templates.personalisation import truncate
from templates.registry import notice_message, outbox_purpose

logger = logging.getLogger('notifier.receipts.text_answers')

LONDON = ZoneInfo('Europe/London')
MAX_PLACES = 3
# what is recorded in text_answers.answer, and the wording each is sent with
WORDING = {
    'bins': 'text-bins',
    'bins-unknown': 'text-bins-unknown',
    'case': 'text-case',
    'help': 'text-help',
    'not-followed': 'text-not-followed',
    'acknowledged': 'text-received',
}
# answers that spare the resident a call: they asked, and were told what they would have phoned for
AVOIDED_CONTACT = ('bins', 'case')

# one text from a number at a time, until its transaction ends: two texts posted at once (two web processes, or the
# web and the sweeper) would otherwise both count the same answers of the day and both be answered. NO KEY UPDATE, so
# the outbox can still queue messages to the number meanwhile (its foreign key takes KEY SHARE).
LOCK_NUMBER = 'select 1 from contact_points where id = $1 for no key update'
ANSWERS_TODAY = """
select count(*) filter (where notification_id is not null) as sent,
       count(*) filter (where answer = 'acknowledged' and notification_id is not null
                          and answered_at >= $3::timestamptz) as acks
from text_answers
where contact_point_id = $1 and answered_at > $2::timestamptz - interval '1 day'
"""
# recorded before the answer is queued: a text already answered (processed again) records nothing and is not answered
RECORD = """
insert into text_answers (callback_id, contact_point_id, answer, answered_at)
values ($1, $2, $3, $4)
on conflict (callback_id) do nothing
returning id
"""
SENT = 'update text_answers set notification_id = $2 where id = $1'
PLACES = """
select distinct on (s.uprn) s.uprn, a.address, e.title, e.attributes -> 'collection_dates' as dates,
       e.attributes -> 'moved' as moved
from subscriptions s
left join addresses a on a.uprn = s.uprn
left join lateral (
    select title, attributes from events
    where events.topic = 'bins'
      and (events.uprn = s.uprn or (events.attributes -> 'uprns') ? s.uprn)  -- events_bins_uprn, events_bins_uprns
      and jsonb_typeof(events.attributes -> 'collection_dates') = 'object'
    order by events.id desc
    limit 1
) e on true
where s.resident_id = $1 and s.status = 'active' and s.kind = 'address'
order by s.uprn, s.id
limit $2
"""
FOLLOWED_CASE = """
select e.case_reference, e.attributes ->> 'stage' as stage, e.attributes ->> 'status' as status,
       e.occurred_at as updated_at
from subscriptions s
join lateral (
    select case_reference, attributes, occurred_at from events
    where events.source = s.case_source and events.case_reference = s.case_reference
    order by events.id desc
    limit 1
) e on true
where s.resident_id = $1 and s.status = 'active' and s.kind = 'case'
  and upper(s.case_reference) = upper($2)
order by e.occurred_at desc
limit 1
"""


def _today(now: datetime) -> date:
    return now.astimezone(LONDON).date()


def _london_midnight(now: datetime) -> datetime:
    return datetime.combine(_today(now), datetime.min.time(), tzinfo=LONDON)


async def _bins_values(
    conn: asyncpg.Connection, contact: asyncpg.Record, language: str, now: datetime
) -> tuple[str, dict[str, str]]:
    places = await conn.fetch(PLACES, contact['resident_id'], MAX_PLACES)
    if not places:
        return 'not-followed', {}
    known = [place for place in places if place['dates'] is not None]
    if not known:
        return 'bins-unknown', {}
    today = _today(now)
    shown = [
        (commands.place_label(place['address'] or str(place['title'] or '').removeprefix('Bin collections at ')),
         commands.next_collections(place['dates'], place['moved'], today, language))
        for place in known
    ]  # fmt: skip
    if not any(collections for _, collections in shown):
        return 'bins-unknown', {}
    return 'bins', {'collections': commands.collections_text(shown, language)}


async def _case_values(
    conn: asyncpg.Connection, contact: asyncpg.Record, language: str, reference: str
) -> tuple[str, dict[str, str]]:
    case = await conn.fetchrow(FOLLOWED_CASE, contact['resident_id'], reference)
    if case is None:
        return 'not-followed', {}
    return 'case', {
        'case_reference': truncate(case['case_reference'], commands.MAX_REFERENCE),
        'stage': commands.stage_text(case['stage'], case['status'], language),
        'updated': commands.short_date(case['updated_at'].astimezone(LONDON).date(), language),
    }


def _signup_url(settings: Settings, command: commands.Command, language: str) -> str:
    path = {commands.BINS: '/bins', commands.CASE: '/case'}.get(command.kind, '')
    return links.in_language(settings.public_url + (path or '/'), language) or settings.public_url


async def _answer(
    conn: asyncpg.Connection, contact: asyncpg.Record, command: commands.Command, language: str, settings: Settings,
    now: datetime,
) -> tuple[str, dict[str, str]]:  # fmt: skip
    """Which answer, and its values."""
    if command.kind == commands.HELP:
        return 'help', {}
    if command.kind in (commands.OTHER, commands.EMPTY, commands.THANKS):
        return 'acknowledged', {'reply_within': commands.working_days(settings.text_staff_reply_days, language)}
    answer, values = ('not-followed', {})
    if contact['verified_at'] is not None:  # a number typed at sign-up but never proved: maybe not theirs
        if command.kind == commands.BINS:
            answer, values = await _bins_values(conn, contact, language, now)
        elif command.kind == commands.CASE and command.reference:
            answer, values = await _case_values(conn, contact, language, command.reference)
    if answer == 'not-followed':
        values = {'signup_url': _signup_url(settings, command, language)}
    return answer, values


async def answer_text(
    conn: asyncpg.Connection, callback_id: int, contact: asyncpg.Record, command: commands.Command, language: str,
    settings: Settings, now: datetime,
) -> tuple[str, bool]:  # fmt: skip
    """Answer one text from a known number in `language` (in the caller's transaction): (what was done, for the
    callback's outcome; whether staff should see the text)."""
    for_staff = command.kind in (commands.OTHER, commands.EMPTY, commands.THANKS)
    await conn.execute(LOCK_NUMBER, contact['id'])
    answer, values = await _answer(conn, contact, command, language, settings, now)
    counts = await conn.fetchrow(ANSWERS_TODAY, contact['id'], now, _london_midnight(now))
    if answer == 'acknowledged' and (command.kind != commands.OTHER or counts['acks']):
        return 'stored', for_staff  # thanks and symbols need no answer; one acknowledgement a day is enough
    recorded = await conn.fetchval(RECORD, callback_id, contact['id'], answer, now)
    if recorded is None:
        return f'{answer}: answered already', for_staff
    if counts['sent'] >= settings.text_replies_per_day:
        logger.info('text answer not sent: this number had %d answers in the last day', counts['sent'])
        return f'{answer}: not sent, daily limit reached', True
    wording = WORDING[answer]
    message = notice_message(wording, channel='sms', language=language, **values)
    notification_id: UUID = await queue_message(
        conn, message, contact_point_id=contact['id'], channel='sms', purpose=outbox_purpose(wording)
    )
    await conn.execute(SENT, recorded, notification_id)
    logger.info('text answered: %s', answer, extra={'notification_id': str(notification_id)})
    return ('stored; acknowledged' if answer == 'acknowledged' else f'answered: {answer}'), for_staff


def received_at(payload: dict[str, Any], fallback: datetime) -> datetime:
    """When the resident sent the text: Notify's `date_received` (UTC), else when we stored it. Answers are as of
    this moment (the next collection from that day on), and the daily limits count by it (Notify's clock; only Notify
    holds the callback token)."""
    text = str(payload.get('date_received') or '')
    try:
        moment = datetime.fromisoformat(text.replace('Z', '+00:00'))
    except ValueError:
        return fallback
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
