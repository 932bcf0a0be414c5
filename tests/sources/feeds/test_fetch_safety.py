"""A source's secret headers go only to the site the council configured."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from aiohttp import web

from sources.feeds import polling, registry
from sources.feeds.egress import Reach
from sources.feeds.fetch import Fetcher, FetchError

LOOPBACK_TEST_SERVERS = Reach(internal=True)  # these tests' feeds are aiohttp test servers on 127.0.0.1


async def test_a_redirect_to_another_site_is_not_followed_with_the_api_key(aiohttp_server: Any) -> None:
    seen: list[dict[str, str]] = []

    async def elsewhere(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.Response(text='{}')

    other = await aiohttp_server(_app('/steal', elsewhere))

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound(str(other.make_url('/steal')))

    async def same_site(request: web.Request) -> web.Response:
        raise web.HTTPFound('/feed.json')

    async def feed(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.json_response({'records': []})

    council = await aiohttp_server(_app('/moved', moved, '/here', same_site, '/feed.json', feed))
    async with Fetcher(LOOPBACK_TEST_SERVERS) as fetcher:
        with pytest.raises(FetchError, match='redirected to another site'):
            await fetcher.get(str(council.make_url('/moved')), headers={'X-Api-Key': 'sk-secret'})
        assert seen == []  # the other site never saw the key
        fetched = await fetcher.get(str(council.make_url('/here')), headers={'X-Api-Key': 'sk-secret'})
    assert fetched.page is not None and seen[-1]['X-Api-Key'] == 'sk-secret'  # same site: followed


def _app(*routes: Any) -> web.Application:
    app = web.Application()
    for path, handler in zip(routes[::2], routes[1::2], strict=True):
        app.router.add_get(path, handler)
    return app


async def test_a_feed_that_hangs_is_this_sources_failure_not_everyones(
    aiohttp_server: Any, pg: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def hang(request: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.Response(text='too late')

    server = await aiohttp_server(_app('/feed.csv', hang))
    await registry.add_source(
        pg, name='slow-feed', kind='planning-csv', url=str(server.make_url('/feed.csv')), allow_internal=True
    )
    monkeypatch.setattr(polling, 'POLL_DEADLINE', 0.5)  # the real deadline is minutes; the behaviour is the same
    result = await polling.poll_source(pg, 'slow-feed')
    assert result.outcome == 'failed' and 'took longer' in (result.error or '')
    assert await pg.fetchval("select consecutive_failures from sources where name = 'slow-feed'") == 1


def test_urls_are_shown_without_credentials() -> None:
    from sources.feeds.fetch import shown

    url = 'https://feeds:hunter2@planning.example.gov.uk:8443/apps.json?api_key=sk-live-123&since=2026-11-01'
    assert shown(url) == 'https://planning.example.gov.uk:8443/apps.json?api_key=***&since=2026-11-01'
