"""Staff, as the tests sign them in (this module holds no tests): through the real sign-in form, with a password
set either straight into the database (`sign_in_as`) or, as a new member of staff does, from the one-time link
that `tellme staff add` prints (`add_with_password`). Chromium's staff are in tests/browser/support/staff_support.py."""

from __future__ import annotations

import asyncio
import contextlib
from io import StringIO
from typing import Any

import asyncpg
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher

from notifier.settings import Settings
from notifier.staff import cli as staff_cli
from notifier.staff.accounts import add_staff
from tests.support.pages import post_form

PASSWORD = 'correct horse battery staple'
_HASH = PasswordHasher().hash(PASSWORD)


async def sign_in(
    client: TestClient, email: str, password: str = PASSWORD, next_path: str = '', **options: Any
) -> ClientResponse:
    """Fill in the staff sign-in form; the answer, not followed (`options` go with both requests: headers, say)."""
    return await post_form(
        client, '/staff/sign-in', {'email': email, 'password': password, 'next': next_path}, **options
    )


async def add_member(conn: asyncpg.Connection, email: str, *roles: str) -> int:
    """A staff account with these roles whose password is PASSWORD (signed in to later, or never)."""
    staff_id = await add_staff(conn, email, list(roles))
    await conn.execute('update staff set password_hash = $2 where id = $1', staff_id, _HASH)
    return staff_id


async def sign_in_as(client: TestClient, pg: asyncpg.Pool, email: str, *roles: str) -> None:
    """Sign in afresh as this member of staff (made with these roles and PASSWORD unless they exist)."""
    async with pg.acquire() as conn:
        if await conn.fetchval('select id from staff where email = $1', email) is None:
            await add_member(conn, email, *roles)
    client.session.cookie_jar.clear()
    signed_in = await sign_in(client, email, next_path='/staff')
    assert signed_in.status == 303, await signed_in.text()


async def run_cli(settings: Settings, *args: str) -> tuple[int, str, str]:
    """The real `tellme staff` entry point (in a thread: it runs its own event loop): exit code, output, errors."""
    out, err = StringIO(), StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = await asyncio.to_thread(staff_cli.main, list(args), settings)
    return code, out.getvalue(), err.getvalue()


async def add_with_password(client: TestClient, settings: Settings, email: str, *roles: str) -> None:
    """`tellme staff add`, then PASSWORD set from the link it prints, as a new member of staff does."""
    role_args = [arg for role in roles for arg in ('--role', role)]
    code, out, _ = await run_cli(settings, 'add', email, *role_args)
    assert code == 0
    path = out.strip().removeprefix(settings.public_url)
    done = await post_form(client, path, {'password': PASSWORD, 'confirm': PASSWORD})
    assert done.status == 303
