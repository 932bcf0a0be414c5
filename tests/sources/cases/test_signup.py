"""Assisted sign-up: an officer subscribes a caller to a case by email or by post, recording who agreed, how, when
and what they were told; the resident gets a confirmation they can cancel (a link, or a letter saying how to stop)."""

from __future__ import annotations

import pytest

from notifier.sending.delivery import Sender
from templates.registry import REGISTRY
from tests.support.cases import REFERENCE, SOURCE, Office
from tests.support.notify import RunningSim, link_in
from tests.support.pages import section, text_of

SUBSCRIBE = f'/staff/cases/subscribe?reference={REFERENCE}&source={SOURCE}'
TOLD = 'We will write to you when your case FMS-20417 changes, until it is closed. Call us to stop.'
ADDRESS = 'Flat 2\n10 King Street\nStretford\nM32 0AH'


@pytest.fixture
async def office(office: Office) -> Office:
    """The folder's office, with a case whose reporter is subscribed and a case officer signed in."""
    await office.case_with_reporter()
    await office.staff('officer@council.example', 'case_officer')
    return office


def consent(**fields: str) -> dict[str, str]:
    return {'agreed_by': 'The resident', 'method': 'phone', 'language': 'en', 'wording': TOLD, 'agreed': 'yes'} | fields


async def test_a_caller_signed_up_by_email_gets_the_usual_confirmation_and_consent_is_recorded(
    office: Office, sender: Sender, sim: RunningSim
) -> None:
    done = await office.form(SUBSCRIBE, consent(channel='email', email='Caller@Example.com'))
    assert done.status == 303, text_of(await done.text())
    subscription = await office.pg.fetchrow("select * from subscriptions where channels = '{email}' order by id desc")
    assert subscription['status'] == 'pending' and subscription['case_reference'] == REFERENCE
    record = await office.pg.fetchrow('select * from consents where subscription_id = $1', subscription['id'])
    assert record['wording'] == TOLD and record['agreed_by'] == 'The resident' and record['method'] == 'phone'
    assert record['recorded_by'] == 'officer@council.example' and record['api_token_id'] is None
    assert record['staff_id'] is not None and record['addresses'] == {'email': 'caller@example.com'}
    [entry] = await office.pg.fetch("select * from audit_log where action = 'case.assisted_signup'")
    assert entry['actor_name'] == 'officer@council.example' and entry['target_id'] == REFERENCE
    assert entry['details']['contact'] == 'c***@example.com' and 'caller@' not in str(entry['details'])

    [confirmation] = await office.pg.fetch(
        "select * from notifications where purpose = 'confirmation' and subscription_id = $1", subscription['id']
    )
    assert await sender.deliver(confirmation['id']) == 'sent'
    [sent] = sim.sent(confirmation['id'])
    assert sent.to == 'caller@example.com' and 'confirm your subscription' in sent.body
    link = link_in(sent.body, '/confirm').removeprefix(office.settings.public_url)
    page = await office.client.get(link)
    assert page.status == 200  # the resident's own confirmation page: they confirm it or ignore it
    case_page = await office.page(done.headers['Location'])
    assert 'Signed up' in section(case_page, 'done') and 'c***@example.com' in section(case_page, 'subscribers')
    assert 'The resident (phone)' in section(case_page, 'subscribers')


