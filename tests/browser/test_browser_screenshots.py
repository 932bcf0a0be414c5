"""Screenshots of the main pages at a phone's width (375 px) and a desktop's (1280 px), reached the way a resident
reaches them, each at most 300 KB. `make test` takes the phone's into tests/artefacts/screenshots/docs/ (the other
browser tests see every page at desktop width); `make screenshots` (TELLME_UPDATE_SCREENSHOTS=1) takes both and
writes them to docs/screenshots/, the copies the README shows (the staff bulletin pages come from
test_browser_staff_bulletin.py, at desktop width, the same way)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta

import pytest
from playwright.sync_api import Browser

from sources.events.models import Event
from subscriptions.manage.common import manage_path
from tests.browser.support.browse import ARTEFACTS, DESKTOP, PHONE, UPDATING, Browse, keep
from tests.browser.support.journeys import (
    STRETFORD,
    T,
    confirm_from_email,
    near_choices,
    pick,
    planning_event,
    sign_in_by_email,
)
from tests.browser.support.live import LiveServer
from tests.support.factories import make_resident, make_subscription, place, record

EMAIL = 'alex@example.com'
DEVICES = {'phone': PHONE, 'desktop': DESKTOP}
pytestmark = pytest.mark.timeout(120)


@pytest.fixture(params=list(DEVICES) if UPDATING else ['phone'])  # the desktop pages are every other test's
def device(request: pytest.FixtureRequest, chromium: Browser, live: LiveServer) -> Iterator[tuple[str, Browse]]:
    name = request.param
    context = chromium.new_context(
        viewport=DEVICES[name], device_scale_factor=1, is_mobile=name == 'phone', has_touch=name == 'phone',
        locale='en-GB', ignore_https_errors=True,
    )  # fmt: skip
    context.set_default_timeout(10_000)
    browse = Browse(context.new_page(), live, ARTEFACTS / f'journey-{name}')
    yield name, browse
    context.close()


async def past_applications(live: LiveServer) -> None:
    """Twelve weeks of planning applications around Stretford, so the distance page has estimates to show."""
    here = place(STRETFORD)
    now = datetime.now(UTC)
    for n in range(40):
        near = planning_event(
            STRETFORD, title=f'Application {n}', occurred_at=(now - timedelta(days=2 * n)).isoformat()
        )
        near.update(lat=here.lat + 0.0004 * (n % 20), lng=here.lng + 0.0003 * (n % 7))
        await record(live.pg, Event.model_validate(near), now=now)


def test_the_main_pages_at_phone_and_desktop_widths(device: tuple[str, Browse], live: LiveServer) -> None:
    name, resident = device
    live.run(past_applications(live))
    resident.open('/')
    keep(resident, name, '01-start')
    resident.click_link(T('start.near_link'))
    resident.press(T('common.continue'))
    keep(resident, name, '02-postcode-error')
    resident.fill(T('near.postcode.title'), STRETFORD)
    resident.press(T('common.continue'))
    keep(resident, name, '03-distance')
    near_choices(resident)
    pick(resident, 'channel', 'email')
    resident.press(T('common.continue'))
    resident.fill(T('signup.contact.title_email'), EMAIL)
    resident.press(T('common.continue'))
    keep(resident, name, '04-check-your-answers')
    resident.press(T('signup.check.submit'))
    keep(resident, name, '05-we-have-sent-you-a-link')
    confirm_from_email(resident, live, EMAIL)

    comment_by = (datetime.now(UTC) + timedelta(days=21)).date().isoformat()
    attributes = {'address': '6 King Street, Stretford, M32 0AH', 'status': 'Awaiting decision',
                  'comment_by': comment_by}  # fmt: skip
    event = planning_event(
        STRETFORD, title='Single-storey rear extension at 6 King Street', attributes=attributes,
        summary='Erection of a single-storey rear extension with a flat roof and two roof lights.',
    )  # fmt: skip
    event['lat'] += 0.0013  # along King Street from the postcode's centre: "about 140 m from M32 0AH"
    published = live.publish(event)
    resident.open(f'/e/{published["event_id"]}')
    keep(resident, name, '06-event')
    sign_in_by_email(resident, live, EMAIL)
    keep(resident, name, '07-your-subscriptions')
    resident.open(f'/manage/subscriptions/{live.fetchval("select id from subscriptions")}')
    keep(resident, name, '08-a-subscription')
    resident.open('/', lang='cy')
    keep(resident, name, '09-start-welsh')

    # the manage link in the update, opened on another device (no sign-in): that subscription, for changes
    (update,) = live.wait_for_messages(1, where=lambda m: m.recipient == EMAIL and '/manage/s/' in m.body)
    resident.page.context.clear_cookies()
    resident.follow(update.link('/manage/s/'))
    keep(resident, name, '14-a-subscription-by-its-link')
    resident.open(f'/e/{published["event_id"]}')
    keep(resident, name, '15-event-how-far')
    resident.follow(update.link('/manage/s/'))
    resident.click_link(f'{T("common.change")} {T("manage.row.radius").lower()}')
    keep(resident, name, '16-change-distance')
    texter = live.run(make_resident(live.pg, email='texts@example.com', sms='07700 900 777'))
    own = live.run(make_subscription(live.pg, texter, near=STRETFORD, radius_m=2000, topics=['planning'],
                                     quiet_hours=(time(22, 30), time(7))))  # fmt: skip
    resident.open(manage_path(live.settings.link_secrets[0], own))
    resident.open(f'/manage/subscriptions/{own}/change/quiet-hours')
    keep(resident, name, '17-own-quiet-hours')
