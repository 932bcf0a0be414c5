"""Answers to residents' texts, as Notify posts them to us (the whole journey through the simulator:
tests/pipeline/test_ask_by_text.py): in the resident's language, only from what their own verified number follows,
once a day for a text that waits for staff, never more than the daily limit, and never an error or someone else's
data whatever the text holds."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from notifier.app_keys import PG
from notifier.receipts import callbacks
from notifier.settings import Settings
from notifier.shell.app import create_app
from sources.feeds.adapters.ukbcd import schedule_event
from templates.registry import render, template
from tests.support.factories import Resident, make_event, make_resident, make_subscription, record
from tests.support.notify import CALLBACK_TOKEN
from tests.support.waiting import wait_until

AUTH = {'Authorization': f'Bearer {CALLBACK_TOKEN}'}
TEXTED = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)  # Monday
UPRN, OTHER_UPRN = '100012345678', '100012349999'
CASE = 'ENF/2027/0042'


async def text(app: TestClient, number: str, message: str, at: datetime = TEXTED) -> str:
    """A text as Notify forwards it, sent at `at`; the outcome stored with it."""
    body = {'id': str(uuid.uuid4()), 'source_number': number, 'destination_number': '07700900000',
            'message': message, 'date_received': at.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}  # fmt: skip
    response = await app.post('/notify/callbacks/inbound-sms', json=body, headers=AUTH)
    assert response.status == 200
    return await app.server.app[PG].fetchval('select outcome from notify_callbacks where notify_id = $1', body['id'])


async def stored(pg: asyncpg.Pool, number: str, message: str, at: datetime = TEXTED) -> int:
    """A text as Notify forwards it, stored and not yet processed (as the web process leaves it for a moment)."""
    body = {'id': str(uuid.uuid4()), 'source_number': number, 'destination_number': '07700900000',
            'message': message, 'date_received': at.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}  # fmt: skip
    return await pg.fetchval(callbacks.STORE, 'inbound-sms', uuid.UUID(body['id']), None, None, body)


async def at_the_same_moment(pg: asyncpg.Pool, settings: Settings, *callback_ids: int) -> list[str]:
    """Process stored texts as web processes would if Notify posted them at once: each is held just before it reads
    the number's answers of the day until all are there (or waiting for one another), then they are let go together."""
    async with pg.acquire() as gate, gate.transaction():
        await gate.execute('lock table text_answers in access exclusive mode')
        running = [asyncio.create_task(callbacks.process(pg, one, settings)) for one in callback_ids]
        await wait_until(lambda: _waiting_for_a_lock(pg, len(callback_ids)), timeout=10)
    return list(await asyncio.gather(*running))


async def _waiting_for_a_lock(pg: asyncpg.Pool, count: int) -> bool:
    waiting = "select count(*) from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()"
    return bool(await pg.fetchval(waiting) >= count)


async def replies(pg: asyncpg.Pool, resident: Resident | None = None) -> list[str]:
    """The bodies of the answers queued, oldest first (to one resident's number, if given)."""
    rows = await pg.fetch(
        "select template_id, personalisation from notifications where purpose = 'reply'"
        ' and ($1::bigint is null or contact_point_id = $1) order by created_at',
        resident.sms_id if resident else None,
    )
    return [render(template(str(row['template_id']))['body'], row['personalisation']) for row in rows]


async def schedule(pg: asyncpg.Pool, uprn: str, address: str, dates: dict[str, set[date]]) -> None:
    await record(pg, schedule_event('test-bins', uprn, dates, {'address': address}, TEXTED, url=None), now=TEXTED)


async def a_case(pg: asyncpg.Pool, reference: str = CASE, stage: str = 'action_scheduled') -> None:
    event = make_event(source='planning-enforcement', external_key=reference, kind='case.status', topic='cases',
                       title='Fence too high', case_reference=reference, attributes={'stage': stage},
                       occurred_at=datetime(2027, 2, 26, 9, 0, tzinfo=UTC))  # fmt: skip
    await record(pg, event, now=TEXTED)


def mobile(resident: Resident) -> str:
    assert resident.mobile is not None
    return resident.mobile


