"""Poll one source: fetch its pages, parse them with its adapter, record what is new or changed.

- One poll at a time per source (a PostgreSQL advisory lock, a transaction's); a second caller gets `busy` and does
  nothing. The lock is held on a connection from `locks` (the worker gives a small pool of its own), so a slow fetch
  never pins a connection the senders need; the poll itself borrows connections from `pool` only while it writes.
- A cursor dated in the future (a feed's wrong clock, a typo in a record) is clamped to a little before now, with
  a note on the poll, so the source never gets stuck asking for changes since a date that has not come.
- Secret headers are decrypted for the request only (sources.feeds.secrets); one that cannot be decrypted is this
  source's failure, with a message saying what to do.
- Conditional requests: the first page is asked for "only if changed" (ETag / Last-Modified); a 304 is a
  successful poll that writes no events.
- Events with a postcode but no coordinates get them (and ward/district codes) from the postcode table
  (sources.events.placing).
- Events are ingested in small batches, each event in its own savepoint: one bad record never stops the batch;
  senders are woken after each batch commits.
- The source's cursor and health are updated, and each poll is logged in `source_polls`; after failures the next
  poll backs off. `sources.feeds.health` then raises a staff alert if the source has been failing or silent too long,
  or (a bin schedule) lists no collection from today on.
- `check=True` fetches and parses, writes nothing, and says what a poll would do (by fingerprint comparison).
- Fetching goes only where the source may go (sources.feeds.egress, through a `Fetcher` of this poll's own), and no
  message, rejection, note or log line quotes what the feed sent: pages are named by the source's own URL and their
  number, and a reader's surprise by its type and where in our code it happened.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from notifier import metrics
from notifier.outbox import queue
from sources.events import queries as event_queries
from sources.events.ingest import IngestRace, IngestRefused, decide, ingest
from sources.events.models import Event
from sources.events.placing import place_events
from sources.feeds import health, registry
from sources.feeds.adapters import ADAPTERS
from sources.feeds.base import Page, Parsed, Rejected, SourceError
from sources.feeds.cursors import clamp_cursor
from sources.feeds.egress import REAL_NETWORK, Network
from sources.feeds.fetch import MAX_BYTES, Fetcher, FetchError, same_site, shown
from sources.feeds.secrets import HeaderSecretError

logger = logging.getLogger('notifier.sources.polling')

POLL_DEADLINE = 180.0  # seconds for a whole poll, all pages: a slow feed must not hold the others up

LOCK_CLASS = 0x7E11  # advisory locks (LOCK_CLASS, source id): one poll of a source at a time
LOCK = 'select pg_try_advisory_xact_lock($1, $2)'
MAX_PAGES = 200
BATCH = 100


@dataclass
class PollResult:
    source: str
    outcome: str = 'ok'  # ok | not-modified | failed | busy | check
    pages: int = 0
    counts: Counter[str] = field(default_factory=Counter)  # new, changed, unchanged, rejected
    error: str | None = None
    problems: list[Rejected] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # check mode: what would happen to each record
    alerts: list[int] = field(default_factory=list)  # staff alert events raised
    cursor: str | None = None  # the newest change time seen, kept for the next poll
    validators: dict[str, str | None] = field(default_factory=dict)  # the first page's url, etag, last_modified
    last_collection: date | None = None  # a schedule's last collection date (sources.feeds.health)

    def summary(self) -> str:
        if self.outcome == 'busy':
            return f'{self.source}: another poll is running; nothing done'
        if self.outcome == 'not-modified':
            return f'{self.source}: not modified since the last poll (0 new, 0 changed)'
        c = self.counts
        verb = 'would be' if self.outcome == 'check' else ''
        text = (
            f'{self.source}: {c["new"]} new, {c["changed"]} changed, {c["unchanged"]} unchanged, '
            f'{c["rejected"]} rejected{" " + verb if verb else ""} ({self.pages} page{"s" if self.pages != 1 else ""})'
        )
        return text + (f'; FAILED: {self.error}' if self.error else '')


class _Failed(Exception):
    pass


async def poll_source(
    pool: asyncpg.Pool,
    name_or_source: str | registry.Source,
    *,
    redis: Any = None,
    check: bool = False,
    now: datetime | None = None,
    secrets: Sequence[bytes] = (),
    locks: asyncpg.Pool | None = None,
    network: Network = REAL_NETWORK,
) -> PollResult:
    """Poll once now (or with `check`, say what a poll would do and write nothing). `secrets` open the source's
    secret headers (Settings.link_secrets); the per-source lock is held on a connection from `locks` (default:
    `pool`). The poll fetches through a Fetcher of its own, reaching only what the source may (its
    `allow_internal` and `allow_file`); `network` is for tests (sources.feeds.egress.Network)."""
    source = name_or_source
    if isinstance(source, str):
        found = await registry.get_source(pool, source)
        if found is None:
            raise registry.SourceConfigError(f'there is no source called {name_or_source!r}')
        source = found
    result = PollResult(source.name, outcome='check' if check else 'ok')
    if check:
        await _poll(pool, source, result, check=True, now=now or datetime.now(UTC), secrets=secrets, network=network)
        return result
    # a transaction's lock, held by a transaction that stays open (and writes nothing) for the poll: it works the same
    # through PgBouncer in transaction mode, where a session's lock would be taken and released on different servers
    async with (locks or pool).acquire() as lock_conn, lock_conn.transaction():
        if not await lock_conn.fetchval(LOCK, LOCK_CLASS, source.id):
            result.outcome = 'busy'
            return result
        started, clock = now or datetime.now(UTC), time.perf_counter()
        await _poll_within_deadline(pool, source, result, started, redis, secrets, network)
        await _record(pool, source, result, started)
        result.alerts = await health.review(pool, source.id, now=started, redis=redis)
    metrics.feed_polled(source.name, result.outcome, metrics.since(clock), result.counts, len(result.alerts))
    return result


def page_label(source: registry.Source, number: int) -> str:
    """How page `number` of a poll is named in messages: by the source's own URL (as configured, shown safely),
    never by a URL the feed gave."""
    return shown(source.url) if number == 1 else f'page {number} of {shown(source.url)}'


async def _poll(
    pool: asyncpg.Pool,
    source: registry.Source,
    result: PollResult,
    *,
    check: bool,
    now: datetime,
    redis: Any = None,
    secrets: Sequence[bytes] = (),
    network: Network = REAL_NETWORK,
) -> None:
    adapter = ADAPTERS.get(source.kind)
    if adapter is None:
        result.outcome, result.error = 'failed', f'unknown kind {source.kind!r} (known: {", ".join(sorted(ADAPTERS))})'
        return
    options = source.options
    try:
        headers = await registry.headers_for(pool, source.id, secrets=secrets, reseal=not check)
    except HeaderSecretError as exc:
        result.outcome, result.error = 'failed', str(exc)
        return
    max_bytes = _max_bytes(options)
    seen_urls: set[str] = set()
    events: dict[str, tuple[Event, str]] = {}
    cursor: str | None = None
    validators: dict[str, str | None] = {}
    truncated = False
    since = clamp_cursor(source.cursor, now, result.notes, 'the stored cursor')
    try:
        async with Fetcher(source.reach, network=network) as fetcher:
            # inside the try: a bad option (e.g. a date window) is this source's failure, reported on it
            url: str | None = adapter.first_url(source.url, options, since, now)
            first_url = url
            while url is not None:
                label = page_label(source, len(seen_urls) + 1)
                if url in seen_urls or len(seen_urls) >= MAX_PAGES:
                    result.notes.append(f'stopped after {len(seen_urls)} pages (the feed kept pointing to more)')
                    truncated = True
                    break
                seen_urls.add(url)
                if not same_site(source.url, url):
                    # a feed's "next page" link is followed only on the configured site: it must not send this
                    # source's API key elsewhere, nor make the worker read a local file
                    raise FetchError(f'{label}: the feed pointed to another site for it; not followed')
                # a schedule read by date (a bin calendar: the next weeks from `now`) is read whole every poll: the
                # same unchanged file says something new each week, and "not modified" would freeze its window
                conditional = (not check and url == first_url and source.validated_url == url
                               and not getattr(adapter, 'reads_by_date', False))  # fmt: skip
                fetched = await fetcher.get(
                    url, label=label, headers=headers, max_bytes=max_bytes, own=url == first_url,
                    etag=source.etag if conditional else None,
                    last_modified=source.last_modified if conditional else None,
                )  # fmt: skip
                if url == first_url:
                    validators = {'url': url, 'etag': fetched.etag, 'last_modified': fetched.last_modified}
                if fetched.page is None:
                    result.outcome = 'check' if check else 'not-modified'
                    result.validators = validators
                    return
                result.pages += 1
                # off the event loop: a big document must not stall sending and the other polls while it parses
                parsed = await asyncio.to_thread(_parse, adapter, fetched.page, options, source.name, now, label)
                result.notes.extend(parsed.notes)
                result.problems.extend(_on_page(parsed.rejected, result.pages))
                _keep_newest(events, parsed.events, result.problems)
                cursor = max(filter(None, (cursor, parsed.cursor)), default=None)
                result.last_collection = max(
                    filter(None, (result.last_collection, parsed.last_collection)), default=None
                )
                url = adapter.next_url(fetched.page, parsed, options)
    except (FetchError, SourceError) as exc:
        result.error = registry.clean(str(exc))
    placed = await place_events(pool, [event for event, _ in events.values()])
    if check:
        await _compare(pool, placed, result)
    else:
        await _ingest(pool, placed, result, redis=redis)
    result.counts['rejected'] += len(result.problems)
    if result.error:
        result.outcome = 'failed'
    unrecorded = any(problem.reason.startswith('not recorded') for problem in result.problems)
    if truncated or unrecorded:
        # the next poll must fetch the same data again (no "not modified", no cursor moved past what we missed)
        result.notes.append('the next poll will fetch these records again')
        result.cursor = since
        result.validators = {'url': validators['url'], 'etag': None, 'last_modified': None} if validators else {}
        return
    result.cursor = clamp_cursor(cursor, now, result.notes, "the feed's newest change time")
    result.validators = validators


def _max_bytes(options: Mapping[str, str]) -> int:
    try:
        return int(options.get('max_bytes', MAX_BYTES))
    except ValueError:
        return MAX_BYTES


def _keep_newest(events: dict[str, tuple[Event, str]], new: list[Event], problems: list[Rejected]) -> None:
    """One state per record per poll. Pages that overlap on purpose (Open311 paging by update time) give the
    same record twice: the newest wins. Two different states at the same moment is a feed error: keep the first."""
    for event in new:
        earlier = events.get(event.external_key)
        if earlier is not None and earlier[0].occurred_at > event.occurred_at:
            continue
        if earlier is not None and earlier[0].occurred_at == event.occurred_at and earlier[0] != event:
            problems.append(Rejected(f'record {event.external_key}', 'appears twice; kept the first'))
            continue
        events[event.external_key] = (event, f'record {event.external_key}')


def _on_page(rejected: list[Rejected], page: int) -> list[Rejected]:
    """Records after the first page are told apart by their page: 'page 2, record 7'."""
    return rejected if page == 1 else [Rejected(f'page {page}, {r.where}', r.reason) for r in rejected]


def failed_at(exc: BaseException) -> str:
    """'KeyError in sources/feeds/adapters/planit.py:123 (_event)': where an exception was raised, without its message
    (which may quote what a feed sent), for the worker log."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return type(exc).__name__
    frame = frames[-1]
    path = frame.filename.replace('\\', '/')
    for root in ('/sources/', '/notifier/', '/site-packages/'):
        if root in path:
            path = root.strip('/') + '/' + path.rsplit(root, 1)[1]
            break
    return f'{type(exc).__name__} in {path}:{frame.lineno} ({frame.name})'


