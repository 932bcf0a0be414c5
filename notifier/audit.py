"""The audit log: who did what, when, to whom — every staff action and every change an API token makes.

Write it in the same transaction as the action (`record(conn, …)`), so there is never an action without its entry
or an entry for something that did not happen. Entries are never updated or deleted by the service. `details` holds
what an administrator needs to understand the action (the stage chosen, the audience size); contact details are
masked before they get here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg


@dataclass(frozen=True)
class Actor:
    kind: str  # staff | token | system
    id: int | None
    name: str


SYSTEM = Actor('system', None, 'system')

INSERT = """
insert into audit_log (actor_kind, actor_id, actor_name, action, target_kind, target_id, details)
values ($1, $2, $3, $4, $5, $6, $7)
returning id
"""


@dataclass(frozen=True)
class Entry:
    id: int
    at: datetime
    actor_kind: str
    actor_name: str
    action: str
    target_kind: str | None
    target_id: str | None
    details: dict[str, Any]


async def record(
    conn: asyncpg.Connection | asyncpg.Pool,
    actor: Actor,
    action: str,
    *,
    target_kind: str | None = None,
    target_id: str | int | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    return await conn.fetchval(
        INSERT,
        actor.kind,
        actor.id,
        actor.name,
        action,
        target_kind,
        None if target_id is None else str(target_id),
        details or {},
    )


async def entries(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    limit: int = 100,
    before: int | None = None,
    action: str | None = None,
    target_kind: str | None = None,
    target_id: str | None = None,
) -> list[Entry]:
    rows = await conn.fetch(
        """
        select id, at, actor_kind, actor_name, action, target_kind, target_id, details from audit_log
        where ($2::bigint is null or id < $2) and ($3::text is null or action = $3)
          and ($4::text is null or target_kind = $4) and ($5::text is null or target_id = $5)
        order by id desc limit $1
        """,
        limit,
        before,
        action,
        target_kind,
        target_id,
    )
    return [Entry(**dict(row)) for row in rows]
