"""Case officers find a case and see whether each message about it was delivered, preview an update exactly as
the resident will read it, and send it; the resident gets it through Notify and the case page shows it delivered."""

from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import urlsplit

import asyncpg
import pytest

from notifier.outbox import archive
from notifier.sending.delivery import Sender
from tests.support.cases import REFERENCE, REPORTER, SOURCE, Office
from tests.support.notify import RunningSim, link_in
from tests.support.pages import csrf_of, section, text_of
from tests.support.waiting import wait_until

CASE_PAGE = f'/staff/cases?reference={REFERENCE}'
UPDATE_PAGE = f'/staff/cases/update?reference={REFERENCE}&source={SOURCE}'


async def deliver_all(office: Office, sender: Sender, purpose: str = 'event') -> list[asyncpg.Record]:
    rows = await office.pg.fetch(
        "select id from notifications where purpose = $1 and status = 'pending' order by created_at", purpose
    )
    for row in rows:
        assert await sender.deliver(row['id']) == 'sent'
    return rows


async def finished(office: Office, count: int) -> None:
    async def done() -> bool:
        return await office.pg.fetchval(
            "select count(*) from notifications where status in ('delivered', 'permanent-failure')"
        ) >= count  # fmt: skip

    await wait_until(done)


async def test_an_officer_finds_a_case_and_sees_each_message_delivered_or_failed_and_why(
    office: Office, sender: Sender
) -> None:
    # a second reporter whose address does not exist: Notify says permanent-failure
    await office.sim.fault({'action': 'status', 'status': 'permanent-failure', 'match': {'email_local_part': 'gone'}},
                           rule=True)  # fmt: skip
    await office.case_with_reporter()
    await office.case_with_reporter('gone@example.com')
    token = await office.token('system', sources=[SOURCE])
    await office.push(token, status='investigating', note='An inspector visits on Monday.')
    await deliver_all(office, sender)
    await finished(office, 3)

    await office.staff('officer@council.example', 'case_officer')
    found = await office.page(f'/staff/cases?reference={REFERENCE.lower()}')  # as typed, any letter case
    assert 'Case FMS-20417' in text_of(found) and 'Being assessed' in section(found, 'history')
    messages = section(found, 'messages')
    assert messages.count('Delivered') == 2  # version 1 and version 2 reached the reporter
    assert 'Not delivered: the email address, number or address does not exist' in messages
    assert 'permanent failure' in messages and 'g***@example.com' in messages
    subscribers = section(found, 'subscribers')
    assert 'r***@example.com' in subscribers and 'Tell me by email when my report changes' in subscribers
    assert REPORTER not in found and 'gone@' not in found  # contact details are masked everywhere
    assert 'Thank you, we have your report.' in section(found, 'history')


async def test_the_api_twin_gives_the_same_case_to_a_case_officer_token(office: Office, sender: Sender) -> None:
    await office.case_with_reporter()
    await deliver_all(office, sender)
    await finished(office, 1)
    headers = {'Authorization': f'Bearer {await office.token("case_officer")}'}
    response = await office.client.get(f'/api/cases/{REFERENCE}', headers=headers)
    body = await response.json()
    assert response.status == 200, body
    assert body['stage'] == 'received' and body['source'] == SOURCE and len(body['history']) == 1
    [message] = body['messages']
    assert (
        message['status'] == 'delivered' and message['outcome'] == 'delivered' and message['to'] == 'r***@example.com'
    )
    [subscriber] = body['subscribers']
    assert subscriber['contacts'][0]['address'] == 'r***@example.com' and REPORTER not in str(body)
    missing = await office.client.get('/api/cases/NOPE-1', headers=headers)
    assert missing.status == 404 and 'NOPE-1' in (await missing.json())['message']


async def test_an_unknown_reference_says_so_and_keeps_what_was_typed(office: Office) -> None:
    await office.staff('officer@council.example', 'case_officer')
    page = await office.page('/staff/cases?reference=NOPE-99')
    assert 'No case has the reference NOPE-99' in text_of(page) and 'value="NOPE-99"' in page
    empty = await office.page('/staff/cases?reference=')
    assert 'Enter a case reference' in text_of(empty)


async def test_the_preview_shows_the_email_and_the_text_with_its_fragments(office: Office) -> None:
    await office.case_with_reporter()
    await office.staff('officer@council.example', 'case_officer')
    form = {'action': 'preview', 'stage': 'assessing', 'note': 'An inspector visits on Monday.'}
    response = await office.form(UPDATE_PAGE, form)
    page = await response.text()
    assert response.status == 200, page
    email, text = section(page, 'preview-email'), section(page, 'preview-sms')
    assert 'Subject: Update on your case FMS-20417' in email and 'Status: Being assessed' in email
    assert 'An officer is looking into your report FMS-20417. An inspector visits on Monday.' in email, email
    assert 'An inspector visits on Monday.' in text and 'Update on your case FMS-20417' in text
    fragments = section(page, 'fragments')
    assert 'text messages (fragments) each' in fragments or 'text message (fragments) each' in fragments
    assert int(fragments.split(' characters')[0]) > 160 and int(fragments.split(': ')[1].split(' ')[0]) >= 2
    assert await office.pg.fetchval('select count(*) from events') == 1  # a preview sends and stores nothing


