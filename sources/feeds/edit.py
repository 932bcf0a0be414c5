"""Change a source in place (`tellme sources set`, `tellme sources reset-cursor`): removing and adding it again
would lose its cursor, its health and its poll log.

A change to what is fetched or how it is read (URL, options, headers, what it may reach) forgets the
conditional-request validators and makes the source due now, so the next poll reads the whole feed again with the
new settings (an unchanged record still writes nothing). Resetting the cursor does the same, so a council can
re-read after fixing, say, a status mapping.

Every change is written to the audit log in the same transaction (`actor`: who made it), naming what changed but
never a header's value; letting a source reach internal addresses or a local file is an administrator's choice
(the command line is run by one, on the server).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

import asyncpg

from notifier import audit
from sources.feeds import egress, registry
from sources.feeds import secrets as header_secrets
from sources.feeds.fetch import shown
from sources.feeds.polling import LOCK_CLASS
from sources.feeds.registry import COLUMNS, Source, SourceConfigError

LOCK = """
select id, url, interval_seconds, options, secret_headers, silent_after_seconds, cursor, allow_internal, allow_file
from sources
where name = $1 for update
"""
UPDATE = f"""
update sources set
    url = $2, interval_seconds = $3, options = $4, secret_headers = $5, silent_after_seconds = $6,
    allow_internal = $8, allow_file = $9,
    validated_url = case when $7::bool then null else validated_url end,
    etag = case when $7::bool then null else etag end,
    last_modified = case when $7::bool then null else last_modified end,
    next_poll_at = case when $7::bool then now()
                        else least(next_poll_at, now() + make_interval(secs => $3::int)) end
where id = $1
returning {COLUMNS}
"""
# the poll's own lock, for this transaction: a poll finishing meanwhile would write back the cursor and validators
NOT_POLLING = 'select pg_try_advisory_xact_lock($1, $2)'
RESET_CURSOR = f"""
update sources set cursor = $2, validated_url = null, etag = null, last_modified = null, next_poll_at = now()
where id = $1
returning {COLUMNS}
"""


@dataclass
class Change:
    """What `tellme sources set` asks for; None / empty means "leave as it is"."""

    url: str | None = None
    interval: timedelta | None = None
    options: dict[str, str] = field(default_factory=dict)
    unset_options: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    unset_headers: list[str] = field(default_factory=list)
    silent_after: timedelta | Literal['learn'] | None = None  # 'learn': back to learning it from the poll log
    allow_internal: bool | None = None  # --allow-internal / --no-allow-internal (an administrator's choice)
    allow_file: bool | None = None  # --allow-file / --no-allow-file (an administrator's choice)

    def is_empty(self) -> bool:
        reach = (self.allow_internal, self.allow_file)
        return not (self.url or self.interval or self.options or self.unset_options or self.headers
                    or self.unset_headers or self.silent_after) and reach == (None, None)  # fmt: skip

    def described(self) -> dict[str, Any]:
        """What the audit log keeps of this change: names and settings, never a header's value."""
        said: dict[str, Any] = {}
        if self.url:
            said['url'] = shown(self.url)
        if self.interval:
            said['interval_seconds'] = int(self.interval.total_seconds())
        said.update({key: value for key, value in (
            ('options', sorted(self.options)), ('unset_options', sorted(self.unset_options)),
            ('headers', sorted(self.headers)), ('unset_headers', sorted(self.unset_headers)),
        ) if value})  # fmt: skip
        if self.silent_after:
            said['silent_after'] = self.silent_after if self.silent_after == 'learn' else str(self.silent_after)
        for key in ('allow_internal', 'allow_file'):
            if getattr(self, key) is not None:
                said[key] = getattr(self, key)
        return said


@dataclass
class Changed:
    source: Source
    refetch: bool  # the next poll (due now) reads the whole feed again
    warnings: list[str] = field(default_factory=list)


def _merge_options(current: dict[str, str], change: Change) -> dict[str, str]:
    both = sorted(set(change.options) & set(change.unset_options))
    if both:
        raise SourceConfigError(f'option {both[0]!r} is both set and unset: choose one')
    missing = sorted(set(change.unset_options) - set(current))
    if missing:
        known = ', '.join(sorted(current)) or 'none'
        raise SourceConfigError(f'there is no option {missing[0]!r} to unset (its options: {known})')
    merged = {key: value for key, value in current.items() if key not in change.unset_options}
    merged.update(change.options)
    return merged