async def test_a_caller_with_no_email_or_phone_is_signed_up_by_post_and_gets_a_letter_saying_how_to_stop(
    office: Office, sender: Sender, sim: RunningSim
) -> None:
    form = consent(channel='letter', address=ADDRESS, agreed_by='Her son, with her permission', method='in-person')
    done = await office.form(SUBSCRIBE, form)
    assert done.status == 303, text_of(await done.text())
    subscription = await office.pg.fetchrow("select * from subscriptions where channels = '{letter}'")
    assert subscription['status'] == 'active'  # nobody can click a link on paper
    record = await office.pg.fetchrow('select * from consents where subscription_id = $1', subscription['id'])
    assert record['agreed_by'] == 'Her son, with her permission' and record['method'] == 'in-person'
    assert record['channels'] == ['letter'] and 'King Street' in record['addresses']['letter']
    [entry] = await office.pg.fetch("select * from audit_log where action = 'case.assisted_signup'")
    assert entry['details']['contact'] == '(postal address)' and entry['details']['channel'] == 'letter'

    [letter] = await office.pg.fetch("select * from notifications where channel = 'letter'")
    assert str(letter['template_id']) == REGISTRY[('*', 'letter', 'en')].template_id
    assert await sender.deliver(letter['id']) == 'sent'
    [sent] = sim.sent(letter['id'])
    assert sent.type == 'letter' and 'Updates about your case FMS-20417' in (sent.subject or '')
    assert TOLD in sent.body and '/unsubscribe/' in sent.body
    assert sent.personalisation['address_line_2'] == '10 King Street'

    # from now on the case's updates reach them by post too
    token = await office.token('system', sources=[SOURCE])
    await office.push(token, status='fixed', note='The pothole is filled.')
    posted = await office.pg.fetchval(
        "select count(*) from notifications where channel = 'letter' and purpose = 'event'"
    )
    assert posted == 1
    case_page = await office.page(done.headers['Location'])
    assert 'Letter: (postal address)' in section(case_page, 'subscribers')
    assert 'Her son, with her permission (in person)' in section(case_page, 'subscribers')


async def test_mistakes_are_named_and_nobody_is_signed_up_twice(office: Office) -> None:
    nothing = text_of(await (await office.form(SUBSCRIBE, {'wording': TOLD})).text())
    assert 'Choose how they want to hear about the case' in nothing and 'Confirm that they agreed' in nothing
    assert 'Choose how they agreed' in nothing
    bad = await office.form(SUBSCRIBE, consent(channel='letter', address='10 King Street'))
    assert 'address' in text_of(await bad.text()).lower() and (await bad.text()).count('govuk-error-message') == 1
    first = await office.form(SUBSCRIBE, consent(channel='email', email='caller@example.com'))
    assert first.status == 303
    again = await office.form(SUBSCRIBE, consent(channel='email', email='caller@example.com'))
    assert 'They are already subscribed to this case (pending)' in text_of(await again.text())
    assert await office.pg.fetchval('select count(*) from consents where staff_id is not null') == 1


async def test_a_caller_signed_up_by_text_gets_a_text_to_confirm(
    office: Office, sender: Sender, sim: RunningSim
) -> None:
    done = await office.form(SUBSCRIBE, consent(channel='sms', mobile='07700 900123', language='cy'))
    assert done.status == 303, text_of(await done.text())
    [confirmation] = await office.pg.fetch("select * from notifications where purpose = 'confirmation'")
    assert confirmation['channel'] == 'sms'
    assert str(confirmation['template_id']) == REGISTRY[('confirmation', 'sms', 'cy')].template_id
    assert await sender.deliver(confirmation['id']) == 'sent'
    [sent] = sim.sent(confirmation['id'])
    assert sent.to == '+447700900123' and '/confirm/' in sent.body
    record = await office.pg.fetchrow('select * from consents where staff_id is not null')
    assert record['addresses'] == {'sms': '447700900123'}
    # the officer's next preview shows the Welsh text too, as this caller will get it
    update = f'/staff/cases/update?reference={REFERENCE}&source={SOURCE}'
    preview = await office.form(update, {'action': 'preview', 'stage': 'assessing', 'note': 'Mae swyddog yn edrych.'})
    page = await preview.text()
    assert 'Diweddariad ar eich achos FMS-20417' in section(page, 'preview-sms-cy')
    assert 'Mae swyddog yn edrych.' in section(page, 'preview-sms-cy') and 'fragments' in section(page, 'fragments-cy')
