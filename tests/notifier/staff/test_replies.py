"""A resident's text that is not STOP or START waits for staff on /staff/replies until someone deals with it."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from notifier.settings import Settings
from notifier.shell.app import create_app
from tests.support.pages import csrf_of
from tests.support.staff import PASSWORD, add_with_password, sign_in


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
