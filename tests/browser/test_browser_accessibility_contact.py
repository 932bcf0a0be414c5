"""The contact and quiet-hours steps' mistakes, in English and Welsh: an email address with a slip in its domain
(offered a correction), a landline given as a mobile, no quiet-hours choice, and quiet hours that cannot be read.
Each error state keeps what was typed and passes axe."""

from __future__ import annotations

import pytest

from tests.browser.support.browse import Browse
from tests.browser.support.journeys import T, near_steps, pick

MOBILE = '07700 900 982'
LANDLINE = '01632 960 001'


@pytest.mark.parametrize('lang', ['en', 'cy'])
def test_contact_and_quiet_hours_mistakes_are_explained_accessibly(resident: Browse, lang: str) -> None:
    near_steps(resident, lang=lang)
    pick(resident, 'channel', 'both')
    resident.press(T('common.continue', lang))
    assert resident.heading() == T('signup.contact.title_both', lang)
    resident.fill(T('signup.contact.title_email', lang), 'sam@gmial.com')
    resident.fill(T('signup.contact.title_mobile', lang), LANDLINE)
    resident.press(T('common.continue', lang))
    assert resident.error_summary() == [
        T('signup.error.email_suggest', lang, suggestion='sam@gmail.com'),
        T('signup.error.mobile_landline', lang, number=LANDLINE, example=MOBILE),
    ]
    assert resident.page.get_by_label(T('signup.contact.title_mobile', lang)).input_value() == LANDLINE
    resident.accessible('a slip in the email domain and a landline')
    resident.choose(T('signup.contact.use_suggestion', lang, suggestion='sam@gmail.com'))
    resident.fill(T('signup.contact.title_mobile', lang), MOBILE)
    resident.press(T('common.continue', lang))

    assert resident.heading() == T('signup.quiet.title', lang)
    resident.press(T('common.continue', lang))
    assert resident.error_summary() == [T('signup.error.quiet', lang)]
    resident.accessible('no quiet hours chosen')
    pick(resident, 'quiet', 'choose')  # reveals the two times (GOV.UK's conditional reveal)
    resident.fill(T('signup.quiet.start', lang), 'late')
    resident.press(T('common.continue', lang))
    assert T('signup.error.quiet_start_words', lang) in resident.error_summary()
    assert resident.page.get_by_label(T('signup.quiet.start', lang)).input_value() == 'late'
    resident.accessible('quiet hours that cannot be read')
    resident.fill(T('signup.quiet.start', lang), '21:30')
    resident.fill(T('signup.quiet.end', lang), '7am')
    resident.press(T('common.continue', lang))
    assert resident.heading() == T('signup.check.title', lang)
    rows = resident.page.locator('.govuk-summary-list__value').all_inner_texts()
    assert 'sam@gmail.com' in rows and MOBILE in rows
