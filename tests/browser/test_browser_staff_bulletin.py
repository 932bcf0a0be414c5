"""A comms officer in Chromium composes a bulletin for a ward, checks what people will get (the rendered email and
text, who gets it, what it costs) and, because it reaches more people than the approval threshold, asks for
approval — after choosing when it should go, since nothing is chosen for them. The approver, whose account already
exists, is emailed (read from the Notify simulator), follows the link, signs in in a browser of their own and sends
it back with a reason; the author is emailed too, reads the reason on the bulletin's page and its change form,
changes it and asks again; the approver, emailed again, approves it. The comms officer follows the progress page
(its Refresh link) until every message is delivered: it reads Sent, with nothing left to pause or cancel, and the
delivery report lists each message. The residents in the ward get it through Notify once; a resident elsewhere does
not. Every staff page on the way passes axe (WCAG 2.2 A and AA), and the new pages are kept for docs/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from templates.personalisation import mask_address
from tests.browser.support.browse import Browse, keep
from tests.browser.support.journeys import pick
from tests.browser.support.live import LiveServer, Message
from tests.browser.support.staff_support import (
    another_person,
    new_member_of_staff,
    reload_until,
    set_password,
    staff_account,
    text,
)
from tests.support.factories import Resident, make_resident, make_subscription
from tests.support.staff import PASSWORD

SALE_WARD = 'E05015254'  # M33 3BR, M33 7XF, M33 7XX, M33 7YE, M33 7YF in the sample postcodes
TITLE = 'Water supply off in Sale'
MESSAGE = 'Water is off in Sale until 6pm today while a burst main is repaired. Bottled water is at the leisure centre.'
CHANGED = 'Water is off in Sale until 6pm on Tuesday while a burst main is repaired.'
REASON = 'The water company says the main is repaired on Tuesday, not today. Please change the day.'
COMMS = 'comms@council.example'
APPROVER = 'approver@council.example'
pytestmark = pytest.mark.timeout(120)


@pytest.fixture(autouse=True)
def approval_for_everything(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The live service reads TELLME_APPROVAL_THRESHOLD when it starts (before `live`: autouse fixtures come first):
    0 means any bulletin that reaches someone needs a second person, so three residents are enough to show it."""
    monkeypatch.setenv('TELLME_APPROVAL_THRESHOLD', '0')
    yield


def residents(live: LiveServer) -> tuple[list[Resident], Resident]:
    """Two residents in Sale ward (one by email and text, near a postcode, with no quiet hours for texts, so the
    test does not depend on the time of day; one by email, the ward itself) and one in Stretford, 3 km away."""

    async def make() -> tuple[list[Resident], Resident]:
        near = await make_resident(live.pg, sms=True)
        await make_subscription(live.pg, near, near='M33 7XF', radius_m=100, topics=['bulletins'], quiet_hours=None)
        ward = await make_resident(live.pg)
        await make_subscription(live.pg, ward, kind='area', area_codes=[SALE_WARD])
        elsewhere = await make_resident(live.pg)
        await make_subscription(live.pg, elsewhere, near='M32 0AH', radius_m=100)
        return [near, ward], elsewhere

    return live.run(make())


def compose(comms: Browse) -> None:
    comms.press('New bulletin')  # a link styled, and announced, as a button
    assert comms.heading() == 'New bulletin'
    comms.accessible('new bulletin')
    comms.press('Continue')  # nothing filled in: each question says what to do
    assert comms.page.title().startswith('Error:') and len(comms.error_summary()) >= 3
    assert comms.error_summary() == comms.error_messages(), 'each message is beside its question too'
    comms.accessible('new bulletin with errors')
    comms.fill('Title', TITLE, exact=True)
    comms.page.locator('#message').fill(MESSAGE)
    tick_only(comms, 'topics', {'*'})  # everyone in the area, whatever topics they chose
    pick(comms, 'area', 'wards')  # reveals the ward question
    comms.fill('Wards', SALE_WARD, exact=True)
    tick_only(comms, 'channels', {'email', 'sms'})
    pick(comms, 'urgency', 'normal')
    comms.press('Continue')


def tick_only(person: Browse, name: str, values: set[str]) -> None:
    """Tick these checkboxes and untick the others, by clicking their labels as a person would."""
    boxes = person.page.locator(f'input[type="checkbox"][name="{name}"]')
    for n in range(boxes.count()):
        box = boxes.nth(n)
        if box.is_checked() != (box.get_attribute('value') in values):
            person.page.locator(f'label[for="{box.get_attribute("id")}"]').click()
        assert box.is_checked() == (box.get_attribute('value') in values)


