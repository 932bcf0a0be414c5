"""The demo `tellme dev` puts in place, against the test database at a chosen instant: the README's journeys all
have something to show — demo addresses at M32 0AH with a polled bin calendar and a reminder that reaches the
simulator, a registered case source whose DEMO-1001 updates reach its reporter, the demo sources on the overview —
and a second start adds nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from notifier.overview import figures
from notifier.sending.delivery import Sender
from notifier.settings import Settings
from notifier.shell import demo
from notifier.shell.app import create_app
from notifier.shell.demo import bins, cases, residents
from sources.cases import queries as case_queries
from sources.feeds.polling import poll_source
from subscriptions.places import addresses
from subscriptions.residents import queries
from subscriptions.residents.models import NewSubscription
from tests.support.factories import load_sample_postcodes
from tests.support.notify import RunningSim

LONDON = ZoneInfo('Europe/London')
# a Tuesday morning in winter and a Tuesday evening in summer (London): a reminder either way
MORNING = datetime(2026, 11, 24, 9, 30, 20, tzinfo=UTC)
EVENING = datetime(2026, 7, 7, 16, 45, 50, tzinfo=UTC)
TABLES = ('residents', 'contact_points', 'subscriptions', 'addresses', 'sources', 'source_polls', 'audit_log',
          'events', 'notifications', 'bin_reminders')  # fmt: skip
DEMO_SOURCES = {'demo-bins', 'demo-cases'}


@pytest.fixture
async def settings_here(delivery_settings: Settings, pg: asyncpg.Pool, tmp_path: Path) -> Settings:
    """The delivery settings, with the demo's data directory in tmp_path and the sample postcodes loaded."""
    await load_sample_postcodes(pg)
    return delivery_settings.model_copy(update={'data_dir': tmp_path})


async def _start(pg: asyncpg.Pool, settings: Settings, now: datetime) -> demo.Seeded:
    """What `tellme dev` does at start: put the demo in place, then the first polls."""
    seeded = await demo.seed(pg, settings, now=now)
    await demo.first_polls(pg, settings, now=now)
    return seeded


async def _deliver_to(pg: asyncpg.Pool, sender: Sender, sim: RunningSim, email: str, now: datetime) -> list[str]:
    """Send the messages for this address that are due by `now` (a feed's at the database's clock, whatever that is;
    a reminder at its moment) through the simulator; what each said (subject and body)."""
    ids = await pg.fetch(
        'select n.id, n.not_before from notifications n join contact_points c on c.id = n.contact_point_id '
        "where c.address = $1 and n.status = 'pending' and (n.purpose <> 'reminder' or n.not_before <= $2) "
        'order by n.created_at',
        email,
        now,
    )
    said = []
    for row in ids:
        assert await sender.deliver(row['id'], now=max(now, row['not_before'])) == 'sent'
        [message] = sim.sent(row['id'])
        said.append(f'{message.subject or ""}\n{message.body}')
    return said


async def _counts(pg: asyncpg.Pool) -> dict[str, int]:
    return {table: await pg.fetchval(f'select count(*) from {table}') for table in TABLES}