async def test_a_posted_update_reaches_the_subscriber_and_the_case_page_shows_it_delivered(
    office: Office, sender: Sender, sim: RunningSim
) -> None:
    await office.case_with_reporter()
    await deliver_all(office, sender)
    await office.staff('officer@council.example', 'case_officer')
    chosen = {'stage': 'action_scheduled', 'note': 'A crew fills it on Tuesday.'}
    preview = await office.form(UPDATE_PAGE, {'action': 'preview', **chosen})
    previewed = section(await preview.text(), 'preview-email')
    page = await preview.text()
    template = page.split('id="template"')[1].split('>', 1)[1].split('</textarea>')[0]
    message = page.split('name="previewed" value="')[1].split('"')[0]
    sent = await office.client.post(UPDATE_PAGE, data={
        'csrf_token': page.split('name="csrf_token" value="')[1].split('"')[0], 'action': 'send', **chosen,
        'template': template, 'template_stage': 'action_scheduled', 'previewed': message,
    }, allow_redirects=False)  # fmt: skip
    assert sent.status == 303, await sent.text()
    assert sent.headers['Location'].endswith('done=update')

    [row] = await deliver_all(office, sender)
    [delivered] = sim.sent(row['id'])
    assert delivered.to == REPORTER
    assert delivered.template_id == sim.council_template('email').id
    assert 'We have arranged for the work on FMS-20417 to be done. A crew fills it on Tuesday.' in delivered.body
    assert 'A crew fills it on Tuesday.' in previewed and 'Status: Action scheduled' in delivered.body
    # it reads like a person wrote it: the note once, the stage by its name, no list of internal field changes
    for shown in (delivered.body, previewed):
        assert shown.count('A crew fills it on Tuesday.') == 1, shown
        assert 'What has changed' not in shown and 'action_scheduled' not in shown and 'Notes:' not in shown
    event_page = await office.client.get(urlsplit(link_in(delivered.body, '/e/')).path)
    event_text = text_of(await event_page.text())
    assert event_text.count('A crew fills it on Tuesday.') == 1, event_text
    assert 'What has changed' not in event_text and 'action_scheduled' not in event_text
    assert 'Action scheduled' in event_text
    await finished(office, 2)
    case_page = await office.page(sent.headers['Location'])
    assert 'Update sent' in section(case_page, 'done')
    assert 'Case update (version 2) Email: r***@example.com Delivered' in section(case_page, 'messages')
    [entry] = await office.pg.fetch("select * from audit_log where action = 'case.update' and actor_kind = 'staff'")
    assert entry['actor_name'] == 'officer@council.example' and entry['target_id'] == REFERENCE
    assert entry['details']['stage'] == 'action_scheduled' and entry['details']['source'] == SOURCE


async def test_an_update_changed_after_its_preview_is_shown_again_not_sent(office: Office) -> None:
    await office.case_with_reporter()
    await office.staff('officer@council.example', 'case_officer')
    response = await office.form(UPDATE_PAGE, {'action': 'send', 'stage': 'resolved', 'note': 'Filled.',
                                               'previewed': 'something else'})  # fmt: skip
    page = await response.text()
    assert response.status == 200 and 'You changed the update after the preview' in text_of(page)
    assert await office.pg.fetchval('select count(*) from events') == 1


async def test_mistakes_in_an_update_are_named_and_what_was_typed_is_kept(office: Office) -> None:
    await office.case_with_reporter()
    await office.staff('officer@council.example', 'case_officer')
    no_stage = await (await office.form(UPDATE_PAGE, {'action': 'preview', 'note': 'Kept note'})).text()
    assert 'Choose the stage the case is at now' in text_of(no_stage) and 'Kept note' in no_stage
    past = (date.today() - timedelta(days=2)).timetuple()
    asked = {'action': 'preview', 'stage': 'need_info', 'note': '', 'due-day': str(past.tm_mday),
             'due-month': str(past.tm_mon), 'due-year': str(past.tm_year)}  # fmt: skip
    page = text_of(await (await office.form(UPDATE_PAGE, asked)).text())
    assert 'The reply-by date must be in the future' in page and 'Say what you need from the resident' in page
    bad = await office.form(UPDATE_PAGE, {'action': 'preview', 'stage': 'closed', 'note': 'x',
                                          'template': 'Closed ((foo))', 'template_stage': 'closed'})  # fmt: skip
    assert '((foo)) is not a placeholder you can use' in text_of(await bad.text())


