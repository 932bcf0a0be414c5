"""Staff accounts: who they are, their roles, their passwords (argon2id) and the lock after repeated failures.

An account is made by `tellme staff add EMAIL --role ROLE`, which prints a one-time "set your password" link
(128 random bits, 24 hours); nobody ever types a password on a command line. Sign-in checks the password with
argon2id and takes the same time whether or not the email is known (a dummy hash is verified for unknown ones), so
the form cannot be used to learn who works here. After LOCK_AFTER failures in a row the account is locked for
LOCK_FOR; a success resets the count.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

STAFF_ROLES = ('case_officer', 'comms', 'approver', 'admin')
LOCK_AFTER = 5
LOCK_FOR = timedelta(minutes=15)
PASSWORD_LINK_TTL = timedelta(hours=24)
MIN_PASSWORD = 12

_hasher = PasswordHasher()  # argon2id, the library's current recommended parameters
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class StaffError(ValueError):
    """A request about staff accounts that cannot be done (the message says why)."""


class SignIn(enum.Enum):
    OK = 'ok'
    WRONG = 'wrong'  # unknown email or wrong password: the same answer for both
    LOCKED = 'locked'


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


async def add_staff(conn: asyncpg.Connection, email: str, roles: list[str], name: str = '') -> int:
    try:
        return await conn.fetchval(
            'insert into staff (email, roles, name) values ($1, $2, $3) returning id',
            checked_email(email),
            checked_roles(roles),
            name.strip(),
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


async def set_password(conn: asyncpg.Connection, token: str, password: str) -> Staff:
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
            update staff set password_hash = $2, failed_attempts = 0, locked_until = null
            where id = $1 and disabled_at is null returning *
            """,
            row['staff_id'],
            _hasher.hash(password),
        )
        if staff is None:
            raise StaffError('This account has been disabled.')
        await conn.execute('delete from staff_sessions where staff_id = $1', row['staff_id'])
    return staff_from(staff)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def authenticate(conn: asyncpg.Connection, email: str, password: str) -> tuple[SignIn, Staff | None]:
    async with conn.transaction():
        row = await conn.fetchrow(
            'select *, locked_until > now() as locked from staff where email = $1 and disabled_at is null for update',
            email.strip().lower(),
        )
        matches = _verify(row['password_hash'] if row else None, password[:256])
        if row is None:
            return SignIn.WRONG, None
        if row['locked']:
            return SignIn.LOCKED, None
        if not matches:
            failures = row['failed_attempts'] + 1
            locks = failures >= LOCK_AFTER
            await conn.execute(
                'update staff set failed_attempts = $2, locked_until = now() + $3::interval where id = $1'
                if locks
                else 'update staff set failed_attempts = $2 where id = $1',
                row['id'],
                *((0, LOCK_FOR) if locks else (failures,)),
            )
            return (SignIn.LOCKED if failures >= LOCK_AFTER else SignIn.WRONG), None
        await conn.execute(
            'update staff set failed_attempts = 0, locked_until = null, last_sign_in_at = now() where id = $1',
            row['id'],
        )
        if _hasher.check_needs_rehash(row['password_hash']):
            await conn.execute('update staff set password_hash = $2 where id = $1', row['id'], _hasher.hash(password))
    return SignIn.OK, staff_from(row)
