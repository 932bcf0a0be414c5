"""Staff sign-in sessions and the guard on every staff page.

The `tellme_staff` cookie holds 256 random bits (HttpOnly, SameSite=Strict, Secure over HTTPS); the database keeps
their SHA-256. A session lasts IDLE after its last use and never longer than ABSOLUTE. `staff_page(*roles)` wraps
a handler: no session → redirect to sign-in (then back); a role that may not → the 403 page. `admin` may do all.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from urllib.parse import quote

from aiohttp import web

from notifier.app_keys import PG, SETTINGS
from notifier.audit import Actor
from notifier.staff.accounts import Staff, staff_from

COOKIE = 'tellme_staff'
IDLE = timedelta(minutes=60)
ABSOLUTE = timedelta(hours=10)
STAFF = web.RequestKey('staff', Staff)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

FIND = """
with touched as (
    update staff_sessions set expires_at = least(now() + $2::interval, created_at + $3::interval)
    where id_hash = $1 and expires_at > now()
    returning staff_id
)
select s.* from staff s join touched t on t.staff_id = s.id where s.disabled_at is null
"""


def _hash(cookie: str) -> bytes:
    return hashlib.sha256(cookie.encode()).digest()


def actor(staff: Staff) -> Actor:
    return Actor('staff', staff.id, staff.email)


async def current(request: web.Request) -> Staff | None:
    if STAFF in request:
        return request[STAFF]
    cookie = request.cookies.get(COOKIE, '')
    if not 32 <= len(cookie) <= 64:
        return None
    row = await request.app[PG].fetchrow(FIND, _hash(cookie), IDLE, ABSOLUTE)
    if row is None:
        return None
    request[STAFF] = staff_from(row)
    return request[STAFF]


async def start(request: web.Request, response: web.StreamResponse, staff: Staff) -> None:
    """A new session for `staff` (any session id the browser had is not reused)."""
    cookie = secrets.token_urlsafe(32)
    await request.app[PG].execute(
        'insert into staff_sessions (id_hash, staff_id, expires_at) values ($1, $2, now() + $3::interval)',
        _hash(cookie),
        staff.id,
        IDLE,
    )
    response.set_cookie(
        COOKIE, cookie, httponly=True, samesite='Strict', secure=request.app[SETTINGS].secure_cookies, path='/'
    )


async def end(request: web.Request, response: web.StreamResponse) -> None:
    cookie = request.cookies.get(COOKIE, '')
    if cookie:
        await request.app[PG].execute('delete from staff_sessions where id_hash = $1', _hash(cookie))
    response.del_cookie(COOKIE, path='/')


def staff_page(*roles: str) -> Callable[[Handler], Handler]:
    """Only signed-in staff with one of `roles` (any signed-in staff if none are given)."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            staff = await current(request)
            if staff is None:
                raise web.HTTPSeeOther(f'/staff/sign-in?next={quote(request.path_qs, safe="")}')
            if roles and not staff.has(*roles):
                raise web.HTTPForbidden()
            return await handler(request)

        guarded.staff_roles = roles  # type: ignore[attr-defined]  # read by the role-matrix test
        return guarded

    return decorate
