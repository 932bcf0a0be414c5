"""Bin reminders: the evening before or the morning of a collection, at the time the resident chose."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from pydantic import ValidationError

from notifier.outbox.tokens import read_token
from notifier.sending.delivery import Sender
from notifier.settings import Settings
from sources.feeds.adapters.ukbcd import schedule_event
from subscriptions.matching.reminders import Queued, queue_reminders
from subscriptions.residents import queries
from subscriptions.residents.models import NewSubscription
from templates.registry import render, template
from tests.support.factories import make_resident, make_subscription, record
from tests.support.notify import RunningSim
from workers.digests import queue_bin_reminders

SECRET = b'reminder-test-secret'
PUBLIC = 'https://tellme.example.gov.uk'
UPRN = '100012345678'
LONDON = ZoneInfo('Europe/London')
# Tuesday collections in November (GMT)
MONDAY_MORNING = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TUESDAY = date(2026, 11, 24)


async def _schedule(pg: asyncpg.Pool, dates: dict[str, list[date]], now: datetime = MONDAY_MORNING) -> int:
    """Record the property's bin schedule as the ukbcd adapter emits it; returns the event id."""
    event = schedule_event(
        'test-bins',
        UPRN,
        {name: set(days) for name, days in dates.items()},
        {'address': '1 High Street'},
        now,
        url=None,
    )
    done = await record(pg, event, now=now)
    assert done.event_id is not None
    return done.event_id


def _weekly(first: date, weeks: int = 3) -> list[date]:
    return [first + timedelta(weeks=n) for n in range(weeks)]


async def _run(pg: asyncpg.Pool, now: datetime) -> Queued:
    async with pg.acquire() as conn, conn.transaction():
        return await queue_reminders(conn, now=now, public_url=PUBLIC, secret=SECRET)


async def _reminders(pg: asyncpg.Pool) -> list[asyncpg.Record]:
    return await pg.fetch("select * from notifications where purpose = 'reminder' order by not_before, channel")


def _body(row: asyncpg.Record) -> str:
    entry = template(str(row['template_id']))
    return render(entry['body'], row['personalisation'])


async def _subscriber(pg: asyncpg.Pool, *, sms: bool = False, language: str = 'en', **fields: Any) -> int:
    resident = await make_resident(pg, email=not sms, sms=sms, language=language)
    return await make_subscription(pg, resident, kind='address', uprn=UPRN, topics=['bins'], **fields)


@pytest.mark.parametrize(
    ('collection', 'now', 'remind_at', 'remind_time', 'expected'),
    [
        # GMT: 18:00 London the evening before is 18:00 UTC
        (TUESDAY, MONDAY_MORNING, 'evening-before', None, datetime(2026, 11, 23, 18, 0, tzinfo=UTC)),
        # BST: 18:00 London is 17:00 UTC; 07:00 on the morning is 06:00 UTC
        (date(2026, 7, 7), datetime(2026, 7, 6, 8, 0, tzinfo=UTC), 'evening-before', None,
         datetime(2026, 7, 6, 17, 0, tzinfo=UTC)),
        (date(2026, 7, 7), datetime(2026, 7, 6, 8, 0, tzinfo=UTC), 'morning-of', None,
         datetime(2026, 7, 7, 6, 0, tzinfo=UTC)),
        # queued on Saturday in BST for Sunday evening, after the clocks went back: still 18:00 on the wall
        (date(2026, 10, 26), datetime(2026, 10, 24, 20, 0, tzinfo=UTC), 'evening-before', None,
         datetime(2026, 10, 25, 18, 0, tzinfo=UTC)),
        # queued in GMT for the Sunday the clocks go forward, at the resident's own 19:30
        (date(2026, 3, 30), datetime(2026, 3, 28, 12, 0, tzinfo=UTC), 'evening-before', time(19, 30),
         datetime(2026, 3, 29, 18, 30, tzinfo=UTC)),
    ],
)  # fmt: skip
async def test_the_reminder_is_due_at_the_london_wall_clock_time(
    pg: asyncpg.Pool, collection: date, now: datetime, remind_at: str, remind_time: time | None, expected: datetime
) -> None:
    sub = await _subscriber(pg, remind_at=remind_at, remind_time=remind_time)
    event_id = await _schedule(pg, {'Grey bin': _weekly(collection)}, now=now)

    done = await _run(pg, now)

    [row] = await _reminders(pg)
    assert done.queued == [row['id']] and not done.due_now
    assert row['not_before'] == expected
    assert row['not_before'].astimezone(LONDON).time() == (remind_time or time(18 if 'evening' in remind_at else 7))
    assert row['purpose'] == 'reminder' and row['status'] == 'pending' and row['event_id'] is None
    assert row['subscription_id'] == sub
    body = _body(row)
    assert 'Grey bin' in body and ('tomorrow' if remind_at == 'evening-before' else 'today') in body
    assert f'{PUBLIC}/e/{event_id}' in body  # the schedule's own page
    token = row['personalisation']['unsubscribe_url'].rsplit('/', 1)[1]
    assert read_token([SECRET], 'unsubscribe', token) == sub
    assert '((' not in body


