"""Texts instead of email: sign up near a postcode with a mobile number, confirm with the 6-digit code the
simulator received (after a wrong one, and a new code asked for), get the update by text, and stop it from the
link in the text."""

from __future__ import annotations

import re

import pytest

from tests.browser.support.browse import Browse
from tests.browser.support.journeys import STRETFORD, T, near_steps, pick, planning_event
from tests.browser.support.live import LiveServer

MOBILE = '07700 900 982'
pytestmark = pytest.mark.timeout(120)


def texts(live: LiveServer) -> list[str]:
    return [message.body for message in live.messages() if message.type == 'sms']


def test_a_resident_confirms_texts_with_a_code_and_stops_them_from_a_text(resident: Browse, live: LiveServer) -> None:
    near_steps(resident)
    pick(resident, 'channel', 'sms')
    resident.press(T('common.continue'))
    assert resident.heading() == T('signup.contact.title_mobile')
    resident.fill(T('signup.contact.title_mobile'), '01632 960 001')  # a landline
    resident.press(T('common.continue'))
    assert resident.error_messages() == [T('signup.error.mobile_landline', number='01632 960 001', example=MOBILE)]
    resident.accessible('a landline given as a mobile')
    resident.fill(T('signup.contact.title_mobile'), MOBILE)
    resident.press(T('common.continue'))
    assert resident.heading() == T('signup.quiet.title')
    resident.accessible('quiet hours')
    pick(resident, 'quiet', 'none')  # so the update comes now, whatever time the test runs
    resident.press(T('common.continue'))
    assert resident.heading() == T('signup.check.title')
    resident.press(T('signup.check.submit'))
    assert resident.heading() == T('signup.code.title')
    resident.accessible('enter the code')

    (text,) = live.wait_for_messages(1, where=lambda m: m.type == 'sms')
    code = re.search(r'\b(\d{6})\b', text.body).group(1)
    wrong = f'{(int(code) + 1) % 1_000_000:06d}'
    resident.fill(T('signup.code.label'), wrong)
    resident.press(T('signup.code.submit'))
    assert resident.error_summary() == [T('signup.error.code_wrong')]
    resident.accessible('a wrong code')
    resident.press(T('signup.code.resend'))
    assert T('signup.code.resent') in resident.page.locator('.govuk-notification-banner').inner_text()
    resident.accessible('a new code sent')
    newer = live.wait_for_messages(2, where=lambda m: m.type == 'sms')[-1]
    resident.fill(T('signup.code.label'), code)
    resident.press(T('signup.code.submit'))
    assert resident.error_summary(), 'a code sent before the new one no longer works'
    code = re.search(r'\b(\d{6})\b', newer.body).group(1)
    resident.fill(T('signup.code.label'), code)
    resident.press(T('signup.code.submit'))
    assert T('signup.confirmed.title') in resident.heading()
    resident.accessible('signed up')

    published = live.publish(planning_event(STRETFORD, title='New shop front at 2 King Street'))
    update = live.wait_for_messages(3, where=lambda m: m.type == 'sms')[-1]
    assert 'New shop front at 2 King Street' in update.body
    resident.follow(update.link(f'/e/{published["event_id"]}'))
    assert resident.heading() == 'New shop front at 2 King Street'

    resident.follow(update.link('/unsubscribe/'))
    assert resident.heading() == T('links.unsubscribe.title')
    resident.accessible('unsubscribe')
    resident.press(T('links.unsubscribe.button'))
    assert T('links.unsubscribed.title') in resident.heading()
    resident.accessible('unsubscribed')

    later = live.publish(planning_event(STRETFORD, title='Loft conversion at 8 King Street'))
    assert later['matched'] == 0
    live.wait_until_idle()
    assert not [body for body in texts(live) if 'Loft conversion' in body]
    assert len(texts(live)) == 3  # two codes and the update
