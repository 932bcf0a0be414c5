"""The hourly housekeeping job keeps the privacy notice's promise: what a message said, and who Notify's receipt says
it went to, are gone `notification_retention_days` after the message finished, and the message itself becomes a count
`outbox_keep_days` after. The service overview and a bulletin's
delivery report read the same after as before; a case officer's messages list and a resident's "your data" still
work for a cleared message; the privacy notice says how many days, in English and in Welsh."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from notifier.overview import figures
from notifier.settings import Settings
from sources.bulletins import reports
from tests.support.factories import Resident, make_resident, make_subscription
from tests.support.manage import PAGES, sign_in
from tests.support.outbox import message, receipt
from tests.support.pages import section, text_of
from tests.support.staff import sign_in_as
from workers import housekeeping

pytestmark = pytest.mark.settings(**PAGES)  # the residents' pages' secret and address, for signing in

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
CONFIRMATION = {
    'subscription': 'Your report FMS-1 (1 Acacia Avenue, M32 0AH)',
    'confirm_url': 'https://tellme.example.gov.uk/c/9f2d0c7e1b',
}
CODE = {'code': '482913', 'minutes': '15'}
DIGEST = {
    'count': '2',
    'items': 'Single-storey rear extension at 1 Acacia Avenue',
    'digest_url': 'https://t.example/d/x',
}


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


async def event(pg: asyncpg.Pool, source: str, kind: str, topic: str, reference: str | None = None) -> int:
    return await pg.fetchval(
        """insert into events (source, external_key, fingerprint, kind, topic, title, occurred_at, case_reference,
                               attributes)
           values ($1, $2, 'f', $3, $4, 'Pothole on King Street', $5, $6, '{"stage": "received"}') returning id""",
        source, reference or str(uuid.uuid4()), kind, topic, ago(9), reference,
    )  # fmt: skip


async def run(pg: asyncpg.Pool, settings: Settings, now: datetime = NOW) -> dict[str, int]:
    return await housekeeping.forget({'pg': pg, 'settings': settings}, now=now)


async def snapshot(pg: asyncpg.Pool, bulletin: int) -> dict[str, Any]:
    """Everything the overview and the bulletin's report show, at NOW."""
    async with pg.acquire() as conn:
        overview = await figures.gather(conn, saving_pence=268, now=NOW)
    return {
        'overview': dataclasses.asdict(overview),
        'progress': await reports.progress(pg, bulletin),
        'report': await reports.deliveries(pg, bulletin),
        'failures': await reports.failures(pg, bulletin),
    }


