"""Bin day reminders in Chromium: pick your address at a postcode, choose the evening before (a morning time for
an evening reminder is explained, not lost), confirm from the email, get the reminder when the evening comes,
manage it from the link in the reminder, unsubscribe in one click and get no more reminders.

The reminder cron runs at chosen instants (the evenings before a fixed week's collections), never at the time the
test happens to run: a reminder is only queued up to two hours after its moment, so "the evening before tomorrow's
collection" read from the wall clock has already gone late at night."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sources.feeds.adapters.ukbcd import schedule_event
from subscriptions.matching.reminders import Queued, queue_reminders
from tests.browser.support.browse import Browse
from tests.browser.support.journeys import (
    STRETFORD,
    T,
    confirm_from_email,
    manage_from_message,
    one_click_unsubscribe,
    pick,
    sign_up_by_email,
)
from tests.browser.support.live import LiveServer
from tests.support.factories import make_resident, make_subscription, record

UPRN = '100012345678'
ADDRESS = f'12 King Street, Stretford, {STRETFORD}'
EMAIL = 'bins.resident@example.com'
LONDON = ZoneInfo('Europe/London')
# The council publishes the property's schedule on a Monday morning: refuse goes on Tuesdays. A resident who leaves
# the time blank is reminded at 18:00 the evening before.
PUBLISHED = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TUESDAYS = [date(2026, 11, 24) + timedelta(weeks=n) for n in range(3)]
EVENINGS = [datetime(2026, 11, 23, 18, 0, tzinfo=LONDON) + timedelta(weeks=n) for n in range(3)]
pytestmark = pytest.mark.timeout(120)


def publish_schedule(live: LiveServer) -> None:
    """The council's bin schedule for the property: three weekly collections."""
    event = schedule_event('testshire-bins', UPRN, {'Refuse': set(TUESDAYS)}, {'address': ADDRESS}, PUBLISHED, url=None)
    live.run(record(live.pg, event, now=PUBLISHED))


def evening_comes(live: LiveServer, week: int = 0) -> Queued:
    """The reminder cron runs on the evening before week `week`'s collection, at the time the reminder is for, and
    that time comes round: the reminder goes now."""
    evening = EVENINGS[week]

    async def run() -> Queued:
        async with live.pg.acquire() as conn, conn.transaction():
            queued = await queue_reminders(
                conn, now=evening, public_url=live.base_url, secret=live.settings.link_secrets[0]
            )
            due = await conn.fetch('select not_before from notifications where id = any($1::uuid[])', queued.queued)
            assert [row['not_before'] for row in due] == [evening] * len(due), 'at 18:00 the evening before'
            await conn.execute("update notifications set not_before = now() where purpose = 'reminder'")
        return queued

    queued = live.run(run())
    live.wake_senders()
    return queued


def test_a_resident_gets_bin_reminders_for_their_address_and_stops_them(resident: Browse, live: LiveServer) -> None:
    publish_schedule(live)
    resident.open('/')
    resident.click_link(T('start.bins_link'))
    assert resident.heading() == T('bins.postcode.title')
    resident.accessible('bins postcode')
    resident.fill(T('bins.postcode.title'), 'M32')
    resident.press(T('common.continue'))
    assert resident.error_summary() == [T('near.error.postcode_format')]
    resident.accessible('a part postcode')
    resident.fill(T('bins.postcode.title'), STRETFORD)
    resident.press(T('common.continue'))
    assert resident.heading() == T('bins.address.title')
    resident.accessible('pick an address')
    resident.choose(ADDRESS)
    resident.press(T('common.continue'))
    assert resident.heading() == T('bins.when.title')
    pick(resident, 'remind_at', 'evening-before')
    resident.fill(T('bins.when.time'), '07:00')
    resident.press(T('common.continue'))
    assert resident.error_messages() == [T('bins.error.time_evening')]
    assert resident.page.locator('input[name="remind_at"][value="evening-before"]').is_checked(), 'choice kept'
    resident.accessible('a morning time for an evening reminder')
    resident.fill(T('bins.when.time'), '')
    resident.press(T('common.continue'))
    sign_up_by_email(resident, EMAIL)
    confirm_from_email(resident, live, EMAIL)

    assert len(evening_comes(live).queued) == 1
    reminder = live.wait_for_messages(2, where=lambda m: m.recipient == EMAIL)[-1]
    assert 'Refuse' in reminder.body or 'refuse' in reminder.body
    subscription = live.fetchval("select id from subscriptions where kind = 'address'")
    manage_from_message(resident, reminder, subscription)
    resident.accessible('the bin reminder subscription')

    assert one_click_unsubscribe(live, reminder) in (200, 202, 204)
    resident.page.reload()
    resident.snap('after-one-click')
    assert resident.page.locator('#value-status').inner_text() == T('manage.status.ended')

    # Next week the neighbour who shares the collection is reminded; our resident is not.
    neighbour = live.run(make_resident(live.pg, email='next.door@example.com'))
    live.run(
        make_subscription(live.pg, neighbour, kind='address', uprn=UPRN, topics=['bins'], remind_at='evening-before')
    )
    assert len(evening_comes(live, week=1).queued) == 1
    live.wait_for_messages(1, where=lambda m: m.recipient == 'next.door@example.com')
    live.wait_until_idle()
    assert len(live.messages(to=EMAIL)) == 2  # the confirmation and the reminder: nothing since
