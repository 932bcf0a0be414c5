"""Every page, in English and in Welsh, passes axe-core's WCAG 2.0/2.1/2.2 A and AA checks in Chromium."""

from __future__ import annotations

import pytest

from tests.browser.support.chromium import MISSING

if MISSING:
    pytest.skip(MISSING, allow_module_level=True)

from tests.browser.support.axe import check_accessibility  # noqa: E402
from tests.browser.support.browse import Browse  # noqa: E402

INFORMATION_PAGES = {
    '/': ('Get updates from your council', 'Cael diweddariadau gan eich cyngor'),
    '/privacy': ('Privacy notice', 'Hysbysiad preifatrwydd'),
    '/cookies': ('Cookies', 'Cwcis'),
    '/accessibility': ('Accessibility statement for Tell Me', 'Datganiad hygyrchedd ar gyfer Tell Me'),
    '/contact': ('Contact us', 'Cysylltu â ni'),
}


@pytest.mark.parametrize('lang', ['en', 'cy'])
def test_the_information_pages_have_no_accessibility_violations(resident: Browse, lang: str) -> None:
    for path, headings in INFORMATION_PAGES.items():
        response = resident.open(path, lang=lang)
        assert response is not None and response.status == 200
        assert resident.heading() == headings[0 if lang == 'en' else 1]
        resident.accessible()


@pytest.mark.parametrize('lang', ['en', 'cy'])
def test_a_missing_page_is_accessible(resident: Browse, lang: str) -> None:
    response = resident.open('/no-such-page', lang=lang)
    assert response is not None and response.status == 404
    resident.accessible()


def test_the_check_reports_a_violation_readably(resident: Browse) -> None:
    resident.open('/')
    resident.page.evaluate("document.querySelector('a[href=\"/near\"]').textContent = ''")  # a link with no name
    with pytest.raises(pytest.fail.Exception) as failed:
        check_accessibility(resident.page)
    report = str(failed.value)
    assert 'link-name (serious): Links must have discernible text' in report
    assert 'at a[href$="near"]' in report, report


def test_an_inline_script_breaking_the_policy_is_caught(resident: Browse, page_problems: list[str]) -> None:
    resident.open('/')
    resident.page.evaluate("document.body.append(Object.assign(document.createElement('script'), {textContent: '1'}))")
    resident.page.wait_for_timeout(200)
    assert any('Content Security Policy' in problem for problem in page_problems), page_problems
    page_problems.clear()  # seen: the page fixture would otherwise fail the test for it


def test_the_staff_sign_in_page_and_its_error_state_are_accessible(resident: Browse) -> None:
    response = resident.open('/staff/sign-in')
    assert response is not None and response.status == 200
    resident.accessible('staff sign-in')
    resident.press('Sign in')
    assert resident.error_summary(), 'signing in with nothing typed says what is missing'
    resident.accessible('staff sign-in with nothing typed')
