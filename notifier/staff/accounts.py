"""Staff accounts: who they are, their roles, their passwords (argon2id) and what wrong guesses cost.

An account is made by `tellme staff add EMAIL --role ROLE`, which prints a one-time "set your password" link
(128 random bits, 24 hours); nobody ever types a password on a command line. Sign-in checks the password with
argon2id and takes the same time whether or not the email is known (a dummy hash is verified for unknown ones), so
the form cannot be used to learn who works here.

Wrong guesses (docs/decisions.md, following the NCSC's advice to throttle rather than lock): they are counted per
(email typed, client address), for any email, known or not. After LOCK_AFTER in a row from one address, that
address may not try that email for LOCK_FOR, even with the right password; every other address still may, so a
stranger cannot lock an officer out. Across all addresses, more than SLOW_AFTER failures for one email in
SLOW_WINDOW slow every further attempt at it down (a growing wait before the answer, at most MAX_SLOW) instead of
locking it. A locked pair, a wrong password and an unknown email all get the same answer.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from notifier import audit
from notifier.audit import Actor
from templates.personalisation import mask_address

STAFF_ROLES = ('case_officer', 'comms', 'approver', 'admin')
LOCK_AFTER = 5  # in a row, from one client address, for one email
LOCK_FOR = timedelta(minutes=15)
SLOW_AFTER = 10  # for one email from all addresses in SLOW_WINDOW
SLOW_WINDOW = timedelta(hours=1)
MAX_SLOW = 10.0  # seconds
FORGET_AFTER = timedelta(days=1)
PASSWORD_LINK_TTL = timedelta(hours=24)
MIN_PASSWORD = 12

_hasher = PasswordHasher()  # argon2id, the library's current recommended parameters
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
# argon2 costs tens of milliseconds of CPU and 64 MiB by design: it runs on these threads (cffi lets go of the GIL),
# never on the event loop, so a burst of sign-ins queues here while every page is still served; few threads, so
# the burst cannot take all the memory either
_ARGON2 = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix='argon2')


class StaffError(ValueError):
    """A request about staff accounts that cannot be done (the message says why)."""


class SignIn(enum.Enum):
    OK = 'ok'
    WRONG = 'wrong'  # wrong password
    UNKNOWN = 'unknown'  # no such (active) account
    LOCKED = 'locked'  # too many wrong guesses from this address: the password was not checked


@dataclass(frozen=True)
class Staff:
    id: int
    email: str
    name: str
    roles: tuple[str, ...]

    def has(self, *roles: str) -> bool:
        return 'admin' in self.roles or any(role in self.roles for role in roles)

    @property
    def label(self) -> str:
        return self.name or self.email


def staff_from(row: asyncpg.Record) -> Staff:
    return Staff(row['id'], row['email'], row['name'], tuple(row['roles']))


def checked_roles(roles: list[str]) -> list[str]:
    unknown = [role for role in roles if role not in STAFF_ROLES]
    if unknown or not roles:
        raise StaffError(f'roles must be some of {", ".join(STAFF_ROLES)} (got {", ".join(roles) or "none"})')
    return sorted(set(roles), key=STAFF_ROLES.index)


def checked_email(email: str) -> str:
    email = email.strip().lower()
    local, _, domain = email.partition('@')
    if not local or '.' not in domain or ' ' in email:
        raise StaffError(f'{email!r} is not an email address')
    return email


def password_problem(password: str, email: str) -> str | None:
    """Why a new password is not good enough, or None (NCSC: length over complexity rules)."""
    if len(password) < MIN_PASSWORD:
        return f'Your password must be at least {MIN_PASSWORD} characters long'
    if len(password) > 256:
        return 'Your password must be 256 characters or fewer'
    if email.split('@')[0] in password.lower() or len(set(password)) < 5:
        return 'Choose a password that is harder to guess'
    return None


def _link_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def add_staff(
    conn: asyncpg.Connection, email: str, roles: list[str], name: str = '', *, allow_oidc: bool = False
) -> int:
    """A new account; `allow_oidc`: its first council sign-in with this email (verified) may bind it (oidc.py)."""
    try:
        return await conn.fetchval(
            'insert into staff (email, roles, name, oidc_link_allowed_at) '
            'values ($1, $2, $3, case when $4 then now() end) returning id',
            checked_email(email),
            checked_roles(roles),
            name.strip(),
            allow_oidc,
        )
    except asyncpg.UniqueViolationError:
        raise StaffError(f'{email} already has an account: use `tellme staff roles` to change it') from None


async def find_staff(conn: asyncpg.Connection, email: str) -> asyncpg.Record | None:
    return await conn.fetchrow('select * from staff where email = $1', email.strip().lower())


async def set_roles(conn: asyncpg.Connection, email: str, roles: list[str]) -> bool:
    status = await conn.execute(
        'update staff set roles = $2 where email = $1', email.strip().lower(), checked_roles(roles)
    )
    return status.endswith(' 1')


async def allow_oidc(conn: asyncpg.Connection, email: str) -> asyncpg.Record | None:
    """Let the next council sign-in whose verified email is this one bind the account, ending any binding it had
    (the person's council account was remade, say). The account as it was, or None if there is no active one."""
    return await conn.fetchrow(
        """
        update staff s set oidc_link_allowed_at = now(), oidc_issuer = null, oidc_subject = null
        from staff before where s.id = before.id and s.email = $1 and s.disabled_at is null
        returning before.*
        """,
        email.strip().lower(),
    )


async def disable(conn: asyncpg.Connection, email: str) -> bool:
    async with conn.transaction():
        staff_id = await conn.fetchval(
            'update staff set disabled_at = now() where email = $1 and disabled_at is null returning id',
            email.strip().lower(),
        )
        if staff_id is not None:
            await conn.execute('delete from staff_sessions where staff_id = $1', staff_id)
    return staff_id is not None


async def password_link(conn: asyncpg.Connection, staff_id: int) -> str:
    """A new one-time token to set the password (earlier unused links stop working)."""
    token = secrets.token_urlsafe(16)
    async with conn.transaction():
        await conn.execute('delete from staff_password_links where staff_id = $1', staff_id)
        await conn.execute(
            'insert into staff_password_links (token_hash, staff_id, expires_at) values ($1, $2, now() + $3::interval)',
            _link_hash(token),
            staff_id,
            PASSWORD_LINK_TTL,
        )
    return token


async def link_holder(conn: asyncpg.Connection, token: str) -> Staff | None:
    row = await conn.fetchrow(
        """
        select s.* from staff_password_links l join staff s on s.id = l.staff_id
        where l.token_hash = $1 and l.used_at is null and l.expires_at > now() and s.disabled_at is null
        """,
        _link_hash(token),
    )
    return staff_from(row) if row else None


async def link_state(conn: asyncpg.Connection, token: str) -> str:
    """Why a set-password link no longer works: 'used', 'expired' (or its account disabled), or 'unknown'."""
    row = await conn.fetchrow(
        """
        select l.used_at is not null as used, s.disabled_at is not null as disabled
        from staff_password_links l join staff s on s.id = l.staff_id where l.token_hash = $1
        """,
        _link_hash(token),
    )
    if row is None:
        return 'unknown'
    return 'used' if row['used'] and not row['disabled'] else 'expired'


LOCKED_OUT = """
select email_key, count(*)::int as addresses, max(last_failed_at) + $3::interval as until
from staff_sign_in_failures
where failures >= $1 and last_failed_at > now() - $3::interval and email_key = any($2::bytea[])
group by email_key
"""


async def locked_out(conn: asyncpg.Connection, secret: bytes, emails: list[str]) -> dict[str, tuple[int, datetime]]:
    """email → (how many client addresses are locked out of it now, until when), for `tellme staff list`."""
    keys = {email_key(secret, email): email for email in emails}
    rows = await conn.fetch(LOCKED_OUT, LOCK_AFTER, list(keys), LOCK_FOR)
    return {keys[bytes(row['email_key'])]: (row['addresses'], row['until']) for row in rows}


async def set_password(conn: asyncpg.Connection, token: str, password: str) -> Staff:
    new_hash = await _off_loop(_hasher.hash, password)
    async with conn.transaction():
        row = await conn.fetchrow(
            """
            update staff_password_links set used_at = now()
            where token_hash = $1 and used_at is null and expires_at > now()
            returning staff_id
            """,
            _link_hash(token),
        )
        if row is None:
            raise StaffError('This link has expired or has been used. Ask an administrator for a new one.')
        staff = await conn.fetchrow(
            """
            update staff set password_hash = $2
            where id = $1 and disabled_at is null returning *
            """,
            row['staff_id'],
            new_hash,
        )
        if staff is None:
            raise StaffError('This account has been disabled.')
        await conn.execute('delete from staff_sessions where staff_id = $1', row['staff_id'])
    return staff_from(staff)


T = TypeVar('T')


async def _off_loop(work: Callable[..., T], *args: object) -> T:
    return await asyncio.get_running_loop().run_in_executor(_ARGON2, work, *args)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def email_key(secret: bytes, email: str) -> bytes:
    """What the failure counts are kept under: an HMAC of the email typed, never the text itself."""
    return hmac.new(secret, f'staff-sign-in:{email.strip().lower()}'.encode(), hashlib.sha256).digest()


async def slow_down(seconds: float) -> None:
    await asyncio.sleep(seconds)


def slowdown_for(recent_failures: int) -> float:
    """Seconds to wait before answering, given the failures for this email in SLOW_WINDOW from every address."""
    return min(MAX_SLOW, float(recent_failures - SLOW_AFTER + 1)) if recent_failures >= SLOW_AFTER else 0.0


FAILURES = """
select coalesce(sum(failures) filter (where last_failed_at > now() - $3::interval), 0)::int as recent,
       coalesce(bool_or(client_ip = $2 and failures >= $4 and last_failed_at > now() - $5::interval), false) as locked
from staff_sign_in_failures where email_key = $1
"""
COUNT_FAILURE = """
with forgotten as (delete from staff_sign_in_failures where last_failed_at < now() - $4::interval)
insert into staff_sign_in_failures as f (email_key, client_ip, failures) values ($1, $2, 1)
on conflict (email_key, client_ip) do update
set failures = case when f.last_failed_at > now() - $3::interval then f.failures + 1 else 1 end,
    last_failed_at = now()
"""
FORGET_PAIR = 'delete from staff_sign_in_failures where email_key = $1 and client_ip = $2'


@dataclass(frozen=True)
class Attempt:
    outcome: SignIn
    staff: Staff | None = None  # only when the outcome is OK


SIGN_IN_FORM = Actor('system', None, 'staff sign-in form')
FAILURE_REASONS = {
    SignIn.WRONG: 'wrong password',
    SignIn.UNKNOWN: 'no such account',
    SignIn.LOCKED: 'too many wrong guesses from this address',
}


async def authenticate(pool: asyncpg.Pool, email: str, password: str, *, client_ip: str, secret: bytes) -> Attempt:
    """Check one sign-in; a failure is counted and written to the audit log (never the password) in one transaction.

    The password is always verified once (a dummy hash when there is no account, or when this address is locked out
    of this email), so every answer takes the same time; it is verified off the event loop holding no database
    connection or lock, and the account is then signed in only if its password and state are still the ones checked.
    """
    key, client_ip, email = email_key(secret, email), client_ip[:100], email.strip().lower()
    state = await pool.fetchrow(FAILURES, key, client_ip, SLOW_WINDOW, LOCK_AFTER, LOCK_FOR)
    wait = slowdown_for(state['recent'])
    if wait:
        await slow_down(wait)  # holding no connection and no lock
    row = await pool.fetchrow('select * from staff where email = $1 and disabled_at is null', email)
    stored = row['password_hash'] if row is not None and not state['locked'] else None
    matches = await _off_loop(_verify, stored, password[:256])
    async with pool.acquire() as conn, conn.transaction():
        signed_in = await conn.fetchrow(SIGNED_IN, row['id'], stored) if matches and row is not None else None
        if signed_in is not None:
            await conn.execute(FORGET_PAIR, key, client_ip)
            staff = staff_from(signed_in)
        else:
            outcome = SignIn.LOCKED if state['locked'] else SignIn.UNKNOWN if row is None else SignIn.WRONG
            await _failed(conn, outcome, key, client_ip, email, row)
            return Attempt(outcome)
    if _hasher.check_needs_rehash(stored):
        new_hash = await _off_loop(_hasher.hash, password)
        await pool.execute(REHASH, staff.id, new_hash, stored)
    return Attempt(SignIn.OK, staff)


SIGNED_IN = """
update staff set last_sign_in_at = now() where id = $1 and password_hash = $2 and disabled_at is null returning *
"""
REHASH = 'update staff set password_hash = $2 where id = $1 and password_hash = $3'


async def _failed(
    conn: asyncpg.Connection, outcome: SignIn, key: bytes, client_ip: str, email: str, row: asyncpg.Record | None
) -> None:
    if outcome is not SignIn.LOCKED:  # the lock runs out LOCK_FOR after the last counted failure
        await conn.execute(COUNT_FAILURE, key, client_ip, LOCK_FOR, FORGET_AFTER)
    details = {'reason': FAILURE_REASONS[outcome], 'ip': client_ip}
    if row is None:
        details['email'] = mask_address('email', email)[:100]
    await audit.record(
        conn, SIGN_IN_FORM, 'staff.sign_in_failed', target_kind='staff',
        target_id=row['id'] if row else None, details=details,
    )  # fmt: skip


async def forget_failures(conn: asyncpg.Connection, secret: bytes, email: str) -> None:
    """Let every address try this email again (`tellme staff reset-password`)."""
    await conn.execute('delete from staff_sign_in_failures where email_key = $1', email_key(secret, email))
