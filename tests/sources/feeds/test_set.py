"""`tellme sources set` and `tellme sources reset-cursor`, run as the operator runs them: a source is changed in
place, keeping its cursor, health and poll log, and the next poll reads the feed again with the new settings."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import asyncpg

from tests.conftest import Services
from tests.support.cli import tellme
from tests.support.feeds import REGISTER, Doc, FeedServer, planit_page, planit_record


async def _row(pg: asyncpg.Pool, name: str) -> asyncpg.Record:
    return await pg.fetchrow('select * from sources where name = $1', name)


async def test_set_changes_a_source_in_place_and_the_next_poll_reads_it_again(
    services: Services, pg: asyncpg.Pool, feeds: FeedServer
) -> None:
    feeds.docs['/register.csv'] = Doc(REGISTER.encode())
    feeds.docs['/moved.csv'] = Doc(REGISTER.encode())
    url = f'{feeds.url}/register.csv'
    code, _, err = await tellme(services, 'sources', 'add', 'bull', '--kind', 'licensing-csv', '--url', url,
                                '--allow-internal', '--option', 'encoding=utf-8', '--option', 'x=1')  # fmt: skip
    assert code == 0, err
    assert (await tellme(services, 'sources', 'poll', 'bull'))[0] == 0
    assert (await tellme(services, 'sources', 'poll', 'bull'))[1].startswith('bull: not modified')
    before = await _row(pg, 'bull')

    code, out, err = await tellme(
        services, 'sources', 'set', 'bull', '--every', '2h', '--option', 'map.title=Licence: {PremisesName}',
        '--unset-option', 'x', '--url', f'{feeds.url}/moved.csv',
    )  # fmt: skip
    assert code == 0, err
    assert out.startswith('bull changed: url http://') and 'every 2h' in out and 'option x removed' in out
    assert 'the next poll (due now) reads the whole feed again' in out
    after = await _row(pg, 'bull')
    assert after['id'] == before['id'] and after['interval_seconds'] == 7200
    assert after['options'] == {'encoding': 'utf-8', 'map.title': 'Licence: {PremisesName}'}
    assert after['url'] == f'{feeds.url}/moved.csv' and after['etag'] is None
    assert after['last_success_at'] == before['last_success_at']  # health and history kept

    code, out, err = await tellme(services, 'sources', 'poll', 'bull')
    assert code == 0, err
    assert 'bull: 0 new, 1 changed, 0 unchanged' in out  # read again (no 304), with the new title mapping
    assert feeds.requests[-1][0] == '/moved.csv' and 'If-None-Match' not in feeds.requests[-1][1]
    titles = [r['title'] for r in await pg.fetch("select title from events where source = 'bull' order by version")]
    assert titles[-1] == 'Licence: The Bull' and len(titles) == 2
    assert await pg.fetchval('select count(*) from source_polls where source_id = $1', before['id']) == 3

    code, out, _ = await tellme(services, 'sources', 'set', 'bull', '--silent-after', '2d')
    assert code == 0 and out == 'bull changed: silent after 2d\n'  # nothing to read again
    assert (await _row(pg, 'bull'))['silent_after_seconds'] == 2 * 86400
    code, out, _ = await tellme(services, 'sources', 'set', 'bull', '--silent-after', 'learn')
    assert code == 0 and (await _row(pg, 'bull'))['silent_after_seconds'] is None


async def test_set_says_what_is_wrong_and_changes_nothing(services: Services, pg: asyncpg.Pool) -> None:
    code, _, err = await tellme(services, 'sources', 'set', 'nobody', '--every', '1h')
    assert code == 1 and "there is no source called 'nobody'" in err
    code, _, err = await tellme(services, 'sources', 'add', 'reg', '--kind', 'licensing-csv', '--url', 'https://example.org/r.csv',
                                '--option', 'a=1')  # fmt: skip
    assert code == 0, err
    before = dict(await _row(pg, 'reg'))
    for args, code_wanted, message in (
        (['--every', '5s'], 2, 'between 1 minute and 7 days'),
        (['--every', 'soon'], 2, "'soon' is not an interval"),
        (['--url', 'ftp://example.org/r.csv'], 1, 'is not a URL Tell Me can fetch'),
        (['--unset-option', 'b'], 1, "there is no option 'b' to unset (its options: a)"),
        (['--option', 'a=2', '--unset-option', 'a'], 1, "option 'a' is both set and unset"),
        (['--option', 'novalue'], 2, "--option 'novalue' must look like KEY=VALUE"),
        (['--unset-header', 'X-Api-Key'], 1, "there is no header 'X-Api-Key' to unset"),
        (['--header', 'Bad Name: 1'], 1, "'Bad Name' is not a header name"),
        ([], 1, 'nothing to change'),
    ):
        code, out, err = await tellme(services, 'sources', 'set', 'reg', *args)
        assert (code, out) == (code_wanted, ''), (args, code, out, err)
        assert message in err and 'Traceback' not in err, (args, err)
    assert dict(await _row(pg, 'reg')) == before


async def test_reset_cursor_reads_a_feed_again_from_a_date(
    services: Services, pg: asyncpg.Pool, feeds: FeedServer
) -> None:
    feeds.docs['/api/applics/json'] = Doc(planit_page(planit_record('116001/HHA/25')), content_type='application/json')
    code, _, err = await tellme(services, 'sources', 'add', 'planit', '--kind', 'planit', '--allow-internal', '--url',
                                f'{feeds.url}/api/applics/json?auth=Trafford')  # fmt: skip
    assert code == 0, err
    assert (await tellme(services, 'sources', 'poll', 'planit'))[0] == 0
    assert (await _row(pg, 'planit'))['cursor'] == '2025-05-28T10:12:00'

    code, out, err = await tellme(services, 'sources', 'reset-cursor', 'planit', '--to', '2025-01-15')
    assert code == 0, err
    assert (
        out == 'planit: cursor was 2025-05-28T10:12:00, now 2025-01-15; the next poll (due now) reads the feed again\n'
    )
    row = await _row(pg, 'planit')
    assert (row['cursor'], row['etag'], row['last_success_at'] is not None) == ('2025-01-15', None, True)
    assert (await tellme(services, 'sources', 'poll', 'planit'))[0] == 0
    asked = parse_qs(urlsplit((await _row(pg, 'planit'))['validated_url']).query)  # the first page's URL
    assert asked['changed_start'] == ['2025-01-15'] and 'If-None-Match' not in feeds.requests[-1][1]

    code, out, _ = await tellme(services, 'sources', 'reset-cursor', 'planit')
    assert code == 0 and 'now unset' in out
    assert (await _row(pg, 'planit'))['cursor'] is None

    for to, message in (('2999-01-01', 'is in the future'), ('last tuesday', 'is not an ISO date')):
        code, _, err = await tellme(services, 'sources', 'reset-cursor', 'planit', '--to', to)
        assert code == 2 and message in err, err
    code, _, err = await tellme(services, 'sources', 'reset-cursor', 'nobody')
    assert code == 1 and "there is no source called 'nobody'" in err
