"""Track my case in Chromium: a reference we do not know is refused at the end (as a wrong contact is), the right
one (typed in any case) signs up, the confirmation link comes by email, the next update to the case arrives with
links to its page and to manage it (how often: weekly), and one-click unsubscribe from the mail client ends it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.browser.support.browse import Browse
from tests.browser.support.journeys import (
    T,
    change_frequency,
    confirm_from_email,
    manage_from_message,
    one_click_unsubscribe,
    pick,
)
from tests.browser.support.live import LiveServer

REFERENCE = 'FMS-20417'
EMAIL = 'reporter@example.com'
pytestmark = pytest.mark.timeout(120)


def case_update(live: LiveServer, status: str, note: str) -> dict[str, Any]:
    """The council's case system reports progress on the case (POST /api/cases/{reference}/updates)."""
    body = {'source': 'fixmystreet', 'status': status, 'note': note, 'title': 'Pothole on King Street',
            'occurred_at': datetime.now(UTC).isoformat()}  # fmt: skip
    return live.post_json(f'/api/cases/{REFERENCE}/updates', body)


def test_a_reporter_tracks_their_case_hears_of_progress_and_leaves(resident: Browse, live: LiveServer) -> None:
    case_update(live, 'confirmed', 'Thank you, we have your report.')

    resident.open('/')
    resident.click_link(T('start.case_link'))
    assert resident.heading() == T('case.reference.title')
    resident.accessible('case reference')
    resident.fill(T('case.reference.title'), 'FMS-99999')
    resident.press(T('common.continue'))
    # whether a case exists is said only with the contact details, as for a reporter's case with other details
    assert resident.heading() == T('signup.channel.title')
    pick(resident, 'channel', 'email')
    resident.press(T('common.continue'))
    resident.fill(T('signup.contact.title_email'), EMAIL)
    resident.press(T('common.continue'))
    resident.press(T('signup.check.submit'))
    assert resident.error_summary() == [T('signup.error.not_reporter')]
    resident.accessible('case not matched')
    resident.open('/case', change='1')
    assert resident.page.get_by_label(T('case.reference.title')).input_value() == 'FMS-99999', 'what was typed is kept'
    resident.fill(T('case.reference.title'), REFERENCE.lower())
    resident.press(T('common.continue'))
    assert resident.heading() == T('signup.check.title')
    resident.press(T('signup.check.submit'))
    assert resident.heading() == T('signup.sent.title')
    confirm_from_email(resident, live, EMAIL)

    progress = case_update(live, 'investigating', 'An inspector visits on Monday.')
    update = live.wait_for_messages(2, where=lambda m: m.recipient == EMAIL)[-1]
    assert 'An inspector visits on Monday.' in update.body
    resident.follow(update.link(f'/e/{progress["event_id"]}'))
    assert 'Pothole on King Street' in resident.heading()
    resident.accessible('the case page')

    subscription = live.fetchval("select id from subscriptions where kind = 'case'")
    manage_from_message(resident, update, subscription)
    resident.accessible('the case subscription')
    change_frequency(resident, live, 'weekly')

    assert one_click_unsubscribe(live, update) in (200, 202, 204)
    resident.page.reload()
    resident.snap('after-one-click')
    assert resident.page.locator('#value-status').inner_text() == T('manage.status.ended')

    fixed = case_update(live, 'fixed', 'The pothole has been filled.')
    assert fixed['matched'] == 0
    live.wait_until_idle()
    assert len(live.messages(to=EMAIL)) == 2  # the confirmation and the update: nothing since