def stack_of(exc: BaseException) -> str:
    """The exception's traceback (files, lines and our code) without its message, for the worker log."""
    return ''.join(traceback.format_list(traceback.extract_tb(exc.__traceback__))).rstrip()


def _parse(adapter: Any, page: Page, options: Mapping[str, str], source: str, now: datetime, label: str) -> Parsed:
    head = page.body.lstrip()[:200].lower()
    if 'text/html' in (page.content_type or '').lower() or head.startswith((b'<!doctype html', b'<html')):
        raise SourceError(f'{label} sent a web page (HTML), not the feed: probably an error or login page')
    try:
        return adapter.parse(page, options, source=source, now=now)
    except SourceError as exc:
        if label.startswith('page '):  # after the first page, say which page
            raise SourceError(f'{label}: {exc}') from None
        raise
    except Exception as exc:  # noqa: BLE001 - an adapter's surprise is this page's failure, not the worker's
        logger.warning('the %s reader failed on %s: %s\n%s', adapter.kind, label, failed_at(exc), stack_of(exc))
        raise SourceError(
            f'{label} could not be read: the {adapter.kind} reader failed ({type(exc).__name__}); see the worker log'
        ) from None


async def _compare(pool: asyncpg.Pool, events: list[Event], result: PollResult) -> None:
    for event in events:
        previous = await event_queries.latest_version(pool, event.source, event.external_key)
        outcome, event, _ = decide(previous, event)  # the same decision ingest makes (a moved bin day, say)
        result.counts[outcome] += 1
        if outcome != 'unchanged':
            where = '' if event.lat is not None else ' (no location)'
            result.lines.append(f'{outcome:<9} {event.external_key}  {event.kind}  {event.title[:80]}{where}')