@pytest.fixture
async def ann(pg: asyncpg.Pool) -> Resident:
    """Follows two addresses' bins by text."""
    await schedule(
        pg, UPRN, '1 High Street, Stretford', {'Refuse': {date(2027, 3, 2)}, 'Recycling': {date(2027, 3, 9)}}
    )
    await schedule(pg, OTHER_UPRN, '7 Mill Lane, Stretford', {'Refuse': {date(2027, 3, 4)}})
    resident = await make_resident(pg, email=False, sms='07700 900456')
    await make_subscription(pg, resident, kind='address', uprn=UPRN, topics=['bins'], remind_at='evening-before')
    await make_subscription(pg, resident, kind='address', uprn=OTHER_UPRN, topics=['bins'])
    return resident


async def test_bins_names_each_address_the_number_follows(app: TestClient, pg: asyncpg.Pool, ann: Resident) -> None:
    assert await text(app, mobile(ann), 'Bins please') == 'answered: bins'
    assert await replies(pg, ann) == [
        'Tell Me, your next bin collections: 1 High Street: Refuse: Tue 2 Mar. Recycling: Tue 9 Mar. '
        '7 Mill Lane: Refuse: Thu 4 Mar.'
    ]


async def test_a_welsh_speaker_is_answered_in_welsh(app: TestClient, pg: asyncpg.Pool) -> None:
    await schedule(pg, UPRN, '1 Stryd Fawr', {'Sbwriel': {date(2027, 3, 2)}})
    await a_case(pg)
    gwen = await make_resident(pg, email=False, sms=True, language='cy')
    await make_subscription(pg, gwen, kind='address', uprn=UPRN, topics=['bins'])
    await make_subscription(pg, gwen, kind='case', case_source='planning-enforcement', case_reference=CASE)
    for message in ('BINIAU', 'cymorth', CASE.lower(), 'Mae gen i gwestiwn am y ffens'):
        await text(app, mobile(gwen), message)
    assert await replies(pg, gwen) == [
        'Tell Me, eich casgliadau biniau nesaf: Sbwriel: Maw 2 Maw.',
        'Tell Me: anfonwch BINIAU i gael eich casgliadau biniau nesaf, neu gyfeirnod eich achos i weld ble mae arni. '
        'Anfonwch STOP i atal ein negeseuon. Bydd staff y cyngor yn darllen unrhyw beth arall.',
        f'Tell Me: mae achos {CASE} ar y cam hwn: Camau wedi eu trefnu. Diweddarwyd ddiwethaf Gwe 26 Chwef.',
        'Tell Me: diolch, bydd staff y cyngor yn darllen eich neges ac yn ateb o fewn 2 diwrnod gwaith. '
        'Anfonwch CYMORTH i weld beth allwch chi ei ofyn drwy neges destun.',
    ]


async def test_a_text_in_welsh_is_answered_in_welsh_whatever_the_residents_language(
    app: TestClient, pg: asyncpg.Pool, ann: Resident
) -> None:
    """Welsh correspondence gets a Welsh reply (the Welsh Language Standards); English text-speak is not Welsh."""
    assert await text(app, mobile(ann), 'BINIAU') == 'answered: bins'
    assert await text(app, mobile(ann), 'cymorth os gwelwch yn dda') == 'answered: help'
    assert await text(app, mobile(ann), 'when is yr bin day') == 'answered: bins'
    welsh_bins, welsh_help, english_bins = await replies(pg, ann)
    assert welsh_bins == (
        'Tell Me, eich casgliadau biniau nesaf: 1 High Street: Refuse: Maw 2 Maw. Recycling: Maw 9 Maw. '
        '7 Mill Lane: Refuse: Iau 4 Maw.'
    )
    assert welsh_help.startswith('Tell Me: anfonwch BINIAU')
    assert english_bins.startswith('Tell Me, your next bin collections: 1 High Street: Refuse: Tue 2 Mar.')
    assert await pg.fetchval('select language from residents where id = $1', ann.id) == 'en', 'still English'


