"""Staff sign in with a password they set themselves; wrong guesses lock the account; staff pages answer only
the roles they are for; every sign-in and account change is in the audit log."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import asyncpg
import pytest

from notifier.settings import Settings
from notifier.shell.app import create_app
from notifier.staff.accounts import LOCK_AFTER
from tests.support.pages import csrf_of
from tests.support.staff import PASSWORD, add_with_password, run_cli, sign_in


async def test_an_officer_sets_a_password_from_the_link_and_signs_in(
    client: Any, settings: Settings, pg: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_with_password(client, settings, 'Jo.Bloggs@council.example', 'case_officer')
    stored = await pg.fetchval("select password_hash from staff where email = 'jo.bloggs@council.example'")
    assert stored.startswith('$argon2id$') and PASSWORD not in stored

    signed_in = await sign_in(client, 'jo.bloggs@council.example', PASSWORD, next_path='/staff')
    assert signed_in.status == 303 and signed_in.headers['Location'] == '/staff'
    cookie = signed_in.cookies['tellme_staff']
    assert cookie['httponly'] and cookie['samesite'] == 'Strict'
    home = await client.get('/staff')
    assert home.status == 200 and 'jo.bloggs@council.example' in await home.text()
    actions = [row['action'] for row in await pg.fetch('select action from audit_log order by id')]
    assert actions[-3:] == ['staff.add', 'staff.set_password', 'staff.sign_in']


async def test_a_set_password_link_works_once(client: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = await run_cli(settings, 'add', 'once@council.example', '--role', 'comms')
    path = out.strip().removeprefix('http://tellme.test')
    page = await client.get(path)
    token = csrf_of(await page.text())
    done = await client.post(path, data={'csrf_token': token, 'password': PASSWORD, 'confirm': PASSWORD})
    assert 'Your password is set. Sign in with it now.' in await done.text()  # followed to the sign-in page
    again = await client.get(path)
    assert again.status == 404 and 'This link has already been used' in await again.text()
    unknown = await client.get('/staff/set-password/' + 'x' * 43)
    assert unknown.status == 404 and 'This link has expired' in await unknown.text()


async def test_a_weak_or_mistyped_password_is_refused_with_a_message(
    client: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, out, _ = await run_cli(settings, 'add', 'weak@council.example', '--role', 'comms')
    path = out.strip().removeprefix('http://tellme.test')
    token = csrf_of(await (await client.get(path)).text())
    short = await client.post(path, data={'csrf_token': token, 'password': 'short', 'confirm': 'short'})
    assert 'at least 12 characters' in await short.text()
    mismatch = await client.post(path, data={'csrf_token': token, 'password': PASSWORD, 'confirm': PASSWORD + 'x'})
    assert 'The passwords do not match' in await mismatch.text()


async def test_wrong_passwords_lock_this_address_out_and_unknown_emails_get_the_same_answer(
    client: Any, settings: Settings, pg: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_with_password(client, settings, 'lock@council.example', 'comms')
    unknown = await sign_in(client, 'nobody@council.example', 'whatever it is')
    wrong = await sign_in(client, 'lock@council.example', 'not the password')
    assert 'Enter a correct email address and password' in await unknown.text()
    assert 'Enter a correct email address and password' in await wrong.text()
    for _ in range(LOCK_AFTER - 1):
        await sign_in(client, 'lock@council.example', 'still not it')
    right_but_locked = await sign_in(client, 'lock@council.example', PASSWORD)
    assert (
        right_but_locked.status == 200 and 'Enter a correct email address and password' in await right_but_locked.text()
    )
    code, listed, _ = await run_cli(settings, 'list')
    [line] = [line for line in listed.splitlines() if 'lock@council.example' in line]
    assert 'locked out from one address until' in line and 'reset-password unlocks' in line
    code, out, _ = await run_cli(settings, 'reset-password', 'lock@council.example')
    assert code == 0
    assert await pg.fetchval('select count(*) from staff_sign_in_failures') == 1, 'only the unknown email is left'
    code, listed, _ = await run_cli(settings, 'list')
    assert 'locked out' not in listed
    assert (await sign_in(client, 'lock@council.example', PASSWORD)).status == 303, 'reset-password lets it in'


async def test_staff_pages_answer_only_their_roles(
    client: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    anonymous = await client.get('/staff/audit', allow_redirects=False)
    assert anonymous.status == 303 and anonymous.headers['Location'].startswith('/staff/sign-in?next=')
    await add_with_password(client, settings, 'officer@council.example', 'case_officer')
    await sign_in(client, 'officer@council.example', PASSWORD)
    assert (await client.get('/staff/audit')).status == 403
    await client.post('/staff/sign-out', data={'csrf_token': csrf_of(await (await client.get('/staff')).text())})
    await add_with_password(client, settings, 'admin@council.example', 'admin')
    await sign_in(client, 'admin@council.example', PASSWORD)
    audit = await client.get('/staff/audit')
    assert audit.status == 200 and 'staff.sign_in' in await audit.text()


async def test_signing_out_ends_the_session(client: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    await add_with_password(client, settings, 'out@council.example', 'comms')
    signed_in = await sign_in(client, 'out@council.example', PASSWORD)
    session_cookie = signed_in.cookies['tellme_staff'].value
    home = await client.get('/staff')
    await client.post('/staff/sign-out', data={'csrf_token': csrf_of(await home.text())})
    client.session.cookie_jar.update_cookies({'tellme_staff': session_cookie})
    replayed = await client.get('/staff', allow_redirects=False)
    assert replayed.status == 303, 'the old session id no longer works'


async def test_a_disabled_account_cannot_sign_in(
    client: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_with_password(client, settings, 'gone@council.example', 'comms')
    code, _, _ = await run_cli(settings, 'disable', 'gone@council.example')
    assert code == 0
    refused = await sign_in(client, 'gone@council.example', PASSWORD)
    assert refused.status == 200 and 'Enter a correct email address and password' in await refused.text()


async def test_the_cli_refuses_an_unknown_role(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SystemExit):
        await run_cli(settings, 'add', 'x@council.example', '--role', 'overlord')


# --- guessing: a stranger cannot lock an officer out, nor learn who has an account ---------------------------------
@pytest.fixture
async def proxied(aiohttp_client: Any, settings: Settings, pg: asyncpg.Pool, redis: Any) -> Any:
    """The app behind one proxy, so each test request can come from the address it names (emptied afterwards)."""
    return await aiohttp_client(create_app(settings.model_copy(update={'proxy_hops': 1})))


async def sign_in_from(client: Any, ip: str, email: str, password: str) -> Any:
    return await sign_in(client, email, password, headers={'X-Forwarded-For': ip})


def answer_of(html: str, email: str) -> str:
    """The page without what differs by design: the email typed back, the CSRF token and the script nonce."""
    html = html.replace(email, 'EMAIL')
    html = re.sub(r'name="csrf_token" value="[^"]+"', '', html)
    return re.sub(r'nonce="[^"]+"', '', html)


async def test_a_locked_account_and_an_unknown_email_get_the_same_answer(
    proxied: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_with_password(proxied, settings, 'real@council.example', 'comms')
    for _ in range(LOCK_AFTER):
        await sign_in_from(proxied, '203.0.113.7', 'real@council.example', 'a wrong guess')
    locked = await sign_in_from(proxied, '203.0.113.7', 'real@council.example', PASSWORD)
    unknown = await sign_in_from(proxied, '198.51.100.4', 'nobody@council.example', 'whatever')
    for _ in range(LOCK_AFTER):
        await sign_in_from(proxied, '192.0.2.9', 'ghost@council.example', 'a wrong guess')
    unknown_locked = await sign_in_from(proxied, '192.0.2.9', 'ghost@council.example', 'whatever')
    assert locked.status == unknown.status == unknown_locked.status == 200
    page = answer_of(await locked.text(), 'real@council.example')
    assert page == answer_of(await unknown.text(), 'nobody@council.example')
    assert page == answer_of(await unknown_locked.text(), 'ghost@council.example')
    assert 'Enter a correct email address and password' in page


async def test_a_stranger_cannot_lock_an_officer_out(
    proxied: Any, settings: Settings, pg: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_with_password(proxied, settings, 'targeted@council.example', 'case_officer')
    for _ in range(3 * LOCK_AFTER):
        await sign_in_from(proxied, '203.0.113.7', 'targeted@council.example', 'a wrong guess')
    stranger = await sign_in_from(proxied, '203.0.113.7', 'targeted@council.example', PASSWORD)
    assert stranger.status == 200, 'the address that guessed is locked out, even with the right password'
    officer = await sign_in_from(proxied, '198.51.100.4', 'targeted@council.example', PASSWORD)
    assert (officer.status, officer.headers['Location']) == (303, '/staff'), 'the officer, elsewhere, is not'


async def test_many_failures_for_one_account_slow_it_down_without_locking_it(
    proxied: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from notifier.staff import accounts as staff_accounts

    await add_with_password(proxied, settings, 'sprayed@council.example', 'comms')
    waits: list[float] = []

    async def no_wait(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(staff_accounts, 'slow_down', no_wait)
    for n in range(staff_accounts.SLOW_AFTER):  # from as many addresses, so no pair is locked
        await sign_in_from(proxied, f'203.0.113.{n + 1}', 'sprayed@council.example', 'a wrong guess')
    assert waits == [], 'no slowdown before SLOW_AFTER failures'
    officer = await sign_in_from(proxied, '198.51.100.4', 'sprayed@council.example', PASSWORD)
    assert officer.status == 303, 'slowed down, never locked'
    assert waits and waits[-1] > 0


async def test_failed_sign_ins_are_in_the_audit_log_without_the_password(
    proxied: Any, settings: Settings, pg: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    await add_with_password(proxied, settings, 'audited@council.example', 'comms')
    staff_id = await pg.fetchval("select id from staff where email = 'audited@council.example'")
    before = await pg.fetchval('select coalesce(max(id), 0) from audit_log')
    secret = 'Tr0ub4dor&3-not-it'
    await sign_in_from(proxied, '203.0.113.7', 'audited@council.example', secret)
    await sign_in_from(proxied, '203.0.113.8', 'nobody@council.example', secret)
    await sign_in_from(proxied, '203.0.113.9', secret, secret)  # a password typed into the email box
    rows = await pg.fetch(
        "select * from audit_log where action = 'staff.sign_in_failed' and id > $1 order by id", before
    )
    assert [(row['target_kind'], row['target_id']) for row in rows] == [
        ('staff', str(staff_id)),
        ('staff', None),
        ('staff', None),
    ]
    assert [row['details']['ip'] for row in rows] == ['203.0.113.7', '203.0.113.8', '203.0.113.9']
    assert rows[1]['details']['email'] == 'n***@council.example'
    everything = await pg.fetchval('select string_agg(audit_log::text, chr(10)) from audit_log')
    assert secret not in everything and secret[:6] not in everything, 'never the password'
    assert secret not in caplog.text


async def test_a_password_check_does_not_stall_other_requests(
    client: Any, settings: Settings, pg: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """argon2 takes tens of milliseconds of CPU by design: it runs off the event loop, so a burst of sign-ins
    cannot stall every page. Here each check takes half a second; a page asked for meanwhile comes back first."""
    import threading
    import time

    from notifier.staff import accounts as staff_accounts

    await add_with_password(client, settings, 'slow@council.example', 'comms')
    real = staff_accounts._hasher
    started, finished = threading.Event(), []

    class SlowHasher:
        def verify(self, stored: str, password: str) -> bool:
            started.set()
            time.sleep(0.5)
            try:
                return real.verify(stored, password)
            finally:
                finished.append(time.monotonic())

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    monkeypatch.setattr(staff_accounts, '_hasher', SlowHasher())
    signing_in = asyncio.create_task(sign_in(client, 'slow@council.example', PASSWORD))
    while not started.is_set():
        await asyncio.sleep(0.01)
    page = await client.get('/staff/sign-in')
    served = time.monotonic()
    assert page.status == 200
    assert (await signing_in).status == 303
    assert finished and served < finished[0], 'the page was served while the password was being checked'


@pytest.mark.parametrize('before', ['99999999999999999999', '²', '-1', ''])
async def test_the_audit_log_pages_from_any_number_typed_without_an_error(
    client: Any, settings: Settings, pg: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch, before: str
) -> None:
    await add_with_password(client, settings, 'pager@council.example', 'admin')
    await sign_in(client, 'pager@council.example', PASSWORD)
    page = await client.get('/staff/audit', params={'before': before})
    assert page.status == 200, 'a number too big for the database, or a digit that is not 0-9, is no 500'
