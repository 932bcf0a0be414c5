"""A case update reaches the people following that case, never the neighbours subscribed by place or topic."""

from __future__ import annotations

import asyncpg

from tests.support.factories import make_event, make_resident, make_subscription, place, record


async def test_a_case_update_near_you_is_not_sent_to_you(pg: asyncpg.Pool) -> None:
    spot = place('M32 0AH')
    neighbour = await make_resident(pg)
    await make_subscription(pg, neighbour, near='M32 0AH', radius_m=1000)  # every topic
    ward_watcher = await make_resident(pg)
    await make_subscription(pg, ward_watcher, kind='area', area_codes=[spot.ward_code])
    reporter = await make_resident(pg)
    await make_subscription(pg, reporter, kind='case', case_source='fixmystreet', case_reference='FMS-77')

    update = make_event(
        source='fixmystreet', kind='case.status', topic='cases', case_reference='FMS-77', external_key='FMS-77',
        title='Noise nuisance at 14 Acacia Avenue', summary='An officer will visit on Monday.',
    )  # fmt: skip
    assert update.lat is not None and update.area_codes  # it has a place: only privacy keeps neighbours out
    assert (await record(pg, update)).matched == 1
    assert await pg.fetchval('select contact_point_id from notifications') == reporter.email_id
