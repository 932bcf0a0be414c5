"""The JSON API's edge: bearer tokens for staff and systems, and request bodies checked with pydantic.

A token is `tellme_` + 256 random bits (URL-safe base64), shown once when made. Only its SHA-256 is stored,
and a presented token is found by that hash with one indexed query, so nothing compares a secret byte by byte
and a copy of the database gives nobody a working token. No token, an unknown, expired or revoked one → 401
(saying which); a good token whose role may not do this → 403. `admin` may do everything.

A token may be bound to sources: then every request it makes that changes something must be a JSON object whose
`source` is one of them (a case update or an event for that source), else 403. Tokens made without sources may
push for any source, as before. `may_verify` (system tokens bound to sources only) lets a case system say it has
verified a reporter's addresses itself; see sources/cases/api.py.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ValidationError

from notifier import audit
from notifier.app_keys import PG

logger = logging.getLogger('notifier.api.auth')

ROLES = ('case_officer', 'comms', 'approver', 'admin', 'system')
TOKEN_PREFIX = 'tellme_'
TOKEN_BYTES = 32
SOURCE_NAME = re.compile(r'[a-z0-9][a-z0-9_.-]{0,99}')  # as sources.name and events.source
MAX_SOURCES = 50
SAFE_METHODS = frozenset({'GET', 'HEAD', 'OPTIONS'})

ERRORS: dict[int, type[web.HTTPException]] = {
    error.status_code: error
    for error in (
        web.HTTPBadRequest,
        web.HTTPUnauthorized,
        web.HTTPForbidden,
        web.HTTPNotFound,
        web.HTTPConflict,
        web.HTTPUnprocessableEntity,
        web.HTTPServiceUnavailable,
    )
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Model = TypeVar('Model', bound=BaseModel)


@dataclass(frozen=True)
class Caller:
    token_id: int
    name: str
    role: str
    sources: frozenset[str] = frozenset()  # empty: any source
    may_verify: bool = False

    def may_push_for(self, source: str) -> bool:
        return not self.sources or source in self.sources

    @property
    def actor(self) -> audit.Actor:
        """Who the audit log says did it."""
        return audit.Actor('token', self.token_id, self.name)


CALLER = web.RequestKey('caller', Caller)  # the authenticated caller, on requests that passed `requires`


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- SQL (the caller owns any transaction) -------------------------------------------------------------------

FIND_TOKEN = """
with found as (
    select id, name, role, sources, may_verify, expires_at, revoked_at, last_used_at,
           revoked_at is null and (expires_at is null or expires_at > now()) as live
    from api_tokens where token_hash = $1
), touched as (
    update api_tokens set last_used_at = now()
    where id in (
        select id from found where live and (last_used_at is null or last_used_at < now() - interval '1 minute')
    )
)
select id, name, role, sources, may_verify, expires_at, revoked_at, live from found
"""


def checked_sources(sources: Iterable[str]) -> list[str]:
    """Source names for a token, de-duplicated in order; ValueError naming a bad one."""
    names: list[str] = []
    for source in sources:
        name = source.strip()
        if not SOURCE_NAME.fullmatch(name):
            raise ValueError(
                f'{source!r} is not a source name (lower-case letters, digits, and . _ - after the first character)'
            )
        if name not in names:
            names.append(name)
    if len(names) > MAX_SOURCES:
        raise ValueError(f'a token may be bound to at most {MAX_SOURCES} sources')
    return names


async def create_token(
    conn: asyncpg.Connection,
    *,
    name: str,
    role: str,
    days: int | None = None,
    sources: Iterable[str] = (),
    may_verify: bool = False,
) -> tuple[int, str]:
    """Store a new token's hash; returns (id, token). The token is not kept anywhere: show it once.

    ValueError for a role, source or combination that is not allowed."""
    if role not in ROLES:
        raise ValueError(f'role must be one of {", ".join(ROLES)}')
    bound = checked_sources(sources)
    if bound and role == 'admin':
        raise ValueError('an admin token may do everything, so it cannot be bound to sources: use --role system')
    if may_verify and role != 'system':
        raise ValueError("only a system token (a case system) may vouch for reporters' addresses")
    if may_verify and not bound:
        raise ValueError("a token that may vouch for reporters' addresses must be bound to the case system's sources")
    token = new_token()
    token_id = await conn.fetchval(
        """
        insert into api_tokens (name, role, token_hash, expires_at, sources, may_verify)
        values ($1, $2, $3, case when $4::int is null then null else now() + make_interval(days => $4::int) end,
                $5, $6)
        returning id
        """,
        name,
        role,
        hash_token(token),
        days,
        bound,
        may_verify,
    )
    return token_id, token


async def list_tokens(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        select id, name, role, sources, may_verify, created_at, expires_at, revoked_at, last_used_at,
               expires_at is not null and expires_at <= now() as expired
        from api_tokens order by id
        """
    )


async def revoke_token(conn: asyncpg.Connection, token_id: int) -> bool:
    """True if it was live and is now revoked; False if unknown or already revoked."""
    status = await conn.execute(
        'update api_tokens set revoked_at = now() where id = $1 and revoked_at is null', token_id
    )
    return status.endswith(' 1')


async def find_token(db: asyncpg.Pool | asyncpg.Connection, token: str) -> asyncpg.Record | None:
    """The token's row (live or not), marking a live one used."""
    return await db.fetchrow(FIND_TOKEN, hash_token(token))


