"""We keep our promise to forget: a sign-up nobody confirms is gone after 7 days, with the person if nothing else of
theirs is left; someone with a confirmed subscription keeps it; a number that only texted us (issue 15) is gone 7
days after it first did, with our answers and its texts, and nobody else goes with it."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from notifier.overview import figures
from notifier.settings import Settings
from notifier.shell.app import create_app
from subscriptions.residents import housekeeping
from subscriptions.residents.staff_addresses import staff_contact_point
from tests.support.factories import make_resident, make_subscription
from tests.support.notify import CALLBACK_TOKEN
from tests.support.outbox import receipt
from tests.support.pages import text_of

STRANGER, WAITING = '07700 900999', '07700 900998'  # numbers Tell Me holds nothing for until they text


async def _age(pg: asyncpg.Pool, subscription_id: int, days: int) -> None:
    await pg.execute(
        'update subscriptions set created_at = now() - make_interval(days => $2) where id = $1', subscription_id, days
    )


async def test_an_unconfirmed_sign_up_is_forgotten_after_seven_days_with_its_person(pg: asyncpg.Pool) -> None:
    stranger = await make_resident(pg, verified=False)
    old = await make_subscription(pg, stranger, status='pending', kind='topic', topics=['planning'])
    await _age(pg, old, 8)
    recent_person = await make_resident(pg, verified=False)
    recent = await make_subscription(pg, recent_person, status='pending', kind='topic', topics=['planning'])
    await _age(pg, recent, 6)

    async with pg.acquire() as conn:
        forgotten = await housekeeping.forget(conn)

    assert forgotten.subscriptions >= 1 and forgotten.residents >= 1
    assert await pg.fetchval('select count(*) from subscriptions where id = $1', old) == 0
    assert await pg.fetchval('select count(*) from residents where id = $1', stranger.id) == 0
    assert await pg.fetchval('select count(*) from contact_points where resident_id = $1', stranger.id) == 0
    assert await pg.fetchval('select status from subscriptions where id = $1', recent) == 'pending'


async def test_a_resident_with_a_confirmed_subscription_keeps_it_and_their_address(pg: asyncpg.Pool) -> None:
    resident = await make_resident(pg)  # verified email
    active = await make_subscription(pg, resident, kind='topic', topics=['planning'])
    stale = await make_subscription(pg, resident, status='pending', kind='topic', topics=['licensing'])
    await _age(pg, stale, 30)
    await _age(pg, active, 30)

    async with pg.acquire() as conn:
        await housekeeping.forget(conn)

    assert await pg.fetchval('select status from subscriptions where id = $1', active) == 'active'
    assert await pg.fetchval('select count(*) from subscriptions where id = $1', stale) == 0
    assert await pg.fetchval('select count(*) from residents where id = $1', resident.id) == 1


async def test_expired_sessions_go(pg: asyncpg.Pool) -> None:
    await pg.execute(
        "insert into web_sessions (id_hash, expires_at) values ($1, now() - interval '1 minute'), "
        "($2, now() + interval '1 hour')",
        b'x' * 32,
        b'y' * 32,
    )
    async with pg.acquire() as conn:
        await housekeeping.forget(conn)
    left = await pg.fetch('select id_hash from web_sessions where id_hash = any($1::bytea[])', [b'x' * 32, b'y' * 32])
    assert [row['id_hash'] for row in left] == [b'y' * 32]


@pytest.fixture
async def notify(aiohttp_client: Any, delivery_settings: Settings) -> TestClient:
    """The app as Notify's inbound SMS callback reaches it."""
    return await aiohttp_client(create_app(delivery_settings))


async def text(notify: TestClient, number: str, message: str, at: datetime) -> None:
    body = {'id': str(uuid.uuid4()), 'source_number': number, 'destination_number': '07700900000',
            'message': message, 'date_received': at.isoformat()}  # fmt: skip
    response = await notify.post(
        '/notify/callbacks/inbound-sms', json=body, headers={'Authorization': f'Bearer {CALLBACK_TOKEN}'}
    )
    assert response.status == 200


async def forget(pg: asyncpg.Pool, now: datetime) -> housekeeping.Forgotten:
    async with pg.acquire() as conn:
        return await housekeeping.forget(conn, now=now)


async def held(pg: asyncpg.Pool, number: str) -> dict[str, int]:
    """What Tell Me holds for a number: its contact point, the answers we texted it, our record of answering, its
    texts, and Notify's receipts naming it."""
    digits = '44' + number.replace(' ', '')[1:]
    return dict(await pg.fetchrow(
        """select (select count(*) from contact_points where address = $1) as contact_points,
                  (select count(*) from notifications n join contact_points c on c.id = n.contact_point_id
                   where c.address = $1) as messages,
                  (select count(*) from text_answers t join contact_points c on c.id = t.contact_point_id
                   where c.address = $1) as text_answers,
                  (select count(*) from notify_callbacks where payload ->> 'source_number' = $2) as texts,
                  (select count(*) from notify_callbacks where payload ->> 'to' = $2) as receipts""",
        digits, number,
    ))  # fmt: skip


