"""The frame every resident page shares: GOV.UK Frontend served by us, a strict CSP, English and Welsh, kind
error pages, and forms that another website cannot submit."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from notifier.web.rendering import PAGES, strings

SECRET = 'pages-foundation-secret'
pytestmark = pytest.mark.settings(secret_key=SECRET, council_name='Testshire')  # for the `client` fixture


async def test_the_start_page_uses_gov_uk_frontend_from_our_own_server(client: Any) -> None:
    response = await client.get('/')
    html = await response.text()
    assert response.status == 200
    assert '<html lang="en" class="govuk-template">' in html
    assert 'Get updates from your council' in html and 'Testshire' in html
    css = re.search(r'<link rel="stylesheet" href="(/static/[^"]+govuk-frontend\.min\.css)">', html)
    assert css, 'the page links GOV.UK Frontend from our own /static/'
    served = await client.get(css.group(1))
    assert served.status == 200 and '.govuk-button' in await served.text()
    assert (await client.get('/static/tellme.js')).status == 200


async def test_the_only_inline_script_runs_by_this_responses_nonce(client: Any) -> None:
    first, second = await client.get('/'), await client.get('/')
    policy = first.headers['Content-Security-Policy']
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert "script-src 'self' 'nonce-" in policy and "style-src 'self'" in policy and 'unsafe' not in policy
    inline = re.findall(r'<script( nonce="[^"]*")?>', await first.text())
    assert inline == [f' nonce="{nonce}"'], 'exactly one inline script, carrying the nonce'
    assert nonce not in second.headers['Content-Security-Policy'], 'a fresh nonce per response'


async def test_the_language_switch_shows_welsh_and_remembers_it(client: Any) -> None:
    welsh = await client.get('/?lang=cy')
    html = await welsh.text()
    assert '<html lang="cy"' in html and 'Cael diweddariadau gan eich cyngor' in html
    assert welsh.cookies['tellme_lang'].value == 'cy'
    again = await client.get('/privacy')
    assert 'Hysbysiad preifatrwydd' in await again.text(), 'the choice is remembered on the next page'
    back = await client.get('/privacy?lang=en')
    assert 'Privacy notice' in await back.text()


async def test_a_browser_asking_for_welsh_gets_welsh(client: Any) -> None:
    response = await client.get('/cookies', headers={'Accept-Language': 'cy-GB,cy;q=0.9,en;q=0.5'})
    assert '<html lang="cy"' in await response.text()


async def test_a_missing_page_is_a_gov_uk_page_not_a_bare_error(client: Any) -> None:
    response = await client.get('/no-such-page')
    html = await response.text()
    assert response.status == 404
    assert 'Page not found' in html and 'govuk-template' in html


async def test_the_api_keeps_answering_in_json(client: Any) -> None:
    response = await client.get('/api/no-such-thing')
    assert response.status == 404
    assert 'govuk-template' not in await response.text()


def test_every_page_string_used_exists_in_english_and_welsh() -> None:
    used = set()
    for template in Path(PAGES).rglob('*.html'):
        used |= set(re.findall(r"""\bt\(\s*['"]([a-z0-9_.\-]+)['"]""", template.read_text()))
    catalogue = strings()
    assert used, 'the templates use the catalogue'
    missing = sorted(key for key in used if key not in catalogue)
    assert not missing, f'page strings used but not defined: {missing}'
    untranslated = sorted(key for key, entry in catalogue.items() if not entry.get('en') or not entry.get('cy'))
    assert not untranslated, f'page strings without both English and Welsh: {untranslated}'
