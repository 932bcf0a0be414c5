"""Without JavaScript (GOV.UK Frontend's scripts are an enhancement only): a resident signs up for texts near a
postcode, choosing their own quiet hours, whose times are on the page without a script to reveal them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from tests.browser.support.browse import ARTEFACTS, DESKTOP, Browse
from tests.browser.support.journeys import STRETFORD, T, pick
from tests.browser.support.live import LiveServer


@pytest.fixture
def no_script(chromium: Browser, live: LiveServer) -> Iterator[Browse]:
    context = chromium.new_context(
        viewport=DESKTOP, locale='en-GB', ignore_https_errors=True, java_script_enabled=False
    )
    context.set_default_timeout(10_000)
    yield Browse(context.new_page(), live, ARTEFACTS / 'without-javascript')
    context.close()


def test_a_resident_signs_up_for_texts_without_javascript(no_script: Browse, live: LiveServer) -> None:
    resident = no_script
    resident.open('/')
    assert resident.page.evaluate("document.body.classList.contains('js-enabled')") is False
    resident.click_link(T('start.near_link'))
    resident.fill(T('near.postcode.title'), STRETFORD)
    resident.press(T('common.continue'))
    for name, value in (('radius', '250'), ('topics', 'planning'), ('frequency', 'daily'), ('channel', 'sms')):
        pick(resident, name, value)
        resident.press(T('common.continue'))
    resident.fill(T('signup.contact.title_mobile'), '07700 900 982')
    resident.press(T('common.continue'))
    assert resident.heading() == T('signup.quiet.title')
    assert resident.page.get_by_label(T('signup.quiet.start')).is_visible(), 'the times show without a script'
    pick(resident, 'quiet', 'choose')
    resident.fill(T('signup.quiet.start'), '22:00')
    resident.fill(T('signup.quiet.end'), '07:00')
    resident.press(T('common.continue'))
    assert resident.heading() == T('signup.check.title')
    resident.press(T('signup.check.submit'))
    assert resident.heading() == T('signup.code.title')
    (text,) = live.wait_for_messages(1, where=lambda m: m.type == 'sms')
    assert text.recipient.endswith('7700900982')