@pytest.mark.parametrize(('now', 'reminded'), [(MORNING, 'Refuse bin today'), (EVENING, 'Recycling bin tomorrow')])
async def test_the_demo_addresses_have_a_polled_bin_calendar_and_a_reminder_reaches_the_simulator(
    pg: asyncpg.Pool, settings_here: Settings, sender: Sender, sim: RunningSim, now: datetime, reminded: str
) -> None:
    seeded = await _start(pg, settings_here, now)
    assert seeded.demo and set(seeded.sources) == DEMO_SOURCES

    # /bins at M32 0AH offers the three demo addresses
    found = await addresses.for_postcode(pg, 'M32 0AH')
    assert [address.text for address in found] == [f'{n} Demo Street, Stretford, Manchester' for n in (1, 2, 3)]
    # the round is a registered ical source reading the demo's file, its file permission in the audit log as the demo's
    audited = await pg.fetch("select actor_name, target_id, details from audit_log where action = 'source.add'")
    assert {row['target_id'] for row in audited} == DEMO_SOURCES
    assert all(row['actor_name'] == 'tellme dev (demo)' and row['details']['allow_file'] for row in audited)
    # and its first poll stored the collections: weekly refuse from today, fortnightly recycling, one moved
    today = now.astimezone(LONDON).date()
    schedule = await pg.fetchrow(
        "select title, attributes from events where source = 'demo-bins' order by id desc limit 1"
    )
    assert schedule['title'] == 'Bin collections at Demo Street, Stretford, M32 0AH'
    assert schedule['attributes']['uprns'] == ['999000000001', '999000000002', '999000000003']
    dates = schedule['attributes']['collection_dates']
    assert dates['Refuse bin'][:3] == [str(today), str(today + timedelta(days=7)), str(today + timedelta(days=15))]
    assert dates['Recycling bin'][:2] == [str(today + timedelta(days=1)), str(today + timedelta(days=15))]
    assert schedule['attributes']['moved'][0]['from_date'] == str(today + timedelta(days=14))

    # the demo resident there hears of the schedule (its next collections) and gets the reminder due this minute
    said = await _deliver_to(pg, sender, sim, residents.BINS_RESIDENT, now)
    assert len(said) == 2, said
    assert 'Bin collections at Demo Street' in said[0] and 'Refuse bin moved to' in said[0]
    assert 'Reminder:' in said[1] and reminded in said[1]


async def test_the_demo_resident_texts_bins_and_gets_the_next_collections_back(
    pg: asyncpg.Pool, settings_here: Settings, sender: Sender, sim: RunningSim, aiohttp_client: Any
) -> None:
    """What the README's "Ask by text" shows: the demo resident's number texts BINS to the simulator, which posts it
    to Tell Me as Notify would (here, straight to the callback); the answer goes back through the simulator."""
    await _start(pg, settings_here, MORNING)
    client = await aiohttp_client(create_app(settings_here))
    body = {'id': str(uuid.uuid4()), 'source_number': residents.BINS_MOBILE, 'message': 'BINS',
            'date_received': MORNING.isoformat()}  # fmt: skip
    auth = {'Authorization': f'Bearer {settings_here.notify_callback_token.get_secret_value()}'}
    assert (await client.post('/notify/callbacks/inbound-sms', json=body, headers=auth)).status == 200
    reply = await pg.fetchval("select id from notifications where purpose = 'reply'")
    assert await sender.deliver(reply) == 'sent'
    [text] = sim.sent(reply)
    assert text.body == 'Tell Me, your next bin collections: Refuse bin: Tue 24 Nov. Recycling bin: Wed 25 Nov.'


async def test_a_newcomer_at_another_demo_address_is_reminded_from_the_same_round(
    pg: asyncpg.Pool, settings_here: Settings, sender: Sender, sim: RunningSim
) -> None:
    await _start(pg, settings_here, MORNING)
    async with pg.acquire() as conn:
        newcomer = await queries.create_resident(conn)
        await queries.add_contact_point(conn, newcomer, 'email', 'newcomer@example.org', verified=True)
        await queries.create_subscription(
            conn, newcomer, residents.bins_subscription('999000000003', MORNING), active=True
        )

    later = MORNING + timedelta(minutes=5)  # the worker's next reminder run
    await demo.first_polls(pg, settings_here, now=later)
    said = await _deliver_to(pg, sender, sim, 'newcomer@example.org', later)
    assert len(said) == 1 and 'Refuse bin today' in said[0], said