@pytest.mark.parametrize(
    'path',
    ['/staff/cases', CASE_PAGE, UPDATE_PAGE, '/staff/cases/waiting', f'/staff/cases/subscribe?reference={REFERENCE}'],
)
async def test_case_pages_are_for_case_officers_and_admins_only(office: Office, path: str) -> None:
    await office.case_with_reporter()
    anonymous = await office.client.get(path, allow_redirects=False)
    assert anonymous.status == 303 and anonymous.headers['Location'].startswith('/staff/sign-in?next=')
    await office.staff('comms@council.example', 'comms', 'approver')
    assert (await office.client.get(path)).status == 403
    await office.staff('officer@council.example', 'case_officer')
    assert (await office.client.get(path)).status == 200
    await office.staff('admin@council.example', 'admin')
    assert (await office.client.get(path)).status == 200


async def test_the_case_api_needs_a_case_officer_token(office: Office) -> None:
    await office.case_with_reporter()
    path = f'/api/cases/{REFERENCE}'
    assert (await office.client.get(path)).status == 401
    for role, status in (('comms', 403), ('system', 403), ('case_officer', 200), ('admin', 200)):
        response = await office.client.get(path, headers={'Authorization': f'Bearer {await office.token(role)}'})
        assert response.status == status, role


async def test_changes_from_case_pages_are_refused_to_the_wrong_roles_and_to_nobody(office: Office) -> None:
    await office.case_with_reporter()
    posts = [
        (UPDATE_PAGE, {'action': 'send', 'stage': 'closed', 'note': 'Done.'}),
        (f'/staff/cases/subscribe?reference={REFERENCE}', {'channel': 'email', 'email': 'someone@example.com'}),
        ('/staff/cases/evidence/1/dismiss', {}),
        ('/staff/case-templates/closed', {'body': 'Closed. ((note))'}),
    ]
    token = csrf_of(await office.page('/staff/sign-in'))  # a browser's form token, signed in or not
    for path, data in posts:
        nobody = await office.client.post(path, data={'csrf_token': token, **data}, allow_redirects=False)
        assert nobody.status == 303 and nobody.headers['Location'].startswith('/staff/sign-in'), path
    await office.staff('comms@council.example', 'comms', 'approver')
    token = csrf_of(await office.page('/staff'))
    for path, data in posts:
        refused = await office.client.post(path, data={'csrf_token': token, **data}, allow_redirects=False)
        assert refused.status == 403, path
    assert await office.pg.fetchval('select count(*) from events') == 1
    assert await office.pg.fetchval('select count(*) from subscriptions') == 1
    assert await office.pg.fetchval('select count(*) from case_stage_templates') == 0


async def test_a_preview_carries_no_working_link_to_anyones_subscription_or_event(office: Office) -> None:
    await office.case_with_reporter()
    await office.staff('officer@council.example', 'case_officer')
    response = await office.form(UPDATE_PAGE, {'action': 'preview', 'stage': 'assessing', 'note': 'Monday.'})
    page = await response.text()
    email = section(page, 'preview-email')
    public = office.settings.public_url
    shown = re.findall(re.escape(public) + r'(/[^\s<"]+)', email)
    unsubscribe = [path for path in shown if path.startswith('/unsubscribe/')]
    assert unsubscribe and any(path.startswith('/e/') for path in shown), email
    for path in shown:  # as long as real links (so lengths are exact), but each one opens nothing
        opened = await office.client.get(path, allow_redirects=False)
        assert opened.status in (404, 303) or 'not found' in (await opened.text()).lower(), path
    one_click = await office.client.post(unsubscribe[0], data={'List-Unsubscribe': 'One-Click'})
    assert one_click.status == 404
    assert await office.pg.fetchval("select count(*) from subscriptions where status = 'ended'") == 0


async def test_a_case_page_says_its_old_messages_are_summarised(office: Office, sender: Sender) -> None:
    await office.case_with_reporter()
    token = await office.token('system', sources=[SOURCE])
    await office.push(token, status='investigating', note='An inspector visits on Monday.')
    await deliver_all(office, sender)
    await finished(office, 2)
    # two months on: retention forgot what they said, and housekeeping moved them out into counts
    await office.pg.execute(
        "update notifications set created_at = created_at - interval '60 days', personalisation = null,"
        " completed_at = completed_at - interval '60 days', personal_data_removed_at = now()"
    )  # fmt: skip
    async with office.pg.acquire() as conn:
        assert await archive.move_out(conn, days=35) == 2

    await office.staff('officer@council.example', 'case_officer')
    found = await office.page(CASE_PAGE)
    older = section(found, 'older-messages')
    assert 'Older messages are summarised' in older and '2 were delivered and 0 were not' in older
    assert 'more than 35 days ago' in older
    assert 'Nothing has been sent about this case yet' not in found