def _merge_headers(
    stored: dict[str, Any], change: Change, *, source: str, secrets: Sequence[bytes]
) -> tuple[dict[str, Any], list[str]]:
    """The stored headers after the change: new ones sealed, old ones sealed again with the newest secret where
    they can be opened (plain text from before encryption, or an older secret)."""
    lower = {name.lower(): name for name in stored}
    gone = {name.lower() for name in change.unset_headers} | {name.lower() for name in change.headers}
    both = sorted({name.lower() for name in change.unset_headers} & {name.lower() for name in change.headers})
    if both:
        raise SourceConfigError(f'header {both[0]!r} is both set and unset: choose one')
    missing = sorted(name for name in change.unset_headers if name.lower() not in lower)
    if missing:
        known = ', '.join(sorted(stored)) or 'none'
        raise SourceConfigError(f'there is no header {missing[0]!r} to unset (its headers: {known})')
    merged: dict[str, Any] = {}
    warnings: list[str] = []
    for name, value in stored.items():
        if name.lower() in gone:
            continue
        if not secrets and not header_secrets.is_sealed(value):
            merged[name] = value
            warnings.append(f'the header {name} is stored unencrypted: set TELLME_SECRET_KEY to encrypt it')
            continue
        try:
            opened = header_secrets.open_headers({name: value}, source=source, secrets=secrets)
            merged[name] = (
                header_secrets.seal(opened.headers[name], source=source, header=name, secrets=secrets)
                if opened.stale else value
            )  # fmt: skip
        except header_secrets.HeaderSecretError as exc:
            merged[name] = value  # kept as it was: a poll will say the same until it is set again
            warnings.append(str(exc))
    merged.update(registry.seal_headers(change.headers, source=source, secrets=secrets))
    return merged, warnings


async def _locked(conn: asyncpg.Connection, name: str) -> asyncpg.Record:
    row = await conn.fetchrow(LOCK, name)
    if row is None:
        raise SourceConfigError(f'there is no source called {name!r}')
    if not await conn.fetchval(NOT_POLLING, LOCK_CLASS, row['id']):
        raise SourceConfigError(f'{name} is being polled right now: try again in a minute')
    return row


async def change_source(
    pool: asyncpg.Pool, name: str, change: Change, *, secrets: Sequence[bytes] = (), actor: audit.Actor = audit.SYSTEM
) -> Changed:
    """Apply `change` to the source called `name`, with an audit log entry by `actor`; SourceConfigError (and
    nothing written) if it cannot be."""
    if change.is_empty():
        raise SourceConfigError('nothing to change: give --url, --every, --option, --unset-option, --header, '
                                '--header-from-env, --unset-header, --silent-after, --[no-]allow-internal or '
                                '--[no-]allow-file')  # fmt: skip
    async with pool.acquire() as conn, conn.transaction():
        row = await _locked(conn, name)
        allow_internal = row['allow_internal'] if change.allow_internal is None else change.allow_internal
        allow_file = row['allow_file'] if change.allow_file is None else change.allow_file
        url = change.url or row['url']
        if change.url is not None:  # taking a permission away is always allowed: the next poll then says why it fails
            registry.check_url(url, egress.Reach(internal=allow_internal, files=allow_file))
        options = _merge_options(dict(row['options'] or {}), change)
        stored = dict(row['secret_headers'] or {})
        headers, warnings = _merge_headers(stored, change, source=name, secrets=secrets)
        seconds = registry.check_interval(change.interval) if change.interval else row['interval_seconds']
        silent = row['silent_after_seconds']
        if change.silent_after == 'learn':
            silent = None
        elif isinstance(change.silent_after, timedelta):
            silent = int(change.silent_after.total_seconds())
        reach_changed = (allow_internal, allow_file) != (row['allow_internal'], row['allow_file'])
        refetch = (
            url != row['url'] or options != dict(row['options'] or {}) or bool(change.headers or change.unset_headers)
            or reach_changed
        )  # fmt: skip
        updated = await conn.fetchrow(
            UPDATE, row['id'], url, seconds, options, headers, silent, refetch, allow_internal, allow_file
        )
        await audit.record(conn, actor, 'source.change', target_kind='source', target_id=name,
                           details=change.described())  # fmt: skip
    return Changed(Source.from_row(updated), refetch, warnings)


async def reset_cursor(pool: asyncpg.Pool, name: str, to: str | None) -> tuple[Source, str | None]:
    """Set the source's cursor to `to` (None: forget it, so the adapter looks back its usual distance), forget
    the validators and make it due now; the source and its previous cursor."""
    async with pool.acquire() as conn, conn.transaction():
        row = await _locked(conn, name)
        updated = await conn.fetchrow(RESET_CURSOR, row['id'], to)
    return Source.from_row(updated), row['cursor']
