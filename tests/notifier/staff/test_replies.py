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
from templates.registry import notice_message
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


async def answered(pg: asyncpg.Pool, message: str, template_id: uuid.UUID, personalisation: dict[str, str]) -> None:
    """A text Tell Me answered itself today, and its answer as the outbox holds it."""
    resident = await make_resident(pg, email=False, sms='07700 900456')
    callback = await pg.fetchval(
        "insert into notify_callbacks (kind, notify_id, payload, processed_at, outcome) "
        "values ('inbound-sms', $1, $2, now(), 'answered: bins') returning id",
        uuid.uuid4(), {'source_number': '447700900456', 'message': message, 'id': 'x'},
    )  # fmt: skip
    reply = await pg.fetchval(
        "insert into notifications (contact_point_id, channel, purpose, status, template_id, personalisation) "
        "values ($1, 'sms', 'reply', 'delivered', $2, $3) returning id",
        resident.sms_id, template_id, personalisation,
    )  # fmt: skip
    await pg.execute(
        'insert into text_answers (callback_id, contact_point_id, answer, notification_id, answered_at) '
        "values ($1, $2, 'bins', $3, now())",
        callback, resident.sms_id, reply,
    )  # fmt: skip


@pytest.mark.parametrize(('role', 'sees_words'), [('case_officer', True), ('admin', True), ('comms', False)])
async def test_only_staff_who_answer_texts_read_the_answers_words(
    aiohttp_client: Any, settings: Settings, pg: asyncpg.Pool, role: str, sees_words: bool
) -> None:
    """Case officers (and admins) answer residents' texts, so they see what Tell Me told each, addresses and all;
    comms, who publish bulletins, see only what kind of answer it was."""
    client = await aiohttp_client(create_app(settings))
    bins = notice_message('text-bins', channel='sms', language='en',
                          collections='1 High Street: Refuse: Tue 2 Mar.')  # fmt: skip
    await answered(pg, 'bins', uuid.UUID(bins.template_id), bins.personalisation)
    await add_with_password(client, settings, f'{role}@council.example', role)
    await sign_in(client, f'{role}@council.example', PASSWORD)
    html = await (await client.get('/staff/replies')).text()
    _, answers = html.split('id="answered"')
    assert ('1 High Street' in answers) is sees_words
    assert ('Answered: their next bin collections' in answers) is not sees_words


async def test_an_answer_in_a_wording_no_longer_in_use_does_not_take_the_page_down(
    aiohttp_client: Any, settings: Settings, pg: asyncpg.Pool
) -> None:
    client = await aiohttp_client(create_app(settings))
    await answered(pg, 'bins', uuid.uuid4(), {'collections': 'Refuse: Tue 2 Mar.'})
    await add_with_password(client, settings, 'officer@council.example', 'case_officer')
    await sign_in(client, 'officer@council.example', PASSWORD)
    page = await client.get('/staff/replies')
    assert page.status == 200
    assert '(a wording no longer in use)' in await page.text()
