"""The README's **Try it** journeys in Chromium, on the demo `make run` puts in place (notifier/shell/demo/): bin day
reminders at a demo address on Demo Street and the round's next collections, the demo events near a postcode,
following the demo case DEMO-1001 by its reference through its stages, and the service overview and audit log
showing the demo's two sources as they are. The pages on the way pass axe.

The demo is put in place as `tellme dev` does it at start (`demo.seed`, then `demo.first_polls`). The residents'
journeys run from a chosen instant (a Tuesday morning): the demo's bin calendar counts its dates from the day it is
written, and the reminder cron and the case system's next steps run at chosen moments after it. The overview reads
its sources' health at the clock on the wall, as staff would, so that test puts the demo in place at the wall
clock, as `tellme dev` does; nothing it checks depends on which hour or day that is (the demo round's calendar
repeats without end, so its schedule never runs out)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from notifier.settings import Settings
from notifier.shell import demo
from notifier.shell.demo import bins, cases, residents
from sources.feeds.polling import poll_source
from subscriptions.matching.reminders import queue_reminders
from tests.browser.support.browse import Browse
from tests.browser.support.journeys import T, confirm_from_email, pick, sign_up_by_email
from tests.browser.support.live import LiveServer, Message
from tests.browser.support.staff_support import new_member_of_staff, text

LONDON = ZoneInfo('Europe/London')
# the demo started on a Tuesday morning in winter (London is on UTC): a refuse collection today, recycling tomorrow
STARTED = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
EMAIL = 'newcomer@example.org'
ADMIN = 'admin@council.example'
SCHEDULE = 'Bin collections at Demo Street, Stretford, M32 0AH'
# the round's calendar from that day: refuse every Tuesday (the one two weeks on moved a day), recycling every
# other Wednesday
NEXT_REFUSE = 'Refuse bin: Tue 24 Nov 2026, Tue 1 Dec 2026, Wed 9 Dec 2026, Tue 15 Dec 2026'
NEXT_RECYCLING = 'Recycling bin: Wed 25 Nov 2026, Wed 9 Dec 2026, Wed 23 Dec 2026'
MOVED = 'Refuse bin moved to Wednesday 9 December (usually Tuesday).'
# the demo case system's next four steps, three minutes apart: the stage each reaches, and the note the system sends
STAGES = [
    (3, 'Being assessed', 'Demo: a highways inspector will look at it this week.'),
    (6, 'Action scheduled', 'Demo: a repair is booked for the next two weeks.'),
    (9, 'Resolved', 'Demo: the pothole has been filled.'),
    (12, 'Received', 'Demo: thank you for reporting this.'),
]
DEMO_ADDRESSES = [f'{n} Demo Street, Stretford, Manchester' for n in (1, 2, 3)]
pytestmark = pytest.mark.timeout(120)


def start_the_demo(live: LiveServer, data_dir: Path, now: datetime) -> Settings:
    """What `tellme dev` does at start: put the demo in place, then poll its sources and queue the reminders due."""
    settings = live.settings.model_copy(update={'data_dir': data_dir})

    async def start() -> None:
        seeded = await demo.seed(live.pg, settings, now=now)
        assert seeded.demo and set(seeded.sources) == {bins.SOURCE, cases.SOURCE}
        await demo.first_polls(live.pg, settings, now=now)

    live.run(start())
    live.wake_senders()
    return settings


def reminders_run(live: LiveServer, now: datetime) -> list[str]:
    """The worker's reminder cron runs at `now`, and the reminders due then go: the ids of those sent now."""

    async def run() -> list[str]:
        async with live.pg.acquire() as conn, conn.transaction():
            queued = await queue_reminders(
                conn, now=now, public_url=live.base_url, secret=live.settings.link_secrets[0]
            )
            due = await conn.fetch(
                'update notifications set not_before = now() where id = any($1::uuid[]) and not_before <= $2 '
                'returning id',
                queued.queued, now,
            )  # fmt: skip
        return [str(row['id']) for row in due]

    sent = live.run(run())
    live.wake_senders()
    return sent


def bin_update(message: Message) -> bool:
    return (message.subject or '').startswith('Bin collection update')