async def test_a_number_that_only_texted_us_is_forgotten_after_seven_days_and_no_one_else_is(
    notify: TestClient, pg: asyncpg.Pool
) -> None:
    now = await pg.fetchval('select now()')
    await text(notify, STRANGER, 'BINS', now)  # answered with how to sign up: a resident holding only the number
    stranger = await pg.fetchval("select resident_id from contact_points where address = '447700900999'")
    answer = await pg.fetchval("select id from notifications where purpose = 'reply'")
    await pg.execute(
        "update notifications set notify_id = $2, status = 'delivered' where id = $1", answer, uuid.uuid4()
    )
    await receipt(pg, answer, STRANGER, now)  # Notify's word that it arrived, naming the number
    assert await held(pg, STRANGER) == {'contact_points': 1, 'messages': 1, 'text_answers': 1, 'texts': 1,
                                        'receipts': 1}  # fmt: skip
    kept_number = await make_resident(pg, email=False, sms=True)  # proved their number; follows nothing any more
    async with pg.acquire() as conn:
        officer = await staff_contact_point(conn, 'officer@council.gov.uk')  # unproved, follows nothing, for staff
    unconfirmed = await make_resident(pg, verified=False)
    await make_subscription(pg, unconfirmed, status='pending', kind='topic', topics=['planning'])

    await forget(pg, now + timedelta(days=6))
    assert await pg.fetchval('select count(*) from residents where id = $1', stranger) == 1, 'kept for 7 days'
    assert (await held(pg, STRANGER))['contact_points'] == 1

    forgotten = await forget(pg, now + timedelta(days=8))

    assert forgotten.residents == 2, 'the stranger, and the unconfirmed sign-up as before'
    assert await pg.fetchval('select count(*) from residents where id = $1', stranger) == 0
    assert await held(pg, STRANGER) == dict.fromkeys(('contact_points', 'messages', 'text_answers', 'texts',
                                                      'receipts'), 0)  # fmt: skip
    assert await pg.fetchval('select count(*) from residents where id = $1', unconfirmed.id) == 0
    assert await pg.fetchval('select count(*) from residents where id = $1', kept_number.id) == 1
    assert await pg.fetchval('select count(*) from contact_points where id = $1', kept_number.sms_id) == 1
    assert await pg.fetchval('select count(*) from contact_points where id = $1', officer) == 1, 'staff notices'


async def test_a_strangers_text_waiting_for_staff_keeps_the_number_until_staff_have_dealt_with_it(
    notify: TestClient, pg: asyncpg.Pool
) -> None:
    now = await pg.fetchval('select now()')
    await text(notify, WAITING, 'My bin was missed, can someone call me?', now)  # acknowledged, waits for staff
    assert (await held(pg, WAITING))['messages'] == 1, 'told when the council will reply'

    await forget(pg, now + timedelta(days=8))
    assert await held(pg, WAITING) == {'contact_points': 1, 'messages': 1, 'text_answers': 1, 'texts': 1,
                                       'receipts': 0}, 'staff have yet to reply: the number stays'  # fmt: skip

    await pg.execute('update notify_callbacks set staff_done_at = $1', now + timedelta(days=9))
    await forget(pg, now + timedelta(days=9))
    assert await held(pg, WAITING) == dict.fromkeys(('contact_points', 'messages', 'text_answers', 'texts',
                                                     'receipts'), 0)  # fmt: skip


async def texts_sent(pg: asyncpg.Pool, now: datetime) -> tuple[int, int]:
    """The overview's texts in the 30 days up to `now`, and how many of them were delivered."""
    async with pg.acquire() as conn:
        view = await figures.gather(conn, saving_pence=268, now=now)
    return sum(view.per_day_channel['sms']), view.totals['delivered']


async def test_forgetting_a_number_that_only_texted_us_leaves_the_overviews_texts_as_they_were(
    notify: TestClient, pg: asyncpg.Pool
) -> None:
    """The number goes, but the council still sees that a text was sent and delivered that day."""
    now = await pg.fetchval('select now()')
    await text(notify, STRANGER, 'BINS', now)
    answer = await pg.fetchval("select id from notifications where purpose = 'reply'")
    await pg.execute(
        "update notifications set notify_id = $2, status = 'delivered', completed_at = now() where id = $1",
        answer, uuid.uuid4(),
    )  # fmt: skip
    later = now + timedelta(days=8)
    assert await texts_sent(pg, later) == (1, 1)

    assert (await forget(pg, later)).residents == 1
    assert (await held(pg, STRANGER))['messages'] == 0, 'forgotten'
    assert await texts_sent(pg, later) == (1, 1), 'still counted'
    assert await pg.fetchval('select count(*) from notification_counts') == 1
    await forget(pg, later + timedelta(hours=1))
    assert await texts_sent(pg, later) == (1, 1), 'counted once'


async def test_the_privacy_notice_says_a_number_that_texts_without_signing_up_is_kept_7_days(
    notify: TestClient,
) -> None:
    en = text_of(await (await notify.get('/privacy', params={'lang': 'en'})).text())
    assert (
        'If you text us without signing up, we keep your mobile number and your texts for 7 days so that we can '
        'answer you, or until our staff have dealt with your text if that takes longer, and then delete them.' in en
    )
    cy = text_of(await (await notify.get('/privacy', params={'lang': 'cy'})).text())
    assert (
        'Os byddwch chi’n anfon neges destun atom heb gofrestru, byddwn ni’n cadw eich rhif ffôn symudol a’ch '
        'negeseuon am 7 diwrnod er mwyn i ni allu eich ateb, neu nes bydd ein staff wedi delio â’ch neges os bydd '
        'hynny’n cymryd mwy o amser, ac yna’n eu dileu.' in cy
    )