async def _ingest(pool: asyncpg.Pool, events: list[Event], result: PollResult, *, redis: Any) -> None:
    for start in range(0, len(events), BATCH):
        woken: list[int] = []
        async with pool.acquire() as conn, conn.transaction():
            for event in events[start : start + BATCH]:
                try:
                    async with conn.transaction():
                        done = await ingest(conn, event)
                except Exception as exc:  # noqa: BLE001 - one bad record never stops its batch
                    # our own refusals say why in our words; anything else (the database's) by its type and place
                    ours = isinstance(exc, IngestRefused | IngestRace)
                    why = str(exc) if ours else f'{type(exc).__name__}; see the worker log'
                    logger.warning('source %s: record %s not recorded: %s', event.source, event.external_key,
                                   str(exc) if ours else failed_at(exc))  # fmt: skip
                    result.problems.append(Rejected(f'record {event.external_key}', f'not recorded: {why}'))
                    continue
                result.counts[done.outcome] += 1
                if done.matched and done.event_id is not None:
                    woken.append(done.event_id)
        if woken and redis is not None:
            try:
                await queue.wake_for_event(redis, woken[-1])
            except Exception:  # noqa: BLE001 - rows are committed; the senders also poll the outbox
                logger.warning('could not wake the senders after polling', exc_info=True)