def check_before_sending(comms: Browse) -> None:
    """The bulletin's page: the messages as Notify will render them, the audience and the cost."""
    assert comms.heading() == TITLE and text(comms, '#status') == 'Draft'
    email, sms = text(comms, '#preview-email'), text(comms, '#preview-sms')
    subject = text(comms, '#preview-email p')  # e.g. "Subject: Council news: Water supply off in Sale"
    assert subject.startswith('Subject: ') and subject.endswith(TITLE) and MESSAGE in email
    assert TITLE in sms and MESSAGE[:40] in sms
    assert (text(comms, '#audience-email'), text(comms, '#audience-sms'), text(comms, '#audience-people')) == (
        '2', '1', '2',
    )  # fmt: skip
    assert text(comms, '#cost-texts').startswith('1 texts, ') and text(comms, '#cost-emails') == '2 emails, free'
    assert 'Wards: ' + SALE_WARD in text(comms, '.govuk-summary-list')
    comms.accessible('the bulletin, before sending')


def ask_for_approval(comms: Browse, first: bool) -> None:
    """Nothing is chosen for them: asking without saying when is an error; then now."""
    assert comms.page.get_by_role('button', name='Send bulletin', exact=True).count() == 0
    radios = comms.page.locator('input[name="when"]')
    assert radios.count() == 2 and not any(radios.nth(n).is_checked() for n in range(2)), 'not one click away'
    if first:
        comms.press('Ask for approval')
        assert comms.error_summary() == ['Select when the bulletin should go'] == comms.error_messages()
        comms.accessible('the bulletin, when not chosen')
        comms.page.get_by_role('link', name='Select when the bulletin should go').click()  # to the question
        assert comms.page.evaluate('document.activeElement.id') == 'when'
        keep(comms, 'desktop', '10-bulletin-when-not-chosen')
    pick(comms, 'when', 'now')
    comms.press('Ask for approval')  # it reaches 2 people, over the threshold of 0
    assert text(comms, '#status') == 'Waiting for approval'
    assert comms.page.get_by_role('button', name='Approve and send').count() == 0, 'nobody approves their own'


def email_to(live: LiveServer, address: str, subject: str, count: int = 1) -> Message:
    """The `count`-th email to `address` (from the simulator), which has this subject."""
    found = live.wait_for_messages(count, where=lambda m: m.recipient == address)
    message = found[count - 1]
    assert message.subject == subject, message
    return message


def signs_in_from(approver: Browse, link: str) -> None:
    """Follow the email's link, get asked to sign in, and land on the bulletin."""
    approver.follow(link)
    assert approver.path == '/staff/sign-in'
    approver.fill('Email address', APPROVER, exact=True)
    approver.fill('Password', PASSWORD, exact=True)
    approver.press('Sign in')
    assert approver.page.url == link, 'back at the page the email links to'


def send_back(approver: Browse) -> None:
    assert text(approver, '#status') == 'Waiting for approval'
    assert f'someone other than {COMMS}' in text(approver, '#approval-needed')
    approver.accessible('the bulletin, waiting for approval')
    approver.press('Send it back')  # a link styled, and announced, as a button
    assert approver.heading() == 'Why are you sending it back?'
    approver.accessible('send it back')
    approver.press('Send it back')  # no reason: the author must be told why
    assert approver.error_summary() == ['Enter why you are sending it back, so its author knows what to change']
    assert approver.error_summary() == approver.error_messages()
    approver.accessible('send it back, without a reason')
    keep(approver, 'desktop', '11-bulletin-send-back-error')
    approver.fill('Why are you sending it back?', REASON, exact=True)
    approver.press('Send it back')
    assert text(approver, '#status') == 'Draft' and text(approver, '#sent-back-reason') == REASON


def change_and_ask_again(comms: Browse, live: LiveServer) -> None:
    told = email_to(live, COMMS, f'Your bulletin was sent back: {TITLE}')
    assert f'{APPROVER} sent your bulletin back' in told.body and REASON in told.body
    comms.follow(told.link('/staff/bulletins/'))
    assert text(comms, '#status') == 'Draft' and text(comms, '#sent-back-reason') == REASON
    assert f'{APPROVER} sent this back on' in text(comms, '#sent-back')
    comms.accessible('the bulletin, sent back')
    keep(comms, 'desktop', '12-bulletin-sent-back')
    comms.click_link('Change the bulletin')
    assert comms.heading() == 'Change bulletin' and text(comms, '#sent-back-reason') == REASON
    comms.accessible('change the bulletin, with the reason')
    comms.page.locator('#message').fill(CHANGED)
    comms.press('Continue')
    assert CHANGED in text(comms, '#preview-email')
    ask_for_approval(comms, first=False)


