"""Sources: the SQL. One row per feed (what to poll, how often, with which options) and its health.

Query functions take a connection or the pool and never open their own transaction. The secret request headers
are stored encrypted (sources.feeds.secrets) and read only by `headers_for` (to make the request); nothing else selects
them, so they are never listed, printed or returned by the API.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from sources.feeds import egress
from sources.feeds import secrets as header_secrets
from sources.feeds.fetch import shown

Db = asyncpg.Pool | asyncpg.Connection

NAME = re.compile(r'^[a-z0-9][a-z0-9_.-]{0,99}$')
_INTERVAL = re.compile(r'^\s*(\d+)\s*([smhd]?)\s*$')
_CONTROL = re.compile(r'[\x00-\x08\x0b-\x1f\x7f]')
_UNITS = {'s': 1, 'm': 60, 'h': 3600, 'd': 86400, '': 60}
MIN_INTERVAL = 60
RESERVED = 'tellme'  # the source of staff alerts about sources (sources.feeds.health)
MAX_INTERVAL = 7 * 86400


class SourceConfigError(ValueError):
    """What an operator typed cannot make a source (the message says what to change)."""


@dataclass(frozen=True)
class Source:
    id: int
    name: str
    kind: str
    url: str
    interval: timedelta
    options: dict[str, str]
    header_names: list[str]  # the secret headers' names only
    status: str
    cursor: str | None
    validated_url: str | None
    etag: str | None
    last_modified: str | None
    next_poll_at: datetime
    last_polled_at: datetime | None
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    failing_since: datetime | None
    last_records_seen: int | None
    last_news_at: datetime | None
    silent_after: timedelta | None
    failing_alert_at: datetime | None
    silent_alert_at: datetime | None
    created_at: datetime
    last_collection_on: date | None = None  # a schedule's last collection date, as its last poll said
    ended_alert_at: datetime | None = None  # the open "no collections after …" alert
    allow_internal: bool = False  # may reach this network's own addresses (an administrator's choice, audited)
    allow_file: bool = False  # may read its file:// URL (an administrator's choice, audited)

    @property
    def reach(self) -> egress.Reach:
        return egress.Reach(internal=self.allow_internal, files=self.allow_file)

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Source:
        values = dict(row)
        values['interval'] = timedelta(seconds=values.pop('interval_seconds'))
        silent = values.pop('silent_after_seconds')
        values['silent_after'] = timedelta(seconds=silent) if silent else None
        values['header_names'] = list(values['header_names'] or [])
        values['options'] = dict(values['options'] or {})
        return cls(**values)


def parse_interval(text: str) -> timedelta:
    """'15m', '1h', '90s', '1d' (a bare number is minutes) → a timedelta between 1 minute and 7 days."""
    match = _INTERVAL.match(text or '')
    if match is None:
        raise SourceConfigError(f'{text!r} is not an interval: write e.g. 15m, 1h or 1d')
    seconds = int(match[1]) * _UNITS[match[2]]
    if not MIN_INTERVAL <= seconds <= MAX_INTERVAL:
        raise SourceConfigError(f'{text!r}: an interval must be between 1 minute and 7 days')
    return timedelta(seconds=seconds)


def format_interval(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (('d', 86400), ('h', 3600), ('m', 60)):
        if seconds % size == 0:
            return f'{seconds // size}{unit}'
    return f'{seconds}s'


COLUMNS = """
id, name, kind, url, interval_seconds, options, array(select jsonb_object_keys(secret_headers)) as header_names,
status, cursor, validated_url, etag, last_modified, next_poll_at, last_polled_at, last_success_at, last_failure_at,
last_error, consecutive_failures, failing_since, last_records_seen, last_news_at, silent_after_seconds,
failing_alert_at, silent_alert_at, created_at, allow_internal, allow_file, last_collection_on, ended_alert_at
"""

INSERT = f"""
insert into sources (name, kind, url, interval_seconds, options, secret_headers, silent_after_seconds,
                     allow_internal, allow_file)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
