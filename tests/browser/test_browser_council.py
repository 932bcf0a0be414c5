"""The council's own words in Chromium, in English and Welsh: its logo (with its name as the alt text), its privacy
notice from its own file, our accessibility statement template and the contact page from its settings, linked from
every page's footer; and a postcode outside its districts told so, with a way on only when it is near the border.
axe-core finds nothing on any of them. `make screenshots` keeps them in docs/screenshots/ (18- to 23-)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.support.browse import Browse, keep
from tests.browser.support.journeys import T
from tests.browser.support.live import COUNCIL, LiveServer

FIXTURES = Path(__file__).resolve().parents[1] / 'fixtures' / 'council'
NAMES = {'en': COUNCIL, 'cy': 'Cyngor Sir Testshire'}
WEBSITES = {'en': 'https://www.testshire.gov.uk', 'cy': 'https://www.testshire.gov.uk/cy'}
CONTACT = (
    'Phone: [01632 960 000](tel:01632960000)\\nEmail: [contact@testshire.gov.uk](mailto:contact@testshire.gov.uk)'
    '\\nCounty Hall, Testford TS1 1AA'
)
# Trafford's district (the sample postcodes are Trafford's); Manchester's M1 1AA is far from it, M5 9ZZ (made up,
# in Salford) 670 m from Stretford's M32 0AH
OUTSIDE = [('M1 1AA', 53.4808, -2.2374, 'E08000003'), ('M5 9ZZ', 53.457258, -2.310003, 'E08000006')]
pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.settings(
        council_name_cy=NAMES['cy'], council_url_cy=WEBSITES['cy'], council_logo=str(FIXTURES / 'logo.svg'),
        council_pages_dir=str(FIXTURES / 'pages'), council_contact=CONTACT, council_districts='E08000009',
    ),
]  # fmt: skip
SUFFIX = {'en': '', 'cy': '-welsh'}


def test_the_councils_words_are_on_every_page_in_english_and_welsh(resident: Browse) -> None:
    for lang in ('en', 'cy'):
        resident.open('/', lang=lang)
        logo = resident.page.locator('.govuk-generic-header__homepage-link img')
        assert logo.get_attribute('alt') == NAMES[lang]
        assert resident.page.evaluate("document.querySelector('.tellme-council-logo').naturalWidth") > 0, 'it loaded'
        footer = resident.page.locator('.govuk-footer__link')
        links = [T(f'footer.{key}', lang) for key in ('privacy', 'cookies', 'accessibility', 'contact')]
        assert footer.all_inner_texts() == [*links, NAMES[lang]]
        assert footer.last.get_attribute('href') == WEBSITES[lang]
        resident.accessible(f'start page ({lang})')
        keep(resident, 'desktop', f'18-start-with-the-councils-logo{SUFFIX[lang]}')

        resident.click_link(T('footer.privacy', lang))
        title = {'en': f'How {COUNCIL} uses your data in Tell Me',
                 'cy': f'Sut mae {NAMES["cy"]} yn defnyddio eich data yn Tell Me'}  # fmt: skip
        assert resident.heading() == title[lang]
        assert resident.page.get_by_role('link', name='dpo@testshire.gov.uk').get_attribute('href') == (
            'mailto:dpo@testshire.gov.uk'
        )
        resident.accessible(f"the council's privacy notice ({lang})")
        keep(resident, 'desktop', f'19-privacy-notice{SUFFIX[lang]}')

        resident.click_link(T('footer.accessibility', lang))
        assert resident.heading() == {'en': 'Accessibility statement for Tell Me',
                                      'cy': 'Datganiad hygyrchedd ar gyfer Tell Me'}[lang]  # fmt: skip
        assert resident.page.get_by_text({'en': '[To complete:', 'cy': '[I’w gwblhau:'}[lang]).count() == 4
        resident.accessible(f'the shipped accessibility statement ({lang})')
        keep(resident, 'desktop', f'20-accessibility-statement-template{SUFFIX[lang]}')

        resident.click_link(T('footer.contact', lang))
        assert resident.heading() == T('contact.title', lang)
        assert resident.page.get_by_role('link', name='01632 960 000').get_attribute('href') == 'tel:01632960000'
        assert 'County Hall, Testford TS1 1AA' in resident.page.locator('#contact-details').inner_text()
        resident.accessible(f'the contact page ({lang})')
        keep(resident, 'desktop', f'21-contact{SUFFIX[lang]}')


@pytest.mark.parametrize('lang', ['en', 'cy'])
def test_a_postcode_outside_the_area_is_told_so(resident: Browse, live: LiveServer, lang: str) -> None:
    live.run(live.pg.executemany(
        'insert into postcodes (postcode, lat, lng, eastings, northings, positional_quality, district_code)'
        ' values ($1, $2, $3, 380000, 400000, 10, $4)', OUTSIDE,
    ))  # fmt: skip
    resident.open('/near', lang=lang)
    resident.fill(T('near.postcode.title', lang), 'm1 1aa')
    resident.press(T('common.continue', lang))
    assert resident.heading() == T('near.outside.title', lang, postcode='M1 1AA', council=NAMES[lang])
    assert resident.page.get_by_text(T('near.outside.only_ours', lang)).is_visible()
    assert resident.page.get_by_role('button').count() == 0, 'too far from the area to go on with it'
    resident.accessible(f'a postcode far outside the area ({lang})')
    keep(resident, 'desktop', f'22-outside-the-area{SUFFIX[lang]}')

    resident.click_link(T('near.outside.other', lang))
    assert resident.path == '/near'
    assert resident.page.get_by_label(T('near.postcode.title', lang)).input_value() == 'M1 1AA'
    resident.fill(T('near.postcode.title', lang), 'M5 9ZZ')
    resident.press(T('common.continue', lang))
    assert resident.heading() == T('near.outside.title', lang, postcode='M5 9ZZ', council=NAMES[lang])
    resident.accessible(f'a postcode just over the border ({lang})')
    keep(resident, 'desktop', f'23-outside-the-area-near-the-border{SUFFIX[lang]}')
    resident.press(T('near.outside.continue', lang, postcode='M5 9ZZ'))
    assert resident.heading() == T('near.radius.title', lang)
