"""Comms compose, check, schedule, get approval for and stop bulletins through the staff pages; what they see is
what the outbox, the simulator and the audit log then hold."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from aiohttp import FormData
from redis.asyncio import Redis

from notifier import audit
from notifier.sending.delivery import Sender
from notifier.shell.app import create_app
from tests.conftest import Services
from tests.support.app import settings_for
from tests.support.bulletins import SALE_WARD, Desk, sale_ward
from tests.support.notify import RunningSim
from tests.support.pages import csrf_of, section, text_of
from workers.bulletins import send_due_bulletins


@pytest.fixture
async def desk(aiohttp_client: Any, services: Services, pg: asyncpg.Pool, redis: Redis) -> Desk:
    return Desk(await aiohttp_client(create_app(settings_for(services, approval_threshold=2))), pg)


async def actions(pg: asyncpg.Pool, bulletin: int) -> list[tuple[str, str]]:
    entries = await audit.entries(pg, target_kind='bulletin', target_id=str(bulletin))
    return [(entry.action, entry.actor_name) for entry in reversed(entries)]


async def status_of(pg: asyncpg.Pool, bulletin: int) -> str:
    return await pg.fetchval('select status from bulletins where id = $1', bulletin)


async def test_a_form_with_mistakes_says_what_to_fix_and_keeps_what_was_typed(desk: Desk, pg: asyncpg.Pool) -> None:
    await desk.comms_in_sale()
    answer = await desk.form('/staff/bulletins/new', [('title', 'Road closed'), ('message', ''), ('area', 'wards'),
                                                      ('wards', 'E05999999'), ('urgency', 'urgent')])  # fmt: skip
    page = await answer.text()
    assert answer.status == 200
    assert '<title>Error: New bulletin' in page
    summary = section(page, 'main-content')
    for message in ('Enter the message', 'Select at least one topic', 'Select at least one way to send it',
                    'No postcodes are loaded for ward E05999999'):  # fmt: skip
        assert message in summary
    assert 'value="Road closed"' in page and 'value="E05999999"' in page
    assert await pg.fetchval('select count(*) from bulletins') == 0
    fields = [('title', 'Fire'), ('message', 'Keep windows shut'), ('topics', 'bulletins'), ('area', 'radius'),
              ('postcode', 'M33 9ZZ'), ('radius', '99999'), ('channels', 'email'), ('urgency', 'urgent')]  # fmt: skip
    radius = await desk.form('/staff/bulletins/new', fields)
    text = text_of(await radius.text())
    assert 'We do not know where M33 9ZZ is' in text and 'Enter a distance in metres between 50 and 20,000' in text


async def test_the_check_page_shows_the_messages_the_audience_and_the_cost(desk: Desk, pg: asyncpg.Pool) -> None:
    ward = await desk.comms_in_sale()
    bulletin = await desk.compose(title='Bin collections delayed', message='Collections in Sale are a day late.',
                                  urgency='normal')  # fmt: skip
    page = await (await desk.client.get(f'/staff/bulletins/{bulletin}')).text()
    assert section(page, 'audience-email') == '6' and section(page, 'audience-sms') == '2'
    assert section(page, 'audience-people') == str(len(ward.inside))
    # each text is 2 fragments: a title, the message, the bulletin's link and the resident's own unsubscribe link
    assert '2 fragments' in text_of(page.split('id="preview-sms"')[0].rsplit('<h3', 1)[1])
    assert (
        section(page, 'cost-texts') == '2 texts, 4 fragments at 2.27p: £0.09 (before VAT, if over the free allowance)'
    )
    assert section(page, 'cost-emails') == '6 emails, free'
    assert section(page, 'saving').startswith('7 calls, about £18.76')
    email = section(page, 'preview-email')
    assert 'Subject: Council news: Bin collections delayed' in email and 'Collections in Sale are a day late.' in email
    assert 'Collections in Sale are a day late.' in section(page, 'preview-sms')
    assert 'Newyddion y cyngor' in section(page, 'preview-email-cy')
    assert 'someone else with the approver role must approve it' in text_of(page)  # 7 people > threshold 2


async def test_over_the_threshold_someone_else_must_approve(desk: Desk, pg: asyncpg.Pool) -> None:
    await sale_ward(pg)
    await desk.staff('alex@council.example', 'comms', 'approver')
    bulletin = await desk.compose()
    asked = await desk.form(f'/staff/bulletins/{bulletin}/submit', {'when': 'now'}, page=f'/staff/bulletins/{bulletin}')
    assert asked.status == 303 and await status_of(pg, bulletin) == 'awaiting_approval'
    page = await (await desk.client.get(f'/staff/bulletins/{bulletin}')).text()
    assert 'Approve and send' not in page  # not offered to the composer
    own = await desk.form(f'/staff/bulletins/{bulletin}/approve', {}, page=f'/staff/bulletins/{bulletin}')
    assert own.status == 200 and 'someone else with the approver role must approve it' in text_of(await own.text())
    assert await status_of(pg, bulletin) == 'awaiting_approval'
    assert await pg.fetchval('select count(*) from notifications') == 0

    await desk.staff('casey@council.example', 'comms')  # comms, but not an approver
    refused = await desk.form(f'/staff/bulletins/{bulletin}/approve', {}, page=f'/staff/bulletins/{bulletin}')
    assert refused.status == 403

    await desk.staff('pat@council.example', 'approver')
    page = await (await desk.client.get(f'/staff/bulletins/{bulletin}')).text()
    assert 'Approve and send' in page
    approved = await desk.form(f'/staff/bulletins/{bulletin}/approve', {}, page=f'/staff/bulletins/{bulletin}')
    assert approved.status == 303 and approved.headers['Location'].endswith('/progress')
    assert await status_of(pg, bulletin) == 'sending'
    assert await pg.fetchval('select count(*) from notifications') == 8
    assert await actions(pg, bulletin) == [
        ('bulletin.compose', 'alex@council.example'), ('bulletin.submit', 'alex@council.example'),
        ('bulletin.approve', 'pat@council.example'), ('bulletin.send', 'pat@council.example'),
    ]  # fmt: skip


async def test_cancel_mid_send_stops_the_rest(
    aiohttp_client: Any, services: Services, pg: asyncpg.Pool, redis: Redis, sender: Sender, sim: RunningSim
) -> None:
    desk = Desk(await aiohttp_client(create_app(settings_for(services))), pg)
    await desk.comms_in_sale()
    bulletin = await desk.compose()
    await desk.form(f'/staff/bulletins/{bulletin}/submit', {'when': 'now'}, page=f'/staff/bulletins/{bulletin}')
    for row in await sender.claim_ready(3):  # three go out before anyone notices the mistake
        assert await sender.send(row) == 'sent'
    progress = f'/staff/bulletins/{bulletin}/progress'
    page = await (await desk.client.get(progress)).text()
    assert section(page, 'count-queued') == '5' and section(page, 'count-sent') == '3'
    assert 'data-refresh="yes"' in page

    paused = await desk.form(f'/staff/bulletins/{bulletin}/pause', {}, page=progress)
    assert paused.status == 303 and await status_of(pg, bulletin) == 'paused'
    assert await sender.claim_ready(10) == []  # held: nothing more goes while paused
    resumed = await desk.form(f'/staff/bulletins/{bulletin}/resume', {}, page=progress)
    assert resumed.status == 303 and await status_of(pg, bulletin) == 'sending'
    for row in await sender.claim_ready(1):
        assert await sender.send(row) == 'sent'

    cancelled = await desk.form(f'/staff/bulletins/{bulletin}/cancel', {}, page=progress)
    assert cancelled.status == 303 and await status_of(pg, bulletin) == 'cancelled'
    assert await sender.claim_ready(10) == []
    assert len(sim.sim.store.all()) == 4  # the four already with Notify are not recalled; nothing else went
    page = await (await desk.client.get(progress)).text()
    assert section(page, 'count-cancelled') == '4' and section(page, 'count-sent') == '4'
    assert section(page, 'count-queued') == '0'
    report = await (await desk.client.get(f'/staff/bulletins/{bulletin}/report')).text()
    assert 'bulletin cancelled by staff' in section(report, 'deliveries')
    assert [action for action, _ in await actions(pg, bulletin)] == [
        'bulletin.compose',
        'bulletin.submit',
        'bulletin.send',
        'bulletin.pause',
        'bulletin.resume',
        'bulletin.cancel',
    ]


async def test_a_bulletin_scheduled_for_later_goes_when_its_time_comes(
    aiohttp_client: Any, services: Services, pg: asyncpg.Pool, redis: Redis
) -> None:
    settings = settings_for(services)
    desk = Desk(await aiohttp_client(create_app(settings)), pg)
    await desk.comms_in_sale()
    bulletin = await desk.compose(urgency='normal', wards='M33 7XF')  # a postcode in the ward stands for it
    assert await pg.fetchval('select ward_codes from bulletins') == [SALE_WARD]
    tomorrow = datetime.now(ZoneInfo('Europe/London')) + timedelta(days=1)
    form = {'when': 'later', 'send_day': str(tomorrow.day), 'send_month': str(tomorrow.month),
            'send_year': str(tomorrow.year), 'send_time': '07:30'}  # fmt: skip
    answer = await desk.form(f'/staff/bulletins/{bulletin}/submit', form, page=f'/staff/bulletins/{bulletin}')
    assert answer.status == 303 and await status_of(pg, bulletin) == 'scheduled'
    page = text_of(await (await desk.client.get(f'/staff/bulletins/{bulletin}')).text())
    assert f'It will be sent at {tomorrow.day} {tomorrow:%B %Y} at 07:30' in page
    ctx = {'pg': pg, 'redis': redis, 'settings': settings}
    assert await send_due_bulletins(ctx) == 0 and await pg.fetchval('select count(*) from notifications') == 0
    await pg.execute("update bulletins set send_at = now() - interval '1 minute'")
    assert await send_due_bulletins(ctx) == 1
    assert await status_of(pg, bulletin) == 'sending'
    assert await pg.fetchval('select count(*) from notifications') == 8
    assert (await actions(pg, bulletin))[-1] == ('bulletin.send', 'system')
    past = await desk.form(f'/staff/bulletins/{bulletin}/submit', form | {'send_year': '2020'},
                           page=f'/staff/bulletins/{bulletin}')  # fmt: skip
    assert past.status == 200  # already sending: nothing changes


async def test_a_time_in_the_past_is_refused(desk: Desk, pg: asyncpg.Pool) -> None:
    await desk.comms_in_sale()
    bulletin = await desk.compose()
    form = {'when': 'later', 'send_day': '1', 'send_month': '1', 'send_year': '2020', 'send_time': '25:00'}
    answer = await desk.form(f'/staff/bulletins/{bulletin}/submit', form, page=f'/staff/bulletins/{bulletin}')
    assert answer.status == 200 and 'Enter a time on the 24-hour clock' in text_of(await answer.text())
    form['send_time'] = '09:00'
    answer = await desk.form(f'/staff/bulletins/{bulletin}/submit', form, page=f'/staff/bulletins/{bulletin}')
    assert 'The time must be in the future' in text_of(await answer.text())
    assert await status_of(pg, bulletin) == 'draft'


LIST_FIELDS = [('title', 'Gas works'), ('message', 'Road dug up'), ('topics', 'bulletins'), ('area', 'list'),
               ('channels', 'email'), ('urgency', 'normal')]  # fmt: skip


async def test_a_list_upload_is_read_from_a_csv_file(desk: Desk, pg: asyncpg.Pool) -> None:
    await desk.comms_in_sale()
    source = await (await desk.client.get('/staff/bulletins/new')).text()
    form = FormData()
    for name, value in [('csrf_token', csrf_of(source)), *LIST_FIELDS]:
        form.add_field(name, value)
    form.add_field('list_file', b'postcode\nM33 3BR\nnot a postcode\n', filename='streets.csv', content_type='text/csv')
    bad = await desk.client.post('/staff/bulletins/new', data=form, allow_redirects=False)
    assert bad.status == 200 and 'Line 3 of the file has no UPRN or postcode' in text_of(await bad.text())
    form = FormData()
    for name, value in [('csrf_token', csrf_of(source)), *LIST_FIELDS]:
        form.add_field(name, value)
    form.add_field('list_file', b'100012345678\nM33 3BR\n', filename='streets.csv', content_type='text/csv')
    good = await desk.client.post('/staff/bulletins/new', data=form, allow_redirects=False)
    assert good.status == 303
    row = await pg.fetchrow('select list_postcodes, list_uprns from bulletins')
    assert row['list_postcodes'] == ['M33 3BR'] and row['list_uprns'] == ['100012345678']


async def test_changing_a_bulletin_sends_it_back_to_draft_for_checking_and_approval_again(
    desk: Desk, pg: asyncpg.Pool
) -> None:
    await desk.comms_in_sale()
    bulletin = await desk.compose(title='Water off')
    await desk.form(f'/staff/bulletins/{bulletin}/submit', {'when': 'now'}, page=f'/staff/bulletins/{bulletin}')
    assert await status_of(pg, bulletin) == 'awaiting_approval'
    page = await (await desk.client.get(f'/staff/bulletins/{bulletin}/edit')).text()
    assert 'value="Water off"' in page and 'Water is off until 6pm today.</textarea>' in page
    fields = [('title', 'Water back on'), ('message', 'Water is back.'), ('topics', 'bulletins'), ('area', 'wards'),
              ('wards', SALE_WARD), ('channels', 'email'), ('urgency', 'normal')]  # fmt: skip
    changed = await desk.form(f'/staff/bulletins/{bulletin}/edit', fields)
    assert changed.status == 303
    row = await pg.fetchrow('select * from bulletins where id = $1', bulletin)
    assert (row['status'], row['title'], row['urgency'], row['channels']) == (
        'draft',
        'Water back on',
        'normal',
        ['email'],
    )
    assert row['audience'] is None and not row['needs_approval']
    assert [action for action, _ in await actions(pg, bulletin)][-1] == 'bulletin.edit'


async def test_an_edit_of_a_bulletin_cancelled_meanwhile_says_so_and_keeps_what_was_typed(
    desk: Desk, pg: asyncpg.Pool
) -> None:
    await desk.comms_in_sale()
    bulletin = await desk.compose(title='Water off')
    page = await (await desk.client.get(f'/staff/bulletins/{bulletin}/edit')).text()
    await pg.execute("update bulletins set status = 'cancelled' where id = $1", bulletin)  # another person, meanwhile
    fields = [('title', 'Water back on'), ('message', 'Water is back.'), ('topics', 'bulletins'), ('area', 'wards'),
              ('wards', SALE_WARD), ('channels', 'email'), ('urgency', 'normal')]  # fmt: skip
    refused = await desk.client.post(
        f'/staff/bulletins/{bulletin}/edit', data=[('csrf_token', csrf_of(page)), *fields], allow_redirects=False
    )
    html = await refused.text()
    assert refused.status == 200 and 'cannot be changed' in text_of(html) and 'value="Water back on"' in html
    assert await pg.fetchval('select title from bulletins where id = $1', bulletin) == 'Water off'


async def test_the_check_page_says_how_many_days_a_bulletin_takes_at_the_notify_daily_limits(
    aiohttp_client: Any, services: Services, pg: asyncpg.Pool, redis: Redis
) -> None:
    await sale_ward(pg)  # 6 emails, 2 texts
    small = settings_for(services, approval_threshold=100, notify_daily_limit_email=3)  # 2 a day, 1 kept for codes
    desk = Desk(await aiohttp_client(create_app(small)), pg)
    await desk.staff('comms@council.example', 'comms')
    bulletin = await desk.compose(title='Bin collections delayed', message='A day late.', urgency='normal')
    page = await (await desk.client.get(f'/staff/bulletins/{bulletin}')).text()
    assert section(page, 'spread').startswith(
        '! Warning Email: about 3 days at your Notify limits (2 of 6 today, the rest over the following days).'
    )
    assert 'Text message' not in section(page, 'spread')  # 2 texts fit in today's 225,000
    token = await desk.token('comms')
    answer = await desk.client.get(f'/api/bulletins/{bulletin}/preview', headers={'Authorization': f'Bearer {token}'})
    body = await answer.json()
    assert body['days_at_notify_limits']['email'] == {'days': 3, 'today': 2}
    assert body['days_at_notify_limits']['sms'] == {'days': 1, 'today': 2}


async def test_a_bulletin_that_fits_today_says_so(desk: Desk, pg: asyncpg.Pool) -> None:
    await desk.comms_in_sale()
    bulletin = await desk.compose(title='Bin collections delayed', message='A day late.', urgency='normal')
    page = await (await desk.client.get(f'/staff/bulletins/{bulletin}')).text()
    assert section(page, 'spread') == 'Everyone can be sent this today, within your Notify daily limits.'
