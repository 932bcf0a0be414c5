"""`tellme sources …` run as the operator runs it (a subprocess) against the test database and a real HTTP feed."""

from __future__ import annotations

import asyncpg

from tests.conftest import Services
from tests.support import FIXTURES
from tests.support.cli import tellme
from tests.support.feeds import Doc, FeedServer

IOM = FIXTURES / 'planning' / 'iom_planning_applications_weekly_sample.csv'
TRAFFORD = FIXTURES / 'licensing' / 'trafford_gambling_premises.csv'


async def test_add_check_poll_list_pause_remove(services: Services, pg: asyncpg.Pool, feeds: FeedServer) -> None:
    feeds.docs['/weekly.csv'] = Doc(IOM.read_bytes())
    code, out, err = await tellme(
        services, 'sources', 'add', 'iom-planning', '--kind', 'planning-csv', '--url', f'{feeds.url}/weekly.csv',
        '--every', '1h', '--allow-internal',
        '--option', 'map.key=PA Ref', '--option', 'map.summary=Details', '--option', 'map.received_date=Date',
        '--option', 'map.postcode=Details', '--option', 'map.url=URL', '--header', 'X-Api-Key: sk-cli-secret-99',
    )  # fmt: skip
    assert code == 0, err
    assert 'added iom-planning (planning-csv, every 1h, 1 secret header(s))' in out

    code, out, err = await tellme(services, 'sources', 'check', 'iom-planning')
    assert code == 0, err
    assert out.startswith('check only: nothing was written')
    assert 'new       24/91225/B  planning.new  Sun lounge extension' in out
    assert '(no location)' in out  # IM postcodes are not in the GB postcode table
    assert 'iom-planning: 25 new, 0 changed, 0 unchanged, 0 rejected would be (1 page)' in out
    assert await pg.fetchval('select count(*) from events') == 0
    assert await pg.fetchval('select count(*) from source_polls') == 0
    assert await pg.fetchval("select last_polled_at from sources where name = 'iom-planning'") is None
    assert feeds.requests[-1][1]['X-Api-Key'] == 'sk-cli-secret-99'

    code, out, err = await tellme(services, 'sources', 'poll', 'iom-planning')
    assert code == 0, err
    assert 'iom-planning: 25 new, 0 changed, 0 unchanged, 0 rejected (1 page)' in out
    assert await pg.fetchval('select count(*) from events') == 25
    code, out, _ = await tellme(services, 'sources', 'check', 'iom-planning')
    assert '0 new, 0 changed, 25 unchanged, 0 rejected would be' in out

    feeds.docs['/bad.csv'] = Doc(b'<html><body>Service unavailable</body></html>', content_type='text/html')
    code, _, err = await tellme(services, 'sources', 'add', 'bad-feed', '--kind', 'licensing-csv',
                                '--url', f'{feeds.url}/bad.csv', '--allow-internal')  # fmt: skip
    assert code == 0, err
    code, out, _ = await tellme(services, 'sources', 'poll', 'bad-feed')
    assert code == 1 and 'FAILED' in out and 'HTML' in out
    code, out, _ = await tellme(services, 'sources', 'list')
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert ' ok ' in lines['iom-planning'] and '25' in lines['iom-planning']
    assert 'erroring' in lines['bad-feed'] and 'HTML' in lines['bad-feed']
    code, out, _ = await tellme(services, 'sources', 'show', 'iom-planning')
    assert 'header X-Api-Key: (secret)' in out and 'sk-cli-secret' not in out

    assert (await tellme(services, 'sources', 'pause', 'bad-feed'))[0] == 0
    assert await pg.fetchval("select status from sources where name = 'bad-feed'") == 'paused'
    assert (await tellme(services, 'sources', 'remove', 'bad-feed'))[0] == 0
    code, _, err = await tellme(services, 'sources', 'poll', 'bad-feed')
    assert code == 1 and "there is no source called 'bad-feed'" in err


async def test_bad_arguments_say_what_to_fix(services: Services, pg: asyncpg.Pool) -> None:
    code, _, err = await tellme(
        services, 'sources', 'add', 'x', '--kind', 'no-such-kind', '--url', 'https://example.org/'
    )
    assert code == 2 and "unknown kind 'no-such-kind'" in err and 'planning-csv' in err
    code, _, err = await tellme(
        services,
        'sources',
        'add',
        'Bad Name',
        '--kind',
        'licensing-csv',
        '--url',
        f'file://{TRAFFORD}',
        '--every',
        '5s',
    )
    assert code == 2 and 'between 1 minute and 7 days' in err
    code, _, err = await tellme(
        services, 'sources', 'add', 'Bad Name', '--kind', 'licensing-csv', '--url', f'file://{TRAFFORD}'
    )
    assert code == 1 and 'cannot be a source name' in err
    assert await pg.fetchval('select count(*) from sources') == 0


async def test_check_on_the_licensing_fixture_prints_without_writing(services: Services, pg: asyncpg.Pool) -> None:
    code, _, err = await tellme(
        services, 'sources', 'add', 'trafford-gambling', '--kind', 'licensing-csv', '--url', f'file://{TRAFFORD}',
        '--allow-file', '--option', 'map.key=name+address', '--option', 'map.title={activity}: {name}',
        '--option', 'map.postcode=postcode',
    )  # fmt: skip
    assert code == 0, err
    code, out, err = await tellme(services, 'sources', 'check', 'trafford-gambling')
    assert code == 0, err
    assert 'new       Done Brothers (Cash Betting) Limited / Betfred, 890 Chester Road' in out
    assert 'trafford-gambling: 27 new, 0 changed, 0 unchanged, 0 rejected would be (1 page)' in out
    assert await pg.fetchval('select count(*) from events') == 0
    assert await pg.fetchval('select count(*) from source_polls') == 0