async def test_a_number_following_nothing_asked_for_is_told_how_to_sign_up(app: TestClient, pg: asyncpg.Pool) -> None:
    await a_case(pg)
    await schedule(pg, UPRN, '1 High Street', {'Refuse': {date(2027, 3, 2)}})
    planning_only = await make_resident(pg, email=False, sms=True)
    await make_subscription(pg, planning_only, kind='topic', topics=['planning'])
    assert await text(app, mobile(planning_only), 'BINS') == 'answered: not-followed'
    assert await text(app, mobile(planning_only), CASE) == 'answered: not-followed'
    assert await text(app, mobile(planning_only), 'XYZ-99999') == 'answered: not-followed'
    bins, real_case, made_up = await replies(pg, planning_only)
    assert bins == (
        'Tell Me: this number is not signed up for that. Sign up to get it by text: https://tellme.example.gov.uk/bins '
        'Text HELP to see what you can ask.'
    )
    assert real_case == made_up, 'a real reference and a made-up one get the same answer'
    assert real_case.count('/case ') == 1 and 'Fence' not in real_case and CASE not in real_case


async def test_a_number_we_hold_nothing_for_gets_one_answer_in_the_language_it_asked_in(
    app: TestClient, pg: asyncpg.Pool
) -> None:
    """A stranger asking is answered (HELP, or how to sign up); a stranger's message waits for staff and is
    acknowledged; thanks, symbols, and a number that is not a UK mobile make nothing and get nothing."""
    await a_case(pg)
    assert await text(app, '07700 900901', 'help') == 'answered: help'
    assert await text(app, '07700 900902', 'Cymorth os gwelwch yn dda') == 'answered: help'
    assert await text(app, '07700 900903', CASE) == 'answered: not-followed'
    assert await text(app, '07700 900904', 'My bin was missed') == 'stored; acknowledged'
    assert await text(app, '07700 900905', 'Diolch') == 'stored'
    assert await text(app, '07700 900906', '👍') == 'stored'
    assert await text(app, '+1 202 555 0123', 'BINS') == 'stored'
    answers = await replies(pg)
    assert answers[0].startswith('Tell Me: text BINS for your next bin collections')
    assert answers[1].startswith('Tell Me: anfonwch BINIAU'), 'asked in Welsh: answered in Welsh'
    assert answers[2].startswith('Tell Me: this number is not signed up for that.') and CASE not in answers[2]
    assert answers[3].startswith('Tell Me: thank you, council staff will read your text')
    assert len(answers) == 4
    made = await pg.fetch('select c.address, c.verified_at, r.language, r.from_text from contact_points c '
                          'join residents r on r.id = c.resident_id order by c.address')  # fmt: skip
    assert [(row['address'], row['language']) for row in made] == [
        ('447700900901', 'en'), ('447700900902', 'cy'), ('447700900903', 'en'), ('447700900904', 'en'),
    ]  # fmt: skip
    assert all(row['verified_at'] is None and row['from_text'] for row in made), 'unproved: it never learns anything'
    waiting = await pg.fetch("select payload ->> 'source_number' as number from notify_callbacks where for_staff "
                             'order by id')  # fmt: skip
    assert [row['number'] for row in waiting] == ['07700 900904', '07700 900905', '07700 900906', '+1 202 555 0123']


async def test_an_unproved_number_gets_no_data_even_for_what_its_resident_follows(
    app: TestClient, pg: asyncpg.Pool
) -> None:
    """A number typed at sign-up and never confirmed may be someone else's: it learns nothing about the address."""
    await schedule(pg, UPRN, '1 High Street', {'Refuse': {date(2027, 3, 2)}})
    typo = await make_resident(pg, email=True, sms=True, verified=False)
    await make_subscription(pg, typo, kind='address', uprn=UPRN, topics=['bins'], channels=['email'])
    assert await text(app, mobile(typo), 'BINS') == 'answered: not-followed'
    assert 'Mar' not in (await replies(pg, typo))[0]


