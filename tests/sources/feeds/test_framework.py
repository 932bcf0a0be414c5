"""The polling framework as an operator meets it: broken feeds, huge or HTML answers, health and staff alerts,
the per-source lock, secret headers, file:// URLs, the cron and GET /api/sources."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from notifier.api import auth as api_auth
from notifier.shell.app import create_app
from sources.feeds import health, registry
from sources.feeds.polling import LOCK_CLASS, poll_source
from tests.conftest import Services
from tests.support import FIXTURES
from tests.support.app import settings_for
from tests.support.factories import load_sample_postcodes, make_resident, make_subscription
from tests.support.feeds import REGISTER, Doc, FeedServer
from workers.polling import poll_due_sources

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


async def _add(pg: asyncpg.Pool, name: str, url: str, **kwargs: Any) -> registry.Source:
    return await registry.add_source(pg, name=name, kind='licensing-csv', url=url, **kwargs, allow_internal=True)


async def test_html_served_with_200_is_a_clear_failure(pg: asyncpg.Pool, feeds: FeedServer) -> None:
    feeds.docs['/register.csv'] = Doc(b'<!DOCTYPE html><html><body>Sign in</body></html>', content_type='text/html')
    await _add(pg, 'council-register', f'{feeds.url}/register.csv')
    result = await poll_source(pg, 'council-register', now=NOW)
    assert result.outcome == 'failed'
    assert 'sent a web page (HTML), not the feed' in (result.error or '')
    source = await registry.get_source(pg, 'council-register')
    assert source is not None and source.consecutive_failures == 1 and 'HTML' in (source.last_error or '')
    assert source.next_poll_at > NOW + source.interval  # backed off
    assert await pg.fetchval('select count(*) from events') == 0


async def test_a_50_mb_response_is_refused_with_a_clear_message(pg: asyncpg.Pool, feeds: FeedServer) -> None:
    feeds.docs['/huge.csv'] = Doc(b'', stream_mb=50)
    feeds.docs['/big.csv'] = Doc(b'Ref\n' + b'x' * (11 * 1024 * 1024))  # with a Content-Length
    await _add(pg, 'huge', f'{feeds.url}/huge.csv')
    await _add(pg, 'big', f'{feeds.url}/big.csv')
    for name in ('huge', 'big'):
        result = await poll_source(pg, name, now=NOW)
        assert result.outcome == 'failed'
        assert 'is larger than 10 MB, so Tell Me stopped reading it' in (result.error or ''), result.error


async def test_a_broken_feed_raises_one_staff_alert_while_another_keeps_delivering(
    pg: asyncpg.Pool, feeds: FeedServer
) -> None:
    await load_sample_postcodes(pg)
    staff = await make_resident(pg)
    await make_subscription(pg, staff, kind='topic', topics=[health.TOPIC])
    resident = await make_resident(pg)
    await make_subscription(pg, resident, near='M32 0AH', radius_m=1000)
    feeds.docs['/broken.csv'] = Doc(b'Internal error', status=500)
    feeds.docs['/good.csv'] = Doc(REGISTER.encode())
    await _add(pg, 'broken', f'{feeds.url}/broken.csv')
    await _add(pg, 'good', f'{feeds.url}/good.csv')
    ctx = {'pg': pg, 'redis': None}

    for poll in range(6):
        if poll == 2:  # garbage with 200 fails too
            feeds.docs['/broken.csv'] = Doc(b'\x00\x01{{{ not a register', content_type='text/csv')
        if poll == 3:
            feeds.docs['/good.csv'] = Doc((REGISTER + 'LIC/2,Corner Shop,2 Barton Road,M32 9BA,X,,Pending\n').encode())
        await pg.execute("update sources set next_poll_at = now() - interval '1 second'")
        outcomes = await poll_due_sources(ctx)
        assert outcomes['failed'] == 1 and outcomes.get('ok', 0) + outcomes.get('not-modified', 0) == 1

    broken = await registry.get_source(pg, 'broken')
    assert broken is not None and broken.consecutive_failures == 6 and broken.failing_alert_at is not None
    alerts = await pg.fetch("select * from events where topic = 'staff/source-health'")
    assert len(alerts) == 1
    assert alerts[0]['title'] == 'Feed "broken" is failing' and alerts[0]['urgency'] == 'urgent'
    assert 'Last error:' in alerts[0]['summary']
    staff_rows = await pg.fetch('select event_id from notifications where contact_point_id = $1', staff.email_id)
    assert [row['event_id'] for row in staff_rows] == [alerts[0]['id']]
    # the good source delivered both of its records to the resident near them
    good_events = await pg.fetch("select id from events where source = 'good'")
    assert len(good_events) == 2
    delivered = await pg.fetchval(
        'select count(*) from notifications where contact_point_id = $1 and event_id = any($2::bigint[])',
        resident.email_id, [row['id'] for row in good_events],
    )  # fmt: skip
    assert delivered == 2

    # fixed: the same alert gets a second version saying so (one incident, one thread)
    feeds.docs['/broken.csv'] = Doc(REGISTER.encode())
    result = await poll_source(pg, 'broken')
    assert result.outcome == 'ok' and len(result.alerts) == 1
    versions = await pg.fetch("select version, title from events where topic = 'staff/source-health' order by version")
    assert [(v['version'], v['title']) for v in versions] == [(1, 'Feed "broken" is failing'),
                                                              (2, 'Feed "broken" is working again')]  # fmt: skip
    fixed = await registry.get_source(pg, 'broken')
    assert fixed is not None and fixed.consecutive_failures == 0 and fixed.failing_alert_at is None


async def test_a_source_silent_for_longer_than_usual_raises_one_alert(pg: asyncpg.Pool, feeds: FeedServer) -> None:
    feeds.docs['/register.csv'] = Doc(REGISTER.encode(), etag=False)
    await _add(pg, 'quiet', f'{feeds.url}/register.csv', silent_after=timedelta(hours=2))
    first = await poll_source(pg, 'quiet', now=NOW)
    assert first.counts['new'] == 1 and first.alerts == []
    later = await poll_source(pg, 'quiet', now=NOW + timedelta(hours=1))
    assert later.counts['unchanged'] == 1 and later.alerts == []
    for hours in (3, 4):
        await poll_source(pg, 'quiet', now=NOW + timedelta(hours=hours))
    alerts = await pg.fetch("select title, summary from events where topic = 'staff/source-health'")
    assert [a['title'] for a in alerts] == ['Feed "quiet" has gone quiet']


async def test_one_poll_at_a_time_per_source(pg: asyncpg.Pool, feeds: FeedServer) -> None:
    feeds.docs['/register.csv'] = Doc(REGISTER.encode())
    source = await _add(pg, 'locked', f'{feeds.url}/register.csv')
    async with pg.acquire() as other:
        await other.execute('select pg_advisory_lock($1, $2)', LOCK_CLASS, source.id)
        try:
            result = await poll_source(pg, 'locked', now=NOW)
        finally:
            await other.execute('select pg_advisory_unlock($1, $2)', LOCK_CLASS, source.id)
    assert result.outcome == 'busy' and feeds.requests == []
    assert (await poll_source(pg, 'locked', now=NOW)).counts['new'] == 1


async def test_secret_headers_are_sent_but_never_shown(
    pg: asyncpg.Pool, feeds: FeedServer, services: Services, aiohttp_client: Any
) -> None:
    feeds.docs['/register.csv'] = Doc(REGISTER.encode())
    keys = [b'framework-test-secret-key']
    await _add(pg, 'keyed', f'{feeds.url}/register.csv', headers={'X-Api-Key': 'sk-very-secret-1234'}, secrets=keys)
    await poll_source(pg, 'keyed', now=NOW, secrets=keys)
    assert feeds.requests[0][1]['X-Api-Key'] == 'sk-very-secret-1234'

    client = await aiohttp_client(create_app(settings_for(services)))
    async with pg.acquire() as conn:
        _, admin = await api_auth.create_token(conn, name='ops', role='admin', days=None)
        _, officer = await api_auth.create_token(conn, name='officer', role='case_officer', days=None)
    response = await client.get('/api/sources', headers={'Authorization': f'Bearer {admin}'})
    text = await response.text()
    assert response.status == 200 and 'sk-very-secret' not in text
    [listed] = (await response.json())['sources']
    assert listed['name'] == 'keyed' and listed['health'] == 'ok' and listed['last_records_seen'] == 1
    assert listed['secret_headers'] == ['X-Api-Key']
    assert (await client.get('/api/sources', headers={'Authorization': f'Bearer {officer}'})).status == 403
    assert (await client.get('/api/sources')).status == 401


async def test_file_urls_work_and_an_unchanged_file_is_not_read_again(pg: asyncpg.Pool, tmp_path: Any) -> None:
    path = tmp_path / 'register.csv'
    path.write_bytes((FIXTURES / 'licensing' / 'trafford_gambling_premises.csv').read_bytes())
    await registry.add_source(pg, name='local', kind='licensing-csv', url=f'file://{path}',
                              options={'map.key': 'name+address', 'map.title': 'name'}, allow_file=True)  # fmt: skip
    assert (await poll_source(pg, 'local', now=NOW)).counts['new'] == 27
    assert (await poll_source(pg, 'local', now=NOW)).outcome == 'not-modified'
    missing = await registry.add_source(
        pg, name='missing', kind='licensing-csv', url=f'file://{tmp_path}/none.csv', allow_file=True
    )
    result = await poll_source(pg, missing.name, now=NOW)
    assert result.outcome == 'failed' and 'cannot read' in (result.error or '')


def test_how_long_is_unusually_quiet_is_learnt_from_the_poll_log() -> None:
    every = timedelta(minutes=15)
    assert health.usual_silence(None, every, [3600.0, 7200.0]) is None  # not enough history yet
    assert health.usual_silence(None, every, [3600.0, 7200.0, 3600.0]) == timedelta(hours=3)
    assert health.usual_silence(None, every, [60.0, 60.0, 60.0]) == timedelta(minutes=30)  # at least two intervals
    assert health.usual_silence(timedelta(days=2), every, [60.0] * 3) == timedelta(days=2)  # the operator's word wins
