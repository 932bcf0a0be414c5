"""One-time secrets we send people: sign-in links, and 6-digit codes to confirm texts or to sign in.

Only an HMAC-SHA256 of each secret (under the service's secret key) is stored. A link is 128 random bits and
works once; a code is 6 digits, tied to one contact point and purpose, and allows MAX_ATTEMPTS guesses before it
is spent. Issuing a new code replaces the old one. Any configured secret key verifies, so keys can rotate.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

import asyncpg

CODE_TTL = timedelta(minutes=15)
LINK_TTL = timedelta(minutes=30)
MAX_ATTEMPTS = 5

ISSUE = """
insert into one_time_secrets (purpose, form, secret_hash, contact_point_id, subscription_id, expires_at)
values ($1, $2, $3, $4, $5, now() + $6::interval)
"""
USE_LINK = """
update one_time_secrets set used_at = now()
where form = 'link' and purpose = $1 and secret_hash = any($2::bytea[]) and used_at is null and expires_at > now()
returning contact_point_id, subscription_id
"""
LATEST_CODE = """
select id, secret_hash, attempts, expires_at <= now() as expired, subscription_id
from one_time_secrets
where form = 'code' and purpose = $1 and contact_point_id = $2 and used_at is null
order by id desc limit 1
for update
"""


class CodeCheck(enum.Enum):
    OK = 'ok'
    WRONG = 'wrong'  # try again
    EXPIRED = 'expired'  # ask for a new code
    SPENT = 'spent'  # too many attempts, or no code was sent: ask for a new code


@dataclass(frozen=True)
class Redeemed:
    contact_point_id: int
    subscription_id: int | None


def _mac(secret: bytes, *parts: object) -> bytes:
    return hmac.new(secret, ':'.join(str(part) for part in parts).encode(), hashlib.sha256).digest()


async def issue_link(
    conn: asyncpg.Connection,
    secret: bytes,
    *,
    purpose: str,
    contact_point_id: int,
    subscription_id: int | None = None,
    ttl: timedelta = LINK_TTL,
) -> str:
    token = secrets.token_urlsafe(16)  # 128 bits
    await conn.execute(
        ISSUE, purpose, 'link', _mac(secret, 'link', purpose, token), contact_point_id, subscription_id, ttl
    )
    return token


async def use_link(conn: asyncpg.Connection, keys: list[bytes], *, purpose: str, token: str) -> Redeemed | None:
    """The contact point the link was sent to, spending the link; None if unknown, used or expired."""
    if not 16 <= len(token) <= 64:
        return None
    row = await conn.fetchrow(USE_LINK, purpose, [_mac(key, 'link', purpose, token) for key in keys])
    return Redeemed(row['contact_point_id'], row['subscription_id']) if row else None


async def issue_code(
    conn: asyncpg.Connection,
    secret: bytes,
    *,
    purpose: str,
    contact_point_id: int,
    subscription_id: int | None = None,
    ttl: timedelta = CODE_TTL,
) -> str:
    code = f'{secrets.randbelow(1_000_000):06d}'
    async with conn.transaction():
        await conn.execute(
            "update one_time_secrets set used_at = now() where form = 'code' and purpose = $1 "
            'and contact_point_id = $2 and used_at is null',
            purpose,
            contact_point_id,
        )
        await conn.execute(
            ISSUE, purpose, 'code', _mac(secret, 'code', purpose, contact_point_id, code), contact_point_id,
            subscription_id, ttl,
        )  # fmt: skip
    return code


async def check_code(
    conn: asyncpg.Connection, keys: list[bytes], *, purpose: str, contact_point_id: int, code: str
) -> tuple[CodeCheck, int | None]:
    """Check a code typed by the person: (result, the subscription it confirms). Spaces are ignored."""
    typed = ''.join(code.split())
    async with conn.transaction():
        row = await conn.fetchrow(LATEST_CODE, purpose, contact_point_id)
        if row is None or row['attempts'] >= MAX_ATTEMPTS:
            return CodeCheck.SPENT, None
        if row['expired']:
            return CodeCheck.EXPIRED, None
        matches = False
        for key in keys:
            matches |= hmac.compare_digest(row['secret_hash'], _mac(key, 'code', purpose, contact_point_id, typed))
        if matches:
            await conn.execute('update one_time_secrets set used_at = now() where id = $1', row['id'])
            return CodeCheck.OK, row['subscription_id']
        attempts = await conn.fetchval(
            'update one_time_secrets set attempts = attempts + 1 where id = $1 returning attempts', row['id']
        )
        return (CodeCheck.SPENT if attempts >= MAX_ATTEMPTS else CodeCheck.WRONG), None