async def test_two_bins_on_the_same_day_make_one_message_naming_both(pg: asyncpg.Pool) -> None:
    await _subscriber(pg, remind_at='evening-before')
    await _schedule(pg, {'Grey bin': _weekly(TUESDAY), 'Green bin': _weekly(TUESDAY)})

    await _run(pg, MONDAY_MORNING)

    [row] = await _reminders(pg)
    assert row['personalisation']['bin'] == 'Green bin and Grey bin'
    assert row['personalisation']['title'] == 'Green bin and Grey bin tomorrow'
    assert '24 November 2026' in _body(row)


async def test_a_welsh_resident_is_reminded_in_welsh(pg: asyncpg.Pool) -> None:
    await _subscriber(pg, language='cy', remind_at='morning-of')
    await _schedule(pg, {'Grey bin': _weekly(TUESDAY), 'Green bin': _weekly(TUESDAY)})

    await _run(pg, MONDAY_MORNING)

    [row] = await _reminders(pg)
    assert row['personalisation']['title'] == 'Green bin a Grey bin heddiw'
    assert '24 Tachwedd 2026' in _body(row)


async def test_running_the_cron_again_queues_nothing_more(pg: asyncpg.Pool) -> None:
    await _subscriber(pg, remind_at='evening-before')
    await _schedule(pg, {'Grey bin': _weekly(TUESDAY)})

    first = await _run(pg, MONDAY_MORNING)
    again = await _run(pg, MONDAY_MORNING + timedelta(minutes=5))
    later = await _run(pg, MONDAY_MORNING + timedelta(hours=9))  # after it is due, not yet sent

    assert len(first.queued) == 1 and again.queued == [] and later.queued == []
    assert again.cancelled == later.cancelled == 0
    assert len(await _reminders(pg)) == 1


async def test_only_a_day_and_a_half_ahead_and_never_for_a_collection_gone_by(pg: asyncpg.Pool) -> None:
    await _subscriber(pg, remind_at='evening-before')
    await _schedule(pg, {'Grey bin': _weekly(TUESDAY)})

    # Saturday: Tuesday's reminder (Monday 18:00) is more than 36 hours away
    assert (await _run(pg, MONDAY_MORNING - timedelta(days=2))).queued == []
    # Tuesday noon: Monday's 18:00 has long gone; next week's is a week away
    assert (await _run(pg, datetime(2026, 11, 24, 12, 0, tzinfo=UTC))).queued == []
    assert await _reminders(pg) == []


async def test_a_reminder_a_little_late_is_still_sent_at_once(pg: asyncpg.Pool) -> None:
    await _subscriber(pg, remind_at='evening-before')  # e.g. signed up at 18:30 for tomorrow's collection
    await _schedule(pg, {'Grey bin': _weekly(TUESDAY)})

    done = await _run(pg, datetime(2026, 11, 23, 18, 30, tzinfo=UTC))

    assert len(done.queued) == 1 and done.due_now


async def test_a_moved_collection_cancels_the_old_reminder_and_queues_the_new_one(pg: asyncpg.Pool) -> None:
    await _subscriber(pg, remind_at='evening-before')
    await _schedule(pg, {'Grey bin': _weekly(TUESDAY)})
    await _run(pg, MONDAY_MORNING)
    [old] = await _reminders(pg)

    # the council moves Tuesday's collection to Wednesday
    moved = [TUESDAY + timedelta(days=1), *_weekly(TUESDAY)[1:]]
    later = MONDAY_MORNING + timedelta(hours=1)
    await _schedule(pg, {'Grey bin': moved}, now=later)
    done = await _run(pg, later)

    assert done.cancelled == 1 and len(done.queued) == 1
    old = await pg.fetchrow('select * from notifications where id = $1', old['id'])
    assert old['status'] == 'cancelled' and old['last_error'] == 'bin collection moved'
    new = await pg.fetchrow('select * from notifications where id = $1', done.queued[0])
    assert new['not_before'] == datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
    assert '25 November 2026' in _body(new)
    dates = await pg.fetch('select collection_date from bin_reminders')
    assert [row['collection_date'] for row in dates] == [date(2026, 11, 25)]


async def test_a_reminder_already_sent_is_not_cancelled_or_repeated(pg: asyncpg.Pool) -> None:
    await _subscriber(pg, remind_at='morning-of', remind_time=time(6, 30))
    await _schedule(pg, {'Grey bin': _weekly(TUESDAY)})
    [queued] = (await _run(pg, MONDAY_MORNING)).queued
    await pg.execute("update notifications set status = 'sent' where id = $1", queued)

    again = await _run(pg, datetime(2026, 11, 24, 7, 0, tzinfo=UTC))
    assert again.queued == [] and again.cancelled == 0


