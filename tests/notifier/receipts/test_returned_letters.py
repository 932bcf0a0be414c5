"""Notify's returned-letter callback: checked with the same bearer token as delivery receipts, stored once per letter,
and the letter marked returned (the case officer's view of it is in tests/sources/cases/test_returned_letters.py)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from notifier.sending.delivery import Sender
from tests.support.notify import CALLBACK_TOKEN, RunningSim, make_letter, row

AUTH = {'Authorization': f'Bearer {CALLBACK_TOKEN}'}
URL = '/notify/callbacks/returned-letter'


def returned(notify_id: Any, reference: str | None) -> dict[str, Any]:
    """The body Notify posts (its documented fields)."""
    return {'notification_id': str(notify_id), 'reference': reference, 'date_sent': '2026-11-20T16:30:00.000000Z',
            'sent_by': 'Tell Me', 'template_name': 'Any other news (letter, English)', 'template_id': str(uuid.uuid4()),
            'template_version': 1, 'spreadsheet_file_name': None, 'spreadsheet_row_number': None,
            'upload_letter_file_name': None}  # fmt: skip


async def test_a_returned_letter_is_stored_once_and_marks_the_letter(
    app: TestClient, sender: Sender, sim: RunningSim, pg: asyncpg.Pool
) -> None:
    nid = await make_letter(pg)
    assert await sender.deliver(nid) == 'sent'
    notify_id = (await row(pg, nid))['notify_id']

    first = await app.post(URL, json=returned(notify_id, str(nid)), headers=AUTH)
    assert (first.status, await first.json()) == (200, {'stored': True})
    marked = await row(pg, nid)
    assert marked['returned_at'] is not None and marked['last_error'] == 'letter returned'
    assert marked['status'] == 'sent'  # what Notify said about sending it stays

    again = await app.post(URL, json=returned(notify_id, str(nid)), headers=AUTH)  # Notify retries
    assert (again.status, await again.json()) == (200, {'stored': False, 'duplicate': True})
    assert (await row(pg, nid))['returned_at'] == marked['returned_at']
    stored = await pg.fetch('select kind, notify_id, reference, status, outcome from notify_callbacks')
    assert [tuple(r) for r in stored] == [('returned-letter', notify_id, str(nid), None, 'letter returned')]


async def test_a_returned_letter_callback_without_the_right_token_is_refused_and_not_stored(
    app: TestClient, pg: asyncpg.Pool
) -> None:
    nid = await make_letter(pg)
    body = returned(uuid.uuid4(), str(nid))
    for headers in ({}, {'Authorization': 'Bearer wrong-token-wrong-token'}, {'Authorization': CALLBACK_TOKEN}):
        response = await app.post(URL, json=body, headers=headers)
        assert response.status == 401
    assert await pg.fetchval('select count(*) from notify_callbacks') == 0
    assert (await row(pg, nid))['returned_at'] is None


async def test_a_returned_letter_that_is_not_ours_is_kept_and_changes_nothing(
    app: TestClient, pg: asyncpg.Pool
) -> None:
    nid = await make_letter(pg)  # never sent: no notify id yet, so only its own reference could name it
    response = await app.post(URL, json=returned(uuid.uuid4(), str(uuid.uuid4())), headers=AUTH)
    assert response.status == 200
    outcome = await pg.fetchval('select outcome from notify_callbacks')
    assert outcome == 'unmatched: no letter of ours, or returned already'
    assert (await row(pg, nid))['returned_at'] is None
    invalid = await app.post(URL, json={'reference': str(nid)}, headers=AUTH)
    assert invalid.status == 400 and 'notification_id' in (await invalid.json())['details']
