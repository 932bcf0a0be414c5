"""Staff sign in with their council account through OpenID Connect: the right account is signed in, its roles can
come from the provider, and a tampered, replayed, expired or unknown sign-in is refused with a clear page. The
provider is a small fake OpenID provider (an external system) issuing RS256 ID tokens; our code is the real one."""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import asyncpg
import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from notifier.settings import Settings
from notifier.shell.app import create_app
from notifier.staff.accounts import add_staff, disable
from notifier.staff.oidc import roles_from
from tests.conftest import Services
from tests.support.app import settings_for
from tests.support.staff import run_cli

CLIENT_ID = 'tellme-client-id'
CLIENT_SECRET = 'tellme-client-secret-value'
PUBLIC = 'http://tellme.test'


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class FakeProvider:
    """An OpenID provider that signs in whoever `identity` says, as Entra ID would after the person's password."""

    key: rsa.RSAPrivateKey = field(default_factory=new_key)
    kid: str = 'key-1'
    identity: dict[str, Any] = field(default_factory=dict)
    nonce: str | None = None  # overrides the nonce in the token (a replayed token)
    lifetime: int = 300
    signing_key: rsa.RSAPrivateKey | None = None  # sign with another key (a forged token)
    url: str = ''
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    verifiers_checked: int = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get('/.well-known/openid-configuration', self.discovery)
        app.router.add_get('/{tenant}/.well-known/openid-configuration', self.discovery)  # as Entra ID by name
        app.router.add_get('/authorize', self.authorize)
        app.router.add_post('/token', self.token)
        app.router.add_get('/keys', self.keys)
        return app

    async def discovery(self, request: web.Request) -> web.Response:
        return web.json_response({
            'issuer': self.url, 'authorization_endpoint': f'{self.url}/authorize',
            'token_endpoint': f'{self.url}/token', 'jwks_uri': f'{self.url}/keys',
            'id_token_signing_alg_values_supported': ['RS256'], 'code_challenge_methods_supported': ['S256'],
            'response_types_supported': ['code'],
        })  # fmt: skip

    async def authorize(self, request: web.Request) -> web.Response:
        q = request.query
        assert q['client_id'] == CLIENT_ID and q['response_type'] == 'code' and q['code_challenge_method'] == 'S256'
        assert 'openid' in q['scope'].split()
        code = secrets.token_urlsafe(16)
        self.codes[code] = {'challenge': q['code_challenge'], 'nonce': q['nonce'], 'redirect_uri': q['redirect_uri']}
        raise web.HTTPFound(f'{q["redirect_uri"]}?{urlencode({"code": code, "state": q["state"]})}')

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        grant = self.codes.pop(str(form.get('code')), None)
        if grant is None or form.get('client_secret') != CLIENT_SECRET or form.get('client_id') != CLIENT_ID:
            return web.json_response({'error': 'invalid_grant'}, status=400)
        verifier = str(form.get('code_verifier', ''))
        if (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b'=').decode()
            != grant['challenge']
            or form.get('redirect_uri') != grant['redirect_uri']
        ):
            return web.json_response({'error': 'invalid_grant'}, status=400)
        self.verifiers_checked += 1
        now = int(time.time())
        claims = {'iss': self.url, 'aud': CLIENT_ID, 'iat': now, 'exp': now + self.lifetime,
                  'nonce': self.nonce or grant['nonce'], **self.identity}  # fmt: skip
        id_token = jwt.encode(claims, self.signing_key or self.key, algorithm='RS256', headers={'kid': self.kid})
        return web.json_response({'access_token': 'opaque', 'token_type': 'Bearer', 'id_token': id_token})

    async def keys(self, request: web.Request) -> web.Response:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return web.json_response({'keys': [{**jwk, 'kid': self.kid, 'use': 'sig', 'alg': 'RS256'}]})


@pytest.fixture
async def provider(aiohttp_server: Any) -> FakeProvider:
    fake = FakeProvider()
    server = await aiohttp_server(fake.app())
    fake.url = str(server.make_url('')).rstrip('/')
    return fake


