"""Managing updates, and the ways a resident can go wrong, pass axe in English and in Welsh: every signed-in page,
every "are you sure?" page, the error states of sign-in and the pages for a link that no longer works."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.browser.support.browse import Browse
from tests.browser.support.journeys import STRETFORD, T, sign_in_by_email
from tests.browser.support.live import LiveServer
from tests.support.factories import make_resident, make_subscription

EMAIL = 'manager@example.com'
CHANGES = ('frequency', 'radius', 'topics', 'channels', 'quiet-hours')


@pytest.mark.parametrize('lang', ['en', 'cy'])
def test_every_signed_in_page_has_no_accessibility_violations(resident: Browse, live: LiveServer, lang: str) -> None:
    person = live.run(make_resident(live.pg, email=EMAIL, sms=True, language=lang))
    near = live.run(make_subscription(live.pg, person, near=STRETFORD, radius_m=400, topics=['planning']))
    live.run(make_subscription(live.pg, person, kind='address', uprn='100012345678', topics=['bins'],
                               remind_at='evening-before'))  # fmt: skip
    sign_in_by_email(resident, live, EMAIL, lang)
    assert resident.path == '/manage/subscriptions'
    assert len(resident.page.locator('.govuk-summary-card').all()) == 2
    resident.accessible('your subscriptions')
    pages = [f'/manage/subscriptions/{near}', *[f'/manage/subscriptions/{near}/change/{name}' for name in CHANGES],
             f'/manage/subscriptions/{near}/unsubscribe', '/manage/unsubscribe-all', '/manage/your-data',
             '/manage/your-data/delete']  # fmt: skip
    for path in pages:
        response = resident.open(path, lang=lang)
        assert response is not None and response.status == 200, path
        assert resident.page.evaluate('document.documentElement.lang') == lang
        resident.accessible()
    resident.press(T('nav.sign_out', lang))  # the menu's button: signing out is a POST
    assert resident.heading() == T('manage.signed_out.title', lang)
    resident.accessible('signed out')


@pytest.mark.parametrize('lang', ['en', 'cy'])
def test_sign_in_mistakes_and_the_limit_are_explained_accessibly(resident: Browse, lang: str) -> None:
    resident.open('/manage', lang=lang)
    resident.accessible('sign in')
    resident.press(T('common.continue', lang))
    assert resident.error_summary() == [T('manage.sign_in.error_empty', lang)]
    resident.accessible('sign in with nothing typed')
    resident.fill(T('manage.sign_in.title', lang), 'name@example')
    resident.press(T('common.continue', lang))
    assert resident.error_messages() == [T('manage.sign_in.error_email', lang)]
    assert resident.page.get_by_label(T('manage.sign_in.title', lang)).input_value() == 'name@example'
    resident.accessible('sign in with a broken email address')
    for _ in range(5):  # GOV.UK's limit is 4 a minute for an address
        resident.open('/manage', lang=lang)
        resident.fill(T('manage.sign_in.title', lang), 'someone@example.com')
        resident.press(T('common.continue', lang))
    assert resident.error_summary() == [T('manage.sign_in.error_too_many', lang)]
    resident.accessible('too many sign-in messages')


@pytest.mark.parametrize('lang', ['en', 'cy'])
def test_links_that_no_longer_work_get_accessible_pages(resident: Browse, lang: str) -> None:
    for path in ('/confirm/1.AAAAAAAAAAAAAAAAAAAAAA', '/unsubscribe/1.AAAAAAAAAAAAAAAAAAAAAA', '/e/999999'):
        response = resident.open(path, lang=lang)
        assert response is not None and response.status == 404, path
        resident.accessible()
    resident.open('/manage/sign-in/not-a-real-token', lang=lang)
    resident.press(T('manage.link.button', lang))
    assert resident.heading() == T('manage.link_broken.title', lang)
    resident.accessible('a used sign-in link')


@pytest.mark.parametrize('lang', ['en', 'cy'])
def test_a_form_that_has_expired_says_so_accessibly(resident: Browse, lang: str) -> None:
    resident.open('/near', lang=lang)
    resident.fill(T('near.postcode.title', lang), STRETFORD)
    resident.page.context.clear_cookies()  # the browser lost its cookies, as after a long break
    resident.page.context.add_cookies([{'name': 'tellme_lang', 'value': lang, 'url': resident.live.base_url}])
    resident.press(T('common.continue', lang))
    assert resident.heading() == T('errors.csrf.title', lang)
    assert resident.page.evaluate('document.documentElement.lang') == lang
    resident.accessible('the form has expired')


def test_a_resident_downloads_their_data_then_deletes_it(resident: Browse, live: LiveServer) -> None:
    person = live.run(make_resident(live.pg, email=EMAIL))
    live.run(make_subscription(live.pg, person, near=STRETFORD, radius_m=400, topics=['planning']))
    sign_in_by_email(resident, live, EMAIL)
    resident.click_link(T('manage.list.your_data'))
    assert resident.heading() == T('data.title')
    with resident.page.expect_download() as download:
        resident.page.get_by_role('link', name=T('data.download_link')).click()
    saved = json.loads(Path(download.value.path()).read_text(encoding='utf-8'))
    assert EMAIL in json.dumps(saved), 'the download holds what we keep, starting with the address'
    resident.press(T('data.delete_link'))  # a link that looks and is announced as a button
    assert resident.heading() == T('data.delete.title')
    resident.press(T('data.delete.button'))
    assert resident.heading() == T('data.deleted.title')
    resident.accessible('your data has been deleted')
    assert live.fetchval('select count(*) from residents') == 0
    assert live.fetchval('select count(*) from contact_points') == 0


@pytest.mark.parametrize('lang', ['en', 'cy'])
def test_signing_in_with_a_text_code_explains_a_wrong_code(resident: Browse, live: LiveServer, lang: str) -> None:
    person = live.run(make_resident(live.pg, email=False, sms='07700 900 123', language=lang))
    live.run(make_subscription(live.pg, person, near=STRETFORD, radius_m=400, quiet_hours=None))
    resident.open('/manage', lang=lang)
    resident.fill(T('manage.sign_in.title', lang), '07700 900 123')
    resident.press(T('common.continue', lang))
    assert resident.heading() == T('manage.code.title', lang)
    resident.accessible('enter the code')
    (text,) = live.wait_for_messages(1, where=lambda m: m.type == 'sms')
    code = re.search(r'\b(\d{6})\b', text.body).group(1)
    resident.fill(T('manage.code.label', lang), '12345')
    resident.press(T('manage.code.button', lang))
    assert resident.error_messages() == [T('manage.code.error_format', lang)]
    resident.accessible('a code too short')
    resident.fill(T('manage.code.label', lang), f'{(int(code) + 1) % 1_000_000:06d}')
    resident.press(T('manage.code.button', lang))
    assert resident.error_messages() == [T('manage.code.error_wrong', lang)]
    resident.accessible('a wrong code')
    resident.fill(T('manage.code.label', lang), code)
    resident.press(T('manage.code.button', lang))
    assert resident.path.startswith('/manage/subscriptions')
