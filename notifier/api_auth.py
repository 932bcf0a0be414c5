"""The JSON API's edge: bearer tokens for staff and systems, and request bodies checked with pydantic.

A token is `tellme_` + 256 random bits (URL-safe base64), shown once when made. Only its SHA-256 is stored,
and a presented token is found by that hash with one indexed query, so nothing compares a secret byte by byte
and a copy of the database gives nobody a working token. No token, an unknown, expired or revoked one → 401;
a good token whose role may not do this → 403. `admin` may do everything.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ValidationError

from notifier.app_keys import PG

logger = logging.getLogger('notifier.api_auth')

ROLES = ('case_officer', 'comms', 'approver', 'admin', 'system')
TOKEN_PREFIX = 'tellme_'
TOKEN_BYTES = 32

ERRORS: dict[int, type[web.HTTPException]] = {
    error.status_code: error
    for error in (
        web.HTTPBadRequest,
        web.HTTPUnauthorized,
        web.HTTPForbidden,
        web.HTTPNotFound,
        web.HTTPConflict,
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


CALLER = web.RequestKey('caller', Caller)  # the authenticated caller, on requests that passed `requires`


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- SQL (the caller owns any transaction) -------------------------------------------------------------------

FIND_TOKEN = """
with found as (
    select id, name, role, last_used_at from api_tokens
    where token_hash = $1 and revoked_at is null and (expires_at is null or expires_at > now())
), touched as (
    update api_tokens set last_used_at = now()
    where id in (select id from found where last_used_at is null or last_used_at < now() - interval '1 minute')
)
select id, name, role from found
"""


async def create_token(conn: asyncpg.Connection, *, name: str, role: str, days: int | None) -> tuple[int, str]:
    """Store a new token's hash; returns (id, token). The token is not kept anywhere: show it once."""
    if role not in ROLES:
        raise ValueError(f'role must be one of {", ".join(ROLES)}')
    token = new_token()
    token_id = await conn.fetchval(
        """
        insert into api_tokens (name, role, token_hash, expires_at)
        values ($1, $2, $3, case when $4::int is null then null else now() + make_interval(days => $4::int) end)
        returning id
        """,
        name,
        role,
        hash_token(token),
        days,
    )
    return token_id, token


async def list_tokens(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        'select id, name, role, created_at, expires_at, revoked_at, last_used_at from api_tokens order by id'
    )


async def revoke_token(conn: asyncpg.Connection, token_id: int) -> bool:
    """True if it was live and is now revoked; False if unknown or already revoked."""
    status = await conn.execute(
        'update api_tokens set revoked_at = now() where id = $1 and revoked_at is null', token_id
    )
    return status.endswith(' 1')


async def find_caller(db: asyncpg.Pool | asyncpg.Connection, token: str) -> Caller | None:
    row = await db.fetchrow(FIND_TOKEN, hash_token(token))
    return Caller(row['id'], row['name'], row['role']) if row else None


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
            request[CALLER] = caller
            return await handler(request)

        return checked

    return decorate


async def authenticate(request: web.Request) -> Caller:
    scheme, _, token = request.headers.get('Authorization', '').partition(' ')
    token = token.strip()
    if scheme.lower() != 'bearer' or not token:
        raise json_error(
            401, 'send an API token: Authorization: Bearer <token>', **{'WWW-Authenticate': 'Bearer realm="tellme"'}
        )
    caller = await find_caller(request.app[PG], token) if len(token) <= 200 else None
    if caller is None:
        raise json_error(
            401,
            'that API token is not valid (unknown, expired or revoked)',
            **{'WWW-Authenticate': 'Bearer realm="tellme", error="invalid_token"'},
        )
    return caller


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
    except (ValueError, UnicodeDecodeError):
        raise json_error(400, 'invalid request', {'body': 'the body is not valid JSON'}) from None
    if not isinstance(data, dict):
        raise json_error(400, 'invalid request', {'body': 'send a JSON object'})
    return data


async def read_body(request: web.Request, model: type[Model]) -> Model:
    """The request body as `model`, or a 400 naming each field that is wrong."""
    data = await read_json(request)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise json_error(400, 'invalid request', field_errors(exc)) from None


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