def oidc_settings(services: Services, provider: FakeProvider, **extra: Any) -> Settings:
    return settings_for(services, secret_key='oidc-test-secret', public_url=PUBLIC, oidc_issuer=provider.url,
                        oidc_client_id=CLIENT_ID, oidc_client_secret=CLIENT_SECRET, **extra)  # fmt: skip


@pytest.fixture
def settings(services: Services, provider: FakeProvider) -> Settings:
    """The app signs staff in through the fake provider (the `client` fixture runs on these)."""
    return oidc_settings(services, provider)


async def through_provider(client: Any, next_path: str = '/staff', *, state: str | None = None) -> Any:
    """Click "Sign in with your council account", sign in at the provider, come back: the callback's answer."""
    start = await client.get(f'/staff/sign-in/oidc?next={next_path}', allow_redirects=False)
    assert start.status == 303, await start.text()
    async with aiohttp.ClientSession() as browser:
        at_provider = await browser.get(start.headers['Location'], allow_redirects=False)
    assert at_provider.status == 302
    back = urlsplit(at_provider.headers['Location'])
    assert f'{back.scheme}://{back.netloc}' == PUBLIC
    query = {key: values[0] for key, values in parse_qs(back.query).items()}
    if state is not None:
        query['state'] = state
    return await client.get(f'{back.path}?{urlencode(query)}')


async def signed_in_as(client: Any) -> str | None:
    home = await client.get('/staff', allow_redirects=False)
    if home.status != 200:
        return None
    text = await home.text()
    return text.split('Signed in as ', 1)[1].split(' ', 1)[0]


async def jo_may_sign_in(pg: asyncpg.Pool, provider: FakeProvider) -> None:
    """jo@council.example has a comms account the council sign-in may bind, and is whom the provider signs in."""
    async with pg.acquire() as conn:
        await add_staff(conn, 'jo@council.example', ['comms'], allow_oidc=True)
    provider.identity = {'sub': 's1', 'email': 'jo@council.example', 'email_verified': True}


async def test_a_council_account_signs_in_to_the_matching_staff_account(
    client: Any, provider: FakeProvider, pg: asyncpg.Pool
) -> None:
    async with pg.acquire() as conn:
        staff_id = await add_staff(conn, 'jo.bloggs@council.example', ['case_officer'], allow_oidc=True)
    provider.identity = {
        'sub': 'entra-object-1',
        'email': 'Jo.Bloggs@Council.example',
        'email_verified': True,
        'name': 'Jo Bloggs',
    }
    back = await through_provider(client, '/staff/cases')
    page = await back.text()
    assert back.status == 200 and 'You are signed in' in page and 'href="/staff/cases"' in page
    assert provider.verifiers_checked == 1  # the PKCE verifier matched the challenge
    assert back.cookies['tellme_staff']['samesite'] == 'Strict'
    assert await signed_in_as(client) == 'jo.bloggs@council.example'
    entry = await pg.fetchrow("select * from audit_log where action = 'staff.sign_in' order by id desc limit 1")
    assert (entry['actor_id'], entry['target_id'], entry['details']) == (staff_id, str(staff_id), {'method': 'oidc'})
    assert await pg.fetchval('select oidc_subject from staff where id = $1', staff_id) == 'entra-object-1'


async def test_a_sign_in_whose_state_was_changed_is_refused(
    client: Any, provider: FakeProvider, pg: asyncpg.Pool
) -> None:
    await jo_may_sign_in(pg, provider)
    back = await through_provider(client, state='not-the-state-we-sent-ÿ')
    assert back.status == 400 and 'does not match the one started in this browser' in await back.text()
    assert await signed_in_as(client) is None


async def test_coming_back_without_the_flow_cookie_is_refused(client: Any, provider: FakeProvider) -> None:
    back = await client.get('/staff/sign-in/oidc/callback?code=abc&state=def')
    assert back.status == 400 and 'took too long, or was started in another browser' in await back.text()