async def test_the_job_forgets_old_contents_and_the_figures_and_reports_do_not_move(
    client: TestClient, pg: asyncpg.Pool, settings: Settings
) -> None:
    ann = await make_resident(pg, email='ann@example.com', sms='07700 900222')
    bob = await make_resident(pg, email='bob@example.com')
    case_sub = await make_subscription(pg, ann, kind='case', case_source='fixmystreet', case_reference='FMS-1')
    await make_subscription(pg, bob, kind='topic', topics=['bulletins'])
    case = await event(pg, 'fixmystreet', 'case.status', 'cases', 'FMS-1')
    bulletin = await event(pg, 'bulletins', 'bulletin.published', 'bulletins')
    planning = await event(pg, 'trafford-planning', 'planning.new', 'planning')

    old = [
        await message(pg, ann.email_id, 'delivered', ago(8), purpose='confirmation', subscription_id=case_sub,
                      personalisation=CONFIRMATION),
        await message(pg, ann.sms_id, 'failed', ago(9), channel='sms', purpose='sign-in', personalisation=CODE,
                      last_error='not sent: not a valid mobile number'),
        await message(pg, ann.email_id, 'cancelled', ago(12), purpose='confirmation', completed=False,
                      personalisation=CONFIRMATION, last_error='subscription ended: unsubscribed'),
        await message(pg, ann.email_id, 'delivered', ago(10), purpose='digest', personalisation=DIGEST),
    ]  # fmt: skip
    digest = await pg.fetchval(
        "insert into digests (contact_point_id, channel, frequency, due_at, status) values ($1, 'email', 'daily', $2, "
        "'closed') returning id",
        ann.email_id, ago(10),
    )  # fmt: skip
    await pg.execute('update notifications set digest_id = $2 where id = $1', old[-1], digest)
    await message(pg, ann.email_id, 'digested', ago(10), event_id=bulletin, purpose='event', digest_id=digest)
    await message(pg, ann.sms_id, 'delivered', ago(8), channel='sms', event_id=case, purpose='event')
    await message(pg, bob.email_id, 'temporary-failure', ago(8), event_id=bulletin, purpose='event')
    await message(pg, ann.sms_id, 'delivered', ago(6), channel='sms', event_id=bulletin, purpose='event')
    await message(pg, bob.email_id, 'delivered', ago(40), event_id=planning, purpose='event')  # before the window
    recent = await message(pg, bob.email_id, 'delivered', ago(6), purpose='sign-in', personalisation=CODE)
    waiting = await message(pg, ann.email_id, 'retry', ago(30), purpose='notice', personalisation=CONFIRMATION,
                            last_error='503 from Notify')  # fmt: skip
    for row, to in ((old[0], 'ann@example.com'), (old[3], 'ann@example.com'), (recent, 'bob@example.com')):
        await receipt(pg, row, to, await pg.fetchval('select completed_at from notifications where id = $1', row))
    before = await snapshot(pg, bulletin)

    done = await run(pg, settings)

    assert (done['message_contents'], done['receipt_addresses']) == (4, 2)
    assert await snapshot(pg, bulletin) == before
    cleared = await pg.fetch('select personalisation from notifications where id = any($1::uuid[])', old)
    assert [row['personalisation'] for row in cleared] == [None] * 4
    kept = await pg.fetch('select personalisation from notifications where id = any($1::uuid[])', [recent, waiting])
    assert all(row['personalisation'] for row in kept)
    tos = await pg.fetch("select payload ->> 'to' as to from notify_callbacks order by id")
    assert [row['to'] for row in tos] == [None, None, 'bob@example.com']

    again = await run(pg, settings)
    assert (again['message_contents'], again['receipt_addresses']) == (0, 0)
    assert await snapshot(pg, bulletin) == before


async def _case_with_old_messages(pg: asyncpg.Pool) -> Resident:
    ann = await make_resident(pg, email='ann@example.com', sms='07700 900222')
    sub = await make_subscription(pg, ann, kind='case', case_source='fixmystreet', case_reference='FMS-1')
    case = await event(pg, 'fixmystreet', 'case.status', 'cases', 'FMS-1')
    await message(pg, ann.email_id, 'delivered', ago(8), purpose='confirmation', subscription_id=sub,
                  personalisation=CONFIRMATION)  # fmt: skip
    await message(pg, ann.email_id, 'delivered', ago(8), event_id=case, purpose='event', subscription_id=sub)
    await message(pg, ann.sms_id, 'failed', ago(8), channel='sms', event_id=case, purpose='event', subscription_id=sub,
                  last_error='400 BadRequestError: +447700900222 cannot receive this message')  # fmt: skip
    return ann


async def test_a_case_officer_still_sees_every_message_once_its_contents_are_gone(
    client: TestClient, pg: asyncpg.Pool, settings: Settings
) -> None:
    await _case_with_old_messages(pg)
    assert (await run(pg, settings))['message_contents'] == 2

    await sign_in_as(client, pg, 'officer@council.example', 'case_officer')
    page = await client.get('/staff/cases', params={'reference': 'FMS-1', 'source': 'fixmystreet'})
    assert page.status == 200
    messages = section(await page.text(), 'messages')
    assert 'Confirm subscription' in messages and 'Case update' in messages and 'Delivered' in messages
    assert 'Not sent: 400 BadRequestError: [removed] cannot receive this message' in messages
    assert '+447700900222' not in messages and 'ann@example.com' not in messages


