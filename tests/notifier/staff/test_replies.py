"""A resident's text that is not STOP, START or a question Tell Me answers itself waits for staff on /staff/replies
until someone deals with it; the answered ones are listed beside what Tell Me texted back."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest
from pydantic import SecretStr

from notifier.settings import Settings
from notifier.shell.app import create_app
from tests.support.factories import make_resident, make_subscription
from tests.support.notify import CALLBACK_TOKEN
from tests.support.pages import csrf_of
from tests.support.staff import PASSWORD, add_with_password, sign_in

AUTH = {'Authorization': f'Bearer {CALLBACK_TOKEN}'}


async def test_a_text_for_staff_is_listed_masked_and_goes_once_dealt_with(
    aiohttp_client: Any, settings: Settings, pg: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = await aiohttp_client(create_app(settings))
    await pg.execute(
        """
        insert into notify_callbacks (kind, notify_id, payload, for_staff, processed_at, outcome)
        values ('inbound-sms', $1, $2, true, now(), 'stored')
        """,
        uuid.uuid4(),
        {'source_number': '447700900123', 'message': 'My bin was not collected on Tuesday', 'id': 'x'},
    )
    assert (await client.get('/staff/replies', allow_redirects=False)).status == 303
    await add_with_password(client, settings, 'comms@council.example', 'comms')
    await sign_in(client, 'comms@council.example', PASSWORD)
    page = await client.get('/staff/replies')
    html = await page.text()
    assert 'My bin was not collected on Tuesday' in html
    assert '447700900123' not in html and '0123' in html, 'the number is masked'

    await client.post('/staff/replies/1/done', data={'csrf_token': csrf_of(html)})
    after = await client.get('/staff/replies')
    assert 'No texts are waiting' in await after.text()
    assert await pg.fetchval("select count(*) from audit_log where action = 'reply.done'") == 1


async def test_only_case_officers_comms_and_admins_see_them(
    aiohttp_client: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = await aiohttp_client(create_app(settings))
    await add_with_password(client, settings, 'approver@council.example', 'approver')
    await sign_in(client, 'approver@council.example', PASSWORD)
    assert (await client.get('/staff/replies')).status == 403


async def test_staff_see_what_tell_me_texted_back_beside_each_text(
    aiohttp_client: Any, settings: Settings, pg: asyncpg.Pool
) -> None:
    """Answered texts are listed with the answer as the resident read it; a text waiting for staff shows the
    acknowledgement it got (or that none was sent)."""
    client = await aiohttp_client(
        create_app(settings.model_copy(update={'notify_callback_token': SecretStr(CALLBACK_TOKEN)}))
    )
    resident = await make_resident(pg, email=False, sms='07700 900456')
    await make_subscription(pg, resident, kind='topic', topics=['planning'])
    for message in ('help', 'Can someone ring me about the planning notice?', 'Hello?'):
        body = {'id': str(uuid.uuid4()), 'source_number': '447700900456', 'message': message,
                'date_received': '2027-03-01T10:00:00.000000Z'}  # fmt: skip
        posted = await client.post('/notify/callbacks/inbound-sms', json=body, headers=AUTH)
        assert posted.status == 200
    await add_with_password(client, settings, 'officer@council.example', 'case_officer')
    await sign_in(client, 'officer@council.example', PASSWORD)
    html = await (await client.get('/staff/replies')).text()
    waiting, answered = html.split('id="answered"')
    assert '2 waiting' in waiting and 'Can someone ring me' in waiting and 'Hello?' in waiting
    assert waiting.count('council staff will read your text and reply within 2 working days') == 1
    assert 'Nothing' in waiting, 'the second text of the day is not acknowledged again'
    assert '1 answered' in answered and '>help<' in answered
    assert 'Tell Me: text BINS for your next bin collections' in answered
    assert '447700900456' not in html and '0456' in html
