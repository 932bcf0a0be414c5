"""Back after a form error: a resident who mistyped, put it right and went on can press Back and see the form again,
never Chromium's ERR_CACHE_MISS ("Confirm form resubmission"). A form answered with its errors is redirected to a GET
of the same page (notifier/web/form_errors.py), so the browser's history holds no answer to a POST; our pages stay
`Cache-Control: no-store` (they hold what residents type)."""

from __future__ import annotations

import pytest

from tests.browser.support.browse import Browse
from tests.browser.support.journeys import STRETFORD, T, sign_in_by_email
from tests.browser.support.live import LiveServer
from tests.support.factories import make_resident, make_subscription

pytestmark = pytest.mark.timeout(120)


def went_back_to(resident: Browse, heading: str) -> None:
    response = resident.page.go_back()
    resident.snap('after-back')
    assert not resident.page.url.startswith('chrome-error://'), 'Chromium could not show the page again'
    assert response is not None and response.status == 200
    assert resident.page.locator('body').inner_text().find('ERR_CACHE_MISS') == -1
    assert resident.heading() == heading


@pytest.mark.parametrize('lang', ['en', 'cy'])
def test_back_after_a_postcode_error_shows_the_postcode_page(resident: Browse, lang: str) -> None:
    resident.open('/near', lang=lang)
    resident.fill(T('near.postcode.title', lang), 'not a postcode')
    resident.press(T('common.continue', lang))
    assert resident.error_summary() == [T('near.error.postcode_format', lang)]
    assert resident.path == '/near'
    resident.accessible('postcode error, shown by a GET')
    resident.fill(T('near.postcode.title', lang), STRETFORD)
    resident.press(T('common.continue', lang))
    assert resident.heading() == T('near.radius.title', lang)
    went_back_to(resident, T('near.postcode.title', lang))


def test_back_after_a_quiet_hours_error_on_manage_shows_the_question(resident: Browse, live: LiveServer) -> None:
    person = live.run(make_resident(live.pg, email='back@example.com', sms=True))
    sub = live.run(make_subscription(live.pg, person, near=STRETFORD, radius_m=500, topics=['planning']))
    sign_in_by_email(resident, live, 'back@example.com')
    resident.open(f'/manage/subscriptions/{sub}/change/quiet-hours')
    resident.choose(T('signup.quiet.choose'))
    resident.fill(T('signup.quiet.start'), 'teatime')
    resident.fill(T('signup.quiet.end'), '07:00')
    resident.press(T('manage.change.save'))
    assert resident.error_messages() == [T('signup.error.quiet_start_words')]
    resident.accessible('quiet hours error')
    resident.fill(T('signup.quiet.start'), '22:30')
    resident.press(T('manage.change.save'))
    assert resident.path == f'/manage/subscriptions/{sub}'
    went_back_to(resident, T('signup.quiet.title'))
