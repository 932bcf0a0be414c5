"""Texts residents send us: STOP (in any form) ends that number's texts, START puts back exactly what STOP ended,
and anything that is not a command is kept for staff — never lost, and only acknowledged by a machine (the commands
answered by text: test_text_answers.py)."""

from __future__ import annotations

import json
import uuid

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from notifier.app_keys import PG
from notifier.receipts.text_replies import intent
from notifier.sending.delivery import Sender
from tests.support.factories import Resident, make_resident, make_subscription
from tests.support.notify import CALLBACK_TOKEN, RunningSim

AUTH = {'Authorization': f'Bearer {CALLBACK_TOKEN}'}


async def text(app: TestClient, number: str, message: str) -> str:
    """A text as Notify forwards it; the outcome stored with it."""
    body = {'id': str(uuid.uuid4()), 'source_number': number, 'destination_number': '07700900000',
            'message': message, 'date_received': '2026-11-22T10:00:00.000000Z'}  # fmt: skip
    response = await app.post('/notify/callbacks/inbound-sms', json=body, headers=AUTH)
    assert response.status == 200
    return await app.server.app[PG].fetchval('select outcome from notify_callbacks where notify_id = $1', body['id'])


@pytest.fixture
async def bea(pg: asyncpg.Pool) -> Resident:
    return await make_resident(pg, email='bea@example.com', sms='07700 900456')


async def subscriptions(pg: asyncpg.Pool) -> dict[int, tuple[str, list[str]]]:
    rows = await pg.fetch('select id, status, channels from subscriptions order by id')
    return {row['id']: (row['status'], row['channels']) for row in rows}


@pytest.mark.parametrize(
    ('message', 'meaning'),
    [('STOP', 'stop'), ('stop', 'stop'), (' Stop! ', 'stop'), ('S T O P', 'stop'), ('stop all', 'stop'),
     ('StopAll.', 'stop'), ('unsubscribe', 'stop'), ('Stop please', 'stop'), ('START', 'start'), ('start.', 'start'),
     ('When is my bin day?', None), ('', None), ('Please don’t stop', None)],
)  # fmt: skip
def test_what_a_text_means(message: str, meaning: str | None) -> None:
    assert intent(message) == meaning


async def test_stop_ends_texts_only_and_start_puts_back_exactly_that(
    app: TestClient, pg: asyncpg.Pool, bea: Resident
) -> None:
    texts_only = await make_subscription(pg, bea, kind='topic', topics=['planning'], channels=['sms'])
    paused_texts = await make_subscription(pg, bea, kind='topic', topics=['bins'], channels=['sms'], status='paused')
    both = await make_subscription(pg, bea, kind='topic', topics=['licensing'], channels=['email', 'sms'])
    emails = await make_subscription(pg, bea, kind='topic', topics=['bulletins'], channels=['email'])
    already_ended = await make_subscription(pg, bea, kind='topic', topics=['cases'], channels=['sms'], status='ended')
    before = await subscriptions(pg)

    assert (await text(app, '+44 7700 900456', 'Stop.')).startswith('stop: suppressed, 2 ended')
    after_stop = await subscriptions(pg)
    assert after_stop[texts_only] == ('ended', ['sms']) and after_stop[paused_texts] == ('ended', ['sms'])
    assert after_stop[both] == ('active', ['email']) and after_stop[emails] == before[emails]
    assert await pg.fetchval('select suppressed_reason from contact_points where id = $1', bea.sms_id) == 'stop-reply'

    assert (await text(app, '07700900456', 'STOP')).startswith('stop: already suppressed'), 'a second STOP: no change'

    assert (await text(app, '07700 900456', 'start')).startswith('start: resumed, 3 restored')
    assert await subscriptions(pg) == before, 'START puts back exactly what STOP ended'
    assert await pg.fetchval('select suppressed_at from contact_points where id = $1', bea.sms_id) is None
    assert (await subscriptions(pg))[already_ended][0] == 'ended'
    assert await text(app, '07700 900456', 'START') == 'start: nothing to resume'


async def test_a_reply_goes_once_and_never_to_an_unknown_number(
    app: TestClient, pg: asyncpg.Pool, bea: Resident
) -> None:
    await make_subscription(pg, bea, kind='topic', topics=['planning'], channels=['sms'])
    await text(app, '07700900456', 'STOP')
    await text(app, '07700900456', 'stop')
    replies = await pg.fetchval("select count(*) from notifications where purpose = 'reply'")
    assert replies <= 1, 'one confirmation at most, however many times STOP is sent'
    assert await text(app, '07700 900999', 'STOP') == 'stop from an unknown number'
    assert await pg.fetchval("select count(*) from notifications where purpose = 'reply'") == replies