on conflict (name) do nothing
returning {COLUMNS}
"""
GET = f'select {COLUMNS} from sources where name = $1'
GET_BY_ID = f'select {COLUMNS} from sources where id = $1'
LIST = f'select {COLUMNS} from sources order by name'
DUE = f"""
select {COLUMNS} from sources
where status = 'active' and next_poll_at <= $1
order by next_poll_at
limit $2
"""
SET_STATUS = f"""
update sources set status = $2, next_poll_at = case when $2 = 'active' then now() else next_poll_at end
where name = $1
returning {COLUMNS}
"""
REMOVE = 'delete from sources where name = $1 returning id'
HEADERS = 'select name, secret_headers from sources where id = $1'
# only if nobody changed them meanwhile (`tellme sources set` may be writing new ones)
RESEAL_HEADERS = 'update sources set secret_headers = $3 where id = $1 and secret_headers = $2'

RECORD_SUCCESS = """
update sources set
    last_polled_at = $2::timestamptz, last_success_at = $2::timestamptz,
    consecutive_failures = 0, failing_since = null, last_error = null,
    next_poll_at = $2::timestamptz + make_interval(secs => interval_seconds),
    cursor = coalesce($3::text, cursor),
    validated_url = coalesce($4::text, validated_url),
    etag = case when $4::text is null then etag else $5::text end,
    last_modified = case when $4::text is null then last_modified else $6::text end,
    last_records_seen = coalesce($7::int, last_records_seen),
    last_news_at = case when $8::bool then $2::timestamptz else last_news_at end,
    -- a "not modified" answer (no records seen) keeps what the last read said
    last_collection_on = case when $7::int is null then last_collection_on else $9::date end
where id = $1
"""
RECORD_FAILURE = """
update sources set
    last_polled_at = $2::timestamptz, last_failure_at = $2::timestamptz, last_error = $3::text,
    consecutive_failures = consecutive_failures + 1,
    failing_since = coalesce(failing_since, $2::timestamptz),
    -- back off: 2×, 4×, 8×, then 16× the interval after failures in a row (at most a day, never less than it)
    next_poll_at = $2::timestamptz + make_interval(secs => greatest(interval_seconds, least(
        interval_seconds * power(2, least(consecutive_failures + 1, 4)), 86400)))
where id = $1
"""
INSERT_POLL = """
insert into source_polls (source_id, started_at, outcome, pages, new, changed, unchanged, rejected, error, problems,
                          notes)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
"""
RECENT_POLLS = """
select started_at, finished_at, outcome, pages, new, changed, unchanged, rejected, error, problems, notes
from source_polls where source_id = $1 order by started_at desc limit $2
"""
# the gaps between polls that brought news, newest first (to learn how often a source usually has news)
NEWS_GAPS = """
select extract(epoch from started_at - lag(started_at) over (order by started_at))::float8 as gap
from source_polls
where source_id = $1 and outcome = 'ok' and new + changed > 0 and started_at > $2
order by started_at desc
limit 20
"""
SET_ALERTS = 'update sources set failing_alert_at = $2, silent_alert_at = $3, ended_alert_at = $4 where id = $1'


async def add_source(
    conn: Db,
    *,
    name: str,
    kind: str,
    url: str,
    interval: timedelta = timedelta(minutes=15),
    options: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    silent_after: timedelta | None = None,
    secrets: Sequence[bytes] = (),
    allow_internal: bool = False,
    allow_file: bool = False,
) -> Source:
    """Store a new source; SourceConfigError if the name is taken or a value is unusable. Headers are sealed with
    the first of `secrets` (Settings.link_secrets). `allow_internal` and `allow_file` are an administrator's
    choice (the caller writes it to the audit log): without them the source reaches public web addresses only."""
    if name == RESERVED:
        raise SourceConfigError(f"{RESERVED!r} is reserved for Tell Me's own alerts: choose another name")
    if not NAME.match(name):
        raise SourceConfigError(
            f'{name!r} cannot be a source name: use lower-case letters, digits, and . _ - (e.g. trafford-planning)'
        )
    check_url(url, egress.Reach(internal=allow_internal, files=allow_file))
    seconds = check_interval(interval)
    silent = int(silent_after.total_seconds()) if silent_after else None
    sealed = seal_headers(headers or {}, source=name, secrets=secrets)
    row = await conn.fetchrow(
        INSERT, name, kind, url, seconds, options or {}, sealed, silent, allow_internal, allow_file
    )
    if row is None:
        raise SourceConfigError(f'there is already a source called {name!r}')
    return Source.from_row(row)


async def get_source(conn: Db, name: str) -> Source | None:
    row = await conn.fetchrow(GET, name)
    return Source.from_row(row) if row else None


async def get_source_by_id(conn: Db, source_id: int) -> Source | None:
    row = await conn.fetchrow(GET_BY_ID, source_id)
    return Source.from_row(row) if row else None


async def list_sources(conn: Db) -> list[Source]:
    return [Source.from_row(row) for row in await conn.fetch(LIST)]


async def due_sources(conn: Db, now: datetime, *, limit: int = 100) -> list[Source]:
    """Active sources whose next poll is due, the most overdue first."""
    return [Source.from_row(row) for row in await conn.fetch(DUE, now, limit)]


async def pause_source(conn: Db, name: str) -> Source | None:
    row = await conn.fetchrow(SET_STATUS, name, 'paused')
    return Source.from_row(row) if row else None


async def resume_source(conn: Db, name: str) -> Source | None:
    """Active again, and due at once."""
    row = await conn.fetchrow(SET_STATUS, name, 'active')
    return Source.from_row(row) if row else None


async def remove_source(conn: Db, name: str) -> bool:
    """Forget the source and its poll log (the events it recorded stay: residents were told about them)."""
    return await conn.fetchval(REMOVE, name) is not None


def check_url(url: str, reach: egress.Reach = egress.PUBLIC_ONLY) -> None:
    """SourceConfigError unless a source with `reach` may fetch `url`: an http(s) URL (or file:// with
    --allow-file) whose host is not a literal internal address or a metadata service without --allow-internal.
    Host names are checked again when each poll connects (they may resolve anywhere)."""
    if not re.match(r'^(https?|file)://', url):
        raise SourceConfigError(f'{url!r} is not a URL Tell Me can fetch: use http://, https:// or file://')
    reason = egress.refusal_for_url(url, reach)
    if reason is not None:
        raise SourceConfigError(f"{shown(url)} cannot be this source's URL: {reason}")


def check_interval(interval: timedelta) -> int:
    seconds = int(interval.total_seconds())
    if not MIN_INTERVAL <= seconds <= MAX_INTERVAL:
        raise SourceConfigError('an interval must be between 1 minute and 7 days')
    return seconds


def seal_headers(headers: Mapping[str, str], *, source: str, secrets: Sequence[bytes]) -> dict[str, Any]:
    """Headers checked and sealed for storing; SourceConfigError (naming the header, never its value) if not."""
    try:
        for header, value in headers.items():
            header_secrets.check_header(header, value)
        return header_secrets.seal_headers(headers, source=source, secrets=secrets)
    except (ValueError, header_secrets.HeaderSecretError) as exc:
        raise SourceConfigError(str(exc)) from None


async def headers_for(
    conn: Db, source_id: int, *, secrets: Sequence[bytes] = (), reseal: bool = True
) -> dict[str, str]:
    """The source's secret request headers, to make a request with; never print or return them.

    HeaderSecretError (naming the header) if one cannot be decrypted. With `reseal`, a header stored in plain
    text, or sealed with an older secret, is sealed again with the newest one."""
    row = await conn.fetchrow(HEADERS, source_id)
    if row is None:
        return {}
    stored: dict[str, Any] = dict(row['secret_headers'] or {})
    opened = header_secrets.open_headers(stored, source=row['name'], secrets=secrets)
    if opened.stale and secrets and reseal:
        fresh = header_secrets.seal_headers(opened.headers, source=row['name'], secrets=secrets)
        await conn.execute(RESEAL_HEADERS, source_id, stored, fresh)
    return opened.headers


async def record_success(
    conn: Db,
    source_id: int,
    now: datetime,
    *,
    cursor: str | None,
    validated_url: str | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    records_seen: int | None,
    news: bool,
    last_collection: date | None = None,
) -> None:
    """A poll worked (or the feed said "not modified"): healthy again, next poll one interval from now.
    `last_collection`: a schedule's last collection date (kept as it was when the feed was not modified)."""
    await conn.execute(
        RECORD_SUCCESS, source_id, now, cursor, validated_url, etag, last_modified, records_seen, news, last_collection
    )


