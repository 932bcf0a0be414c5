"""The service with the keyboard alone: the skip link comes first, every control shows where the focus is, and a
resident gets from the start page into a journey without a mouse."""

from __future__ import annotations

from tests.browser.support import keyboard
from tests.browser.support.browse import Browse
from tests.browser.support.journeys import T
from tests.browser.support.keyboard import Activate, Choose, Type
from tests.browser.support.live import LiveServer
from tests.support.factories import make_resident, make_subscription


def test_the_first_tab_reaches_the_skip_link_which_jumps_to_the_content(resident: Browse) -> None:
    page = resident.page
    resident.open('/')
    page.keyboard.press('Tab')
    focused = page.evaluate('document.activeElement.textContent.trim()')
    assert focused == 'Skip to main content'
    page.keyboard.press('Enter')
    page.wait_for_function("document.activeElement && document.activeElement.id === 'main-content'")
    resident.snap('skipped-to-content')


def test_the_language_switch_works_from_the_keyboard(resident: Browse) -> None:
    resident.open('/')
    keyboard.complete(resident.page, [Activate('a[hreflang="cy"]')])
    resident.snap()
    assert resident.page.evaluate('document.documentElement.lang') == 'cy'
    assert resident.heading() == 'Cael diweddariadau gan eich cyngor'


def test_the_start_page_leads_into_a_journey_with_the_keyboard_alone(resident: Browse) -> None:
    resident.open('/')
    keyboard.complete(resident.page, [Activate('a[href="/near"]')])
    resident.snap()
    assert resident.path == '/near'
    assert resident.heading() == T('near.postcode.title')


def test_a_resident_signs_up_near_a_postcode_with_the_keyboard_alone(resident: Browse, live: LiveServer) -> None:
    resident.open('/')
    submit = 'form .govuk-button'
    journey = [
        Activate('a[href="/near"]'),
        Type('#postcode', 'M32 0AH'),
        Activate(submit),
        Choose('input[name="radius"][value="1000"]'),
        Activate(submit),
        Choose('input[name="topics"][value="planning"]'),
        Choose('input[name="leave_out"][value="trees"]'),
        Activate(submit),
        Choose('input[name="frequency"][value="weekly"]'),
        Activate(submit),
        Choose('input[name="channel"][value="email"]'),
        Activate(submit),
        Type('#email', 'keys.only@example.com'),
        Activate(submit),
    ]
    for step in journey:
        keyboard.complete(resident.page, [step])
        if isinstance(step, Activate):
            resident.snap()
    assert resident.heading() == T('signup.check.title')
    rows = resident.page.locator('.govuk-summary-list__value').all_inner_texts()
    assert 'M32 0AH' in rows and T('near.frequency.weekly') in rows and 'keys.only@example.com' in rows
    keyboard.complete(resident.page, [Activate(submit)])
    resident.snap()
    assert resident.heading() == T('signup.sent.title')
    (message,) = live.wait_for_messages(1)
    assert message.recipient == 'keys.only@example.com' and '/confirm/' in message.body
    resident.follow(message.link('/confirm/'))
    keyboard.complete(resident.page, [Activate(submit)])
    resident.snap()
    assert T('links.confirmed.title') in resident.heading()
    assert live.fetchval("select status from subscriptions where kind = 'near'") == 'active'


def test_a_resident_manages_and_stops_updates_with_the_keyboard_alone(resident: Browse, live: LiveServer) -> None:
    person = live.run(make_resident(live.pg, email='keys.manage@example.com'))
    subscription = live.run(make_subscription(live.pg, person, near='M32 0AH', radius_m=400, frequency='immediate'))
    submit = 'form .govuk-button'
    resident.open('/')
    steps = [Activate('.govuk-service-navigation a[href="/manage"]'), Type('#address', 'keys.manage@example.com'),
             Activate(submit)]  # fmt: skip
    for step in steps:
        keyboard.complete(resident.page, [step])
    resident.snap()
    (sign_in,) = live.wait_for_messages(1)
    resident.follow(sign_in.link('/manage/sign-in/'))
    steps = [Activate(submit), Activate(f'#subscription-{subscription} a'), Activate('#change-frequency'),
             Choose('input[name="frequency"][value="weekly"]'), Activate(submit), Activate('#unsubscribe'),
             Activate(submit)]  # fmt: skip
    for step in steps:
        keyboard.complete(resident.page, [step])
        if isinstance(step, Activate):
            resident.snap()
    assert live.fetchval('select frequency from subscriptions where id = $1', subscription) == 'weekly'
    assert live.fetchval('select status from subscriptions where id = $1', subscription) == 'ended'