async def test_an_address_without_dates_yet_says_so(app: TestClient, pg: asyncpg.Pool) -> None:
    waiting = await make_resident(pg, email=False, sms=True)
    await make_subscription(pg, waiting, kind='address', uprn=UPRN, topics=['bins'])
    assert await text(app, mobile(waiting), 'bin') == 'answered: bins-unknown'
    await schedule(pg, UPRN, '1 High Street', {'Refuse': {date(2027, 2, 23)}})  # only dates gone by
    assert await text(app, mobile(waiting), 'bin') == 'answered: bins-unknown'
    assert (await replies(pg, waiting))[0].startswith('Tell Me: we do not have bin collection dates for your address')


async def test_a_text_for_staff_is_acknowledged_once_a_day(app: TestClient, pg: asyncpg.Pool, ann: Resident) -> None:
    assert await text(app, mobile(ann), 'My bin was missed') == 'stored; acknowledged'
    assert await text(app, mobile(ann), 'And the recycling too') == 'stored'
    assert await text(app, mobile(ann), 'Thanks') == 'stored', 'thanks needs no answer'
    assert await text(app, mobile(ann), '👍') == 'stored'
    next_day = datetime(2027, 3, 2, 9, 0, tzinfo=UTC)
    assert await text(app, mobile(ann), 'Still not collected', at=next_day) == 'stored; acknowledged'
    assert (
        await replies(pg, ann)
        == [
            'Tell Me: thank you, council staff will read your text and reply within 2 working days. '
            'Text HELP to see what you can ask by text.'
        ]
        * 2
    )
    assert await pg.fetchval('select count(*) from notify_callbacks where for_staff') == 5, 'all wait for staff'


async def test_past_the_daily_limit_texts_wait_for_staff_unanswered(
    app: TestClient, pg: asyncpg.Pool, ann: Resident
) -> None:
    for _ in range(5):  # TELLME_TEXT_REPLIES_PER_DAY's default
        assert (await text(app, mobile(ann), 'bins')).startswith('answered')
    assert await text(app, mobile(ann), 'help') == 'help: not sent, daily limit reached'
    assert await pg.fetchval('select for_staff from notify_callbacks order by id desc limit 1')
    assert len(await replies(pg, ann)) == 5
    tomorrow = datetime(2027, 3, 2, 10, 1, tzinfo=UTC)  # 24 hours on
    assert await text(app, mobile(ann), 'help', at=tomorrow) == 'answered: help'


@pytest.mark.parametrize(
    'message',
    ['', '   ', 'x' * 918, 'BINS ' * 183, '🗑️🗑️', 'bins\u0000', '\u0000', 'lone \ud83d half', '\ud800BINS',
     'ENF/2027/0043', 'enf/2027/0042\u0000', 'A' * 40 + '1', '((collections))', 'DROP TABLE text_answers;--'],
)  # fmt: skip
async def test_bad_input_gets_a_safe_answer_or_none_never_an_error_or_another_persons_data(
    app: TestClient, pg: asyncpg.Pool, ann: Resident, message: str
) -> None:
    """Ann does not follow the case (someone else does): nothing about it ever reaches her."""
    await a_case(pg)
    someone = await make_resident(pg, email=False, sms=True)
    await make_subscription(pg, someone, kind='case', case_source='planning-enforcement', case_reference=CASE)
    outcome = await text(app, mobile(ann), message)
    assert outcome is not None and not outcome.startswith('error')
    answers = await replies(pg)
    assert len(answers) <= 1 and all('Fence' not in body and 'Camau' not in body for body in answers)
    assert all('Action scheduled' not in body for body in answers)
    assert all(message.strip() not in body for body in answers if len(message.strip()) > 3), 'never quoted back'
    assert await replies(pg, someone) == []


async def test_a_stopped_number_asking_is_still_answered_and_start_still_works(
    app: TestClient, pg: asyncpg.Pool, ann: Resident
) -> None:
    await make_subscription(pg, ann, kind='topic', topics=['planning'], channels=['sms'])
    assert (await text(app, mobile(ann), 'STOP')).startswith('stop: suppressed')
    assert await text(app, mobile(ann), 'help') == 'answered: help', 'they asked: the answer is a reply'
    assert (await text(app, mobile(ann), 'START')).startswith('start: resumed')


