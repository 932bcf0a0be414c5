"""Registering the demo's feeds as `tellme sources add` does, with the demo as the administrator who chose.

Each demo source reads a file the demo writes into the data directory (`file://`), which a source may do only with
`--allow-file`: that permission is the demo's choice, so it is written to the audit log (/staff/audit) with the
reason, like every `sources add`. A source of that name that exists already is left as it is (an administrator
may have changed or paused it); nothing is registered twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import asyncpg

from notifier import audit
from sources.feeds import registry
from sources.feeds.fetch import shown

DEMO = audit.Actor('system', None, 'tellme dev (demo)')


@dataclass(frozen=True)
class DemoSource:
    name: str
    kind: str
    url: str
    interval: timedelta
    why: str  # why it may read a file, for the audit log
    options: dict[str, str] = field(default_factory=dict)
    silent_after: timedelta | None = None


async def register(conn: asyncpg.Connection, wanted: DemoSource) -> bool:
    """Add the source and its audit entry unless one of that name exists; True when added now."""
    if await registry.get_source(conn, wanted.name) is not None:
        return False
    async with conn.transaction():
        source = await registry.add_source(
            conn, name=wanted.name, kind=wanted.kind, url=wanted.url, interval=wanted.interval,
            options=wanted.options, silent_after=wanted.silent_after, allow_file=True,
        )  # fmt: skip
        details = {'kind': source.kind, 'url': shown(source.url), 'options': sorted(source.options),
                   'headers': [], 'allow_internal': False, 'allow_file': True,
                   'allow_file_why': wanted.why}  # fmt: skip
        await audit.record(conn, DEMO, 'source.add', target_kind='source', target_id=source.name, details=details)
    return True


async def never_polled(conn: asyncpg.Pool | asyncpg.Connection, names: list[str]) -> list[str]:
    """The ones among `names` that are active and were never polled."""
    rows = await conn.fetch(
        "select name from sources where name = any($1::text[]) and status = 'active' and last_polled_at is null "
        'order by name',
        names,
    )
    return [row['name'] for row in rows]
