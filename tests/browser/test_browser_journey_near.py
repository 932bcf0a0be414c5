"""The whole "things near me" journey in Chromium, as a resident lives it: sign up near a postcode, confirm from
the email the simulator received, get an update when a planning application arrives, open the event page and the
manage link from that email, change how often, unsubscribe in one click from the mail client, and hear nothing
more. Every page on the way passes axe."""

from __future__ import annotations

import pytest

from tests.browser.support.browse import Browse
from tests.browser.support.journeys import (
    STRETFORD,
    T,
    change_frequency,
    confirm_from_email,
    manage_from_message,
    near_steps,
    one_click_unsubscribe,
    planning_event,
    sign_up_by_email,
)
from tests.browser.support.live import LiveServer
from tests.support.factories import make_resident, make_subscription

EMAIL = 'sam.resident@example.com'
pytestmark = pytest.mark.timeout(120)
QUEUED_FOR = """
select count(*) from notifications n join contact_points c on c.id = n.contact_point_id
where c.address = $1 and n.event_id = $2
"""


def test_a_resident_signs_up_near_a_postcode_hears_about_an_application_and_leaves(
    resident: Browse, live: LiveServer
) -> None:
    near_steps(resident)
    sign_up_by_email(resident, EMAIL)
    confirm_from_email(resident, live, EMAIL)

    published = live.publish(planning_event(STRETFORD, title='Two-storey side extension at 4 King Street'))
    update = live.wait_for_messages(2, where=lambda m: m.recipient == EMAIL)[-1]
    assert 'Two-storey side extension at 4 King Street' in update.body
    live.wait_for_delivered(EMAIL)  # Notify's receipts came back and were recorded

    resident.follow(update.link(f'/e/{published["event_id"]}'))
    assert resident.heading() == 'Two-storey side extension at 4 King Street'
    resident.accessible('event page')

    subscription = live.fetchval("select id from subscriptions where kind = 'near'")
    manage_from_message(resident, update, subscription)
    assert resident.page.locator('#value-frequency').inner_text() == T('manage.frequency.immediate')
    resident.accessible('a subscription')

    change_frequency(resident, live, 'daily')

    assert one_click_unsubscribe(live, update) in (200, 202, 204)
    resident.page.reload()
    resident.snap('after-one-click')
    assert resident.page.locator('#value-status').inner_text() == T('manage.status.ended')

    # A neighbour who still subscribes hears about the next application; our resident hears nothing more.
    neighbour = live.run(make_resident(live.pg, email='neighbour@example.com'))
    live.run(make_subscription(live.pg, neighbour, near=STRETFORD, radius_m=1000))
    before = len(live.messages(to=EMAIL))
    later = live.publish(planning_event(STRETFORD, title='Single-storey rear extension at 6 King Street'))
    live.wait_for_messages(1, where=lambda m: m.recipient == 'neighbour@example.com')
    assert len(live.messages(to=EMAIL)) == before
    assert live.fetchval(QUEUED_FOR, EMAIL, later['event_id']) == 0, 'nothing waits in the outbox or a digest'


def test_a_welsh_speaker_signs_up_in_welsh_and_is_written_to_in_welsh(resident: Browse, live: LiveServer) -> None:
    near_steps(resident, lang='cy', frequency='weekly')  # every page, and the error state, checked by axe in Welsh
    sign_up_by_email(resident, 'siaradwr@example.com', lang='cy')
    (confirmation,) = live.wait_for_messages(1)
    assert confirmation.subject == 'Cadarnhewch eich tanysgrifiad i Tell Me'
    confirm_from_email(resident, live, 'siaradwr@example.com', lang='cy')
    assert live.fetchval('select language from residents') == 'cy'