async def _poll_within_deadline(
    pool: asyncpg.Pool, source: registry.Source, result: PollResult, started: datetime, redis: Any,
    secrets: Sequence[bytes], network: Network,
) -> None:  # fmt: skip
    """A poll that hangs or crashes is recorded as this source's failure (so it backs off, counts towards an alert
    and stops being first in the queue) instead of escaping and being retried every minute unnoticed."""
    try:
        async with asyncio.timeout(POLL_DEADLINE):
            await _poll(pool, source, result, check=False, now=started, redis=redis, secrets=secrets, network=network)
    except TimeoutError:
        result.error = f'the poll took longer than {POLL_DEADLINE:.0f} s and was stopped'
    except Exception as exc:  # noqa: BLE001 - one source's surprise is that source's failure
        logger.error('polling %s failed unexpectedly: %s\n%s', source.name, failed_at(exc), stack_of(exc))
        result.error = f'the poll failed unexpectedly ({type(exc).__name__}); see the worker log'
    if result.error:
        result.outcome = 'failed'


async def _record(pool: asyncpg.Pool, source: registry.Source, result: PollResult, started: datetime) -> None:
    validators = result.validators
    problems = [{'where': p.where, 'reason': p.reason} for p in result.problems]
    async with pool.acquire() as conn, conn.transaction():
        if result.outcome == 'failed':
            await registry.record_failure(conn, source.id, started, result.error or 'failed')
        else:
            await registry.record_success(
                conn, source.id, started, cursor=result.cursor,
                validated_url=validators.get('url'), etag=validators.get('etag'),
                last_modified=validators.get('last_modified'),
                records_seen=None if result.outcome == 'not-modified' else sum(result.counts.values()),
                news=bool(result.counts['new'] or result.counts['changed']),
                last_collection=result.last_collection,
            )  # fmt: skip
        await registry.record_poll(
            conn, source.id, started, outcome=result.outcome, pages=result.pages, counts=dict(result.counts),
            error=result.error, problems=problems, notes=result.notes,
        )  # fmt: skip
    level = logging.WARNING if result.outcome == 'failed' else logging.INFO
    logger.log(level, 'poll %s', result.summary())
