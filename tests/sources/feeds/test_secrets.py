"""A source's secret headers (API keys) are encrypted at rest, reach the feed, survive a key rotation, and fail
clearly (never printing the value) when TELLME_SECRET_KEY cannot open them."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import asyncpg
import pytest

from sources.feeds import registry
from sources.feeds.polling import poll_source
from tests.conftest import Services
from tests.support.cli import tellme
from tests.support.feeds import REGISTER, Doc, FeedServer

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
API_KEY = 'sk-live-4f9a2c7e1b'
OLD, NEW = b'the-old-secret-key-0123456789', b'the-new-secret-key-9876543210'


@pytest.fixture
async def feeds(feeds: FeedServer) -> FeedServer:
    """The folder's feed server, serving the register."""
    feeds.docs['/register.csv'] = Doc(REGISTER.encode(), etag=False)
    return feeds


async def _stored(pg: asyncpg.Pool, name: str) -> str:
    return json.dumps(await pg.fetchval('select secret_headers from sources where name = $1', name))


async def test_the_key_is_encrypted_in_the_database_and_sent_to_the_feed(pg: asyncpg.Pool, feeds: FeedServer) -> None:
    await registry.add_source(pg, name='keyed', kind='licensing-csv', url=f'{feeds.url}/register.csv',
                              headers={'X-Api-Key': API_KEY}, secrets=[NEW], allow_internal=True)  # fmt: skip
    stored = await _stored(pg, 'keyed')
    assert API_KEY not in stored and 'X-Api-Key' in stored and 'aesgcm' in stored
    result = await poll_source(pg, 'keyed', now=NOW, secrets=[NEW])
    assert result.outcome == 'ok' and feeds.requests[-1][1]['X-Api-Key'] == API_KEY


async def test_a_rotated_key_still_opens_and_the_header_is_sealed_again_with_the_new_one(
    pg: asyncpg.Pool, feeds: FeedServer
) -> None:
    await registry.add_source(pg, name='keyed', kind='licensing-csv', url=f'{feeds.url}/register.csv',
                              headers={'X-Api-Key': API_KEY}, secrets=[OLD], allow_internal=True)  # fmt: skip
    sealed_with_old = await _stored(pg, 'keyed')
    # TELLME_SECRET_KEY=new,old: the new one seals, the old one still opens
    assert (await poll_source(pg, 'keyed', now=NOW, secrets=[NEW, OLD])).outcome == 'ok'
    assert feeds.requests[-1][1]['X-Api-Key'] == API_KEY
    assert await _stored(pg, 'keyed') != sealed_with_old
    # the old key can now be dropped
    assert (await poll_source(pg, 'keyed', now=NOW, secrets=[NEW])).outcome == 'ok'
    assert feeds.requests[-1][1]['X-Api-Key'] == API_KEY


