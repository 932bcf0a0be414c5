"""Who hears about an event, and when: matching every subscription kind and writing the outbox, on real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import asyncpg
import pytest
from geopy.distance import great_circle
from pydantic import ValidationError

from notifier.outbox import contacts
from sources.events import queries as event_queries
from subscriptions.matching import fan_out as matching
from subscriptions.residents import queries as sub_queries
from subscriptions.residents.models import InvalidContactPoint, NewSubscription, bounding_box
from tests.support.factories import Resident, make_event, make_resident, make_subscription, place, record

STRETFORD = place('M32 0AH')


async def _outbox(pg: asyncpg.Pool, event_id: int) -> list[dict[str, Any]]:
    rows = await pg.fetch(
        """
        select n.contact_point_id, n.channel, n.subscription_id, n.status, n.not_before, n.digest_id, n.urgency,
               d.due_at, d.frequency
        from notifications n left join digests d on d.id = n.digest_id
        where n.event_id = $1 order by n.contact_point_id, n.channel
        """,
        event_id,
    )
    return [dict(row) for row in rows]


def _towards(lat: float, lng: float, metres: float, bearing: float = 45) -> tuple[float, float]:
    spot = great_circle(meters=metres).destination((lat, lng), bearing)
    return spot.latitude, spot.longitude


async def test_residents_inside_their_radius_hear_and_those_outside_do_not(pg: asyncpg.Pool) -> None:
    # Real places in Trafford: M32 0PA is ~0.8 km from M32 0AH, M33 3HF (Sale) ~3.5 km away.
    near_by, far_off = place('M32 0PA'), place('M33 3HF')
    assert 700 < great_circle((STRETFORD.lat, STRETFORD.lng), (near_by.lat, near_by.lng)).meters < 900
    assert great_circle((STRETFORD.lat, STRETFORD.lng), (far_off.lat, far_off.lng)).meters > 3000
    alice, bob, carol = [await make_resident(pg) for _ in range(3)]
    a = await make_subscription(pg, alice, near='M32 0PA', radius_m=1000)
    await make_subscription(pg, bob, near='M33 3HF', radius_m=1000)
    c = await make_subscription(pg, carol, near='M33 3HF', radius_m=5000)

    ingested = await record(pg, make_event(postcode='M32 0AH'))

    assert ingested.outcome == 'new' and ingested.matched == 2
    async with pg.acquire() as conn:
        assert await matching.match(conn, ingested.event_id) == sorted([a, c])
    rows = await _outbox(pg, ingested.event_id)
    assert [(r['contact_point_id'], r['subscription_id'], r['status']) for r in rows] == [
        (alice.email_id, a, 'pending'),
        (carol.email_id, c, 'pending'),
    ]


@pytest.mark.parametrize('radius_m', [50, 400, 5000])
async def test_the_edge_of_the_radius_is_exact(pg: asyncpg.Pool, radius_m: int) -> None:
    inside, outside = await make_resident(pg), await make_resident(pg)
    for bearing in (0, 90, 135, 270):  # the box is only a first cut: corners of it are still outside the circle
        await make_subscription(pg, inside, at=_towards(STRETFORD.lat, STRETFORD.lng, radius_m - 2, bearing),
                                radius_m=radius_m)  # fmt: skip
        await make_subscription(pg, outside, at=_towards(STRETFORD.lat, STRETFORD.lng, radius_m + 2, bearing),
                                radius_m=radius_m)  # fmt: skip
    corner = await make_resident(pg)  # inside the bounding box, outside the circle
    await make_subscription(pg, corner, at=_towards(STRETFORD.lat, STRETFORD.lng, radius_m * 1.3, 45),
                            radius_m=radius_m)  # fmt: skip

    ingested = await record(pg, make_event(postcode='M32 0AH'))

    rows = await _outbox(pg, ingested.event_id)
    assert [r['contact_point_id'] for r in rows] == [inside.email_id]


async def test_three_overlapping_subscriptions_give_one_message_per_channel(pg: asyncpg.Pool) -> None:
    both = await make_resident(pg, sms=True)
    await make_subscription(pg, both, near='M32 0PA', radius_m=2000, frequency='weekly')
    area = await make_subscription(pg, both, kind='area', area_codes=[STRETFORD.ward_code])
    await make_subscription(pg, both, kind='topic', topics=['planning'], frequency='daily')

    ingested = await record(pg, make_event(postcode='M32 0AH'))

    rows = await _outbox(pg, ingested.event_id)
    # the most immediate subscription wins, and its id goes on the row (for its unsubscribe link)
    assert [(r['channel'], r['subscription_id'], r['status']) for r in rows] == [
        ('email', area, 'pending'),
        ('sms', area, 'pending'),
    ]
    async with pg.acquire() as conn, conn.transaction():
        assert await matching.fan_out(conn, ingested.event_id) == 0  # a second run writes nothing
    assert await pg.fetchval('select matched_count from events where id = $1', ingested.event_id) == 2


async def test_paused_ended_pending_and_suppressed_get_nothing(pg: asyncpg.Pool) -> None:
    listening = await make_resident(pg)
    await make_subscription(pg, listening, near='M32 0PA', radius_m=2000)
    for status in ('paused', 'ended', 'pending'):
        await make_subscription(pg, await make_resident(pg), near='M32 0PA', radius_m=2000, status=status)
    bounced = await make_resident(pg, sms=True)
    await make_subscription(pg, bounced, near='M32 0PA', radius_m=2000)
    async with pg.acquire() as conn:
        assert await contacts.suppress_contact_point(conn, bounced.email_id, 'permanent-failure')

    ingested = await record(pg, make_event(postcode='M32 0AH'))

    rows = await _outbox(pg, ingested.event_id)
    assert [(r['contact_point_id'], r['channel']) for r in rows] == [
        (listening.email_id, 'email'),
        (bounced.sms_id, 'sms'),  # the text still goes: only the bounced email address is suppressed
    ]


async def test_exclusions_leave_out_what_the_resident_does_not_want(pg: asyncpg.Pool) -> None:
    no_trees = await make_resident(pg)
    everything = await make_resident(pg)
    await make_subscription(
        pg, no_trees, near='M32 0PA', radius_m=2000, exclusions={'application_type': ['Trees', 'Advertising']}
    )
    await make_subscription(pg, everything, near='M32 0PA', radius_m=2000)

    trees = await record(pg, make_event(attributes={'application_type': 'Trees', 'status': 'validated'}))
    extension = await record(pg, make_event(attributes={'application_type': 'Householder'}))
    untyped = await record(pg, make_event(attributes={}))

    assert [r['contact_point_id'] for r in await _outbox(pg, trees.event_id)] == [everything.email_id]
    assert len(await _outbox(pg, extension.event_id)) == 2
    assert len(await _outbox(pg, untyped.event_id)) == 2  # no attribute: nothing to exclude on


async def test_topics_filter_every_kind(pg: asyncpg.Pool) -> None:
    planning_only = await make_resident(pg)
    await make_subscription(pg, planning_only, near='M32 0PA', radius_m=2000, topics=['planning'])
    licensing_only = await make_resident(pg)
    await make_subscription(pg, licensing_only, near='M32 0PA', radius_m=2000, topics=['licensing'])

    ingested = await record(pg, make_event())

    assert [r['contact_point_id'] for r in await _outbox(pg, ingested.event_id)] == [planning_only.email_id]


async def test_area_address_case_and_topic_kinds(pg: asyncpg.Pool) -> None:
    ward, district, other_ward = await make_resident(pg), await make_resident(pg), await make_resident(pg)
    await make_subscription(pg, ward, kind='area', area_codes=[STRETFORD.ward_code])
    await make_subscription(pg, district, kind='area', area_codes=[STRETFORD.district_code])
    await make_subscription(pg, other_ward, kind='area', area_codes=[place('M33 3HF').ward_code])
    home, neighbour = await make_resident(pg), await make_resident(pg)
    await make_subscription(pg, home, kind='address', uprn='100011234567', topics=['bins'])
    await make_subscription(pg, neighbour, kind='address', uprn='100011234568', topics=['bins'])
    reporter, same_ref_elsewhere = await make_resident(pg), await make_resident(pg)
    await make_subscription(pg, reporter, kind='case', case_source='fixmystreet', case_reference='FMS-4411')
    await make_subscription(pg, same_ref_elsewhere, kind='case', case_source='other-system', case_reference='FMS-4411')
    roads, all_bulletins, parks = await make_resident(pg), await make_resident(pg), await make_resident(pg)
    await make_subscription(pg, roads, kind='topic', topics=['bulletins/roads'])
    await make_subscription(pg, all_bulletins, kind='topic', topics=['bulletins'])
    await make_subscription(pg, parks, kind='topic', topics=['bulletins/parks'])

    planning = await record(pg, make_event(postcode='M32 0AH'))
    bins = await record(
        pg,
        make_event(postcode=None, kind='bins.changed', topic='bins', title='Your bin day moves', uprn='100011234567'),
    )
    case = await record(
        pg, make_event(postcode=None, source='fixmystreet', kind='case.status', topic='cases', title='Pothole fixed',
                       case_reference='FMS-4411')
    )  # fmt: skip
    bulletin = await record(
        pg, make_event(postcode=None, source='staff', kind='bulletin.published', topic='bulletins/roads',
                       title='A56 closed overnight')
    )  # fmt: skip

    async def who(event_id: int | None) -> set[int | None]:
        return {r['contact_point_id'] for r in await _outbox(pg, event_id or 0)}

    assert await who(planning.event_id) == {ward.email_id, district.email_id}
    assert await who(bins.event_id) == {home.email_id}
    assert await who(case.event_id) == {reporter.email_id}
    assert await who(bulletin.event_id) == {roads.email_id, all_bulletins.email_id}


async def _subscriber(pg: asyncpg.Pool, *, sms: bool = False, **fields: Any) -> Resident:
    """A resident (by email, and by text with `sms`) subscribed within 2 km of M32 0PA; `fields` on top."""
    resident = await make_resident(pg, sms=sms)
    await make_subscription(pg, resident, near='M32 0PA', radius_m=2000, **fields)
    return resident


@pytest.mark.parametrize(
    ('now', 'due'),
    [
        # Saturday 24 Oct 2026, 07:00 BST: today's 08:00 BST is still ahead
        (datetime(2026, 10, 24, 6, 0, tzinfo=UTC), datetime(2026, 10, 24, 7, 0, tzinfo=UTC)),
        # 21:00 BST the same day: tomorrow 08:00, after the clocks go back, is 08:00 GMT
        (datetime(2026, 10, 24, 20, 0, tzinfo=UTC), datetime(2026, 10, 25, 8, 0, tzinfo=UTC)),
        # Saturday 28 Mar 2026, 21:00 GMT: tomorrow 08:00 is BST (07:00 UTC)
        (datetime(2026, 3, 28, 21, 0, tzinfo=UTC), datetime(2026, 3, 29, 7, 0, tzinfo=UTC)),
    ],
)
async def test_a_daily_subscriber_gets_a_held_row_in_an_open_digest_due_at_8_london(
    pg: asyncpg.Pool, now: datetime, due: datetime
) -> None:
    resident = await _subscriber(pg, frequency='daily')

    first = await record(pg, make_event(), now=now)
    second = await record(pg, make_event(), now=now)

    rows = await _outbox(pg, first.event_id) + await _outbox(pg, second.event_id)
    assert [(r['status'], r['frequency'], r['due_at']) for r in rows] == [('held', 'daily', due)] * 2
    assert rows[0]['digest_id'] == rows[1]['digest_id']  # one digest per resident per channel, not per event
    assert await pg.fetchval('select count(*) from digests where contact_point_id = $1', resident.email_id) == 1


async def test_a_weekly_digest_is_due_monday_8_london(pg: asyncpg.Pool) -> None:
    await _subscriber(pg, frequency='weekly')
    ingested = await record(pg, make_event(), now=datetime(2026, 10, 22, 12, 0, tzinfo=UTC))  # Thursday, BST
    [row] = await _outbox(pg, ingested.event_id)
    assert row['due_at'] == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)  # Monday 26th is GMT


async def test_a_closed_digest_is_not_reused(pg: asyncpg.Pool) -> None:
    await _subscriber(pg, frequency='daily')
    first = await record(pg, make_event())
    await pg.execute("update digests set status = 'closed', closed_at = now()")
    second = await record(pg, make_event())
    digests = {r['digest_id'] for r in await _outbox(pg, first.event_id) + await _outbox(pg, second.event_id)}
    assert len(digests) == 2


@pytest.mark.parametrize(
    ('now', 'not_before'),
    [
        # 22:30 BST on the night the clocks go back: quiet hours end at 08:00 GMT
        (datetime(2026, 10, 24, 21, 30, tzinfo=UTC), datetime(2026, 10, 25, 8, 0, tzinfo=UTC)),
        # 06:00 GMT in winter: later the same morning
        (datetime(2026, 12, 1, 6, 0, tzinfo=UTC), datetime(2026, 12, 1, 8, 0, tzinfo=UTC)),
        # 21:30 GMT before the clocks go forward: 08:00 BST is 07:00 UTC
        (datetime(2026, 3, 28, 21, 30, tzinfo=UTC), datetime(2026, 3, 29, 7, 0, tzinfo=UTC)),
    ],
)
async def test_texts_wait_for_the_end_of_quiet_hours_but_email_does_not(
    pg: asyncpg.Pool, now: datetime, not_before: datetime
) -> None:
    await _subscriber(pg, sms=True)  # default quiet hours 21:00–08:00

    ingested = await record(pg, make_event(), now=now)

    by_channel = {r['channel']: r for r in await _outbox(pg, ingested.event_id)}
    assert by_channel['sms']['status'] == 'pending' and by_channel['sms']['not_before'] == not_before
    assert by_channel['email']['not_before'] == now


async def test_quiet_hours_are_the_residents_own(pg: asyncpg.Pool) -> None:
    await _subscriber(pg, sms=True, quiet_hours=(time(23, 30), time(6, 30)))  # a night owl
    await _subscriber(pg, sms=True, quiet_hours=None)
    now = datetime(2026, 12, 1, 22, 0, tzinfo=UTC)

    ingested = await record(pg, make_event(), now=now)

    texts = [r['not_before'] for r in await _outbox(pg, ingested.event_id) if r['channel'] == 'sms']
    assert texts == [now, now]


async def test_urgent_news_skips_digests_and_quiet_hours(pg: asyncpg.Pool) -> None:
    await _subscriber(pg, sms=True, frequency='daily')
    now = datetime(2026, 10, 24, 23, 0, tzinfo=UTC)

    ingested = await record(pg, make_event(urgency='urgent', title='Flood warning'), now=now)

    rows = await _outbox(pg, ingested.event_id)
    assert [(r['channel'], r['status'], r['digest_id'], r['not_before'], r['urgency']) for r in rows] == [
        ('email', 'pending', None, now, 'urgent'),
        ('sms', 'pending', None, now, 'urgent'),
    ]
    assert await pg.fetchval('select count(*) from digests') == 0


async def test_ending_a_subscription_cancels_what_it_has_not_yet_sent(pg: asyncpg.Pool) -> None:
    resident = await make_resident(pg)
    sub = await make_subscription(pg, resident, near='M32 0PA', radius_m=2000, frequency='daily')
    ingested = await record(pg, make_event())
    async with pg.acquire() as conn:
        assert await sub_queries.end_subscription(conn, sub, reason='unsubscribed', by='resident')
        assert not await sub_queries.end_subscription(conn, sub, reason='unsubscribed', by='resident')
        ended = await sub_queries.get_subscription(conn, sub)
    assert ended is not None and (ended.status, ended.ended_reason, ended.ended_by) == (
        'ended',
        'unsubscribed',
        'resident',
    )
    assert [r['status'] for r in await _outbox(pg, ingested.event_id)] == ['cancelled']


async def test_fan_out_of_an_unknown_event_is_an_error(pg: asyncpg.Pool) -> None:
    async with pg.acquire() as conn, conn.transaction():
        with pytest.raises(matching.EventNotFound):
            await matching.fan_out(conn, 999_999)


BIG_TABLE = """
insert into subscriptions (resident_id, status, kind, topics, channels, centre_lat, centre_lng, radius_m, bbox,
                           area_codes, uprn, case_source, case_reference, ended_at)
