"""Bulletins on the council's topics: the compose form lists the catalogue by name (a hidden topic says who still
gets it; case updates are never a bulletin's), a roadworks bulletin reaches the people who chose roadworks and not
those who chose only planning, wards can be given by name, and the bulletin's page names its topics and wards."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis

from notifier import audit
from notifier.shell.app import create_app
from sources.bulletins import audience as bulletin_audience
from sources.bulletins.drafts import Draft, resolve
from subscriptions.places import areas
from subscriptions.topics import catalogue
from tests.conftest import Services
from tests.support.app import settings_for
from tests.support.bulletins import SALE_WARD, Desk
from tests.support.factories import load_sample_postcodes, make_resident, make_subscription
from tests.support.pages import text_of


@pytest.fixture
async def desk(aiohttp_client: Any, services: Services, pg: asyncpg.Pool, redis: Redis) -> Desk:
    await load_sample_postcodes(pg)
    async with pg.acquire() as conn, conn.transaction():
        await areas.load_names(conn, [areas.SAMPLE_NAMES])
    return Desk(await aiohttp_client(create_app(settings_for(services))), pg)


async def test_a_roadworks_bulletin_reaches_those_who_chose_roadworks(desk: Desk, pg: asyncpg.Pool) -> None:
    roads = await make_resident(pg)
    await make_subscription(pg, roads, near='M33 7XF', radius_m=200, topics=['roadworks'])
    planning = await make_resident(pg)
    await make_subscription(pg, planning, near='M33 7XF', radius_m=200, topics=['planning'])
    everything = await make_resident(pg)
    await make_subscription(pg, everything, near='M33 7XF', radius_m=200)  # no topics: every topic

    await desk.staff('comms@council.example', 'comms')
    form = text_of(await (await desk.client.get('/staff/bulletins/new')).text())
    assert 'Roadworks and road closures' in form and 'Council news' in form and 'Case updates' not in form
    assert 'Bin collections Hidden from residents: only people who chose it before get it' in form
    made = await desk.compose(topics=['roadworks'], wards='Sale Central', urgency='normal')
    row = await pg.fetchrow('select topics, ward_codes from bulletins where id = $1', made)
    assert (list(row['topics']), list(row['ward_codes'])) == (['roadworks'], [SALE_WARD])
    page = text_of(await (await desk.client.get(f'/staff/bulletins/{made}')).text())
    assert 'Topics Roadworks and road closures' in page and 'Wards: Sale Central' in page

    audience = await bulletin_audience.count(pg, made)
    assert audience.people == 2 and audience.on('email') == 2  # roadworks and everything, not planning only


async def test_topics_and_wards_are_checked_against_the_catalogue_and_the_names(pg: asyncpg.Pool) -> None:
    await load_sample_postcodes(pg)
    async with pg.acquire() as conn:
        await areas.load_names(conn, [areas.SAMPLE_NAMES])
        draft = Draft(title='T', message='M', topics=['cases'], area='wards', wards='Sale Central', channels=['email'])
        _, errors = await resolve(conn, draft)
        assert errors == {'topics': 'Select at least one topic'}, 'case updates are never a bulletin topic'
        draft = Draft(title='T', message='M', topics=['parks'], area='wards', wards='Nowhere Ward', channels=['email'])
        _, errors = await resolve(conn, draft)
        assert set(errors) == {'topics', 'wards'} and 'is none of them' in errors['wards']
        await catalogue.add(conn, 'parks', {'name_en': 'Parks', 'group': 'other', 'offered': False}, audit.SYSTEM)
        await conn.execute("insert into areas (code, name) values ('E05099999', 'Sale Central')")
        draft = Draft(title='T', message='M', topics=['parks'], area='wards', wards='sale central', channels=['email'])
        _, errors = await resolve(conn, draft)
        assert errors == {'wards': 'More than one ward is called sale central: give its code (E05015254, E05099999)'}
