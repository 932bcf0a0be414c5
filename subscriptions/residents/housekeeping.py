"""Forgetting what we no longer need: unconfirmed sign-ups after 7 days, expired sessions and one-time secrets.

An unconfirmed sign-up is someone who asked but never clicked the link or typed the code — maybe not them at all.
After UNCONFIRMED_DAYS the pending subscription goes, and so does the resident if nothing else of theirs is left
(no other subscription, no verified address): the start page promises exactly this.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

UNCONFIRMED_DAYS = 7

FORGET_PENDING = """
delete from subscriptions
where status = 'pending' and created_at < now() - make_interval(days => $1)
returning resident_id
"""
# residents left with nothing: no subscriptions at all and no address they ever proved was theirs
FORGET_RESIDENTS = """
delete from residents r
where r.id = any($1::bigint[])
  and not exists (select 1 from subscriptions s where s.resident_id = r.id)
  and not exists (select 1 from contact_points c where c.resident_id = r.id and c.verified_at is not null)
"""


@dataclass(frozen=True)
class Forgotten:
    subscriptions: int
    residents: int
    sessions: int
    secrets: int


def _count(status: str) -> int:
    return int(status.split()[-1])


async def forget(conn: asyncpg.Connection, *, days: int = UNCONFIRMED_DAYS) -> Forgotten:
    async with conn.transaction():
        rows = await conn.fetch(FORGET_PENDING, days)
        residents = await conn.execute(FORGET_RESIDENTS, sorted({row['resident_id'] for row in rows}))
        sessions = await conn.execute('delete from web_sessions where expires_at < now()')
        secrets = await conn.execute("delete from one_time_secrets where expires_at < now() - interval '1 day'")
    return Forgotten(len(rows), _count(residents), _count(sessions), _count(secrets))