select $1, case when i % 10 = 0 then 'ended' else 'active' end, k.kind,
       case when k.kind = 'topic' then array['bulletins/b' || (i % 500)] else '{}' end,
       array['email'],
       lat, lng, r, case when k.kind = 'near' then box(point(lng - r / 60000.0, lat - r / 100000.0),
                                                       point(lng + r / 60000.0, lat + r / 100000.0)) end,
       case when k.kind = 'area' then array['E05' || lpad((i % 9000)::text, 6, '0')] end,
       case when k.kind = 'address' then (100000000 + i)::text end,
       case when k.kind = 'case' then 'fixmystreet' end,
       case when k.kind = 'case' then 'FMS-' || i end,
       ended_at
from generate_series(1, $2) as i,
     lateral (select (array['near', 'near', 'near', 'near', 'near', 'area', 'area', 'address', 'case', 'topic'])
                     [1 + i % 10] as kind,
                     50 + random() * 8 as lat, -5 + random() * 6 as lng, 200 + (i % 40) * 100 as r,
                     case when i % 10 = 0 then now() end as ended_at) as k
"""


async def test_every_branch_uses_its_index_on_a_large_table(pg: asyncpg.Pool) -> None:
    """EXPLAIN of the match statement: each kind is an index probe, never a scan of the subscriptions table."""
    resident = await make_resident(pg)
    async with pg.acquire() as conn:
        await conn.execute(BIG_TABLE, resident.id, 100_000)
        await conn.execute('analyze subscriptions')
        event_id = await event_queries.insert_version(
            conn, make_event(uprn='100000012', case_reference='FMS-77'), version=1, changes=[]
        )
        plan = await conn.fetchval('explain (format json) ' + matching.MATCH, event_id)
    nodes = list(_plan_nodes(plan[0]['Plan']))
    assert not [n for n in nodes if n['Node Type'] == 'Seq Scan' and n.get('Relation Name') == 'subscriptions']
    assert {n['Index Name'] for n in nodes if n.get('Index Name', '').startswith('subscriptions_')} == {
        'subscriptions_near',
        'subscriptions_area',
        'subscriptions_address',
        'subscriptions_case',
        'subscriptions_topic',
    }


def _plan_nodes(node: dict[str, Any]) -> Any:
    yield node
    for child in node.get('Plans', []):
        yield from _plan_nodes(child)


# --- residents, contact points and subscriptions as stored


async def test_contact_points_are_stored_in_canonical_form_once(pg: asyncpg.Pool) -> None:
    async with pg.acquire() as conn:
        resident = await sub_queries.create_resident(conn)
        email = await sub_queries.add_contact_point(conn, resident, 'email', '  Jo.Bloggs@Example.COM ')
        mobile = await sub_queries.add_contact_point(conn, resident, 'sms', '+44 (0)7700 900-123'.replace('(0)', ''))
        again = await sub_queries.add_contact_point(conn, resident, 'sms', '07700900123', verified=True)
        found = await sub_queries.find_contact_point(conn, 'email', 'jo.bloggs@example.com')
        someone_else = await sub_queries.create_resident(conn)
        with pytest.raises(sub_queries.ContactPointInUse):
            await sub_queries.add_contact_point(conn, someone_else, 'email', 'JO.BLOGGS@example.com')
    assert (email.address, mobile.address) == ('jo.bloggs@example.com', '447700900123')
    assert again.id == mobile.id and again.verified_at is not None
    assert found is not None and found.id == email.id


@pytest.mark.parametrize(
    ('channel', 'address', 'message'),
    [
        ('email', 'jo.bloggs@', 'Not a valid email address'),
        ('sms', '07700 9001', 'Not enough digits'),
        ('sms', '020 7946 0000', 'Not a UK mobile number'),
        ('letter', ['1 High Street', 'SW1A 1AA'], 'Address must be at least 3 lines'),
    ],
)
async def test_addresses_notify_would_refuse_are_refused_with_its_reason(
    pg: asyncpg.Pool, channel: str, address: Any, message: str
) -> None:
    async with pg.acquire() as conn:
        resident = await sub_queries.create_resident(conn)
        with pytest.raises(InvalidContactPoint, match=message):
            await sub_queries.add_contact_point(conn, resident, channel, address)  # type: ignore[arg-type]
    assert await pg.fetchval('select count(*) from contact_points') == 0


@pytest.mark.parametrize(
    ('fields', 'message'),
    [
        ({'kind': 'near', 'lat': 53.45, 'lng': -2.31, 'radius_m': 20}, 'greater than or equal to 50'),
        ({'kind': 'near', 'lat': 53.45, 'lng': -2.31, 'radius_m': 5001}, 'less than or equal to 5000'),
        ({'kind': 'near', 'lat': 53.45, 'lng': -2.31}, 'a near subscription needs radius_m'),
        ({'kind': 'area', 'area_codes': ['Stretford']}, 'not a ward or district GSS code: Stretford'),
        ({'kind': 'address', 'uprn': '10001', 'radius_m': 100}, 'an address subscription does not use radius_m'),
        ({'kind': 'topic'}, 'needs at least one topic'),
        ({'kind': 'topic', 'topics': ['Planning!']}, 'not a topic: Planning!'),
        ({'kind': 'case', 'case_source': 'fixmystreet'}, 'needs case_reference'),
    ],
)
def test_subscriptions_that_make_no_sense_are_refused_clearly(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        NewSubscription(channels=['email'], **fields)


def test_the_bounding_box_is_geodesic_with_a_margin() -> None:
    west, south, east, north = bounding_box(STRETFORD.lat, STRETFORD.lng, 1000)
    for corner in ((north, STRETFORD.lng), (south, STRETFORD.lng), (STRETFORD.lat, east), (STRETFORD.lat, west)):
        # beyond the radius even on the sphere the exact check uses (WGS84 degrees are longer here), but not by much
        assert 1005 < great_circle((STRETFORD.lat, STRETFORD.lng), corner).meters < 1016
    assert west < STRETFORD.lng < east and south < STRETFORD.lat < north


async def test_a_subscription_goes_pending_active_paused_active_ended(pg: asyncpg.Pool) -> None:
    resident = await make_resident(pg, verified=False)
    sub = await make_subscription(pg, resident, near='M32 0PA', radius_m=500, status='pending')
    async with pg.acquire() as conn:
        assert await sub_queries.activate_subscription(conn, sub, via_contact_point_id=resident.email_id)
        assert not await sub_queries.activate_subscription(conn, sub)  # confirming twice is harmless
        assert await sub_queries.pause_subscription(conn, sub)
        assert await sub_queries.resume_subscription(conn, sub)
        assert await sub_queries.end_all_subscriptions(conn, resident.id, reason='unsubscribed-all', by='resident') == 1
        [stored] = await sub_queries.list_subscriptions(conn, resident.id)
        verified = await conn.fetchval('select verified_at from contact_points where id = $1', resident.email_id)
    assert stored.status == 'ended' and stored.confirmed_at is not None and stored.ended_reason == 'unsubscribed-all'
    assert verified is not None
