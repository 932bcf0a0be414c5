"""Ask by text, end to end and without a browser (issue 15): a resident texts the council's Notify number through the
simulator's inbound endpoint, Notify (the simulator) posts the text to Tell Me, and Tell Me's answer goes out
through the worker's sender and comes back to the simulator as a text. The simulator's clock is fixed, so what
"next" collection means never depends on the day the test runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from notifier.settings import Settings
from notifier.shell.app import create_app
from sources.feeds.adapters.ukbcd import schedule_event
from tests.support.app import PUBLIC
from tests.support.factories import Resident, make_event, make_resident, make_subscription, record
from tests.support.notify import FakeClock, RunningSim, receipts_to
from tests.support.waiting import wait_until
from tests.support.worker import worker_in_a_task

TEXTED = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)  # a Monday morning
UPRN = '100012345678'
LIMIT = 3
CASE = 'FMS-20417'


@pytest.fixture
async def texting(
    delivery_settings: Settings, sim: RunningSim, redis: Redis, pg: asyncpg.Pool, aiohttp_client: Callable[..., Any]
) -> AsyncIterator[TestClient]:
    """The app receiving the simulator's texts and receipts, and a worker sending (no crons: nothing but answers)."""
    settings = delivery_settings.model_copy(update={'text_replies_per_day': LIMIT})
    client = await aiohttp_client(create_app(settings.model_copy(update={'public_url': PUBLIC})))
    receipts_to(client, sim)
    sim.sim.inbound_callback_url = str(client.make_url('/notify/callbacks/inbound-sms'))
    sim.sim.clock = FakeClock(TEXTED.timestamp())  # Notify's date_received
    async with worker_in_a_task(settings, cron_jobs=[]):
        yield client


def e164(resident: Resident) -> str:
    assert resident.mobile is not None
    return '+44' + resident.mobile.replace(' ', '')[1:]


async def send_text(sim: RunningSim, resident_or_number: Resident | str, content: str) -> None:
    """The resident texts the council's Notify number (the simulator's inbound endpoint)."""
    number = resident_or_number if isinstance(resident_or_number, str) else e164(resident_or_number)
    async with sim.http.post(f'{sim.url}/_sim/inbound-sms', json={'user_number': number, 'content': content}) as r:
        assert r.status == 201, await r.text()


def texts_to(sim: RunningSim, number: str) -> list[Any]:
    return [n for n in sim.sim.store.all() if n.type == 'sms' and n.to == number]


async def processed(pg: asyncpg.Pool, count: int) -> None:
    async def done() -> bool:
        query = "select count(*) from notify_callbacks where kind = 'inbound-sms' and processed_at is not null"
        return await pg.fetchval(query) >= count

    await wait_until(done)


async def test_a_resident_texts_bins_please_and_gets_one_text_with_their_next_collections(
    texting: TestClient, sim: RunningSim, pg: asyncpg.Pool
) -> None:
    dates = {'Refuse': {date(2027, 2, 23), date(2027, 3, 2), date(2027, 3, 9)},
             'Recycling': {date(2027, 3, 9), date(2027, 3, 23)}, 'Garden waste': {date(2027, 3, 22)}}  # fmt: skip
    moved = [{'type': 'Recycling', 'date': '2027-03-09', 'date_text': 'Tuesday 9 March', 'usual_day': 'Monday'}]
    schedule = schedule_event('test-bins', UPRN, dates, {'address': '1 High Street'}, TEXTED, url=None, moved=moved)
    await record(pg, schedule, now=TEXTED)  # before anyone follows it: no news goes out
    resident = await make_resident(pg, email=False, sms=True)
    await make_subscription(pg, resident, kind='address', uprn=UPRN, topics=['bins'], remind_at='evening-before')

    await send_text(sim, resident, 'bins please')

    await wait_until(lambda: asyncio.sleep(0, texts_to(sim, e164(resident))))
    await asyncio.sleep(0.3)  # nothing more follows
    [answer] = texts_to(sim, e164(resident))
    assert answer.body == (
        'Tell Me, your next bin collections: Refuse: Tue 2 Mar. Recycling: Tue 9 Mar (moved). Garden waste: Mon 22 Mar.'
    )
    assert await pg.fetchval('select for_staff from notify_callbacks') is False, 'answered: nothing for staff to do'

    async def delivered() -> bool:
        return await pg.fetchval("select status from notifications where purpose = 'reply'") == 'delivered'

    await wait_until(delivered)


