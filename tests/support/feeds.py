"""Test helpers for feed sources: a real HTTP feed server whose documents a test can change, and the sample
postcodes loaded into the `postcodes` table (so pollers can place events that carry only a postcode)."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiohttp import web

from tests.support import FIXTURES
from tests.support.factories import places

SAMPLE_WGS84 = FIXTURES / 'geocoding' / 'codepoint_open_2025_2_sample_wgs84.csv'


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


async def load_sample_postcodes(pool: asyncpg.Pool) -> int:
    """The shipped Code-Point Open sample (OGL) into `postcodes`, with ward and district codes."""
    sample = places()
    with SAMPLE_WGS84.open(newline='') as file:
        rows = [
            (
                row['postcode'], float(row['lat']), float(row['lng']), int(row['eastings']), int(row['northings']),
                int(row['positional_quality']), sample[row['postcode']].district_code,
                sample[row['postcode']].ward_code,
            )
            for row in csv.DictReader(file)
        ]  # fmt: skip
    await pool.executemany(
        """
        insert into postcodes (postcode, lat, lng, eastings, northings, positional_quality, district_code, ward_code)
        values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict do nothing
        """,
        rows,
    )
    return len(rows)
