"""Topics a council chooses, in Chromium, on a fresh install: the council had hidden roadworks (`tellme topics hide
roadworks`) and loaded its ward names (`tellme postcodes names`); an administrator adds a topic of its own (after
the form's errors) and offers roadworks again on /staff/topics; a resident signs up near a postcode in Sale Central
choosing "Roadworks and road closures" (the topics read in Welsh too); a comms officer sends a bulletin on
roadworks to the ward by its name, and it reaches the resident but not a neighbour who chose only planning; the
service overview names the topics and the ward. Every page passes axe; the new pages are kept for docs/screenshots/.
"""

from __future__ import annotations

import contextlib
import io
import threading
from collections.abc import Callable

import pytest
from playwright.sync_api import Browser

from subscriptions.places import areas
from subscriptions.places import postcode_import as postcodes_cli
from subscriptions.topics import cli as topics_cli
from tests.browser.support.browse import Browse, keep
from tests.browser.support.journeys import T, confirm_from_email, pick, sign_up_by_email
from tests.browser.support.live import LiveServer
from tests.browser.support.staff_support import another_person, new_member_of_staff, text
from tests.support.factories import make_resident, make_subscription

SALE = 'M33 7XF'  # in Sale Central ward (E05015254)
SALE_WARD = 'E05015254'
EMAIL = 'rhian.resident@example.com'
ADMIN = 'admin@council.example'
COMMS = 'comms@council.example'
TITLE = 'Chester Road closed overnight'
MESSAGE = 'Chester Road is closed between 8pm and 6am from Monday to Friday while the gas main is replaced.'
pytestmark = pytest.mark.timeout(150)


def command(live: LiveServer, main: Callable[[list[str], object], int], *args: str) -> str:
    """Run a `tellme` command's entry point against the live service's database, as an operator would; its output.
    The command runs its own event loop, so it gets a thread of its own."""
    out, err, answer = io.StringIO(), io.StringIO(), {}

    def run() -> None:
        answer['code'] = main(list(args), live.settings)

    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        worker = threading.Thread(target=run, name='tellme-command')
        worker.start()
        worker.join(60)
    assert answer.get('code') == 0, f'tellme {" ".join(args)} failed: {err.getvalue()}'
    return out.getvalue()


def tick_only(person: Browse, name: str, value: str) -> None:
    """Tick this checkbox and untick the others, by clicking their labels as a person would."""
    boxes = person.page.locator(f'input[type="checkbox"][name="{name}"]')
    for n in range(boxes.count()):
        box = boxes.nth(n)
        if box.is_checked() != (box.get_attribute('value') == value):
            person.page.locator(f'label[for="{box.get_attribute("id")}"]').click()
        assert box.is_checked() == (box.get_attribute('value') == value)


def a_council_that_hid_roadworks(live: LiveServer) -> None:
    assert command(live, topics_cli.main, 'hide', 'roadworks').startswith('roadworks hidden:')
    assert 'areas named' in command(live, postcodes_cli.main, 'names', str(areas.SAMPLE_NAMES))
    neighbour = live.run(make_resident(live.pg, email='planning.only@example.com'))
    live.run(make_subscription(live.pg, neighbour, kind='area', area_codes=[SALE_WARD], topics=['planning']))


def administer(admin: Browse, live: LiveServer) -> None:
    new_member_of_staff(admin, live, ADMIN, 'admin', start='/staff/topics')
    assert admin.heading() == 'Topics'
    assert 'Hidden' in text(admin, '#topic-roadworks') and 'Offered' in text(admin, '#topic-planning')
    admin.accessible('topics')

    admin.press('Add a topic')  # a link styled, and announced, as a button
    assert admin.heading() == 'Add a topic'
    admin.accessible('add a topic')
    admin.press('Save topic')  # nothing filled in
    assert admin.error_summary() == [
        'Enter a key, like roadworks', 'Enter the name residents read, like Roadworks and road closures',
        'Select the group the topic belongs to',
    ]  # fmt: skip
    assert admin.error_summary() == admin.error_messages()
    admin.accessible('add a topic, with errors')
    keep(admin, 'desktop', '24-topic-add-errors')
    admin.fill('Key', 'parks', exact=True)
    admin.fill('Name', 'Parks and green spaces', exact=True)
    admin.fill('Welsh name', 'Parciau a mannau gwyrdd', exact=True)
    pick(admin, 'group', 'other')
    pick(admin, 'offered', 'yes')
    admin.press('Save topic')
    assert text(admin, '#saved') == 'Parks and green spaces added. Residents can choose it from now on.'

    admin.click_link('Change Roadworks and road closures')
    assert admin.heading() == 'Change “Roadworks and road closures”'
    assert admin.page.locator('input[name="offered"][value="no"]').is_checked()
    admin.accessible('change a topic')
    pick(admin, 'offered', 'yes')
    admin.press('Save topic')
    assert text(admin, '#saved') == 'Roadworks and road closures saved. Residents can choose it from now on.'
    assert 'Offered' in text(admin, '#topic-roadworks') and 'Parciau a mannau gwyrdd' in text(admin, '#topic-parks')
    admin.accessible('topics, saved')
    keep(admin, 'desktop', '25-topics')