async def test_a_token_for_another_sign_in_is_refused(
    client: Any, provider: FakeProvider, pg: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    await jo_may_sign_in(pg, provider)
    provider.nonce = 'a-nonce-from-some-other-sign-in'
    caplog.set_level('INFO', logger='notifier.staff.oidc')
    back = await through_provider(client)
    assert back.status == 400 and 'could not be checked' in await back.text()
    assert 'sign-in refused: nonce' in caplog.text
    assert await signed_in_as(client) is None


async def test_an_expired_token_is_refused(client: Any, provider: FakeProvider, pg: asyncpg.Pool) -> None:
    await jo_may_sign_in(pg, provider)
    provider.lifetime = -600
    back = await through_provider(client)
    assert back.status == 400 and 'Your sign-in has expired' in await back.text()
    assert await signed_in_as(client) is None


async def test_a_token_signed_by_another_key_is_refused(
    client: Any, provider: FakeProvider, pg: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    await jo_may_sign_in(pg, provider)
    provider.signing_key = new_key()
    caplog.set_level('INFO', logger='notifier.staff.oidc')
    back = await through_provider(client)
    assert back.status == 400 and 'could not be checked' in await back.text()
    assert 'sign-in refused: invalid' in caplog.text
    assert await signed_in_as(client) is None


async def test_someone_without_a_staff_account_is_refused_and_it_is_audited(
    client: Any, provider: FakeProvider, pg: asyncpg.Pool
) -> None:
    provider.identity = {'sub': 's9', 'email': 'stranger@council.example', 'email_verified': True}
    back = await through_provider(client)
    text = await back.text()
    assert back.status == 403 and 'There is no Tell Me account for stranger@council.example' in text
    assert await signed_in_as(client) is None
    entry = await pg.fetchrow("select * from audit_log where action = 'staff.sign_in_refused'")
    assert entry['target_id'] == 's***@council.example' and entry['details'] == {'method': 'oidc', 'reason': 'unknown'}
    assert await pg.fetchval('select count(*) from staff') == 0


async def test_a_disabled_account_or_a_different_subject_is_refused(
    client: Any, provider: FakeProvider, pg: asyncpg.Pool
) -> None:
    async with pg.acquire() as conn:
        await add_staff(conn, 'jo@council.example', ['comms'], allow_oidc=True)
        await add_staff(conn, 'gone@council.example', ['comms'], allow_oidc=True)
        await disable(conn, 'gone@council.example')
    provider.identity = {'sub': 'first', 'email': 'jo@council.example', 'email_verified': True}
    assert (await through_provider(client)).status == 200
    client.session.cookie_jar.clear()
    provider.identity = {'sub': 'someone-else', 'email': 'jo@council.example', 'email_verified': True}
    again = await through_provider(client)
    assert again.status == 403 and 'linked to a different council account' in await again.text()
    provider.identity = {'sub': 'gone', 'email': 'gone@council.example', 'email_verified': True}
    gone = await through_provider(client)
    assert gone.status == 403 and 'has been disabled' in await gone.text()
    reasons = [row['details']['reason'] for row in await pg.fetch(
        "select details from audit_log where action = 'staff.sign_in_refused' order by id")]  # fmt: skip
    assert reasons == ['subject', 'disabled']


async def test_roles_can_come_from_the_providers_roles_claim(
    aiohttp_client: Any, services: Services, provider: FakeProvider, pg: asyncpg.Pool
) -> None:
    client = await aiohttp_client(create_app(oidc_settings(services, provider, oidc_roles_claim='roles')))
    provider.identity = {'sub': 'n1', 'email': 'new.starter@council.example', 'email_verified': True,
                         'name': 'New Starter', 'roles': ['TellMe.Comms', 'Something.Else']}  # fmt: skip
    assert (await through_provider(client, '/staff/overview')).status == 200
    assert (await client.get('/staff/overview')).status == 200
    row = await pg.fetchrow("select roles, name from staff where email = 'new.starter@council.example'")
    assert (list(row['roles']), row['name']) == (['comms'], 'New Starter')
    actions = [r['action'] for r in await pg.fetch('select action from audit_log order by id')]
    assert actions == ['staff.add', 'staff.sign_in']

    client.session.cookie_jar.clear()
    provider.identity = {
        'sub': 'n2',
        'email': 'no.role@council.example',
        'email_verified': True,
        'roles': ['Something.Else'],
    }
    refused = await through_provider(client)
    assert refused.status == 403 and 'has not been given a Tell Me role' in await refused.text()


def test_half_configured_council_sign_in_is_refused_at_start_up() -> None:
    with pytest.raises(
        ValueError, match='TELLME_OIDC_ISSUER needs TELLME_OIDC_CLIENT_ID and TELLME_OIDC_CLIENT_SECRET'
    ):
        Settings(oidc_issuer='https://login.microsoftonline.com/tenant/v2.0', oidc_client_id=CLIENT_ID)
    with pytest.raises(ValueError, match='must be an https:// URL'):
        Settings(oidc_issuer='http://login.example.com', oidc_client_id=CLIENT_ID, oidc_client_secret=CLIENT_SECRET)


async def test_without_settings_there_is_no_council_sign_in(aiohttp_client: Any, services: Services) -> None:
    settings = settings_for(services, secret_key='s')
    client = await aiohttp_client(create_app(settings))
    assert (await client.get('/staff/sign-in/oidc', allow_redirects=False)).status == 404


async def test_a_provider_that_cannot_be_reached_gets_a_clear_page(aiohttp_client: Any, services: Services) -> None:
    with socket.socket() as spare:
        spare.bind(('127.0.0.1', 0))
        closed = f'http://127.0.0.1:{spare.getsockname()[1]}'
    settings = settings_for(services, secret_key='s', oidc_issuer=closed, oidc_client_id=CLIENT_ID,
                            oidc_client_secret=CLIENT_SECRET)  # fmt: skip
    client = await aiohttp_client(create_app(settings))
    start = await client.get('/staff/sign-in/oidc', allow_redirects=False)
    assert start.status == 503 and 'sign-in service cannot be reached just now' in await start.text()


async def test_a_code_used_twice_is_refused(
    client: Any, provider: FakeProvider, pg: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    await jo_may_sign_in(pg, provider)
    start = await client.get('/staff/sign-in/oidc', allow_redirects=False)
    flow_cookie = start.cookies['tellme_oidc'].value
    async with aiohttp.ClientSession() as browser:
        at_provider = await browser.get(start.headers['Location'], allow_redirects=False)
    back = urlsplit(at_provider.headers['Location'])
    assert (await client.get(f'{back.path}?{back.query}')).status == 200
    client.session.cookie_jar.clear()
    # the same answer again, even with the flow cookie put back: the provider has spent the code
    client.session.cookie_jar.update_cookies({'tellme_oidc': flow_cookie}, client.make_url('/staff/sign-in/oidc/'))
    caplog.set_level('INFO', logger='notifier.staff.oidc')
    replayed = await client.get(f'{back.path}?{back.query}')
    assert replayed.status == 400 and 'could not be checked' in await replayed.text()
    assert 'sign-in refused: token' in caplog.text and await signed_in_as(client) is None


async def test_an_issuer_that_does_not_match_the_discovery_document_is_named_in_the_log(
    aiohttp_client: Any, services: Services, provider: FakeProvider, caplog: pytest.LogCaptureFixture
) -> None:
    settings = oidc_settings(services, provider).model_copy(update={'oidc_issuer': provider.url + '/tenant-by-name'})
    client = await aiohttp_client(create_app(settings))
    start = await client.get('/staff/sign-in/oidc', allow_redirects=False)
    assert start.status == 503
    assert f"names the issuer '{provider.url}'" in caplog.text


def test_role_names_are_read_the_ways_councils_write_them() -> None:
    claim = ['TellMe.Admin', 'Case officer', 'tell me comms', 'TellMe-Approver', 'Finance.Reader', 42]
    assert roles_from(claim) == ['case_officer', 'comms', 'approver', 'admin']
    assert roles_from('comms') == ['comms'] and roles_from(None) == [] and roles_from({'admin': True}) == []


# --- whose account: a verified email binds once, where an administrator allowed it; then the subject decides ------
@pytest.mark.parametrize(
    'identity',
    [
        {'sub': 'attacker', 'email': 'jo@council.example'},  # no email_verified at all (Entra sends none)
        {'sub': 'attacker', 'email': 'jo@council.example', 'email_verified': False},
        {'sub': 'attacker', 'email': 'jo@council.example', 'email_verified': 'yes'},
        {'sub': 'attacker', 'preferred_username': 'jo@council.example'},  # anyone's to choose in some tenants
        {'sub': 'attacker', 'upn': 'jo@council.example'},
    ],
)
async def test_an_email_the_provider_does_not_vouch_for_binds_nothing(
    client: Any, settings: Settings, provider: FakeProvider, pg: asyncpg.Pool, identity: dict[str, Any]
) -> None:
    async with pg.acquire() as conn:
        await add_staff(conn, 'jo@council.example', ['admin'])
    assert (await run_cli(settings, 'allow-oidc', 'jo@council.example'))[0] == 0
    provider.identity = identity
    back = await through_provider(client)
    assert back.status == 403 and 'did not tell us a verified email address' in await back.text()
    assert await signed_in_as(client) is None
    assert await pg.fetchval('select oidc_subject from staff') is None


async def test_an_existing_account_is_bound_only_where_an_administrator_allowed_it(
    client: Any, settings: Settings, provider: FakeProvider, pg: asyncpg.Pool
) -> None:
    async with pg.acquire() as conn:
        await add_staff(conn, 'jo@council.example', ['admin'])
    provider.identity = {'sub': 'entra-jo', 'email': 'jo@council.example', 'email_verified': True}
    refused = await through_provider(client)
    assert refused.status == 403 and 'not linked to your council account yet' in await refused.text()
    assert await pg.fetchval('select oidc_subject from staff') is None
    entry = await pg.fetchrow("select details from audit_log where action = 'staff.sign_in_refused'")
    assert entry['details'] == {'method': 'oidc', 'reason': 'not-allowed'}

    assert (await run_cli(settings, 'allow-oidc', 'jo@council.example'))[0] == 0
    assert (await through_provider(client)).status == 200
    assert await signed_in_as(client) == 'jo@council.example'
    bound = await pg.fetchrow('select oidc_issuer, oidc_subject, oidc_link_allowed_at from staff')
    assert (bound['oidc_issuer'], bound['oidc_subject'], bound['oidc_link_allowed_at']) == (
        provider.url,
        'entra-jo',
        None,
    ), 'bound to (issuer, subject); the permission is used up'


async def test_staff_add_with_oidc_allows_the_first_council_sign_in(
    client: Any, settings: Settings, provider: FakeProvider, pg: asyncpg.Pool
) -> None:
    assert (await run_cli(settings, 'add', 'new@council.example', '--role', 'comms', '--oidc'))[0] == 0
    provider.identity = {'sub': 'entra-new', 'email': 'new@council.example', 'email_verified': True}
    assert (await through_provider(client)).status == 200
    assert await signed_in_as(client) == 'new@council.example'


async def test_once_bound_the_subject_decides_whatever_the_email_says(
    client: Any, settings: Settings, provider: FakeProvider, pg: asyncpg.Pool
) -> None:
    assert (await run_cli(settings, 'add', 'jo@council.example', '--role', 'comms', '--oidc'))[0] == 0
    provider.identity = {'sub': 'entra-jo', 'email': 'jo@council.example', 'email_verified': True}
    assert (await through_provider(client)).status == 200
    client.session.cookie_jar.clear()
    provider.identity = {'sub': 'entra-jo', 'email': 'jo.married.name@council.example'}  # renamed, not verified
    assert (await through_provider(client)).status == 200
    assert await signed_in_as(client) == 'jo@council.example'
    client.session.cookie_jar.clear()
    provider.identity = {'sub': 'someone-else', 'email': 'jo@council.example', 'email_verified': True}
    assert (await through_provider(client)).status == 403, 'the address alone never moves the account'


async def test_entra_can_vouch_for_the_email_with_xms_edov(
    aiohttp_client: Any, services: Services, provider: FakeProvider, pg: asyncpg.Pool
) -> None:
    settings = oidc_settings(services, provider, oidc_email_verified_claim='xms_edov')
    client = await aiohttp_client(create_app(settings))
    assert (await run_cli(settings, 'add', 'jo@council.example', '--role', 'comms', '--oidc'))[0] == 0
    provider.identity = {'sub': 'entra-jo', 'email': 'jo@council.example', 'email_verified': True}
    assert (await through_provider(client)).status == 403, 'only the claim configured counts'
    provider.identity = {'sub': 'entra-jo', 'email': 'jo@council.example', 'xms_edov': True}
    assert (await through_provider(client)).status == 200