async def test_the_demo_case_is_registered_and_its_updates_reach_its_reporter(
    pg: asyncpg.Pool, settings_here: Settings, sender: Sender, sim: RunningSim
) -> None:
    await _start(pg, settings_here, MORNING)

    found = await case_queries.find(pg, cases.REFERENCE)
    assert found.case is not None and found.case['source'] == cases.SOURCE
    assert found.case['service'] == 'Demo street reports'  # as /staff/cases and /case name it
    assert found.case['stage'] == 'received'
    [received] = await _deliver_to(pg, sender, sim, residents.CASE_REPORTER, MORNING)
    assert 'DEMO-1001' in received and 'Received' in received

    later = MORNING + timedelta(minutes=3)
    assert demo.advance_case(settings_here.data_dir, later) == 'investigating'
    result = await poll_source(pg, cases.SOURCE, now=later, secrets=settings_here.link_secrets)
    assert result.outcome == 'ok' and result.counts['changed'] == 1
    [update] = await _deliver_to(pg, sender, sim, residents.CASE_REPORTER, later)
    # the stage by its name, once, and the case system's note once: not its own status word as well
    assert update.count('Being assessed') == 1 and update.count('a highways inspector') == 1, update
    assert 'investigating' not in update, update
    # and nobody else: the near residents around M32 0AH hear nothing of someone's case
    others = await pg.fetchval(
        'select count(*) from notifications n join events e on e.id = n.event_id where e.topic = $1 '
        'and n.contact_point_id not in (select id from contact_points where address = $2)',
        'cases', residents.CASE_REPORTER,
    )  # fmt: skip
    assert others == 0


async def test_the_overview_lists_the_demo_sources_with_their_health(pg: asyncpg.Pool, settings_here: Settings) -> None:
    await _start(pg, settings_here, MORNING)
    async with pg.acquire() as conn:
        overview = await figures.gather(conn, saving_pence=268, now=MORNING + timedelta(minutes=1))
    listed = {source['name']: source for source in overview.sources}
    assert set(listed) == DEMO_SOURCES
    assert all(source['health'] == 'ok' and source['healthy'] for source in listed.values()), listed


async def test_a_second_start_finds_it_all_and_adds_nothing(
    pg: asyncpg.Pool, settings_here: Settings, sim: RunningSim
) -> None:
    await _start(pg, settings_here, MORNING)
    before = await _counts(pg)
    assert before['residents'] == 5 and before['addresses'] == 3 and before['sources'] == 2

    again = await _start(pg, settings_here, MORNING + timedelta(minutes=2))
    assert again.demo and again.added == 0
    assert await _counts(pg) == before


async def test_a_database_the_earlier_demo_seeded_gets_the_rest(pg: asyncpg.Pool, settings_here: Settings) -> None:
    """`tellme dev` before bins and cases were in the demo signed up the three near residents only."""
    async with pg.acquire() as conn:
        assert await residents.sign_up_near(conn) == 3

    seeded = await _start(pg, settings_here, MORNING)
    assert seeded.demo and seeded.subscriptions == 2 and set(seeded.sources) == DEMO_SOURCES
    assert (await _counts(pg))['residents'] == 5


async def test_a_demo_resident_who_unsubscribed_stays_unsubscribed(pg: asyncpg.Pool, settings_here: Settings) -> None:
    await _start(pg, settings_here, MORNING)
    subscription = await pg.fetchval("select id from subscriptions where kind = 'case'")
    async with pg.acquire() as conn:
        await queries.end_subscription(conn, subscription, reason='unsubscribed', by='resident')

    await _start(pg, settings_here, MORNING + timedelta(days=1))
    assert await pg.fetchval("select count(*) from subscriptions where kind = 'case'") == 1


async def test_a_database_with_residents_of_its_own_gets_no_demo_data(
    pg: asyncpg.Pool, settings_here: Settings
) -> None:
    async with pg.acquire() as conn:
        resident = await queries.create_resident(conn)
        await queries.add_contact_point(conn, resident, 'email', 'someone@example.org', verified=True)
        spec = NewSubscription(kind='topic', topics=['planning'], channels=['email'])
        await queries.create_subscription(conn, resident, spec, active=True)

    seeded = await _start(pg, settings_here, MORNING)
    assert not seeded.demo and seeded.added == 0
    counts = await _counts(pg)
    assert (counts['residents'], counts['sources'], counts['addresses']) == (1, 0, 0)
    assert not (settings_here.data_dir / bins.CALENDAR).exists()


def test_the_reminder_time_is_one_the_bins_pages_offer() -> None:
    for hour in range(24):
        now = datetime(2026, 11, 24, hour, 59, 59, tzinfo=LONDON)
        remind_at, at = residents.reminder_choice(now)
        assert (at.hour, at.minute) == (hour, 59)
        assert remind_at == ('morning-of' if hour < 12 else 'evening-before')
