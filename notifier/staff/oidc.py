"""Staff sign-in through the council's OpenID Connect provider (Microsoft Entra ID is typical): the protocol part.

Authorization code flow with PKCE (S256), `state` and `nonce`. The three secrets of one sign-in (state, nonce, code
verifier) and where to go afterwards travel in a short-lived cookie signed with TELLME_SECRET_KEY (HMAC-SHA256,
FLOW_TTL); nothing is stored server-side until the provider has answered. The provider is found from
{issuer}/.well-known/openid-configuration (cached DISCOVERY_TTL) and its discovery document must name the same
issuer. The ID token is verified with PyJWT against the provider's JWKS (PyJWKClient, keys cached, refetched when a
token names a key it has not seen): signature with an asymmetric algorithm only, issuer, audience (our client id),
expiry (LEEWAY for clock skew) and the nonce of this sign-in.

Who may sign in. Once an account is bound to the provider's (issuer, `sub`), that alone finds it: the email in the
token no longer matters (a renamed person keeps their account; a recycled address cannot take it over). An account
is bound by its email only when the provider vouches for it — the claim named by TELLME_OIDC_EMAIL_VERIFIED_CLAIM
(`email_verified`; for Microsoft Entra ID, which sends none, add the optional claim `xms_edov` and name it) is true —
never from `preferred_username` or `upn`, which some tenants let people choose. Even then an account that exists is
bound only where an administrator allowed it (`tellme staff allow-oidc EMAIL` or `tellme staff add --oidc`), and
only once: a matching address alone never takes over an account made for someone. When TELLME_OIDC_ROLES_CLAIM
names a claim (Entra ID app roles: `roles`), its values that name Tell Me roles (`admin`, `comms`, … or
`TellMe.Admin`-style) set the account's roles at every sign-in, and an account that does not exist is made, bound,
on first sign-in; a person with no such value is refused. Disabled accounts are always refused.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
import asyncpg
import jwt

from notifier import audit
from notifier.settings import Settings
from notifier.staff.accounts import STAFF_ROLES, Staff, StaffError, add_staff, checked_email, staff_from
from templates.personalisation import mask_address

logger = logging.getLogger('notifier.staff.oidc')

FLOW_TTL = 600  # seconds a sign-in may take at the provider
DISCOVERY_TTL = 3600
JWKS_TTL = 3600
LEEWAY = 60
ASYMMETRIC = ('RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512')
SCOPES = 'openid email profile'
CALLBACK = '/staff/sign-in/oidc/callback'

_discovered: dict[str, tuple[float, Provider]] = {}
_jwks: dict[str, jwt.PyJWKClient] = {}


class OidcError(Exception):
    """A sign-in that cannot go on. `message` is for the person; `reason` a short word for the audit log."""

    def __init__(self, reason: str, message: str, *, audited: bool = False) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.audited = audited  # refused for who they are (not for a broken flow): goes in the audit log


@dataclass(frozen=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: tuple[str, ...]


@dataclass(frozen=True)
class Flow:
    state: str
    nonce: str
    verifier: str
    next: str
    expires: int


UNAVAILABLE = "The council's sign-in service cannot be reached just now. Try again, or sign in with your password."
START_AGAIN = 'Your sign-in could not be checked. Start again.'


# --- the flow cookie ------------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))


def new_flow(next_path: str) -> Flow:
    return Flow(
        secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48), next_path,
        int(time.time()) + FLOW_TTL,
    )  # fmt: skip


def seal(flow: Flow, key: bytes) -> str:
    body = _b64(json.dumps(flow.__dict__, separators=(',', ':')).encode())
    return f'{body}.{_b64(hmac.new(key, body.encode(), hashlib.sha256).digest())}'


def unseal(cookie: str, keys: list[bytes]) -> Flow:
    body, _, mac = cookie.partition('.')
    try:
        signed = any(
            hmac.compare_digest(_unb64(mac), hmac.new(key, body.encode(), hashlib.sha256).digest()) for key in keys
        )
        flow = Flow(**json.loads(_unb64(body))) if signed else None
    except (ValueError, TypeError):
        flow = None
    if flow is None or flow.expires < time.time():
        raise OidcError('flow', 'Your sign-in took too long, or was started in another browser. Start again.')
    return flow


def same(given: str, expected: str) -> bool:
    """Constant-time comparison of two strings (any characters: they may come from a URL)."""
    return hmac.compare_digest(given.encode(), expected.encode())


def challenge(verifier: str) -> str:
    return _b64(hashlib.sha256(verifier.encode()).digest())


# --- the provider ---------------------------------------------------------------------------------------------


async def _get_json(http: aiohttp.ClientSession, url: str, *, form: dict[str, str] | None = None) -> dict[str, Any]:
    """A JSON object from the provider (GET, or POST of `form`); OidcError if it cannot be had."""
    try:
        async with http.request('POST' if form else 'GET', url, data=form) as response:
            body = await response.json(content_type=None)
            status = response.status
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        logger.warning('the OpenID Connect provider could not be asked (%s): %s', url, type(exc).__name__)
        raise OidcError('provider', UNAVAILABLE) from None
    if status != 200 or not isinstance(body, dict):
        logger.warning('the OpenID Connect provider answered %s to %s', status, url)
        # a token endpoint that refuses the code (used, expired, wrong verifier) answers 400: start again
        raise OidcError('token', START_AGAIN) if form and status == 400 else OidcError('provider', UNAVAILABLE)
    return body


async def provider(settings: Settings, http: aiohttp.ClientSession) -> Provider:
    issuer = settings.oidc_issuer
    cached = _discovered.get(issuer)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    doc = await _get_json(http, f'{issuer}/.well-known/openid-configuration')
    algorithms = tuple(alg for alg in doc.get('id_token_signing_alg_values_supported', ['RS256']) if alg in ASYMMETRIC)
    methods = doc.get('code_challenge_methods_supported', ['S256'])
    needed = ('authorization_endpoint', 'token_endpoint', 'jwks_uri')
    named = str(doc.get('issuer', '')).rstrip('/')
    problem = (
        f'its discovery document names the issuer {named!r}: set TELLME_OIDC_ISSUER to that' if named != issuer
        else 'its discovery document lacks an endpoint' if not all(doc.get(k) for k in needed)
        else 'it signs ID tokens with no algorithm we accept' if not algorithms
        else 'it does not support PKCE with S256' if 'S256' not in methods
        else ''
    )  # fmt: skip
    if problem:
        logger.error('the OpenID Connect provider %s cannot be used: %s', issuer, problem)
        raise OidcError('discovery', UNAVAILABLE)
    found = Provider(issuer, doc['authorization_endpoint'], doc['token_endpoint'], doc['jwks_uri'], algorithms)
    _discovered[issuer] = (time.monotonic() + DISCOVERY_TTL, found)
    return found


def authorization_url(settings: Settings, found: Provider, flow: Flow) -> str:
    query = {
        'response_type': 'code', 'client_id': settings.oidc_client_id, 'redirect_uri': settings.public_url + CALLBACK,
        'scope': SCOPES, 'state': flow.state, 'nonce': flow.nonce, 'code_challenge': challenge(flow.verifier),
        'code_challenge_method': 'S256', 'response_mode': 'query',
    }  # fmt: skip
    separator = '&' if '?' in found.authorization_endpoint else '?'
    return found.authorization_endpoint + separator + '&'.join(f'{k}={_quote(v)}' for k, v in query.items())


def _quote(value: str) -> str:
    return quote(value, safe='')


async def redeem(settings: Settings, http: aiohttp.ClientSession, found: Provider, code: str, flow: Flow) -> str:
    """The ID token the provider gives for this code (client_secret_post, with the PKCE verifier)."""
    form = {
        'grant_type': 'authorization_code', 'code': code, 'redirect_uri': settings.public_url + CALLBACK,
        'client_id': settings.oidc_client_id, 'client_secret': settings.oidc_client_secret.get_secret_value(),
        'code_verifier': flow.verifier,
    }  # fmt: skip
    answer = await _get_json(http, found.token_endpoint, form=form)
    token = answer.get('id_token')
    if not isinstance(token, str):
        raise OidcError('token', START_AGAIN)
    return token


async def verify(settings: Settings, found: Provider, id_token: str, flow: Flow) -> dict[str, Any]:
    client = _jwks.get(found.jwks_uri)
    if client is None:
        client = _jwks[found.jwks_uri] = jwt.PyJWKClient(found.jwks_uri, cache_keys=True, lifespan=JWKS_TTL, timeout=10)
    try:
        key = await asyncio.to_thread(client.get_signing_key_from_jwt, id_token)
        claims = jwt.decode(
            id_token, key.key, algorithms=list(found.algorithms), audience=settings.oidc_client_id,
            issuer=found.issuer, leeway=LEEWAY, options={'require': ['exp', 'iat', 'iss', 'aud', 'sub', 'nonce']},
        )  # fmt: skip
    except jwt.ExpiredSignatureError:
        raise OidcError('expired', 'Your sign-in has expired. Start again.') from None
    except jwt.PyJWKClientConnectionError:
        raise OidcError('provider', UNAVAILABLE) from None
    except (jwt.InvalidTokenError, jwt.PyJWKClientError):
        raise OidcError('invalid', START_AGAIN) from None
    if not same(str(claims['nonce']), flow.nonce):
        raise OidcError('nonce', START_AGAIN)
    audience = claims['aud'] if isinstance(claims['aud'], list) else [claims['aud']]
    if len(audience) > 1 and claims.get('azp') != settings.oidc_client_id:
        raise OidcError('invalid', START_AGAIN)
    return claims


# --- who it is ------------------------------------------------------------------------------------------------


NO_VERIFIED_EMAIL = (
    'Your council account did not tell us a verified email address, so it cannot be linked to a Tell Me account. '
    'Ask IT to check it.'
)


def verified_email(claims: dict[str, Any], settings: Settings) -> str:
    """The token's email, lower-cased, when the provider vouches for it; OidcError (audited) otherwise."""
    value, vouched = claims.get('email'), claims.get(settings.oidc_email_verified_claim)
    if isinstance(value, str) and (vouched is True or (isinstance(vouched, str) and vouched.lower() == 'true')):
        try:
            return checked_email(value)
        except StaffError:
            pass
    raise _refuse('unverified-email', NO_VERIFIED_EMAIL)