async def test_an_answer_is_sent_through_notify_as_one_text(
    app: TestClient, pg: asyncpg.Pool, ann: Resident, sender: Any, sim: Any
) -> None:
    await text(app, mobile(ann), 'next')
    nid = await pg.fetchval("select id from notifications where purpose = 'reply'")
    assert await sender.deliver(nid) == 'sent'
    [sent] = sim.sent(nid)
    assert sent.body.startswith('Tell Me, your next bin collections: 1 High Street: Refuse: Tue 2 Mar.')
    assert await pg.fetchval('select notification_id from text_answers') == nid


async def test_two_texts_at_once_from_one_number_never_pass_its_daily_limit(
    app: TestClient, pg: asyncpg.Pool, ann: Resident, delivery_settings: Settings
) -> None:
    """Notify posts two texts from one number at the same moment, each to a web process of its own: with one answer
    of the day left, one of them gets it and the other waits for staff."""
    for _ in range(4):  # one short of TELLME_TEXT_REPLIES_PER_DAY's default
        assert (await text(app, mobile(ann), 'bins')).startswith('answered')
    first, second = await stored(pg, mobile(ann), 'help'), await stored(pg, mobile(ann), 'HELP')
    outcomes = await at_the_same_moment(pg, delivery_settings, first, second)
    assert sorted(outcomes) == ['answered: help', 'help: not sent, daily limit reached']
    assert len(await replies(pg, ann)) == 5


async def test_two_messages_at_once_from_one_number_are_acknowledged_once(
    app: TestClient, pg: asyncpg.Pool, ann: Resident, delivery_settings: Settings
) -> None:
    first, second = await stored(pg, mobile(ann), 'My bin was missed'), await stored(pg, mobile(ann), 'Again')
    outcomes = await at_the_same_moment(pg, delivery_settings, first, second)
    assert sorted(outcomes) == ['stored', 'stored; acknowledged']
    assert len(await replies(pg, ann)) == 1


async def test_a_text_processed_twice_is_answered_once(
    app: TestClient, pg: asyncpg.Pool, ann: Resident, delivery_settings: Settings
) -> None:
    """The sweeper read the text as unprocessed just before the web process finished it: it is not answered again."""
    callback = await stored(pg, mobile(ann), 'bins')
    assert await callbacks.process(pg, callback, delivery_settings) == 'answered: bins'
    await callbacks.process(pg, callback, delivery_settings)
    assert len(await replies(pg, ann)) == 1
    assert await pg.fetchval('select outcome from notify_callbacks where id = $1', callback) == 'answered: bins'


async def test_a_text_marked_unprocessed_again_is_not_answered_again(
    app: TestClient, pg: asyncpg.Pool, ann: Resident, delivery_settings: Settings
) -> None:
    """An operator putting a text back for the sweeper (processed_at cleared) does not pay for a second answer."""
    callback = await stored(pg, mobile(ann), 'bins')
    assert await callbacks.process(pg, callback, delivery_settings) == 'answered: bins'
    await pg.execute('update notify_callbacks set processed_at = null where id = $1', callback)
    assert await callbacks.process(pg, callback, delivery_settings) == 'bins: answered already'
    assert len(await replies(pg, ann)) == 1


async def test_with_answers_turned_off_a_stranger_leaves_nothing_behind_but_its_text_for_staff(
    pg: asyncpg.Pool, delivery_settings: Settings, aiohttp_client: Any
) -> None:
    """TELLME_TEXT_REPLIES_PER_DAY=0: nothing will be sent, so no resident is made and no number kept to send it."""
    app = await aiohttp_client(create_app(delivery_settings.model_copy(update={'text_replies_per_day': 0})))
    assert await text(app, '07700 900901', 'BINS') == 'stored'
    assert await text(app, '07700 900902', 'My bin was missed') == 'stored'
    assert await pg.fetchval('select count(*) from residents') == 0
    assert await pg.fetchval('select count(*) from contact_points') == 0
    assert await replies(pg) == []
    assert await pg.fetchval('select count(*) from notify_callbacks where for_staff') == 2, 'kept for staff'