def caller_of(row: asyncpg.Record) -> Caller:
    return Caller(row['id'], row['name'], row['role'], frozenset(row['sources']), row['may_verify'])


async def find_caller(db: asyncpg.Pool | asyncpg.Connection, token: str) -> Caller | None:
    """The caller a live token speaks for, or None."""
    row = await find_token(db, token)
    return caller_of(row) if row is not None and row['live'] else None


# --- answers -------------------------------------------------------------------------------------------------


def json_error(status: int, message: str, errors: dict[str, str] | None = None, **headers: str) -> web.HTTPException:
    """An HTTP error with a JSON body: {"message": ..., "errors": {field: message}}."""
    body: dict[str, Any] = {'message': message}
    if errors:
        body['errors'] = errors
    exc_class = ERRORS[status]
    return exc_class(text=json.dumps(body), content_type='application/json', headers=headers or None)


def requires(*roles: str) -> Callable[[Handler], Handler]:
    """Decorate a handler: it runs only for a live token whose role is one of `roles` (or admin)."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f'unknown roles: {", ".join(sorted(unknown))}')

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def checked(request: web.Request) -> web.StreamResponse:
            caller = await authenticate(request)
            if caller.role != 'admin' and caller.role not in roles:
                logger.info(
                    'token %d (%s) refused on %s %s', caller.token_id, caller.role, request.method, request.path
                )
                raise json_error(403, f'a {caller.role} token cannot do this (needs {" or ".join(roles)})')
            if caller.sources and request.method not in SAFE_METHODS:
                await _check_bound_body(request, caller)
            request[CALLER] = caller
            return await handler(request)

        checked.api_roles = roles  # type: ignore[attr-defined]  # read by the OpenAPI document and its tests
        return checked

    return decorate


async def authenticate(request: web.Request) -> Caller:
    scheme, _, token = request.headers.get('Authorization', '').partition(' ')
    token = token.strip()
    if scheme.lower() != 'bearer' or not token:
        raise json_error(
            401, 'send an API token: Authorization: Bearer <token>', **{'WWW-Authenticate': 'Bearer realm="tellme"'}
        )
    row = await find_token(request.app[PG], token) if len(token) <= 200 else None
    if row is None or not row['live']:
        raise json_error(
            401, _why_not_valid(row), **{'WWW-Authenticate': 'Bearer realm="tellme", error="invalid_token"'}
        )
    return caller_of(row)


def _why_not_valid(row: asyncpg.Record | None) -> str:
    if row is None:
        return 'that API token is not valid (unknown, expired or revoked)'
    if row['revoked_at'] is not None:
        logger.info('revoked token %d was used', row['id'])
        return f'that API token is not valid: it was revoked on {row["revoked_at"]:%Y-%m-%d %H:%M} UTC'
    logger.info('expired token %d was used', row['id'])
    return (
        f'that API token is not valid: it expired on {row["expires_at"]:%Y-%m-%d %H:%M} UTC; '
        'ask for a new one (tellme staff create-token)'
    )


def check_source(caller: Caller, source: object) -> None:
    """403 unless the caller may push case updates and events for `source` (a bound token needs one of its own)."""
    if isinstance(source, str) and caller.may_push_for(source):
        return
    logger.info('token %d refused for a source it is not bound to', caller.token_id)
    bound = ', '.join(sorted(caller.sources))
    if not isinstance(source, str):
        message = f'this token is bound to the sources {bound}: it may only push case updates and events for them'
        raise json_error(403, message, {'source': f'name one of: {bound}'})
    message = f'this token may not push for the source {source[:100]!r}: it is bound to {bound}'
    raise json_error(403, message, {'source': 'not allowed for this token'})


async def _check_bound_body(request: web.Request, caller: Caller) -> None:
    """A token bound to sources changes nothing but case updates and events for them: the body must name one."""
    check_source(caller, (await read_json(request)).get('source'))


# --- bodies --------------------------------------------------------------------------------------------------


def field_errors(exc: ValidationError) -> dict[str, str]:
    """pydantic's errors as {field: message}, e.g. {'lat': 'Input should be less than or equal to 61'}."""
    errors: dict[str, str] = {}
    for error in exc.errors(include_url=False, include_input=False):
        field = '.'.join(str(part) for part in error['loc']) or 'body'
        message = error['msg'].removeprefix('Value error, ')
        errors.setdefault(field, message)
    return errors


async def read_json(request: web.Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.read() or b'null')
        storable = _storable(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise json_error(400, 'invalid request', {'body': 'the body is not valid JSON'}) from None
    if not isinstance(data, dict):
        raise json_error(400, 'invalid request', {'body': 'send a JSON object'})
    if not storable:
        raise json_error(400, 'invalid request', {'body': 'the text has \\u0000 or an unpaired surrogate in it'})
    return data


def _storable(value: Any) -> bool:
    """False when any text in the body could not be stored: PostgreSQL refuses NUL, and UTF-8 lone surrogates."""
    if isinstance(value, str):
        if '\x00' in value:
            return False
        try:
            value.encode()
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_storable(key) and _storable(item) for key, item in value.items())
    if isinstance(value, list):
        return all(_storable(item) for item in value)
    return True


async def read_body(request: web.Request, model: type[Model]) -> Model:
    """The request body as `model`, or a 400 naming each field that is wrong."""
    data = await read_json(request)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise json_error(400, 'invalid request', field_errors(exc)) from None


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