def test_a_newcomer_signs_up_for_bin_reminders_at_a_demo_address_and_sees_the_next_collections(
    resident: Browse, live: LiveServer, tmp_path: Path
) -> None:
    start_the_demo(live, tmp_path, STARTED)
    # within seconds of the first start, the demo resident at 1 Demo Street is sent the round's next collections
    [update] = live.wait_for_messages(1, where=lambda m: m.recipient == residents.BINS_RESIDENT and bin_update(m))
    assert NEXT_REFUSE in update.body and NEXT_RECYCLING in update.body and MOVED in update.body

    # Bin day reminders → M32 0AH: the address picker lists 1, 2 and 3 Demo Street → pick one
    resident.open('/')
    resident.click_link(T('start.bins_link'))
    resident.fill(T('bins.postcode.title'), 'M32 0AH')
    resident.press(T('common.continue'))
    assert resident.heading() == T('bins.address.title')
    offered = resident.page.locator('.govuk-radios__label').all_inner_texts()
    assert [' '.join(label.split()) for label in offered] == DEMO_ADDRESSES
    resident.accessible('the demo addresses')
    resident.choose(DEMO_ADDRESSES[1])
    resident.press(T('common.continue'))
    # → when: before noon on the first day, the morning of collection, at a time a few minutes ahead
    assert resident.heading() == T('bins.when.title')
    pick(resident, 'remind_at', 'morning-of')
    resident.fill(T('bins.when.time'), '09:40')
    resident.press(T('common.continue'))
    # → By email → Sign up, and confirm
    sign_up_by_email(resident, EMAIL)
    confirm_from_email(resident, live, EMAIL)

    # the worker's reminder run at 09:40: the reminder for today's refuse collection comes
    assert reminders_run(live, STARTED + timedelta(minutes=10))
    subject = 'Reminder: Refuse bin collection on 24 November 2026'
    [reminder] = live.wait_for_messages(1, where=lambda m: m.recipient == EMAIL and m.subject == subject)
    assert 'Please put your Refuse bin out for collection on 24 November 2026.' in reminder.body
    # its link opens the round's schedule: the next collections, the moved one said so
    resident.follow(reminder.link('/e/'))
    assert resident.heading() == SCHEDULE
    shown = text(resident, 'main')
    assert NEXT_REFUSE in shown and NEXT_RECYCLING in shown and MOVED in shown
    resident.accessible("the demo round's schedule")
    resident.open(resident.path, lang='cy')
    assert resident.heading() == SCHEDULE
    resident.accessible("the demo round's schedule, in Welsh")


def test_a_newcomer_near_the_demo_residents_hears_of_the_demo_events_within_2_km(
    resident: Browse, live: LiveServer, tmp_path: Path
) -> None:
    start_the_demo(live, tmp_path, STARTED)

    # Things happening near me → M32 0AH → Within 2 km → the demo's topics → As it happens → By email → Sign up
    resident.open('/')
    resident.click_link(T('start.near_link'))
    resident.fill(T('near.postcode.title'), 'M32 0AH')
    resident.press(T('common.continue'))
    assert resident.heading() == T('near.radius.title')
    pick(resident, 'radius', '2000')
    resident.press(T('common.continue'))
    assert resident.heading() == T('near.topics.title')
    pick(resident, 'topics', 'planning')
    pick(resident, 'topics', 'licensing')
    resident.press(T('common.continue'))
    pick(resident, 'frequency', 'immediate')
    resident.press(T('common.continue'))
    sign_up_by_email(resident, EMAIL)
    confirm_from_email(resident, live, EMAIL)

    # a made-up event a minute, round the four: the three within 2 km of M32 0AH come, the one in Sale does not
    events = demo.DemoEvents()
    for _ in demo.events.EVENTS:
        assert live.run(events.publish(live.pg))
    live.wake_senders()
    told = live.wait_for_messages(4, where=lambda m: m.recipient == EMAIL)[1:]  # after the confirmation
    live.wait_until_idle()
    assert len(live.messages(to=EMAIL)) == 4
    assert sorted(message.subject for message in told) == [
        'New licence application: Demo: new premises licence for a café',
        'New planning application: Demo: change of use from shop to two flats',
        'New planning application: Demo: single-storey rear extension',
    ]