async def test_a_strangers_number_texting_bins_please_gets_one_text_saying_how_to_sign_up(
    texting: TestClient, sim: RunningSim, pg: asyncpg.Pool
) -> None:
    """A number Tell Me holds nothing for asks, as a resident would: it is told how to sign up, in the language it
    asked in, and learns no one's collections."""
    dates = {'Refuse': {date(2027, 3, 2)}, 'Recycling': {date(2027, 3, 9)}}
    await record(pg, schedule_event('test-bins', UPRN, dates, {'address': '1 High Street'}, TEXTED, url=None),
                 now=TEXTED)  # fmt: skip
    neighbour = await make_resident(pg, email=False, sms=True)  # follows the bins: there is data to leak
    await make_subscription(pg, neighbour, kind='address', uprn=UPRN, topics=['bins'])
    stranger, welsh_stranger = '+447700900999', '+447700900998'

    await send_text(sim, stranger, 'bins please')
    await send_text(sim, welsh_stranger, 'BINIAU plîs')
    await processed(pg, 2)

    await wait_until(lambda: asyncio.sleep(0, texts_to(sim, stranger) and texts_to(sim, welsh_stranger)))
    await asyncio.sleep(0.3)  # nothing more follows
    [answer] = texts_to(sim, stranger)
    assert answer.body == (
        f'Tell Me: this number is not signed up for that. Sign up to get it by text: {PUBLIC}/bins '
        'Text HELP to see what you can ask.'
    )
    [ateb] = texts_to(sim, welsh_stranger)
    assert ateb.body.startswith('Tell Me: nid yw’r rhif hwn wedi cofrestru ar gyfer hynny.')
    assert f'{PUBLIC}/bins?lang=cy ' in ateb.body
    for body in (answer.body, ateb.body):
        assert 'Refuse' not in body and 'Mar' not in body and '1 High' not in body
    assert texts_to(sim, e164(neighbour)) == []
    assert await pg.fetchval('select count(*) from notify_callbacks where for_staff') == 0, 'answered: nothing waits'


async def test_a_strangers_number_texting_a_real_case_reference_gets_no_case_data(
    texting: TestClient, sim: RunningSim, pg: asyncpg.Pool
) -> None:
    await record(pg, make_event(source='fixmystreet', external_key=CASE, kind='case.status', topic='cases',
                                title='Pothole on King Street', case_reference=CASE,
                                attributes={'stage': 'assessing', 'status': 'Being assessed'},
                                occurred_at=datetime(2027, 2, 26, 15, 0, tzinfo=UTC)), now=TEXTED)  # fmt: skip
    follower = await make_resident(pg, email=False, sms=True)
    await make_subscription(pg, follower, kind='case', case_source='fixmystreet', case_reference=CASE)
    other_resident = await make_resident(pg, email=False, sms=True)  # follows something else
    await make_subscription(pg, other_resident, kind='address', uprn=UPRN, topics=['bins'])
    stranger = '+447700900999'  # a number Tell Me holds nothing for

    await send_text(sim, stranger, CASE)
    await send_text(sim, other_resident, CASE.lower())
    await send_text(sim, follower, f'case {CASE} please')
    await processed(pg, 3)

    numbers = (e164(follower), e164(other_resident), stranger)
    await wait_until(lambda: asyncio.sleep(0, all(texts_to(sim, number) for number in numbers)))
    await asyncio.sleep(0.3)  # nothing more follows
    [to_follower] = texts_to(sim, e164(follower))
    assert to_follower.body == f'Tell Me: case {CASE} is at this stage: Being assessed. Last updated Fri 26 Feb.'
    [to_other] = texts_to(sim, e164(other_resident))
    [to_stranger] = texts_to(sim, stranger)
    for body in (to_other.body, to_stranger.body):
        assert body.startswith('Tell Me: this number is not signed up for that. Sign up to get it by text: ')
        assert f'{PUBLIC}/case ' in body
        assert CASE not in body and 'assess' not in body.lower() and 'Pothole' not in body
    assert to_stranger.body == to_other.body, 'a number we hold nothing for hears what anyone not following it hears'
    assert await pg.fetchval('select count(*) from notify_callbacks where for_staff') == 0, 'all three answered'


@pytest.mark.parametrize('stranger', [False, True], ids=['a resident', 'a stranger'])
async def test_two_auto_responders_stop_after_the_per_number_limit(
    texting: TestClient, sim: RunningSim, pg: asyncpg.Pool, stranger: bool
) -> None:
    """The number answers every text it gets with "HELP" (an auto-responder), and so do we: the loop ends after
    TELLME_TEXT_REPLIES_PER_DAY answers, whether or not Tell Me knew the number before it first texted."""
    if stranger:
        number = '+447700900997'
    else:
        robot = await make_resident(pg, email=False, sms=True)
        await make_subscription(pg, robot, kind='address', uprn=UPRN, topics=['bins'])
        number = e164(robot)
    await send_text(sim, number, 'HELP')
    received = 0
    for sent in range(1, 4 * LIMIT):  # bounded: a broken limit fails the test instead of running for ever
        await processed(pg, sent)
        queued = await pg.fetchval("select count(*) from notifications where purpose = 'reply'")
        if queued == received:
            break  # this text got no answer: the robot has nothing to answer
        await wait_until(lambda: asyncio.sleep(0, len(texts_to(sim, number)) == queued))  # noqa: B023
        received = queued
        await send_text(sim, number, 'HELP')  # the auto-responder answers our answer
    assert received == LIMIT
    assert len(texts_to(sim, number)) == LIMIT
    texts = await pg.fetchval("select count(*) from notify_callbacks where kind = 'inbound-sms'")
    assert texts == LIMIT + 1
    assert await pg.fetchval("select count(*) from notifications where purpose = 'reply'") == LIMIT
    assert await pg.fetchval('select count(*) from notify_callbacks where for_staff') == 1, 'the unanswered one'