@pytest.mark.parametrize('status', ['paused', 'ended', 'pending'])
async def test_a_subscription_not_active_gets_no_reminder(pg: asyncpg.Pool, status: str) -> None:
    await _subscriber(pg, remind_at='evening-before', status=status)
    await _schedule(pg, {'Grey bin': _weekly(TUESDAY)})

    assert (await _run(pg, MONDAY_MORNING)).queued == []


async def test_pausing_after_the_reminder_was_queued_cancels_it(pg: asyncpg.Pool) -> None:
    sub = await _subscriber(pg, remind_at='evening-before')
    await _schedule(pg, {'Grey bin': _weekly(TUESDAY)})
    [queued] = (await _run(pg, MONDAY_MORNING)).queued
    async with pg.acquire() as conn:
        assert await queries.pause_subscription(conn, sub)

    assert (await _run(pg, MONDAY_MORNING + timedelta(minutes=5))).cancelled == 1
    assert await pg.fetchval('select status from notifications where id = $1', queued) == 'cancelled'


async def test_subscriptions_without_reminders_and_other_addresses_get_none(pg: asyncpg.Pool) -> None:
    await _subscriber(pg)  # bin news only, no reminder
    resident = await make_resident(pg)
    await make_subscription(pg, resident, kind='address', uprn='200000000001', remind_at='evening-before')
    await _schedule(pg, {'Grey bin': _weekly(TUESDAY)})

    assert (await _run(pg, MONDAY_MORNING)).queued == []


async def test_quiet_hours_do_not_move_a_reminder_at_the_time_the_resident_chose(pg: asyncpg.Pool) -> None:
    # texts are quiet from 21:00 to 08:00, but the resident asked for 07:00 on the morning
    await _subscriber(pg, sms=True, remind_at='morning-of', quiet_hours=(time(21, 0), time(8, 0)))
    await _schedule(pg, {'Grey bin': _weekly(TUESDAY)})

    await _run(pg, MONDAY_MORNING)

    [row] = await _reminders(pg)
    assert row['channel'] == 'sms'
    assert row['not_before'] == datetime(2026, 11, 24, 7, 0, tzinfo=UTC)


async def test_the_cron_queues_a_due_reminder_once_and_notify_delivers_it(
    pg: asyncpg.Pool, redis: Any, sender: Sender, sim: RunningSim, delivery_settings: Settings
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    moment = (now - timedelta(minutes=1)).astimezone(LONDON)
    await _subscriber(pg, remind_at='evening-before', remind_time=moment.time().replace(second=0))
    await _schedule(pg, {'Grey bin': _weekly(moment.date() + timedelta(days=1))}, now=now)
    ctx = {'settings': delivery_settings, 'pg': pg, 'redis': redis}

    assert await queue_bin_reminders(ctx) == 1
    assert await queue_bin_reminders(ctx) == 0

    [queued] = await _reminders(pg)
    assert await sender.deliver(queued['id']) == 'sent'
    [message] = sim.sent(queued['id'])
    assert 'Reminder: Grey bin collection on' in (message.subject or '')
    assert 'Grey bin tomorrow' in message.body
    assert message.one_click_unsubscribe_url == queued['personalisation']['unsubscribe_url']


def test_reminders_are_asked_for_on_address_subscriptions_only() -> None:
    with pytest.raises(ValidationError, match='bin reminders are for address subscriptions'):
        NewSubscription(kind='topic', topics=['bins'], channels=['email'], remind_at='evening-before')
    with pytest.raises(ValidationError, match='give remind_at'):
        NewSubscription(kind='address', uprn=UPRN, channels=['email'], remind_time=time(19, 0))
    with pytest.raises(ValidationError):
        NewSubscription(kind='address', uprn=UPRN, channels=['email'], remind_at='at-dawn')
    spec = NewSubscription(kind='address', uprn=UPRN, channels=['email'], remind_at='morning-of', remind_time='06:45')
    assert spec.remind_time == time(6, 45)


async def test_a_bin_added_to_the_day_replaces_the_queued_reminder(pg: asyncpg.Pool) -> None:
    await _subscriber(pg, remind_at='evening-before')
    await _schedule(pg, {'Grey bin': _weekly(TUESDAY)})
    [first] = (await _run(pg, MONDAY_MORNING)).queued

    later = MONDAY_MORNING + timedelta(hours=2)
    await _schedule(pg, {'Grey bin': _weekly(TUESDAY), 'Food caddy': [TUESDAY]}, now=later)
    done = await _run(pg, later)

    assert done.cancelled == 1
    old = await pg.fetchrow('select status, last_error from notifications where id = $1', first)
    assert (old['status'], old['last_error']) == ('cancelled', 'bins collected that day changed')
    [row] = await pg.fetch("select * from notifications where purpose = 'reminder' and status = 'pending'")
    assert row['personalisation']['bin'] == 'Food caddy and Grey bin'