def sign_up_for_roadworks(resident: Browse, live: LiveServer) -> None:
    resident.open('/')
    resident.click_link(T('start.near_link'))
    resident.fill(T('near.postcode.title'), SALE)
    resident.press(T('common.continue'))
    pick(resident, 'radius', '500')
    resident.press(T('common.continue'))
    assert resident.heading() == T('near.topics.title')
    labels = resident.page.locator('.govuk-checkboxes__label').all_inner_texts()
    assert [' '.join(label.split()) for label in labels][:6] == [
        'Planning applications', 'Licence applications', 'Roadworks and road closures', 'Consultations',
        'Council news', 'Parks and green spaces',
    ]  # fmt: skip
    assert 'Works on the road, closures and diversions' in text(resident, 'form')
    pick(resident, 'topics', 'roadworks')
    resident.accessible('topics, with roadworks')
    keep(resident, 'desktop', '26-near-topics-roadworks')

    resident.open('/near/topics', lang='cy')  # the same question in Welsh
    assert resident.heading() == T('near.topics.title', 'cy')
    welsh = text(resident, 'form')
    assert 'Gwaith ffordd a ffyrdd ar gau' in welsh and 'Parciau a mannau gwyrdd' in welsh
    assert 'Roadworks and road closures' not in welsh
    resident.accessible('topics, in Welsh')
    keep(resident, 'desktop', '26-near-topics-roadworks-welsh')
    resident.open('/near/topics', lang='en')
    pick(resident, 'topics', 'roadworks')
    resident.press(T('common.continue'))
    pick(resident, 'frequency', 'immediate')
    resident.press(T('common.continue'))
    sign_up_by_email(resident, EMAIL)
    assert 'roadworks and road closures within 500 m of M33 7XF' in live.messages(to=EMAIL)[0].body
    confirm_from_email(resident, live, EMAIL)
    assert live.fetchval('select topics from subscriptions where status = $1 and kind = $2', 'active', 'near') == [
        'roadworks'
    ]


def send_a_roads_bulletin(comms: Browse, live: LiveServer) -> None:
    new_member_of_staff(comms, live, COMMS, 'comms', start='/staff/bulletins')
    comms.press('New bulletin')
    topics = [' '.join(label.split()) for label in comms.page.locator('label[for^="topics"]').all_inner_texts()]
    assert 'Roadworks and road closures' in topics and 'Case updates' not in topics
    comms.fill('Title', TITLE, exact=True)
    comms.page.locator('#message').fill(MESSAGE)
    tick_only(comms, 'topics', 'roadworks')  # the form starts at Council news
    pick(comms, 'area', 'wards')
    comms.fill('Wards', 'Sale Central', exact=True)  # by its name
    tick_only(comms, 'channels', 'email')
    pick(comms, 'urgency', 'normal')
    comms.press('Continue')
    assert comms.heading() == TITLE
    facts = text(comms, '.govuk-summary-list')
    assert 'Topics Roadworks and road closures' in facts and 'Wards: Sale Central' in facts
    assert text(comms, '#audience-people') == '1', 'the resident who chose roadworks, not the planning-only one'
    comms.accessible('a bulletin on roadworks')
    pick(comms, 'when', 'now')
    comms.press('Send bulletin')

    told = live.wait_for_messages(2, where=lambda m: m.recipient == EMAIL)[-1]
    assert TITLE in (told.subject or '') and MESSAGE in told.body
    live.wait_until_idle()
    assert not live.messages(to='planning.only@example.com'), 'a neighbour who chose only planning hears nothing'


def overview_names(admin: Browse) -> None:
    admin.open('/staff/overview')
    topics = text(admin, '#table-topic')
    assert 'Roadworks and road closures' in topics and 'Planning applications' in topics
    assert 'Sale Central' in text(admin, '#table-area') and f'Ward {SALE_WARD}' not in admin.page.content()
    admin.accessible('the overview, by name')
    admin.page.locator('#chart-topic').evaluate('chart => chart.scrollIntoView()')  # the whole page is too big
    keep(admin, 'desktop', '27-overview-by-name')


def test_an_admin_offers_roadworks_a_resident_chooses_it_and_a_roads_bulletin_reaches_them(
    resident: Browse, live: LiveServer, chromium: Browser
) -> None:
    a_council_that_hid_roadworks(live)
    with another_person(chromium, live, f'{resident.folder.name}-admin') as admin:
        administer(admin, live)
        sign_up_for_roadworks(resident, live)
        with another_person(chromium, live, f'{resident.folder.name}-comms') as comms:
            send_a_roads_bulletin(comms, live)
        overview_names(admin)
    actions = live.fetch("select action, actor_name from audit_log where target_kind = 'topic' order by id")
    assert [(a['action'], a['actor_name']) for a in actions] == [
        ('topic.hide', 'tellme topics (command line)'), ('topic.add', ADMIN), ('topic.offer', ADMIN),
    ]  # fmt: skip
