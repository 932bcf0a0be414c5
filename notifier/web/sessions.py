"""Server-side sessions for the resident pages: journey answers between pages, and who is signed in.

The `tellme_session` cookie holds 256 random bits; the database keeps only their SHA-256, so a leaked table opens
no session. Sessions are created lazily (only when a page stores something), slide on use, and are replaced by a
fresh id at sign-in (no fixation). Journeys last JOURNEY_TTL; a signed-in session expires SIGNED_IN_TTL after its
last use, and signing out, or deleting your data, ends it at once. A session that holds a proof without a sign-in (a
manage link opened: subscriptions/manage/link_scope.py) gets a fresh id too (`renew`) and is as short-lived as a
signed-in one.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiohttp import web

from notifier.app_keys import PG, SETTINGS

COOKIE = 'tellme_session'
SHORT_LIVED = 'short_lived'  # in `data`: this session holds a proof, so it lasts SIGNED_IN_TTL like a sign-in
JOURNEY_TTL = timedelta(hours=2)
SIGNED_IN_TTL = timedelta(minutes=60)

LOAD = """
update web_sessions set expires_at = now() + $2::interval
where id_hash = $1 and expires_at > now()
returning resident_id, data
"""
SAVE = """
insert into web_sessions (id_hash, resident_id, data, expires_at) values ($1, $2, $3, now() + $4::interval)
on conflict (id_hash) do update set resident_id = excluded.resident_id, data = excluded.data,
    expires_at = excluded.expires_at
"""


@dataclass
class Session:
    cookie: str | None = None  # the raw id; None until stored
    resident_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    new_cookie: bool = False
    dirty: bool = False

    @property
    def signed_in(self) -> bool:
        return self.resident_id is not None

    @property
    def short_lived(self) -> bool:
        return self.signed_in or bool(self.data.get(SHORT_LIVED))

    def journey(self, name: str) -> dict[str, Any]:
        """The answers given so far in one journey ('near', 'bins', …); change it and call `save`."""
        return self.data.setdefault('journeys', {}).setdefault(name, {})

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value
        self.dirty = True


_KEY = web.RequestKey('tellme_session', Session)
ENDED = web.RequestKey('tellme_session_ended', bool)


def signed_in(request: web.Request) -> bool:
    session = request.get(_KEY)
    return session is not None and session.signed_in


def _hash(cookie: str) -> bytes:
    return hashlib.sha256(cookie.encode()).digest()


def _ttl(session: Session) -> timedelta:
    return SIGNED_IN_TTL if session.short_lived else JOURNEY_TTL


async def get(request: web.Request) -> Session:
    """This request's session (an empty, unsaved one if the browser has none or it expired)."""
    if _KEY in request:
        return request[_KEY]
    session = Session()
    cookie = request.cookies.get(COOKIE, '')
    if 32 <= len(cookie) <= 64:
        row = await request.app[PG].fetchrow(LOAD, _hash(cookie), JOURNEY_TTL)
        if row is not None:
            session = Session(cookie=cookie, resident_id=row['resident_id'], data=row['data'] or {})
            if session.short_lived:  # the shorter lifetime of a session holding a sign-in or a link's proof
                await request.app[PG].execute(LOAD, _hash(cookie), SIGNED_IN_TTL)
    request[_KEY] = session
    return session


async def save(request: web.Request, session: Session) -> None:
    if session.cookie is None:
        session.cookie = secrets.token_urlsafe(32)
        session.new_cookie = True
    await request.app[PG].execute(SAVE, _hash(session.cookie), session.resident_id, session.data, _ttl(session))
    session.dirty = False


async def sign_in(request: web.Request, resident_id: int) -> Session:
    """A new session id for the signed-in person; the old one (and its journey answers) is dropped."""
    old = await get(request)
    if old.cookie is not None:
        await request.app[PG].execute('delete from web_sessions where id_hash = $1', _hash(old.cookie))
    session = Session(resident_id=resident_id, data={'language': old.data.get('language')} if old.data else {})
    request[_KEY] = session
    await save(request, session)
    return session


async def renew(request: web.Request) -> Session:
    """The same session under a new id, lasting no longer than a sign-in: a link just proved something, and whatever
    id this browser held before (one someone else may have planted) must not carry it."""
    old = await get(request)
    if old.cookie is not None:
        await request.app[PG].execute('delete from web_sessions where id_hash = $1', _hash(old.cookie))
    session = Session(resident_id=old.resident_id, data={**old.data, SHORT_LIVED: True})
    request[_KEY] = session
    await save(request, session)
    return session


async def end(request: web.Request) -> None:
    session = await get(request)
    if session.cookie is not None:
        await request.app[PG].execute('delete from web_sessions where id_hash = $1', _hash(session.cookie))
    request[_KEY] = Session()
    request[ENDED] = True


async def end_all_for(conn: Any, resident_id: int) -> None:
    await conn.execute('delete from web_sessions where resident_id = $1', resident_id)


def set_cookie(request: web.Request, response: web.StreamResponse) -> None:
    """Called by the page middleware on the way out: send a new id, or clear an ended one."""
    session: Session | None = request.get(_KEY)
    settings = request.app[SETTINGS]
    if session is not None and session.new_cookie and session.cookie:
        response.set_cookie(
            COOKIE, session.cookie, httponly=True, samesite='Lax', secure=settings.secure_cookies, path='/'
        )
    elif request.get(ENDED):
        response.del_cookie(COOKIE, path='/')
