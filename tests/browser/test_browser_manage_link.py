"""The manage link in every message, in Chromium, as a resident uses it (issue 14 items 2 and 5): it opens that
subscription at once, no sign-in, saying what it can and cannot do; every change works from it — back to 2 km, their
own quiet hours, pause, unsubscribe; the event page then says how far the news is from their postcode, as the email
did; anything else (another subscription, their data, the list) asks them to sign in; and once they have unsubscribed
the link says the updates have stopped. In English and in Welsh, every page checked by axe."""

from __future__ import annotations

import pytest

from subscriptions.manage.common import manage_path
from subscriptions.residents.signup import confirm_url
from tests.browser.support.browse import Browse
from tests.browser.support.journeys import STRETFORD, T, manage_from_message, pick, planning_event
from tests.browser.support.live import LiveServer
from tests.support.factories import make_resident, make_subscription

EMAIL = 'link.holder@example.com'
NEIGHBOUR = 'M32 9BA'  # about 620 m from M32 0AH
pytestmark = pytest.mark.timeout(150)


def change(resident: Browse, row: str, lang: str) -> None:
    resident.click_link(f'{T("common.change", lang)} {T(row, lang).lower()}')


def row_value(resident: Browse, field: str) -> str:
    return ' '.join(resident.page.locator(f'#value-{field}').inner_text().split())


@pytest.mark.parametrize('lang', ['en', 'cy'])
def test_the_manage_link_opens_that_subscription_for_every_change_and_nothing_else(
    resident: Browse, live: LiveServer, lang: str
) -> None:
    person = live.run(make_resident(live.pg, email=EMAIL, sms='07700 900 444', language=lang))
    near = live.run(make_subscription(live.pg, person, near=STRETFORD, radius_m=1000, topics=['planning']))
    bins = live.run(make_subscription(live.pg, person, kind='topic', topics=['bins'], channels=['email']))
    address = '12 Derbyshire Lane, Stretford'
    published = live.publish(planning_event(NEIGHBOUR, title='Rear extension', attributes={'address': address}))
    update = live.wait_for_messages(1, where=lambda m: m.recipient == EMAIL)[-1]
    far = 'about 620 m from M32 0AH' if lang == 'en' else 'tua 620 m o M32 0AH'
    assert f'{address} ({far})' in update.body, 'the email says how far from their postcode'

    manage_from_message(resident, update, near, lang)
    assert 'M32 0AH' in resident.heading() and '1 km' in resident.heading()
    resident.snap('opened-by-link')

    # the event page, now that this browser holds the link, says how far it is
    resident.follow(update.link(f'/e/{published["event_id"]}'))
    how_far = resident.page.locator('#how-far').inner_text()
    assert how_far == far[:1].upper() + far[1:]
    resident.accessible('the event page, with how far')
    resident.follow(update.link('/manage/s/'))

    # back to 2 km: the distances sign-up offers
    change(resident, 'manage.row.radius', lang)
    labels = resident.page.locator('.govuk-radios__label').all_inner_texts()
    assert [' '.join(label.split()) for label in labels] == [
        T('choices.radius.within', lang, distance=d) for d in ('100 m', '250 m', '500 m', '1 km', '2 km')
    ]
    resident.accessible('change how far, opened by the link')
    pick(resident, 'radius', '2000')
    resident.press(T('manage.change.save', lang))
    assert row_value(resident, 'radius') == T('choices.radius.within', lang, distance='2 km')
    assert live.fetchval('select radius_m from subscriptions where id = $1', near) == 2000

    # their own quiet hours, then shown as chosen
    change(resident, 'manage.row.quiet', lang)
    pick(resident, 'quiet', 'choose')
    resident.fill(T('signup.quiet.start', lang), '22:30')
    resident.fill(T('signup.quiet.end', lang), '7am')
    resident.press(T('manage.change.save', lang))
    assert row_value(resident, 'quiet-hours') == T('manage.quiet.between', lang, start='22:30', end='07:00')
    change(resident, 'manage.row.quiet', lang)
    assert resident.page.locator('input[name="quiet"][value="choose"]').is_checked()
    assert resident.page.locator('#quiet_start').input_value() == '22:30'
    assert resident.page.locator('#quiet_end').input_value() == '07:00'
    resident.accessible('your own quiet hours, as chosen')
    resident.page.go_back()

    # pause: the page says how they start again
    resident.follow(update.link('/manage/s/'))
    resident.press(T('manage.one.pause', lang))
    assert resident.page.locator('h2', has_text=T('manage.one.resume_heading', lang)).count() == 1
    assert T('manage.one.resume_body', lang) in ' '.join(resident.page.locator('main').inner_text().split())
    resident.accessible('paused')
    resident.press(T('manage.one.resume', lang))
    assert live.fetchval('select status from subscriptions where id = $1', near) == 'active'

    # nothing else of theirs: another subscription, their data, the list — each asks them to sign in
    for path in (f'/manage/subscriptions/{bins}', f'/manage/subscriptions/{bins}/change/frequency',
                 '/manage/your-data', '/manage/subscriptions'):  # fmt: skip
        resident.open(path, lang=lang)
        assert resident.heading() == T('manage.sign_in.title', lang), path
    resident.follow(update.link('/manage/s/'))
    resident.click_link(T('manage.by_link.see_all', lang))
    assert resident.heading() == T('manage.sign_in.title', lang)

    # unsubscribe: back on the page the link opened, which says so; the link then says the updates have stopped
    resident.follow(update.link('/manage/s/'))
    resident.click_link(T('manage.one.unsubscribe', lang))
    resident.press(T('manage.unsubscribe_one.button', lang))
    assert resident.path == f'/manage/subscriptions/{near}'
    assert resident.page.locator('#value-status').inner_text() == T('manage.status.ended', lang)
    resident.accessible('unsubscribed by the link')
    response = resident.follow(update.link('/manage/s/'))
    assert response is not None and response.status == 410
    assert resident.heading() == T('manage.link_ended.title', lang)
    resident.accessible('a manage link whose updates have stopped')
    assert live.fetchval('select status from subscriptions where id = $1', bins) == 'active'