async def test_a_wrong_key_is_a_clear_failure_on_the_source_that_never_shows_the_value(
    pg: asyncpg.Pool, feeds: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    await registry.add_source(pg, name='keyed', kind='licensing-csv', url=f'{feeds.url}/register.csv',
                              headers={'X-Api-Key': API_KEY}, secrets=[OLD], allow_internal=True)  # fmt: skip
    caplog.set_level(logging.DEBUG)
    for secrets, reason in (([NEW], 'the key was changed or removed?'), ([], 'TELLME_SECRET_KEY is not set')):
        result = await poll_source(pg, 'keyed', now=NOW, secrets=secrets)
        assert result.outcome == 'failed'
        assert result.error is not None and 'secret header X-Api-Key cannot be decrypted' in result.error
        assert reason in result.error
        source = await registry.get_source(pg, 'keyed')
        assert source is not None and source.last_error == result.error
    assert source.consecutive_failures == 2
    assert feeds.requests == []  # nothing was sent without the key
    assert API_KEY not in caplog.text and 'Traceback' not in caplog.text
    # a sealed value copied onto another source does not open there either
    await registry.add_source(
        pg, name='copy', kind='licensing-csv', url=f'{feeds.url}/register.csv', allow_internal=True
    )
    await pg.execute("update sources set secret_headers = (select secret_headers from sources where name = 'keyed') "
                     "where name = 'copy'")  # fmt: skip
    assert (await poll_source(pg, 'copy', now=NOW, secrets=[OLD])).outcome == 'failed'


async def test_a_header_stored_before_encryption_keeps_working_and_is_sealed_at_the_next_poll(
    pg: asyncpg.Pool, feeds: FeedServer
) -> None:
    await registry.add_source(
        pg, name='legacy', kind='licensing-csv', url=f'{feeds.url}/register.csv', allow_internal=True
    )
    await pg.execute("update sources set secret_headers = $1 where name = 'legacy'", {'X-Api-Key': API_KEY})
    assert (await poll_source(pg, 'legacy', now=NOW)).outcome == 'ok'  # no key configured: still works
    assert feeds.requests[-1][1]['X-Api-Key'] == API_KEY
    assert (await poll_source(pg, 'legacy', now=NOW, secrets=[NEW])).outcome == 'ok'
    assert API_KEY not in await _stored(pg, 'legacy')
    assert (await poll_source(pg, 'legacy', now=NOW, secrets=[NEW])).outcome == 'ok'
    assert feeds.requests[-1][1]['X-Api-Key'] == API_KEY


async def test_the_cli_reads_a_header_from_the_environment_and_never_prints_it(
    services: Services, pg: asyncpg.Pool, feeds: FeedServer
) -> None:
    url = f'{feeds.url}/register.csv'
    code, out, err = await tellme(services, 'sources', 'add', 'keyed', '--kind', 'licensing-csv', '--url', url,
                                  '--header-from-env', 'X-Api-Key=COUNCIL_KEY')  # fmt: skip
    assert code == 2 and "the environment variable 'COUNCIL_KEY' is not set" in err
    code, out, err = await tellme(services, 'sources', 'add', 'keyed', '--kind', 'licensing-csv', '--url', url,
                                  '--allow-internal', '--header-from-env', 'X-Api-Key=COUNCIL_KEY', COUNCIL_KEY=API_KEY,
                                  TELLME_SECRET_KEY='')  # fmt: skip
    assert code == 1 and 'encrypted with TELLME_SECRET_KEY, which is not set' in err and API_KEY not in err
    assert await pg.fetchval('select count(*) from sources') == 0
    code, out, err = await tellme(services, 'sources', 'add', 'keyed', '--kind', 'licensing-csv', '--url', url,
                                  '--allow-internal', '--header-from-env', 'X-Api-Key=COUNCIL_KEY',
                                  COUNCIL_KEY=API_KEY)  # fmt: skip
    assert code == 0, err
    assert API_KEY not in await _stored(pg, 'keyed')
    code, out, err = await tellme(services, 'sources', 'poll', 'keyed')
    assert code == 0 and feeds.requests[-1][1]['X-Api-Key'] == API_KEY
    code, out, err = await tellme(services, 'sources', 'show', 'keyed')
    assert 'header X-Api-Key: (secret)' in out and API_KEY not in out + err

    code, out, err = await tellme(services, 'sources', 'set', 'keyed', '--header-from-env', 'x-api-key=NEXT_KEY',
                                  '--header', 'X-Client: tellme', NEXT_KEY='sk-next-77')  # fmt: skip
    assert code == 0, err
    assert 'header x-api-key (secret)' in out and 'sk-next-77' not in out + err
    assert 'stays in your shell history' in err  # --header typed out: a hint, but it works
    assert (await tellme(services, 'sources', 'poll', 'keyed'))[0] == 0
    sent = {name.lower(): value for name, value in feeds.requests[-1][1].items()}
    assert (sent['x-api-key'], sent['x-client']) == ('sk-next-77', 'tellme')

    code, out, err = await tellme(services, 'sources', 'set', 'keyed', '--unset-header', 'X-Client')
    assert code == 0 and 'header X-Client removed' in out
    # a different TELLME_SECRET_KEY: the poll fails on the source, with words, not a traceback or the key
    code, out, err = await tellme(services, 'sources', 'poll', 'keyed', TELLME_SECRET_KEY='someone-else-s-key-0000')
    assert code == 1 and 'FAILED: the secret header x-api-key cannot be decrypted' in out
    assert 'Traceback' not in err and 'sk-next-77' not in out + err
    code, out, _ = await tellme(services, 'sources', 'list')
    assert 'cannot be decrypted' in out
