"""Feed sources as the tests serve them (this module holds no tests): a real HTTP feed server whose documents a
test can change (`feeds`, the fixture of tests/sources/feeds/conftest.py), a source registered on it, and the
adapter tests' "served over HTTP, polled twice", and a slow feed that holds its poll until the test lets it go."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
from aiohttp import web

from sources.feeds import registry
from sources.feeds.polling import PollResult, poll_source

# a council's licensing register with one premises, as the CSV adapters read it
REGISTER = (
    'CaseReference,PremisesName,LocationText,Postcode,ServiceTypeLabel,CaseDate,StatusLabel\n'
    'LIC/1,The Bull,"1 Chester Road, Stretford",M32 0AH,Premises licence,01/10/2024,Pending\n'
)


@dataclass
class Doc:
    body: bytes
    status: int = 200
    content_type: str = 'text/csv; charset=utf-8'
    etag: bool = True  # answer If-None-Match with 304 when the body is unchanged
    stream_mb: int = 0  # instead of `body`, stream this many MB of filler with no Content-Length


@dataclass
class FeedServer:
    """Serves `docs[path]` over real HTTP (or answers with `handlers[path]`, for a feed that reads its query, like an
    Open311 server's time window); records every request's headers."""

    docs: dict[str, Doc] = field(default_factory=dict)
    handlers: dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    url: str = ''

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get('/{path:.*}', self.handle)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = '/' + request.match_info['path']
        self.requests.append((path, dict(request.headers)))
        if path in self.handlers:
            return await self.handlers[path](request)
        doc = self.docs.get(path)
        if doc is None:
            return web.Response(status=404, text='not found')
        if doc.stream_mb:
            response = web.StreamResponse(headers={'Content-Type': doc.content_type})
            await response.prepare(request)
            chunk = b'x' * (1024 * 1024)
            for _ in range(doc.stream_mb):
                await response.write(chunk)
            await response.write_eof()
            return response
        headers = {}
        if doc.etag and doc.status == 200:
            tag = '"' + hashlib.sha256(doc.body).hexdigest()[:16] + '"'
            headers['ETag'] = tag
            if request.headers.get('If-None-Match') == tag:
                return web.Response(status=304, headers=headers)
        return web.Response(status=doc.status, body=doc.body, headers={**headers, 'Content-Type': doc.content_type})


async def start_feeds(aiohttp_server: Any) -> FeedServer:
    """A FeedServer listening on a local port (pytest-aiohttp's `aiohttp_server` stops it after the test)."""
    feeds = FeedServer()
    server = await aiohttp_server(feeds.app())
    feeds.url = str(server.make_url('')).rstrip('/')
    return feeds


async def add_served(
    pg: asyncpg.Pool, feeds: FeedServer, name: str, kind: str, docs: dict[str, Doc], *, query: str = '', **source: Any
) -> registry.Source:
    """Serve `docs` (path: document) and add the source `name` of `kind` reading the first of them (with `query`);
    `source` are add_source's options. The feed server is on a loopback address, so the source may reach it."""
    feeds.docs.update(docs)
    url = f'{feeds.url}{next(iter(docs))}{query}'
    return await registry.add_source(pg, name=name, kind=kind, url=url, allow_internal=True, **source)


@dataclass
class SlowFeed:
    """A feed that holds every request until `release` is set (then answers with REGISTER); `arrived` is set as soon
    as one comes, so a test knows a poll is waiting on it. Set `release` in the test's `finally`, before closing a
    pool whose poll waits here."""

    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.arrived.set()
        await self.release.wait()
        return web.Response(text=REGISTER, content_type='text/csv')


async def add_slow_source(pg: asyncpg.Pool, aiohttp_server: Any, name: str = 'slow') -> SlowFeed:
    """Add the licensing-csv source `name` reading a SlowFeed served on a local port."""
    slow, feeds = SlowFeed(), await start_feeds(aiohttp_server)
    feeds.handlers['/register.csv'] = slow.handle
    await registry.add_source(pg, name=name, kind='licensing-csv', url=f'{feeds.url}/register.csv', allow_internal=True)
    return slow


async def polled_twice(
    pg: asyncpg.Pool,
    feeds: FeedServer,
    name: str,
    kind: str,
    docs: dict[str, Doc],
    *,
    now: datetime,
    later: datetime | None = None,
    **source: Any,
) -> tuple[PollResult, PollResult]:
    """Served over HTTP, polled twice: `add_served`, then a poll at `now` and another at `later` (default: `now`)
    of the same documents. What a poll records is news only once, so the second should find it all unchanged."""
    await add_served(pg, feeds, name, kind, docs, **source)
    first = await poll_source(pg, name, now=now)
    return first, await poll_source(pg, name, now=later or now)


# --- PlanIt pages (the planit adapter's feed) ---------------------------------------------------------------------


def planit_record(uid: str, **fields: Any) -> dict[str, Any]:
    """A PlanIt application record (Trafford, Urmston) as its JSON API gives it; `fields` on top."""
    other = fields.pop('other_fields', {})
    return {
        'name': f'Trafford/{uid}',
        'uid': uid,
        'area_name': 'Trafford',
        'address': '14 Church Road, Urmston, Manchester',
        'postcode': 'M41 9EH',
        'description': 'Single storey rear extension.',
        'app_type': 'Full',
        'app_state': 'Undecided',
        'start_date': '2025-05-20',
        'decided_date': None,
        'location_x': -2.3553,
        'location_y': 53.4479,
        'url': f'https://pa.trafford.gov.uk/online-applications/applicationDetails.do?keyVal={uid}',
        'link': f'https://www.planit.org.uk/planapplic/Trafford/{uid}/',
        'last_changed': '2025-05-28T10:12:00',
        'other_fields': {'status': 'Registered', **other},
        **fields,
    }


def planit_page(*records: dict[str, Any], total: int | None = None, start: int = 0) -> bytes:
    """A page of PlanIt's JSON API: the `records` envelope."""
    return json.dumps(
        {'records': list(records), 'total': total or len(records), 'from': start, 'to': start + len(records) - 1}
    ).encode()
