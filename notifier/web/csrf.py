"""Cross-site request forgery protection for every form: a signed double-submit token.

Each browser gets a random 128-bit `tellme_csrf` cookie (HttpOnly, SameSite=Lax, Secure over HTTPS); every form
carries `csrf_token` = HMAC-SHA256(secret key, cookie). A POST is accepted only if the field matches the cookie,
compared in constant time, so another site can neither read nor forge it. Nothing is stored on the server.

Exempt: the JSON API and Notify's callbacks (bearer tokens, not cookies), and handlers marked `@csrf_exempt`
because the URL itself is the secret (one-click unsubscribe, which mail clients POST without any cookie).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web

from notifier.app_keys import SETTINGS

COOKIE = 'tellme_csrf'
FIELD = 'csrf_token'
UNSAFE = frozenset({'POST', 'PUT', 'PATCH', 'DELETE'})
EXEMPT_PREFIXES = ('/api/', '/notify/')
_NEW = web.RequestKey('csrf_new_cookie', str)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
F = TypeVar('F', bound=Callable[..., Any])


def csrf_exempt(handler: F) -> F:
    handler.csrf_exempt = True  # type: ignore[attr-defined]
    return handler


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode()


def _sign(secret: bytes, cookie: str) -> str:
    return _b64(hmac.new(secret, f'csrf:{cookie}'.encode(), hashlib.sha256).digest())


def _cookie(request: web.Request) -> str:
    value = request.cookies.get(COOKIE, '')
    if 16 <= len(value) <= 64:
        return value
    if _NEW not in request:
        request[_NEW] = _b64(secrets.token_bytes(16))
    return request[_NEW]


def token(request: web.Request) -> str:
    """The value for the form's hidden `csrf_token` field (sets the cookie on the way out if it is new)."""
    return _sign(request.app[SETTINGS].link_secrets[0], _cookie(request))


def valid(request: web.Request, given: str) -> bool:
    cookie = request.cookies.get(COOKIE, '')
    if not cookie or not given:
        return False
    ok = False
    for secret in request.app[SETTINGS].link_secrets:
        ok |= hmac.compare_digest(given.encode(), _sign(secret, cookie).encode())
    return ok


def _exempt(request: web.Request, handler: Handler) -> bool:
    if request.path.startswith(EXEMPT_PREFIXES):
        return True
    return bool(getattr(handler, 'csrf_exempt', False))


class CsrfRefused(web.HTTPForbidden):
    """A form without a valid token: the page layer renders it as a page that says what to do."""


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method in UNSAFE and not _exempt(request, handler):
        form = await request.post() if request.content_type in FORM_TYPES else {}
        if not valid(request, str(form.get(FIELD, ''))):
            raise CsrfRefused()
    response = await handler(request)
    if _NEW in request and not response.prepared:
        settings = request.app[SETTINGS]
        response.set_cookie(
            COOKIE, request[_NEW], httponly=True, samesite='Lax', secure=settings.secure_cookies, path='/'
        )
    return response


FORM_TYPES = frozenset({'application/x-www-form-urlencoded', 'multipart/form-data'})
