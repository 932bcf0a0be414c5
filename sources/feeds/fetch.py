"""Fetch one page of a feed: http(s) with timeouts, a size cap and conditional requests, or a local file://.

Only where the source may go (sources.feeds.egress): a `Fetcher` is one poll's way out, a session of its own whose
connector resolves each host once, keeps only the addresses the source may reach and connects to exactly those.
Redirects are followed here, one hop at a time, each checked like the first (and never to a file://, nor, with
secret headers, to another site).

Every failure is a `FetchError` whose message says what went wrong in words an operator can act on
("HTTP 500 Internal Server Error from …", "the response is larger than 10 MB …") and never quotes what the server
sent: no reason phrase, no redirect target, no parser's message. A 304 (or an unchanged file) is `Fetched(None)`.
Secret headers (API keys) are sent but never appear in a message or a log line.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

import aiohttp
from yarl import URL

from sources.feeds.base import Page
from sources.feeds.egress import (
    ALLOW_INTERNAL_HINT,
    PUBLIC_ONLY,
    REAL_NETWORK,
    Guard,
    GuardedResolver,
    Network,
    Reach,
    Refused,
    guarded_socket,
)

logger = logging.getLogger('notifier.sources.fetch')

MAX_BYTES = 10 * 1024 * 1024
MAX_REDIRECTS = 5
TIMEOUT = aiohttp.ClientTimeout(total=60, connect=10, sock_read=30)
USER_AGENT = 'TellMe/1.0 (council resident notifications; +https://github.com/)'
CHUNK = 64 * 1024
REDIRECTS = frozenset({301, 302, 303, 307, 308})


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


def too_big(label: str, limit: int) -> FetchError:
    return FetchError(
        f'the response from {label} is larger than {_size(limit)}, so Tell Me stopped reading it '
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


def same_site(url: str, other: str) -> bool:
    a, b = urlsplit(url), urlsplit(other)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


class Fetcher:
    """One poll's way out to its feed: `async with Fetcher(reach) as fetcher: await fetcher.get(url, …)`.

    Its session has a connector of its own (never shared with another source, nor with the Notify client) whose
    resolver and socket factory let it reach only what `reach` allows; `network` is for tests (a DNS lookup that
    answers without the network, loopback servers standing in for public ones). No proxy from the environment is
    used."""

    def __init__(
        self,
        reach: Reach = PUBLIC_ONLY,
        *,
        network: Network = REAL_NETWORK,
        timeout: aiohttp.ClientTimeout = TIMEOUT,
    ) -> None:
        self.reach = reach
        self.guard = Guard(reach, network.stand_ins)
        self._lookup = network.lookup
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._resolver: GuardedResolver | None = None

    async def __aenter__(self) -> Fetcher:
        self._resolver = GuardedResolver(self.guard, self._lookup)
        connector = aiohttp.TCPConnector(
            resolver=self._resolver, socket_factory=guarded_socket(self.guard), use_dns_cache=False, limit=4
        )
        self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout, trust_env=False)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()
        if self._resolver is not None:
            await self._resolver.close()

    async def get(
        self,
        url: str,
        *,
        label: str | None = None,
        headers: dict[str, str] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        max_bytes: int = MAX_BYTES,
        own: bool = True,
    ) -> Fetched:
        """One GET (or file read). `label` names the page in messages (default: the URL, shown safely); give
        `etag`/`last_modified` from the previous answer to ask "only if changed". `own` is False for a URL the feed
        gave (a next-page link): that may never be a file."""
        label = label or shown(url)
        reason = self.guard.url_refusal(url, first=own)
        if reason is not None:
            raise FetchError(f'{label} was not fetched: {reason}')
        if urlsplit(url).scheme.lower() == 'file':
            return await asyncio.to_thread(_read_file, url, label, etag, max_bytes)
        if self._session is None:
            raise RuntimeError('use the Fetcher in `async with`')
        request_headers = {'User-Agent': USER_AGENT, 'Accept-Encoding': 'gzip, deflate'}
        request_headers.update(headers or {})
        if etag:
            request_headers['If-None-Match'] = etag
        if last_modified:
            request_headers['If-Modified-Since'] = last_modified
        hops = _Hops(url)
        try:
            return await self._follow(hops, label, request_headers, etag, last_modified, max_bytes, bool(headers))
        except FetchError:
            raise
        except TimeoutError:
            raise FetchError(f'{label} did not answer within {self._timeout.total:g} s') from None
        except aiohttp.ClientError as exc:
            raise FetchError(client_error(exc, label, redirected=hops.count > 0)) from None

    async def _follow(
        self, hops: _Hops, label: str, request_headers: dict[str, str], etag: str | None, last_modified: str | None,
        max_bytes: int, secret: bool,
    ) -> Fetched:  # fmt: skip
        # Redirects are followed by hand, each hop checked as the first was: aiohttp would follow one to anywhere
        # (and forward custom headers there). With secret headers (API keys), only within the same site.
        assert self._session is not None
        while hops.count <= MAX_REDIRECTS:
            url = hops.url
            async with self._session.get(url, headers=request_headers, allow_redirects=False) as response:
                if response.status in REDIRECTS and 'Location' in response.headers:
                    target = _target(response, label)
                    if secret and not same_site(url, target):
                        raise FetchError(f"{label} redirected to another site; not followed with this source's "
                                         "secret headers: update the source's URL")  # fmt: skip
                    reason = self.guard.url_refusal(target, first=False)
                    if reason is not None:
                        raise FetchError(f'{label} redirected to a URL that was not followed: {reason}')
                    hops.next(target)
                    continue
                return await _read(response, label, etag, last_modified, max_bytes)
        raise FetchError(f'{label} redirected more than {MAX_REDIRECTS} times')


class _Hops:
    def __init__(self, url: str) -> None:
        self.url, self.count = url, 0

    def next(self, url: str) -> None:
        self.url, self.count = url, self.count + 1


def _target(response: aiohttp.ClientResponse, label: str) -> str:
    try:
        return str(response.url.join(URL(response.headers['Location'])))
    except (ValueError, TypeError):
        raise FetchError(f'{label} redirected to something that is not a URL') from None


async def _read(
    response: aiohttp.ClientResponse, label: str, etag: str | None, last_modified: str | None, max_bytes: int
) -> Fetched:
    if response.status == 304:
        return Fetched(None, response.headers.get('ETag') or etag, last_modified)
    if response.status >= 400:
        raise FetchError(f'HTTP {response.status} {_phrase(response.status)}from {label}')
    declared = response.content_length
    if declared is not None and declared > max_bytes:
        raise too_big(label, max_bytes)
    chunks: list[bytes] = []
    total = 0
    async for chunk in response.content.iter_chunked(CHUNK):
        total += len(chunk)
        if total > max_bytes:
            raise too_big(label, max_bytes)
        chunks.append(chunk)
    page = Page(str(response.url), b''.join(chunks), response.headers.get('Content-Type'))
    return Fetched(page, response.headers.get('ETag'), response.headers.get('Last-Modified'))


def _phrase(status: int) -> str:
    """The standard phrase for a status (the server's own reason phrase is what it sent: never shown)."""
    try:
        return HTTPStatus(status).phrase + ' '
    except ValueError:
        return ''


def _refused(exc: BaseException) -> Refused | None:
    for cause in (getattr(exc, 'os_error', None), exc.__cause__, exc.__context__):
        if isinstance(cause, Refused):
            return cause
    return None


def client_error(exc: aiohttp.ClientError, label: str, *, redirected: bool) -> str:
    """What went wrong, in our words: aiohttp's own messages can quote what the server sent (a bad status line,
    a redirect's URL), so only the kind of failure is told."""
    refused = _refused(exc)
    if refused is not None:
        if redirected:
            return f'{label} redirected to {refused.reason}; not followed: {ALLOW_INTERNAL_HINT}'
        return f'{label} was not fetched: its host resolves to {refused.reason}, and {ALLOW_INTERNAL_HINT}'
    where = f'{label} (after a redirect)' if redirected else label
    failures: tuple[tuple[type[BaseException], str], ...] = (
        (aiohttp.ClientConnectorCertificateError, "the server's certificate is not valid for its name"),
        (aiohttp.ClientSSLError, 'the secure (TLS) connection failed'),
        (aiohttp.ClientConnectorDNSError, 'its host name could not be found'),
        (aiohttp.ServerDisconnectedError, 'the server closed the connection without answering'),
        (aiohttp.ClientPayloadError, 'the response was cut off or could not be decompressed'),
        (aiohttp.ClientResponseError, 'the server did not answer with valid HTTP'),
        (aiohttp.InvalidURL, 'not a valid URL'),
    )
    for kind, text in failures:
        if isinstance(exc, kind):
            return f'{where}: {text}'
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f'{where}: could not connect ({exc.os_error.strerror or "the connection failed"})'
    return f'{where}: could not fetch it ({type(exc).__name__})'


async def fetch(url: str, *, reach: Reach = PUBLIC_ONLY, network: Network = REAL_NETWORK, **options: Any) -> Fetched:
    """One page with a Fetcher of its own (a poll keeps one Fetcher for all its pages)."""
    async with Fetcher(reach, network=network) as fetcher:
        return await fetcher.get(url, **options)


def _read_file(url: str, label: str, etag: str | None, max_bytes: int) -> Fetched:
    parts = urlsplit(url)
    path = Path(unquote(parts.path))
    try:
        stat = path.stat()
    except OSError as exc:
        raise FetchError(f'cannot read {label}: {exc.strerror or type(exc).__name__}') from None
    modified = email.utils.format_datetime(datetime.fromtimestamp(stat.st_mtime, UTC), usegmt=True)
    version = f'file:{stat.st_mtime_ns}:{stat.st_size}'  # a file's own "ETag": unchanged file, nothing to do
    if etag == version:
        return Fetched(None, version, modified)
    if stat.st_size > max_bytes:
        raise too_big(label, max_bytes)
    try:
        with path.open('rb') as file:
            body = file.read(max_bytes + 1)
    except OSError as exc:
        raise FetchError(f'cannot read {label}: {exc.strerror or type(exc).__name__}') from None
    if len(body) > max_bytes:
        raise too_big(label, max_bytes)
    return Fetched(Page(url, body, None), version, modified)
