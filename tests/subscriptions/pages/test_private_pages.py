"""Someone's case is nobody else's business: its page answers only the unguessable link in their messages."""

from __future__ import annotations

from typing import Any

import asyncpg

from notifier.outbox.links import event_path
from notifier.shell.app import create_app
from tests.conftest import Services
from tests.support.app import settings_for
from tests.support.factories import make_event, record

SECRET = 'private-pages-secret'


async def test_a_case_page_is_reached_only_by_its_token_link(
    aiohttp_client: Any, services: Services, pg: asyncpg.Pool
) -> None:
    settings = settings_for(services, secret_key=SECRET)
    client = await aiohttp_client(create_app(settings))
    case = await record(pg, make_event(
        source='fixmystreet', kind='case.status', topic='cases', case_reference='FMS-4471',
        title='Fly-tipping reported outside 12 Acacia Avenue', attributes={'status': 'action scheduled'},
    ))  # fmt: skip
    public = await record(pg, make_event(title='Two-storey side extension'))
    assert case.event_id and public.event_id

    by_number = await client.get(f'/e/{case.event_id}')
    assert by_number.status == 404
    assert 'Acacia' not in await by_number.text()

    by_token = await client.get(event_path(case.event_id, private=True, secret=SECRET.encode()))
    assert by_token.status == 200
    assert 'Acacia' in await by_token.text()
    assert by_token.headers['Cache-Control'] == 'no-store'

    forged = await client.get(f'/e/{case.event_id}.AAAAAAAAAAAAAAAAAAAAAA')
    assert forged.status == 404

    # planning news stays public and shareable by number
    assert (await client.get(f'/e/{public.event_id}')).status == 200