def roles_from(value: object) -> list[str]:
    """Tell Me roles named by a roles/groups claim: 'admin', 'Case officer', 'TellMe.CaseOfficer', …"""
    values = value if isinstance(value, list) else [value] if isinstance(value, str) else []
    wanted = {role.replace('_', ''): role for role in STAFF_ROLES}
    found = set()
    for item in values:
        word = ''.join(ch for ch in str(item).lower() if ch.isalnum()).removeprefix('tellme')
        if word in wanted:
            found.add(wanted[word])
    return sorted(found, key=STAFF_ROLES.index)


def _refuse(reason: str, message: str) -> OidcError:
    return OidcError(reason, message, audited=True)


BOUND = """
select * from staff where oidc_subject = $2 and (oidc_issuer = $1 or oidc_issuer is null)
order by oidc_issuer nulls last limit 1 for update
"""
BIND = """
update staff set oidc_issuer = $2, oidc_subject = $3, oidc_link_allowed_at = null, last_sign_in_at = now()
where id = $1 returning *
"""


async def sign_in(conn: asyncpg.Connection, settings: Settings, claims: dict[str, Any]) -> Staff:
    """The active account these verified claims are for — found by (issuer, subject), else bound by a verified email
    where allowed, or made from the roles claim — with its roles from that claim, and the sign-in audited. OidcError
    (audited) when the person may not sign in."""
    issuer, subject = str(claims['iss']), str(claims['sub'])
    who = 'unknown'
    try:
        async with conn.transaction():
            row = await conn.fetchrow(BOUND, issuer, subject)
            if row is None:
                who = mask_address('email', str(claims.get('email', '')))
                email = verified_email(claims, settings)
                who = mask_address('email', email)
                row = await _bind(conn, settings, claims, email, issuer, subject)
            else:
                who = mask_address('email', row['email'])
                row = await _signed_in(conn, settings, claims, row, issuer)
            staff = staff_from(row)
            await audit.record(conn, audit.Actor('staff', staff.id, staff.email), 'staff.sign_in',
                               target_kind='staff', target_id=staff.id, details={'method': 'oidc'})  # fmt: skip
    except OidcError as exc:
        if exc.audited:
            details = {'method': 'oidc', 'reason': exc.reason}
            await audit.record(conn, audit.SYSTEM, 'staff.sign_in_refused', target_kind='staff', target_id=who,
                               details=details)  # fmt: skip
        raise
    return staff