def test_a_garbled_manage_link_is_page_not_found(resident: Browse, live: LiveServer) -> None:
    person = live.run(make_resident(live.pg, email=EMAIL))
    sub = live.run(make_subscription(live.pg, person, kind='topic', topics=['planning']))
    response = resident.open(f'/manage/s/{sub}.AAAAAAAAAAAAAAAAAAAAAA')
    assert response is not None and response.status == 404
    assert resident.heading() == T('errors.not_found.title')
    resident.accessible('a forged manage link')


def test_a_resident_who_chose_2_km_and_their_own_quiet_hours_finds_them_on_manage(
    resident: Browse, live: LiveServer
) -> None:
    resident.open('/near')
    resident.fill(T('near.postcode.title'), STRETFORD)
    resident.press(T('common.continue'))
    pick(resident, 'radius', '2000')
    resident.press(T('common.continue'))
    pick(resident, 'topics', 'planning')
    resident.press(T('common.continue'))
    pick(resident, 'frequency', 'immediate')
    resident.press(T('common.continue'))
    pick(resident, 'channel', 'both')
    resident.press(T('common.continue'))
    resident.fill(T('signup.contact.title_email'), EMAIL)
    resident.fill(T('signup.contact.title_mobile'), '07700 900 555')
    resident.press(T('common.continue'))
    assert resident.heading() == T('signup.quiet.title')
    pick(resident, 'quiet', 'choose')
    resident.fill(T('signup.quiet.start'), 'teatime')
    resident.fill(T('signup.quiet.end'), '25:00')
    resident.press(T('common.continue'))
    assert resident.error_messages() == [T('signup.error.quiet_start_words'), T('signup.error.quiet_end_range')]
    resident.accessible('quiet hours that are not times')
    resident.fill(T('signup.quiet.start'), '22:30')
    resident.fill(T('signup.quiet.end'), '07:00')
    resident.press(T('common.continue'))
    rows = ' '.join(resident.page.locator('.govuk-summary-list').inner_text().split())
    assert T('choices.radius.within', distance='2 km') in rows and 'M32 0AH' in rows
    resident.press(T('signup.check.submit'))
    (confirmation,) = live.wait_for_messages(1, where=lambda m: m.recipient == EMAIL)
    assert 'planning applications within 2 km of M32 0AH' in confirmation.body, 'messages say km, as pages do'
    resident.follow(confirmation.link('/confirm/'))
    resident.press(T('links.confirm.button'))

    # a used confirm link says it is confirmed, not the button again
    resident.follow(confirmation.link('/confirm/'))
    assert resident.heading() == T('links.confirmed.already_title')
    resident.accessible('a used confirm link')

    live.publish(planning_event(NEIGHBOUR, title='Side extension'))
    update = live.wait_for_messages(2, where=lambda m: m.recipient == EMAIL)[-1]
    subscription = live.fetchval("select id from subscriptions where kind = 'near'")
    manage_from_message(resident, update, subscription)
    assert row_value(resident, 'radius') == T('choices.radius.within', distance='2 km')
    assert row_value(resident, 'quiet-hours') == T('manage.quiet.between', start='22:30', end='07:00')
    change(resident, 'manage.row.radius', 'en')
    assert resident.page.locator('input[name="radius"][value="2000"]').is_checked()
    pick(resident, 'radius', '1000')
    resident.press(T('manage.change.save'))
    assert row_value(resident, 'radius') == T('choices.radius.within', distance='1 km')
    change(resident, 'manage.row.radius', 'en')
    pick(resident, 'radius', '2000')  # and back again
    resident.press(T('manage.change.save'))
    assert live.fetchval('select radius_m from subscriptions where id = $1', subscription) == 2000
    change(resident, 'manage.row.quiet', 'en')
    assert resident.page.locator('input[name="quiet"][value="choose"]').is_checked()
    assert resident.page.locator('#quiet_start').input_value() == '22:30'
    resident.accessible('quiet hours on manage, as chosen at sign-up')


@pytest.mark.parametrize('lang', ['en', 'cy'])
def test_times_that_are_not_times_and_a_used_confirm_link_say_so_accessibly(
    resident: Browse, live: LiveServer, lang: str
) -> None:
    person = live.run(make_resident(live.pg, email=EMAIL, sms='07700 900 666', language=lang, verified=False))
    sub = live.run(make_subscription(live.pg, person, near=STRETFORD, radius_m=500, status='pending'))
    resident.open(confirm_url(live.settings, sub).removeprefix(live.base_url), lang=lang)
    resident.press(T('links.confirm.button', lang))
    resident.open(confirm_url(live.settings, sub).removeprefix(live.base_url), lang=lang)
    assert resident.heading() == T('links.confirmed.already_title', lang)
    assert resident.page.locator('main form').count() == 0, 'no confirm button again'
    resident.accessible('a used confirm link')

    resident.open(manage_path(live.settings.link_secrets[0], sub), lang=lang)
    change(resident, 'manage.row.quiet', lang)
    pick(resident, 'quiet', 'choose')
    resident.fill(T('signup.quiet.start', lang), 'teatime')
    resident.fill(T('signup.quiet.end', lang), '25:00')
    resident.press(T('manage.change.save', lang))
    assert resident.error_messages() == [
        T('signup.error.quiet_start_words', lang),
        T('signup.error.quiet_end_range', lang),
    ]
    resident.accessible('quiet hours that are not times')
