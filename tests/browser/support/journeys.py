"""Pieces the journey tests share: the page strings residents read, events a council system publishes, and the
sign-up steps every journey ends with (channel, contact details, check your answers)."""

from __future__ import annotations

import itertools
import urllib.request
from datetime import UTC, datetime
from typing import Any

from notifier.web.rendering import translate
from tests.browser.support.browse import Browse
from tests.browser.support.live import LiveServer, Message
from tests.support.factories import place

STRETFORD = 'M32 0AH'
_serial = itertools.count(1)


def T(key: str, lang: str = 'en', **values: Any) -> str:  # noqa: N802 - reads like the templates' t()
    """A page string as a resident sees it (templates/page_strings.json)."""
    return translate(lang, key, **values)


def planning_event(postcode: str = STRETFORD, title: str = 'Two-storey side extension', **extra: Any) -> dict[str, Any]:
    """A new planning application at `postcode`, as a council planning system posts it to /api/events."""
    here = place(postcode)
    return {
        'source': 'trafford-planning',
        'external_key': f'{113000 + next(_serial)}/HHA/26',
        'kind': 'planning.new',
        'topic': 'planning',
        'title': title,
        'summary': 'Erection of a two-storey side extension and a dropped kerb.',
        'lat': here.lat,
        'lng': here.lng,
        'area_codes': [here.ward_code, here.district_code],
        'url': 'https://publicaccess.trafford.gov.uk/online-applications/113447',
        'occurred_at': datetime.now(UTC).isoformat(),
    } | extra


def pick(resident: Browse, name: str, value: str) -> None:
    """Select the radio or checkbox `name` with `value` by clicking its label, as a person would."""
    control = resident.page.locator(f'input[name="{name}"][value="{value}"]')
    resident.page.locator(f'label[for="{control.get_attribute("id")}"]').click()
    assert control.is_checked()


def sign_up_by_email(resident: Browse, email: str, lang: str = 'en') -> None:
    """From "How would you like to get updates?" to "We've sent you a link", by email."""
    assert resident.heading() == T('signup.channel.title', lang)
    pick(resident, 'channel', 'email')
    resident.press(T('common.continue', lang))
    assert resident.heading() == T('signup.contact.title_email', lang)
    resident.fill(T('signup.contact.title_email', lang), email)
    resident.press(T('common.continue', lang))
    assert resident.heading() == T('signup.check.title', lang)
    resident.accessible('check your answers')
    resident.press(T('signup.check.submit', lang))
    assert resident.heading() == T('signup.sent.title', lang)
    assert resident.page.locator('#sent-to').inner_text() == email
    resident.accessible("we've sent you a link")


def near_steps(resident: Browse, postcode: str = STRETFORD, lang: str = 'en', frequency: str = 'immediate') -> None:
    """Start page → postcode (with its error state first) → distance → topics → how often."""
    resident.open('/', lang=lang)
    resident.click_link(T('start.near_link', lang))
    assert resident.heading() == T('near.postcode.title', lang)
    resident.accessible('postcode')
    resident.press(T('common.continue', lang))  # nothing typed
    assert resident.error_summary() == [T('near.error.postcode_missing', lang)]
    assert resident.error_messages() == [T('near.error.postcode_missing', lang)]
    assert resident.page.title().startswith(T('common.error_prefix', lang))
    resident.accessible('postcode error')
    resident.fill(T('near.postcode.title', lang), postcode.lower().replace(' ', ''))
    resident.press(T('common.continue', lang))
    near_choices(resident, lang, frequency)


def near_choices(resident: Browse, lang: str = 'en', frequency: str = 'immediate') -> None:
    """From "How far from your postcode?" to how often, each page checked by axe."""
    assert resident.heading() == T('near.radius.title', lang)
    resident.accessible('distance')
    pick(resident, 'radius', '500')
    resident.press(T('common.continue', lang))
    assert resident.heading() == T('near.topics.title', lang)
    resident.accessible('topics')
    pick(resident, 'topics', 'planning')
    resident.press(T('common.continue', lang))
    assert resident.heading() == T('near.frequency.title', lang)
    resident.accessible('how often')
    pick(resident, 'frequency', frequency)
    resident.press(T('common.continue', lang))


def confirm_from_email(resident: Browse, live: LiveServer, email: str, lang: str = 'en') -> None:
    (message,) = live.wait_for_messages(1, where=lambda m: m.recipient == email)
    resident.follow(message.link('/confirm/'))
    resident.accessible('confirm')
    resident.press(T('links.confirm.button', lang))
    assert T('links.confirmed.title', lang) in resident.heading()
    resident.accessible('confirmed')


def one_click_unsubscribe(live: LiveServer, message: Message) -> int:
    """What a mail client does with Notify's one-click header (RFC 8058): a POST, no cookies, no page."""
    assert message.one_click_unsubscribe_url, 'every update by email carries a one-click unsubscribe URL'
    request = urllib.request.Request(
        message.one_click_unsubscribe_url, data=b'List-Unsubscribe=One-Click', method='POST'
    )
    request.add_header('Content-Type', 'application/x-www-form-urlencoded')
    with live.open(request) as response:
        return response.status


def manage_from_message(resident: Browse, update: Message, subscription: int, lang: str = 'en') -> None:
    """Follow the manage link in `update`: it opens `subscription` for changes at once, no sign-in, and says what it
    can and cannot do."""
    resident.follow(update.link('/manage/s/'))
    assert resident.path == f'/manage/subscriptions/{subscription}'
    panel = resident.page.locator('#opened-by-link')
    assert T('manage.by_link.can', lang) in ' '.join(panel.inner_text().split())
    assert resident.page.get_by_role('link', name=T('manage.by_link.see_all', lang)).get_attribute('href') == '/manage'
    resident.accessible('a subscription opened by its manage link')


def sign_in_by_email(resident: Browse, live: LiveServer, email: str, lang: str = 'en') -> None:
    """Manage your updates: ask for a sign-in link, open it from the email, press Sign in."""
    resident.open('/manage', lang=lang)
    resident.fill(T('manage.sign_in.title', lang), email)
    sent = len(live.messages(to=email))
    resident.press(T('common.continue', lang))
    message = live.wait_for_messages(sent + 1, where=lambda m: m.recipient == email)[-1]
    resident.follow(message.link('/manage/sign-in/'))
    resident.press(T('manage.link.button', lang))


def change_frequency(resident: Browse, live: LiveServer, frequency: str) -> None:
    """On a subscription's page: Change how often → choose → Save, and the page (and the database) show it."""
    resident.click_link(f'{T("common.change")} {T("manage.row.frequency").lower()}')
    assert resident.heading() == T('manage.change.frequency.legend')
    resident.accessible('change how often')
    pick(resident, 'frequency', frequency)
    resident.press(T('manage.change.save'))
    assert resident.page.locator('#value-frequency').inner_text() == T(f'manage.frequency.{frequency}')
    assert T('manage.flash.changed') in resident.page.locator('.govuk-notification-banner').inner_text()
    subscription = int(resident.path.rsplit('/', 1)[1])
    assert live.fetchval('select frequency from subscriptions where id = $1', subscription) == frequency