def watch_it_go(comms: Browse) -> None:
    comms.page.reload()
    assert text(comms, '#status') == 'Sending'
    assert f'Approved by {APPROVER}' in text(comms, '.govuk-summary-list')
    comms.click_link('See how it is going')
    assert comms.heading() == TITLE
    reload_until(comms, lambda: delivered(comms), 'every message delivered',
                 refresh=lambda: comms.click_link('Refresh'))  # fmt: skip
    assert text(comms, '#count-failed') == '0' and text(comms, '#count-queued') == '0'
    assert text(comms, '#status') == 'Sent', 'every message has gone'
    assert text(comms, '#outcome').endswith('3 delivered, 0 failed.')
    for button in ('Pause', 'Resume', 'Cancel the rest'):
        assert comms.page.get_by_role('button', name=button).count() == 0, f'nothing left to {button.lower()}'
    comms.accessible('progress, sent')
    keep(comms, 'desktop', '13-bulletin-sent')


def delivered(comms: Browse) -> bool:
    return text(comms, '#count-delivered') == '3' and text(comms, '#progress-summary').startswith('3 of 3 done')


def test_comms_compose_an_approver_sends_it_back_then_approves_and_the_bulletin_reads_sent(
    resident: Browse, live: LiveServer, chromium: Browser
) -> None:
    comms = resident  # the harness's page, with a screenshot of every page
    in_ward, elsewhere = residents(live)
    assert live.settings.approval_threshold == 0
    approver_link = staff_account(live, APPROVER, 'approver')  # the approver's account exists before it is needed
    new_member_of_staff(comms, live, COMMS, 'comms', 'approver', start='/staff/bulletins')  # may approve others'
    assert comms.heading() == 'Bulletins'
    comms.accessible('bulletins')

    compose(comms)
    check_before_sending(comms)
    ask_for_approval(comms, first=True)
    comms.accessible('the bulletin, waiting for approval')
    asked = email_to(live, APPROVER, f'Bulletin waiting for your approval: {TITLE}')
    assert f'{COMMS} has written a bulletin that reaches 2 people' in asked.body
    assert not live.messages(to=COMMS), 'nobody is asked to approve their own'
    assert not [m for m in live.messages() if m.recipient != APPROVER], 'nothing else goes before it is approved'

    with another_person(chromium, live, f'{comms.folder.name}-approver') as approver:
        set_password(approver, approver_link)
        signs_in_from(approver, asked.link('/staff/bulletins/'))
        send_back(approver)

        change_and_ask_again(comms, live)
        again = email_to(live, APPROVER, f'Bulletin waiting for your approval: {TITLE}', count=2)
        approver.follow(again.link('/staff/bulletins/'))  # signed in already
        assert CHANGED in text(approver, '#preview-email')
        approver.press('Approve and send')
        assert approver.path.endswith('/progress')
        approver.accessible('progress, as the approver')

    watch_it_go(comms)
    comms.click_link('Delivery report')
    assert comms.heading() == 'Delivery report' and text(comms, '#status') == 'Sent'
    rows = [' '.join(row.split()) for row in comms.page.locator('#deliveries tbody tr').all_inner_texts()]
    contacts = contacts_of(live, in_ward)
    assert len(rows) == len(contacts) == 3 and all('Delivered' in row for row in rows), rows
    shown = [f'{"Email" if channel == "email" else "Text message"} {mask_address(channel, address)}'
             for channel, address in contacts]  # fmt: skip
    assert sorted(row.split(' Delivered')[0] for row in rows) == sorted(shown), rows
    assert not any(address in comms.page.content() for _, address in contacts), 'contacts are masked'
    assert text(comms, '#no-failures') == 'No message has failed.'
    comms.accessible('the delivery report')

    got = [m for m in live.messages() if m.recipient not in (COMMS, APPROVER)]
    handed = sorted((m.type, m.recipient.lstrip('+')) for m in got)  # Notify's recipient: 447700…, no plus
    assert handed == [(channel, address.lstrip('+')) for channel, address in contacts], 'each once; nobody else'
    assert all(CHANGED in m.body and TITLE in (m.subject or '') for m in got if m.type == 'email')
    assert all(TITLE in m.body for m in got if m.type == 'sms')
    assert not live.messages(to=elsewhere.email or ''), 'a resident outside the ward hears nothing'
    assert len(live.messages(to=APPROVER)) == 2 and len(live.messages(to=COMMS)) == 1


def contacts_of(live: LiveServer, people: list[Resident]) -> list[tuple[str, str]]:
    """(channel, address) of everyone's contact points, as stored (and as handed to Notify), sorted."""
    rows = live.fetch(
        'select channel, address from contact_points where resident_id = any($1::bigint[])', [r.id for r in people]
    )
    return sorted((row['channel'], row['address']) for row in rows)