async def _signed_in(
    conn: asyncpg.Connection, settings: Settings, claims: dict[str, Any], row: asyncpg.Record, issuer: str
) -> asyncpg.Record:
    """An account already bound to this subject (an account bound before issuers were kept gets this one)."""
    if row['disabled_at'] is not None:
        raise _refuse('disabled', 'Your Tell Me account has been disabled. Ask an administrator.')
    await _set_roles(conn, settings, claims, row)
    return await conn.fetchrow(
        'update staff set oidc_issuer = $2, last_sign_in_at = now() where id = $1 returning *', row['id'], issuer
    )


async def _bind(
    conn: asyncpg.Connection, settings: Settings, claims: dict[str, Any], email: str, issuer: str, subject: str
) -> asyncpg.Record:
    """A subject seen for the first time, with a verified email: the account for that email, where an
    administrator allowed it and it is bound to nobody yet, or a new one made from the roles claim."""
    row = await conn.fetchrow('select * from staff where email = $1 for update', email)
    if row is not None and row['disabled_at'] is not None:
        raise _refuse('disabled', 'Your Tell Me account has been disabled. Ask an administrator.')
    if row is not None and row['oidc_subject'] is not None:
        raise _refuse('subject', 'This email address is linked to a different council account. Ask an administrator.')
    if row is not None and row['oidc_link_allowed_at'] is None:
        raise _refuse(
            'not-allowed',
            f'Your Tell Me account ({email}) is not linked to your council account yet. Ask an administrator to '
            'allow it (tellme staff allow-oidc), or sign in with your password.',
        )
    if row is None:
        if not settings.oidc_roles_claim:
            raise _refuse('unknown', f'There is no Tell Me account for {email}. Ask an administrator to add you.')
        roles = _roles(settings, claims)
        staff_id = await add_staff(conn, email, roles, str(claims.get('name', ''))[:200])
        await audit.record(conn, _OIDC, 'staff.add', target_kind='staff', target_id=staff_id,
                           details={'via': 'oidc', 'roles': roles})  # fmt: skip
        row = await conn.fetchrow('select * from staff where id = $1', staff_id)
    else:
        await _set_roles(conn, settings, claims, row)
    try:
        async with conn.transaction():
            return await conn.fetchrow(BIND, row['id'], issuer, subject)
    except asyncpg.UniqueViolationError:
        message = 'Your council account is linked to another Tell Me account. Ask an administrator.'
        raise _refuse('subject', message) from None


_OIDC = audit.Actor('system', None, 'oidc')


def _roles(settings: Settings, claims: dict[str, Any]) -> list[str]:
    roles = roles_from(claims.get(settings.oidc_roles_claim))
    if not roles:
        raise _refuse(
            'no-role', 'Your council account has not been given a Tell Me role. Ask IT or an administrator for one.'
        )
    return roles


async def _set_roles(conn: asyncpg.Connection, settings: Settings, claims: dict[str, Any], row: asyncpg.Record) -> None:
    """With a roles claim, the provider's roles are the account's (a person with none is refused)."""
    if not settings.oidc_roles_claim:
        return
    roles = _roles(settings, claims)
    if list(row['roles']) != roles:
        await conn.execute('update staff set roles = $2 where id = $1', row['id'], roles)
        await audit.record(conn, _OIDC, 'staff.roles', target_kind='staff', target_id=row['id'],
                           details={'via': 'oidc', 'roles': roles, 'before': list(row['roles'])})  # fmt: skip
