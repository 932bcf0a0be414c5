"""Who a bulletin reaches: a ward (by code, by circle, by address, by district), a radius, a list, the whole
council — each person once per channel, counted the way it will be sent; and what it costs."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import asyncpg

from notifier import audit
from sources.bulletins import audience as bulletin_audience
from sources.bulletins import costs as bulletin_costs
from sources.bulletins import flow as bulletins
from sources.bulletins.drafts import Draft, read_list, resolve
from tests.support.app import PUBLIC
from tests.support.bulletins import SALE_WARD, Ward, sale_ward
from tests.support.factories import make_resident, make_subscription

COMMS = audit.Actor('staff', 1, 'comms@council.example')


async def compose(pg: asyncpg.Pool, **fields: object) -> int:
    draft = Draft(**({'title': 'Water off', 'message': 'Water is off until 6pm.', 'topics': ['*'], 'area': 'wards',
                      'wards': SALE_WARD,
                      'channels': ['email', 'sms'], 'urgency': 'urgent'} | fields))  # type: ignore[arg-type]  # fmt: skip
    async with pg.acquire() as conn:
        target, errors = await resolve(conn, draft)
        assert not errors, errors
        assert target is not None
        return await bulletins.create(conn, draft, target, COMMS)


async def reached(pg: asyncpg.Pool, bulletin: int) -> set[int]:
    sql = (f'with {bulletin_audience._SPOTS}, {bulletin_audience._MATCHED}, {bulletin_audience._RECIPIENTS} '
           'select array_agg(distinct resident_id) from recipients')  # fmt: skip
    return set(await pg.fetchval(sql, bulletin) or [])


def people(ward: Ward, *names: str) -> set[int]:
    return {ward.inside[name].id for name in names}


async def test_a_ward_bulletin_counts_each_person_in_the_ward_once_per_channel(pg: asyncpg.Pool) -> None:
    ward = await sale_ward(pg)
    bulletin = await compose(pg)
    audience = await bulletin_audience.count(pg, bulletin)
    assert audience.people == len(ward.inside) == 7
    assert audience.on('email') == 6  # everyone inside but the text-only resident
    assert audience.on('sms') == 2  # 'near' and 'quiet'
    assert audience.messages == len(ward.expected())


async def test_sending_writes_exactly_the_expected_outbox_rows_and_a_second_run_writes_none(pg: asyncpg.Pool) -> None:
    ward = await sale_ward(pg)
    bulletin = await compose(pg)
    async with pg.acquire() as conn:
        assert (
            await bulletins.submit(conn, bulletin, COMMS, send_at=None, threshold=1000, public_url=PUBLIC) == 'sending'
        )
    rows = await pg.fetch(
        'select contact_point_id, channel, status, urgency, not_before <= now() as due from notifications '
        'where purpose = $1',
        'event',
    )
    assert {(r['contact_point_id'], r['channel']) for r in rows} == ward.expected()
    # urgent: nobody waits for a digest or for the end of quiet hours
    assert {(r['status'], r['urgency'], r['due']) for r in rows} == {('pending', 'urgent', True)}
    async with pg.acquire() as conn:
        assert await bulletin_audience.fan_out(conn, bulletin) == 0
        assert await bulletins.start_sending(conn, bulletin, COMMS, threshold=1000, public_url=PUBLIC) == 'sending'
    assert await pg.fetchval('select count(*) from notifications') == len(rows)


async def test_a_normal_bulletin_waits_in_digests_and_for_quiet_hours(pg: asyncpg.Pool) -> None:
    ward = await sale_ward(pg)
    bulletin = await compose(pg, urgency='normal')
    late = datetime(2026, 12, 7, 23, 30, tzinfo=ZoneInfo('Europe/London'))  # sent at 23:30, whenever the test runs
    async with pg.acquire() as conn:
        assert (
            await bulletins.submit(conn, bulletin, COMMS, send_at=None, threshold=1000, public_url=PUBLIC, now=late)
            == 'sending'
        )
    rows = {
        (r['contact_point_id'], r['channel']): (r['status'], r['not_before'])
        for r in await pg.fetch('select contact_point_id, channel, status, not_before from notifications')
    }
    assert rows[(ward.inside['digest'].email_id, 'email')][0] == 'held'
    assert rows[(ward.inside['near'].email_id, 'email')] == ('pending', late)
    # texts wait for the morning: 08:00 after the default quiet hours, 07:00 after the resident's own
    assert rows[(ward.inside['near'].sms_id, 'sms')] == ('pending', datetime(2026, 12, 8, 8, 0, tzinfo=UTC))
    assert rows[(ward.inside['quiet'].sms_id, 'sms')] == ('pending', datetime(2026, 12, 8, 7, 0, tzinfo=UTC))


async def test_a_radius_reaches_circles_that_overlap_it(pg: asyncpg.Pool) -> None:
    ward = await sale_ward(pg)
    bulletin = await compose(pg, area='radius', postcode='m33 7xf', radius='300')
    audience = await bulletin_audience.count(pg, bulletin)
    # within 300 m of M33 7XF: the circles at M33 7XF, M33 7XX and 3BR; the address at M33 7YE; the ward and the
    # district (postcodes of theirs inside the circle); never Stretford
    assert await reached(pg, bulletin) == people(ward, *ward.inside)
    assert audience.people == 7


async def test_a_list_of_postcodes_and_uprns(pg: asyncpg.Pool) -> None:
    ward = await sale_ward(pg)
    postcodes, uprns, problem = read_list(b'uprn,postcode\n100012345678,\n,m33 3br\n')
    assert problem is None and postcodes == ['M33 3BR'] and uprns == ['100012345678']
    bulletin = await compose(pg, area='list', postcodes=postcodes, uprns=uprns)
    audience = await bulletin_audience.count(pg, bulletin)
    # the circle at M33 3BR (texts), the circles at M33 7XX and M33 7YE that contain the listed address's postcode,
    # the ward and district subscriptions those postcodes are in, and the listed address; 'near' (M33 7XF, 100 m)
    # reaches neither postcode
    assert audience.by_channel == {'sms': 1, 'email': 5}
    assert audience.people == 6
    assert ward.inside['near'].id not in await reached(pg, bulletin)


async def test_a_whole_council_bulletin_reaches_council_wide_subscribers_but_never_case_ones(pg: asyncpg.Pool) -> None:
    ward = await sale_ward(pg)
    bulletin = await compose(pg, area='council', channels=['email'])
    audience = await bulletin_audience.count(pg, bulletin)
    # everyone with an email: inside (6 with email), elsewhere, council-wide; not paused, unverified or case
    assert audience.people == 8
    assert ward.outside['council-wide'].email_id


async def test_cost_is_texts_times_fragments_times_price_and_saving_is_people_times_saving(pg: asyncpg.Pool) -> None:
    await sale_ward(pg)
    long_message = 'Water is off. ' * 30
    bulletin = await compose(pg, message=long_message)
    audience = await bulletin_audience.count(pg, bulletin)
    shown = bulletin_costs.previews('Water off', long_message, 'urgent', channels=['email', 'sms'],
                                    public_url='https://tellme.example.gov.uk')  # fmt: skip
    fragments = shown[('sms', 'en')].fragments
    assert fragments >= 2  # a long message: the text carries 160 characters of it and a link
    cost = bulletin_costs.cost(audience, shown, sms_price_pence=2.27, saving_per_contact_pence=268)
    assert cost.texts == 2 and cost.fragments == 2 * fragments
    assert cost.text_pence == round(2 * fragments * 2.27, 2)
    assert cost.emails == 6 and cost.letters == 0
    assert cost.saving_pence == 7 * 268 and cost.saving_pounds == '£18.76'


async def test_a_resident_who_only_wants_planning_is_not_sent_bulletins_until_they_choose_the_topic(
    pg: asyncpg.Pool,
) -> None:
    await sale_ward(pg)
    resident = await make_resident(pg)
    await make_subscription(pg, resident, near='M33 7YF', radius_m=100, topics=['planning'])
    bulletin = await compose(pg, topics=['planning'])
    audience = await bulletin_audience.count(pg, bulletin)
    # everyone in the ward who did not narrow their topics (5: 'near' chose bulletins), the planning-only
    # resident of the ward world, and this one
    assert audience.people == 7
    for_bulletins = await bulletin_audience.count(pg, await compose(pg, topics=['bulletins']))
    assert for_bulletins.people == 7 - 1  # the planning-only residents hear only bulletins for everyone