async def test_any_other_text_is_kept_for_staff(app: TestClient, pg: asyncpg.Pool, bea: Resident) -> None:
    await make_subscription(pg, bea, kind='topic', topics=['planning'], channels=['sms'])
    assert await text(app, '07700900456', 'My bin was missed, can someone call me?') == 'stored; acknowledged'
    kept = await pg.fetchrow('select payload, for_staff, staff_done_at from notify_callbacks')
    assert kept['payload']['message'] == 'My bin was missed, can someone call me?'
    assert (kept['for_staff'], kept['staff_done_at']) == (True, None)
    assert await pg.fetchval('select suppressed_at from contact_points where id = $1', bea.sms_id) is None
    assert await pg.fetchval("select count(*) from subscriptions where status = 'active'") == 1
    [ack] = await pg.fetch('select purpose, personalisation from notifications')
    assert ack['purpose'] == 'reply' and ack['personalisation'] == {'reply_within': '2 working days'}, 'one line'


async def test_stop_and_start_are_each_confirmed_by_one_text(
    app: TestClient, pg: asyncpg.Pool, bea: Resident, sender: Sender, sim: RunningSim
) -> None:
    await make_subscription(pg, bea, kind='topic', topics=['planning'], channels=['sms'])
    assert (await text(app, '07700900456', 'STOP')).endswith('; confirmed')
    await text(app, '07700900456', 'Stop')
    [stopped] = await pg.fetch("select id from notifications where purpose = 'reply'")
    assert await sender.deliver(stopped['id']) == 'sent', 'the reply reaches the number its STOP suppressed'
    [message] = sim.sent(stopped['id'])
    assert message.body == 'Tell Me: you will get no more texts from us. To start again, reply START.'
    assert (await text(app, '07700900456', 'START')).endswith('; confirmed')
    started = await pg.fetchval("select id from notifications where purpose = 'reply' and id <> $1", stopped['id'])
    assert await sender.deliver(started) == 'sent'
    assert 'your texts have started again' in sim.sent(started)[0].body


@pytest.mark.parametrize(
    ('message', 'kept_as'),
    [('Bin missed\u0000 call me', 'Bin missed\ufffd call me'), ('lone \ud83d half', 'lone \ufffd half')],
)
async def test_a_text_with_a_nul_or_lone_surrogate_is_kept_not_lost(
    app: TestClient, pg: asyncpg.Pool, bea: Resident, message: str, kept_as: str
) -> None:
    """PostgreSQL cannot hold NUL or a lone surrogate: the text is kept with U+FFFD in their place (and the exact
    original, JSON-escaped, beside it) and Notify hears 200, so a resident's reply is never lost."""
    body = {'id': str(uuid.uuid4()), 'source_number': '07700900456', 'destination_number': '07700900000',
            'message': message, 'date_received': '2026-11-22T10:00:00.000000Z'}  # fmt: skip
    response = await app.post('/notify/callbacks/inbound-sms', json=body, headers=AUTH)
    assert response.status == 200
    query = 'select payload, outcome, for_staff from notify_callbacks where notify_id = $1'
    kept = await pg.fetchrow(query, body['id'])
    assert kept is not None and kept['payload']['message'] == kept_as
    assert json.loads(kept['payload']['original_json'])['message'] == message, 'the original can be recovered'
    assert kept['outcome'].startswith('stored') and kept['for_staff'], 'kept for staff'


async def test_a_stop_with_a_nul_in_it_still_stops(app: TestClient, pg: asyncpg.Pool, bea: Resident) -> None:
    await make_subscription(pg, bea, kind='topic', topics=['planning'], channels=['sms'])
    assert (await text(app, '07700900456', '\u0000STOP')).startswith('stop: suppressed')


async def test_the_input_guard_never_refuses_notify(app: TestClient, pg: asyncpg.Pool) -> None:
    """The guard 400s NUL in a query or form on pages; Notify would not retry usefully, so its callbacks pass."""
    body = {'id': str(uuid.uuid4()), 'source_number': '07700900456', 'message': 'hello'}
    response = await app.post('/notify/callbacks/inbound-sms?x=%00', json=body, headers=AUTH)
    assert response.status == 200
    assert await pg.fetchval('select count(*) from notify_callbacks where notify_id = $1', body['id']) == 1


async def test_a_receipt_with_a_nul_in_its_reference_is_stored(app: TestClient, pg: asyncpg.Pool) -> None:
    body = {'id': str(uuid.uuid4()), 'reference': 'ref\u0000', 'status': 'delivered', 'notification_type': 'sms'}
    response = await app.post('/notify/callbacks/status', json=body, headers=AUTH)
    assert response.status == 200
    assert await pg.fetchval('select reference from notify_callbacks where notify_id = $1', body['id']) == 'ref\ufffd'