def clean(text: str, limit: int = 2000) -> str:
    """Text from a feed made safe to store and print: no NUL or other control characters, at most `limit`."""
    return _CONTROL.sub('\ufffd', text)[:limit]


async def record_failure(conn: Db, source_id: int, now: datetime, error: str) -> None:
    await conn.execute(RECORD_FAILURE, source_id, now, clean(error))


async def record_poll(
    conn: Db,
    source_id: int,
    started_at: datetime,
    *,
    outcome: str,
    pages: int,
    counts: dict[str, int],
    error: str | None,
    problems: list[dict[str, str]],
    notes: list[str],
) -> None:
    await conn.execute(
        INSERT_POLL,
        source_id,
        started_at,
        outcome,
        pages,
        counts.get('new', 0),
        counts.get('changed', 0),
        counts.get('unchanged', 0),
        counts.get('rejected', 0),
        clean(error) if error else None,
        [{key: clean(value, 500) for key, value in problem.items()} for problem in problems[:50]],
        [clean(note, 500) for note in notes[:20]],
    )


async def recent_polls(conn: Db, source_id: int, limit: int = 10) -> list[asyncpg.Record]:
    return await conn.fetch(RECENT_POLLS, source_id, limit)


async def news_gaps(conn: Db, source_id: int, since: datetime) -> list[float]:
    """Seconds between consecutive polls that brought news since `since`, newest first."""
    return [row['gap'] for row in await conn.fetch(NEWS_GAPS, source_id, since) if row['gap'] is not None]


async def set_alerts(
    conn: Db, source_id: int, *, failing: datetime | None, silent: datetime | None, ended: datetime | None = None
) -> None:
    await conn.execute(SET_ALERTS, source_id, failing, silent, ended)