async def test_your_data_still_works_once_a_messages_contents_are_gone(
    client: TestClient, pg: asyncpg.Pool, settings: Settings
) -> None:
    ann = await _case_with_old_messages(pg)
    await run(pg, settings)

    await sign_in(client, pg, 'ann@example.com')
    page = await client.get('/manage/your-data')
    assert page.status == 200
    assert 'We delete the contents of the messages we send you from Tell Me after 7 days.' in text_of(await page.text())
    download = await client.get('/manage/your-data/download')
    assert download.status == 200
    data = json.loads(await download.text())
    assert sorted((m['purpose'], m['status']) for m in data['messages']) == [
        ('confirmation', 'delivered'), ('event', 'delivered'), ('event', 'failed'), ('sign-in', 'pending')]  # fmt: skip
    assert {point['address'] for point in data['contact_points']} == {'ann@example.com', '447700900222'}
    assert ann.id == data['resident']['id']


async def test_the_job_moves_messages_finished_long_ago_into_counts_and_the_overview_does_not_move(
    client: TestClient, pg: asyncpg.Pool, settings: Settings
) -> None:
    bulletin = await event(pg, 'bulletins', 'bulletin.published', 'bulletins')
    for days in (29, 36, 300):  # inside the overview's 30 days; past TELLME_OUTBOX_KEEP_DAYS (35); a year ago
        someone = (await make_resident(pg)).email_id
        assert someone is not None
        await message(pg, someone, 'delivered', ago(days), event_id=bulletin, purpose='event')
    before = await snapshot(pg, bulletin)

    assert (await run(pg, settings))['messages_counted'] == 2
    after = await snapshot(pg, bulletin)
    assert after['overview'] == before['overview']
    assert (after['progress'].total, after['progress'].summarised) == (before['progress'].total, 2)
    assert await pg.fetchval('select count(*) from notifications') == 1
    assert (await run(pg, settings))['messages_counted'] == 0


@pytest.mark.parametrize(
    ('days', 'english', 'welsh'),
    [
        pytest.param(7, 'after 7 days', 'ar ôl 7 diwrnod', marks=pytest.mark.settings(notification_retention_days=7)),
        pytest.param(1, 'after 1 day', 'ar ôl 1 diwrnod', marks=pytest.mark.settings(notification_retention_days=1)),
        pytest.param(2, 'after 2 days', 'ar ôl 2 ddiwrnod', marks=pytest.mark.settings(notification_retention_days=2)),
        pytest.param(30, 'after 30 days', 'ar ôl 30 diwrnod',
                     marks=pytest.mark.settings(notification_retention_days=30)),
    ],
)  # fmt: skip
async def test_the_privacy_notice_says_how_long_message_contents_are_kept(
    client: TestClient, days: int, english: str, welsh: str
) -> None:
    en = text_of(await (await client.get('/privacy', params={'lang': 'en'})).text())
    assert f'We delete the contents of the messages we send you from Tell Me {english}.' in en
    assert (
        'We keep a record of when each message was sent and whether it arrived, without its contents, for the '
        'council’s figures.' in en
    )
    cy = text_of(await (await client.get('/privacy', params={'lang': 'cy'})).text())
    assert f'Rydyn ni’n dileu cynnwys y negeseuon rydyn ni’n eu hanfon atoch chi o Tell Me {welsh}.' in cy
    assert (
        'Rydyn ni’n cadw cofnod o bryd yr anfonwyd pob neges ac a gyrhaeddodd hi, heb ei chynnwys, ar gyfer ffigurau’r '
        'cyngor.' in cy
    )


@pytest.mark.settings(notification_retention_days=10)
async def test_the_job_follows_the_setting(client: TestClient, pg: asyncpg.Pool, settings: Settings) -> None:
    ann = await make_resident(pg)
    nine = await message(pg, ann.email_id, 'delivered', ago(9), personalisation=CODE)
    eleven = await message(pg, ann.email_id, 'delivered', ago(11), personalisation=CODE)
    assert (await run(pg, settings))['message_contents'] == 1
    left = await pg.fetch('select id from notifications where personalisation is not null')
    assert [row['id'] for row in left] == [nine] and nine != eleven
