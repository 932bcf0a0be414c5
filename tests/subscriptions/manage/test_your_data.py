"""Your data: download everything we hold about you, and delete all of it (nothing of yours is left behind)."""

from __future__ import annotations

import json

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from notifier.overview import figures
from tests.support.factories import Resident, make_resident, make_subscription
from tests.support.manage import sign_in
from tests.support.pages import post_form


@pytest.fixture
async def ann(client: TestClient, pg: asyncpg.Pool) -> Resident:
    resident = await make_resident(pg, email='ann@example.com', sms='07700 900222')
    await make_subscription(pg, resident, near='M32 0AH', radius_m=400, topics=['planning'])
    await make_subscription(pg, resident, kind='topic', topics=['bulletins'], status='ended')
    await pg.execute(
        'insert into consents (resident_id, case_source, case_reference, given_at, via, recorded_by, wording) '
        "values ($1, 'fixmystreet', 'FMS-1', now(), 'case system', 'case system', 'Tell me about my report')",
        resident.id,
    )
    await pg.execute(
        "insert into notify_callbacks (kind, notify_id, payload) values ('inbound-sms', gen_random_uuid(), $1)",
        {'source_number': '07700900222', 'message': 'What time are bins collected?'},
    )
    await sign_in(client, pg, 'ann@example.com')
    return resident


async def test_the_download_holds_everything_about_you(client: TestClient, pg: asyncpg.Pool, ann: Resident) -> None:
    page = await (await client.get('/manage/your-data')).text()
    assert 'Download your data (JSON)' in page and 'Delete all your data' in page
    answer = await client.get('/manage/your-data/download')
    assert answer.status == 200 and answer.content_type == 'application/json'
    assert 'attachment' in answer.headers['Content-Disposition'] and answer.headers['Cache-Control'] == 'no-store'
    data = json.loads(await answer.text())
    assert {point['address'] for point in data['contact_points']} == {'ann@example.com', '447700900222'}
    assert [(sub['kind'], sub['status']) for sub in data['subscriptions']] == [('near', 'active'), ('topic', 'ended')]
    assert data['subscriptions'][0]['radius_m'] == 400 and data['subscriptions'][0]['topics'] == ['planning']
    assert [m['purpose'] for m in data['messages']] == ['sign-in'] and data['messages'][0]['status'] == 'pending'
    assert data['consents'][0]['wording'] == 'Tell me about my report'
    assert [text['message'] for text in data['texts_you_sent_us']] == ['What time are bins collected?']
    assert data['resident']['language'] == 'en'


async def test_deleting_removes_every_row_and_ends_the_session(
    client: TestClient, pg: asyncpg.Pool, ann: Resident
) -> None:
    other = await make_resident(pg, email='bob@example.com')
    await make_subscription(pg, other, kind='topic', topics=['planning'])
    await pg.execute(  # Notify's receipt for the sign-in email names the address: it goes too
        'insert into notify_callbacks (kind, notify_id, reference, status, payload) '
        "select 'status', gen_random_uuid(), id::text, 'delivered', $1 from notifications",
        {'to': 'ann@example.com', 'status': 'delivered'},
    )
    await pg.execute(  # and those of every send of a message sent again (outbox/references.py), by reference alone
        'insert into notify_callbacks (kind, notify_id, reference, status, payload) '
        "select 'status', gen_random_uuid(), id::text || '.2', 'technical-failure', $1 from notifications",
        {'to': 'ann@example.com', 'status': 'technical-failure'},
    )
    confirm = await (await client.get('/manage/your-data/delete')).text()
    assert 'Are you sure you want to delete all your data?' in confirm and 'You cannot undo this' in confirm
    assert await pg.fetchval('select count(*) from residents where id = $1', ann.id) == 1, 'the page deletes nothing'

    deleted = await post_form(client, '/manage/your-data/delete')
    assert (deleted.status, deleted.headers['Location']) == (303, '/manage/your-data/deleted')
    assert 'Your data has been deleted' in await (await client.get('/manage/your-data/deleted')).text()
    assert await pg.fetchval('select count(*) from residents where id = $1', ann.id) == 0
    for table in ('contact_points', 'subscriptions', 'consents', 'web_sessions'):
        assert await pg.fetchval(f'select count(*) from {table} where resident_id = $1', ann.id) == 0, table
    assert await pg.fetchval('select count(*) from one_time_secrets') == 0
    assert await pg.fetchval('select count(*) from notifications') == 0
    assert await pg.fetchval("select count(*) from contact_points where address like '%ann%'") == 0
    assert await pg.fetchval('select count(*) from notify_callbacks') == 0
    assert await pg.fetchval('select count(*) from subscriptions where resident_id = $1', other.id) == 1
    after = await client.get('/manage/subscriptions', allow_redirects=False)
    assert after.headers['Location'] == '/manage', 'signed out'


async def test_deleting_your_data_leaves_the_councils_count_of_what_was_sent(
    client: TestClient, pg: asyncpg.Pool, ann: Resident
) -> None:
    """The resident and every message to them go; the overview still counts that an email went that day (a count
    per day, channel and status, nothing about the person), as when finished messages are archived."""
    await pg.execute(
        "update notifications set status = 'delivered', notify_id = gen_random_uuid(), sent_at = now(), "
        'completed_at = now()'
    )
    await pg.execute(  # Notify's receipt names the address: it goes with the person, though the count stays
        'insert into notify_callbacks (kind, notify_id, reference, status, payload) '
        "select 'status', notify_id, id::text, 'delivered', $1 from notifications",
        {'to': 'ann@example.com', 'status': 'delivered'},
    )
    now = await pg.fetchval('select now()')

    async def emails_delivered() -> tuple[int, int]:
        async with pg.acquire() as conn:
            view = await figures.gather(conn, saving_pence=268, now=now)
        return sum(view.per_day_channel['email']), view.totals['delivered']

    before = await emails_delivered()
    assert before == (1, 1)
    assert (await post_form(client, '/manage/your-data/delete')).status == 303
    assert await pg.fetchval('select count(*) from notifications') == 0
    assert await pg.fetchval("select count(*) from notify_callbacks where kind = 'status'") == 0
    assert await emails_delivered() == before
