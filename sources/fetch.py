"""Fetch one page of a feed: http(s) with timeouts, a size cap and conditional requests, or a local file://.

Every failure is a `FetchError` whose message says what went wrong in words an operator can act on
("HTTP 500 from …", "the response is larger than 10 MB …"); a 304 (or an unchanged file) is `NotModified`.
Secret headers (API keys) are sent but never appear in a message or a log line.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiohttp
from yarl import URL

from sources.base import Page

logger = logging.getLogger('notifier.sources.fetch')

MAX_BYTES = 10 * 1024 * 1024
MAX_REDIRECTS = 5
TIMEOUT = aiohttp.ClientTimeout(total=60, connect=10, sock_read=30)
USER_AGENT = 'TellMe/1.0 (council resident notifications; +https://github.com/)'
CHUNK = 64 * 1024


class FetchError(Exception):
    """The page could not be fetched; the message names the URL (without any secret) and the reason."""


@dataclass(frozen=True)
class Fetched:
    page: Page | None  # None when not modified
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.page is None


def _size(limit: int) -> str:
    return f'{limit / 1024 / 1024:g} MB' if limit >= 1024 * 1024 else f'{limit:,} bytes'


def too_big(url: str, limit: int) -> FetchError:
    return FetchError(
        f'the response from {shown(url)} is larger than {_size(limit)}, so Tell Me stopped reading it '
        f'(if the feed really is that big, raise the limit with --option max_bytes=…)'
    )


SECRET_QUERY_NAMES = frozenset(
    {
        'key',
        'apikey',
        'api_key',
        'token',
        'access_token',
        'auth',
        'signature',
        'sig',
        'password',
        'secret',
        'client_secret',
    }
)


def shown(url: str) -> str:
    """The URL as it may be shown or logged: no user:password part, secret-looking query values masked."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password or parts.username:
        netloc = (parts.hostname or '') + (f':{parts.port}' if parts.port else '')
    query = '&'.join(
        f'{name}=***' if name.lower() in SECRET_QUERY_NAMES else (f'{name}={value}' if sep else name)
        for name, sep, value in (item.partition('=') for item in parts.query.split('&') if item)
    )
    return parts._replace(netloc=netloc, query=query).geturl()


async def fetch(
    session: aiohttp.ClientSession,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    max_bytes: int = MAX_BYTES,
    timeout: aiohttp.ClientTimeout = TIMEOUT,
) -> Fetched:
    """One GET (or file read). Give `etag`/`last_modified` from the previous answer to ask "only if changed"."""
    if url.startswith('file://'):
        return await asyncio.to_thread(_read_file, url, etag, max_bytes)
    request_headers = {'User-Agent': USER_AGENT, 'Accept-Encoding': 'gzip, deflate'}
    request_headers.update(headers or {})
    if etag:
        request_headers['If-None-Match'] = etag
    if last_modified:
        request_headers['If-Modified-Since'] = last_modified
    try:
        return await _get(session, url, request_headers, etag, last_modified, max_bytes, timeout, secret=bool(headers))
    except FetchError:
        raise
    except TimeoutError:
        raise FetchError(f'{shown(url)} did not answer within {timeout.total:g} s') from None
    except aiohttp.ClientError as exc:
        raise FetchError(f'could not fetch {shown(url)}: {type(exc).__name__}: {exc}') from None


def same_site(url: str, other: str) -> bool:
    a, b = urlsplit(url), urlsplit(other)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


async def _get(
    session: aiohttp.ClientSession, url: str, request_headers: dict[str, str], etag: str | None,
    last_modified: str | None, max_bytes: int, timeout: aiohttp.ClientTimeout, *, secret: bool,
) -> Fetched:  # fmt: skip
    # With secret headers (API keys), redirects are followed by hand and only within the same site: aiohttp
    # would forward custom headers to wherever a redirect points, including plain http or another host.
    for _ in range(MAX_REDIRECTS + 1):
        async with session.get(url, headers=request_headers, timeout=timeout, allow_redirects=not secret) as response:
            if secret and response.status in (301, 302, 303, 307, 308) and 'Location' in response.headers:
                target = str(response.url.join(URL(response.headers['Location'])))
                if not same_site(url, target):
                    raise FetchError(f'{shown(url)} redirected to another site ({shown(target)}); not followed '
                                     'with this source\'s secret headers: update the source\'s URL')  # fmt: skip
                url = target
                continue
            if response.status == 304:
                return Fetched(None, response.headers.get('ETag') or etag, last_modified)
            if response.status >= 400:
                raise FetchError(f'HTTP {response.status} {response.reason or ""} from {shown(url)}'.replace('  ', ' '))
            declared = response.content_length
            if declared is not None and declared > max_bytes:
                raise too_big(url, max_bytes)
            chunks: list[bytes] = []
            total = 0
            async for chunk in response.content.iter_chunked(CHUNK):
                total += len(chunk)
                if total > max_bytes:
                    raise too_big(url, max_bytes)
                chunks.append(chunk)
            page = Page(str(response.url), b''.join(chunks), response.headers.get('Content-Type'))
            return Fetched(page, response.headers.get('ETag'), response.headers.get('Last-Modified'))
    raise FetchError(f'{shown(url)} redirected more than {MAX_REDIRECTS} times')


def _read_file(url: str, etag: str | None, max_bytes: int) -> Fetched:
    parts = urlsplit(url)
    path = Path(unquote(parts.path))
    try:
        stat = path.stat()
    except OSError as exc:
        raise FetchError(f'cannot read {path}: {exc.strerror or exc}') from None
    modified = email.utils.format_datetime(datetime.fromtimestamp(stat.st_mtime, UTC), usegmt=True)
    version = f'file:{stat.st_mtime_ns}:{stat.st_size}'  # a file's own "ETag": unchanged file, nothing to do
    if etag == version:
        return Fetched(None, version, modified)
    if stat.st_size > max_bytes:
        raise too_big(url, max_bytes)
    try:
        with path.open('rb') as file:
            body = file.read(max_bytes + 1)
    except OSError as exc:
        raise FetchError(f'cannot read {path}: {exc.strerror or exc}') from None
    if len(body) > max_bytes:
        raise too_big(url, max_bytes)
    return Fetched(Page(url, body, None), version, modified)