def the_case_system_moves_on(live: LiveServer, settings: Settings, now: datetime) -> None:
    """The demo case system moves DEMO-1001 on a stage, and the worker's next poll of `demo-cases` reads it."""
    demo.advance_case(settings.data_dir, now)
    result = live.run(poll_source(live.pg, cases.SOURCE, now=now, secrets=live.settings.link_secrets))
    assert result.outcome == 'ok' and result.counts['changed'] == 1, result
    live.wake_senders()


def test_a_newcomer_follows_the_demo_case_by_its_reference_and_hears_of_each_stage(
    resident: Browse, live: LiveServer, tmp_path: Path
) -> None:
    settings = start_the_demo(live, tmp_path, STARTED)
    live.wait_for_messages(1, where=lambda m: m.recipient == residents.CASE_REPORTER)

    # Track something I reported → DEMO-1001 → By email, with your address → Sign up, and confirm
    resident.open('/')
    resident.click_link(T('start.case_link'))
    assert resident.heading() == T('case.reference.title')
    resident.fill(T('case.reference.title'), cases.REFERENCE)
    resident.press(T('common.continue'))
    sign_up_by_email(resident, EMAIL)
    confirm_from_email(resident, live, EMAIL)

    # the case system moves it on every three minutes: received, being assessed, action scheduled, resolved, and
    # round again; the newcomer and its reporter, demo.kim@example.com, hear of each
    for number, (minutes, stage, note) in enumerate(STAGES, start=1):
        the_case_system_moves_on(live, settings, STARTED + timedelta(minutes=minutes))
        for person in (residents.CASE_REPORTER, EMAIL):
            update = live.wait_for_messages(number + 1, where=lambda m, person=person: m.recipient == person)[-1]
            assert update.subject == 'Update on your case DEMO-1001'
            # the stage by its name and the case system's note, each once
            assert update.body.count(stage) == 1 and update.body.count(note) == 1, update.body
            assert f'Status: {stage}' in update.body, update.body

    # the last update's link opens the case's page: what happened, its stage by name, and every stage before
    resident.follow(update.link('/e/'))
    assert resident.heading() == 'Demo: pothole (DEMO-1001) at Demo Street, Stretford'
    assert 'Demo: thank you for reporting this.' in text(resident, 'main')
    assert text(resident, '#status') == 'Received'
    history = resident.page.locator('#history + ol > li').all_inner_texts()
    assert [entry.splitlines()[-1] for entry in history[1:]] == [stage for _, stage, _ in STAGES]
    resident.accessible('the demo case')


def rows_of(person: Browse, table: str) -> list[str]:
    """Each row of a table as a person reads it, spaces collapsed."""
    return [' '.join(row.split()) for row in person.page.locator(f'{table} tbody tr').all_inner_texts()]


def test_the_overview_shows_the_demo_sources_as_they_are(resident: Browse, live: LiveServer, tmp_path: Path) -> None:
    admin = resident
    # The overview page judges the sources' health at the server's own clock, so the demo starts at that clock, as
    # `tellme dev` does; everything the page shows is counted from it (the calendar's dates, the read times), so
    # neither the hour nor the date this runs at changes what it shows (`make at-hours` runs it at the hard ones)
    started = datetime.now(UTC)
    start_the_demo(live, tmp_path, started)
    read = f'{started.astimezone(LONDON):%d %b %H:%M}'
    new_member_of_staff(admin, live, ADMIN, 'admin', start='/staff/overview')

    # Service overview: the sources' health, the demo's two among them — read a moment ago, with news, no problem
    assert rows_of(admin, '#table-sources') == [
        f'demo-bins (ical) ok {read} {read}',
        f'demo-cases (open311) ok {read} {read}',
    ]
    admin.accessible('the overview with the demo sources')

    # Audit log: each demo source's --allow-file, recorded as the demo's choice, with the reason
    admin.open('/staff/audit')
    added = {row.split(' source.add source ')[1].split(' ')[0]: row for row in rows_of(admin, 'table')
             if ' source.add ' in row}  # fmt: skip
    assert set(added) == {bins.SOURCE, cases.SOURCE}
    for name, why in ((bins.SOURCE, bins.WHY), (cases.SOURCE, cases.WHY)):
        assert 'tellme dev (demo) (system)' in added[name] and 'allow_file: True' in added[name], added[name]
        assert f'allow_file_why: {why}' in added[name]
    admin.accessible('the audit log with the demo sources')
