"""Approvers hear: a bulletin waiting for approval emails every approver but its author (urgent ones say so in the
subject and go first), through the outbox and Notify like any message; an approver may send it back with a reason
(required), which its author reads on its page, on the change form and in an email; it is a draft again, and asking
again emails the approvers again. Pages and API alike, every step audited. And the send form chooses nothing for
anyone: a bulletin is never one click from going out."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis

from notifier import audit
from notifier.sending.delivery import Sender
from notifier.shell.app import create_app
from tests.conftest import Services
from tests.support.app import settings_for
from tests.support.bulletins import Desk, emails_to, sale_ward, staff_members
from tests.support.notify import RunningSim
from tests.support.pages import csrf_of, section, text_of

AUTHOR, PAT, SAM = 'alex@council.example', 'pat@council.example', 'sam@council.example'
REASON = 'The date is wrong: the water is off on Tuesday, not today.\nPlease check with the water company.'


@pytest.fixture
async def desk(aiohttp_client: Any, services: Services, pg: asyncpg.Pool, redis: Redis) -> Desk:
    await sale_ward(pg)
    await staff_members(pg, (PAT, ['approver']), (SAM, ['comms', 'approver']), ('admin@council.example', ['admin']),
                        ('gone@council.example', ['approver']))  # fmt: skip
    await pg.execute("update staff set disabled_at = now() where email = 'gone@council.example'")
    return Desk(await aiohttp_client(create_app(settings_for(services, approval_threshold=2))), pg)


async def actions(pg: asyncpg.Pool, bulletin: int) -> list[tuple[str, str, dict[str, Any]]]:
    entries = await audit.entries(pg, target_kind='bulletin', target_id=str(bulletin))
    return [(entry.action, entry.actor_name, entry.details) for entry in reversed(entries)]


async def ask(desk: Desk, bulletin: int) -> Any:
    return await desk.form(f'/staff/bulletins/{bulletin}/submit', {'when': 'now'}, page=f'/staff/bulletins/{bulletin}')


async def test_every_approver_but_the_author_is_emailed_a_link_and_urgent_ones_say_so(
    desk: Desk, pg: asyncpg.Pool, sender: Sender, sim: RunningSim
) -> None:
    await desk.staff(AUTHOR, 'comms', 'approver')  # an approver too: never asked to approve their own
    urgent = await desk.compose(title='Water supply off in Sale')
    assert (await ask(desk, urgent)).status == 303
    link = f'http://tellme.test/staff/bulletins/{urgent}'
    for approver in (PAT, SAM):
        (email,) = await emails_to(pg, approver)
        assert email.subject == 'Urgent: Bulletin waiting for your approval: Water supply off in Sale'
        assert f'{AUTHOR} has written a bulletin that reaches 7 people' in email.body
        assert 'It is urgent: once approved it goes to everyone straight away' in email.body
        assert f'approve it or send it back with a reason: {link}' in email.body
        assert email.urgency == 'urgent'  # claimed before news and bulletins waiting in the outbox
    assert await emails_to(pg, AUTHOR) == [] and await emails_to(pg, 'admin@council.example') == []
    assert await emails_to(pg, 'gone@council.example') == []  # a disabled account
    submitted = (await actions(pg, urgent))[-1]
    assert submitted[0] == 'bulletin.submit' and submitted[2]['approvers_emailed'] == 2
    page = text_of(await (await desk.client.get(f'/staff/bulletins/{urgent}')).text())
    assert 'everyone with that role is emailed a link to this page' in page

    normal = await desk.compose(title='Library hours change', urgency='normal')
    await ask(desk, normal)
    latest = (await emails_to(pg, PAT))[-1]
    assert latest.subject == 'Bulletin waiting for your approval: Library hours change'
    assert 'urgent' not in latest.body and latest.urgency == 'normal'

    # they go through the outbox and Notify like any message: no subscription, so no unsubscribe link
    for row in await sender.claim_ready(10):
        assert await sender.send(row) == 'sent'
    sent = {(n.to, n.subject) for n in sim.sim.store.all()}
    assert (PAT, 'Urgent: Bulletin waiting for your approval: Water supply off in Sale') in sent
    assert (SAM, 'Bulletin waiting for your approval: Library hours change') in sent
    assert all(n.one_click_unsubscribe_url is None for n in sim.sim.store.all())
    # a staff address is a contact point of its own: it signs in to nothing and subscribes to nothing
    points = await pg.fetch(
        'select c.verified_at, (select count(*) from subscriptions s where s.resident_id = c.resident_id) as subs '
        'from contact_points c where c.address = any($1::text[])',
        [PAT, SAM],
    )
    assert [(p['verified_at'], p['subs']) for p in points] == [(None, 0), (None, 0)]


async def test_an_approver_sends_it_back_with_a_reason_the_author_reads_changes_it_and_asks_again(
    desk: Desk, pg: asyncpg.Pool
) -> None:
    await desk.staff(AUTHOR, 'comms')
    bulletin = await desk.compose(title='Water supply off in Sale')
    await ask(desk, bulletin)
    page = f'/staff/bulletins/{bulletin}'
    author_sees = await (await desk.client.get(page)).text()
    assert 'Send it back' not in author_sees and 'Approve and send' not in author_sees

    await desk.staff(PAT, 'approver')
    shown = await (await desk.client.get(page)).text()
    assert 'Approve and send' in shown and f'href="{page}/send-back"' in shown
    form = await desk.client.get(f'{page}/send-back')
    assert form.status == 200 and 'Why are you sending it back?' in text_of(await form.text())
    empty = await desk.form(f'{page}/send-back', {'reason': '  \n '})
    words = text_of(await empty.text())
    assert empty.status == 200 and words.startswith('Error: Send it back')
    assert 'There is a problem Enter why you are sending it back, so its author knows what to change' in words
    long = await desk.form(f'{page}/send-back', {'reason': 'x' * 1001})
    assert 'The reason must be 1,000 characters or fewer' in text_of(await long.text())
    assert await pg.fetchval('select status from bulletins where id = $1', bulletin) == 'awaiting_approval'

    sent_back = await desk.form(f'{page}/send-back', {'reason': REASON})
    assert sent_back.status == 303 and sent_back.headers['Location'] == page
    row = await pg.fetchrow('select * from bulletins where id = $1', bulletin)
    assert (row['status'], row['sent_back_reason'], row['sent_back_by_name']) == ('draft', REASON, PAT)
    assert row['audience'] is None and not row['needs_approval']
    assert (await actions(pg, bulletin))[-1] == ('bulletin.send_back', PAT, {'reason': REASON, 'author_emailed': True})
    (told,) = await emails_to(pg, AUTHOR)
    assert told.subject == 'Your bulletin was sent back: Water supply off in Sale'
    assert f'{PAT} sent your bulletin back instead of approving it.' in told.body
    assert 'Their reason: The date is wrong: the water is off on Tuesday, not today.' in told.body
    assert f'ask for approval again: http://tellme.test{page}' in told.body
    again = await desk.client.get(f'{page}/send-back', allow_redirects=False)
    assert again.status == 303  # no longer waiting: nothing to send back

    await desk.staff(AUTHOR, 'comms')
    mine = await (await desk.client.get(page)).text()
    assert section(mine, 'status') == 'Draft'
    assert section(mine, 'sent-back-reason') == text_of(REASON.replace('\n', ' '))
    assert f'{PAT} sent this back on' in text_of(mine) and 'Change it, then ask for approval again.' in text_of(mine)
    edit = await (await desk.client.get(f'{page}/edit')).text()
    assert section(edit, 'sent-back-reason') == text_of(REASON.replace('\n', ' '))
    fields = [('title', 'Water supply off in Sale on Tuesday'), ('message', 'Water is off on Tuesday until 6pm.'),
              ('topics', '*'), ('area', 'wards'), ('wards', 'E05015254'), ('channels', 'email'),
              ('urgency', 'urgent')]  # fmt: skip
    assert (await desk.form(f'{page}/edit', fields)).status == 303
    assert (await ask(desk, bulletin)).status == 303
    assert [e.subject for e in await emails_to(pg, PAT)][-1].endswith('Water supply off in Sale on Tuesday')

    await desk.staff(PAT, 'approver')
    approved = await desk.form(f'{page}/approve', {}, page=page)
    assert approved.status == 303 and await pg.fetchval('select status from bulletins') == 'sending'
    assert [(action, who) for action, who, _ in await actions(pg, bulletin)] == [
        ('bulletin.compose', AUTHOR), ('bulletin.submit', AUTHOR), ('bulletin.send_back', PAT),
        ('bulletin.edit', AUTHOR), ('bulletin.submit', AUTHOR), ('bulletin.approve', PAT), ('bulletin.send', PAT),
    ]  # fmt: skip


async def test_nobody_sends_back_their_own_bulletin(desk: Desk, pg: asyncpg.Pool) -> None:
    await desk.staff(AUTHOR, 'comms', 'approver')
    bulletin = await desk.compose()
    await ask(desk, bulletin)
    page = f'/staff/bulletins/{bulletin}'
    assert (await desk.client.get(f'{page}/send-back', allow_redirects=False)).status == 303
    token = csrf_of(await (await desk.client.get(page)).text())
    refused = await desk.client.post(
        f'{page}/send-back', data={'reason': 'No', 'csrf_token': token}, allow_redirects=False
    )
    assert refused.status == 200 and 'change it instead of sending it back' in text_of(await refused.text())
    assert await pg.fetchval('select status from bulletins') == 'awaiting_approval'


async def test_the_api_sends_back_with_a_reason_too(desk: Desk, pg: asyncpg.Pool) -> None:
    comms, approver, admin = await desk.token('comms'), await desk.token('approver'), await desk.token('admin')
    body = {'title': 'Road closed', 'message': 'The high street is closed today.', 'topics': ['*'], 'area': 'wards',
            'wards': ['E05015254'], 'channels': ['email'], 'urgency': 'normal'}  # fmt: skip

    async def call(path: str, token: str, data: Any = None) -> tuple[int, dict[str, Any]]:
        answer = await desk.client.post(path, json=data, headers={'Authorization': f'Bearer {token}'})
        return answer.status, await answer.json()

    _, made = await call('/api/bulletins', admin, body)
    bulletin = made['id']
    path = f'/api/bulletins/{bulletin}/send-back'
    assert (await call(path, approver, {'reason': 'Not now'}))[0] == 409  # a draft: not waiting for anyone
    _, asked = await call(f'/api/bulletins/{bulletin}/send', admin, {})
    assert asked['status'] == 'awaiting_approval' and len(await emails_to(pg, PAT)) == 1
    assert (await call(path, comms, {'reason': 'No'}))[0] == 403
    status, answer = await call(path, approver, {'reason': ' '})
    assert status == 400 and answer['errors']['reason'].startswith('Enter why you are sending it back')
    status, answer = await call(path, approver, {})
    assert status == 400 and 'reason' in answer['errors']
    status, answer = await call(path, admin, {'reason': 'Mine'})
    assert status == 409 and 'change it instead' in answer['message']  # the token that composed it
    status, answer = await call(path, approver, {'reason': 'Say which streets'})
    assert status == 200 and answer['status'] == 'draft'
    assert answer['sent_back']['reason'] == 'Say which streets' and answer['sent_back']['by'] == 'approver token'
    entry = (await audit.entries(pg, action='bulletin.send_back'))[0]
    assert (entry.actor_kind, entry.details) == ('token', {'reason': 'Say which streets', 'author_emailed': False})


async def test_the_send_form_chooses_nothing_and_asks_when(desk: Desk, pg: asyncpg.Pool) -> None:
    await desk.staff(AUTHOR, 'comms')
    bulletin = await desk.compose(wards='M33 7XF', channels=['email'])
    page = await (await desk.client.get(f'/staff/bulletins/{bulletin}')).text()
    radios = [tag for tag in page.split('<input') if 'name="when"' in tag]
    assert len(radios) == 2 and not any(' checked' in tag.split('>')[0] for tag in radios)
    answer = await desk.form(f'/staff/bulletins/{bulletin}/submit', {}, page=f'/staff/bulletins/{bulletin}')
    html = await answer.text()
    assert answer.status == 200 and '<title>Error: ' in html
    assert 'There is a problem Select when the bulletin should go' in text_of(html)
    assert '<a href="#when">Select when the bulletin should go</a>' in html  # the summary leads to the first radio
    assert section(html, 'when-error') == 'Error: Select when the bulletin should go'
    assert await pg.fetchval('select status from bulletins') == 'draft'
    assert await pg.fetchval('select count(*) from notifications') == 0
    assert [action for action, _, _ in await actions(pg, bulletin)] == ['bulletin.compose']
