"""The manage link in a message is a bearer proof for ONE subscription, and nothing more.

Each test is an attack by someone holding a manage link (their own, or one forwarded to them): it opens subscription
A for changes, and must not reach subscription B of the same resident or of anyone else, the resident's list, their
data (download or delete), "unsubscribe from everything" or a new contact point; a forged or garbled token is a plain
404; a session id planted before the link was opened does not inherit what it opened; every form still needs its CSRF
token; and the link stops opening the subscription once it has ended. Written before the link-scoped session existed.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from notifier.outbox import links
from subscriptions.manage.common import manage_path
from tests.conftest import Services
from tests.support.app import SECRET
from tests.support.factories import Resident, make_resident, make_subscription
from tests.support.journey import SECRET as JOURNEY_SECRET
from tests.support.journey import choose_contact, make_browser
from tests.support.pages import csrf_of, post_form, text_of

KEY = SECRET.encode()


@pytest.fixture
async def ann(pg: asyncpg.Pool) -> Resident:
    return await make_resident(pg, email='ann@example.com', sms='07700 900111')


async def opened(client: TestClient, subscription_id: int) -> str:
    """Open the manage link for `subscription_id` as its email's reader does; the page it lands on."""
    answer = await client.get(manage_path(KEY, subscription_id), allow_redirects=False)
    assert (answer.status, answer.headers['Location']) == (303, f'/manage/subscriptions/{subscription_id}')
    page = await client.get(answer.headers['Location'])
    assert page.status == 200
    return await page.text()


async def state(pg: asyncpg.Pool, subscription_id: int) -> tuple:
    row = await pg.fetchrow(
        'select status, frequency, radius_m, topics, channels, quiet_start, quiet_end from subscriptions where id = $1',
        subscription_id,
    )
    return tuple(row)


async def tries_everything_on(client: TestClient, subscription_id: int, csrf: str) -> list[tuple[str, int, str]]:
    """Every page and form of one subscription, with a valid CSRF token from a page this browser may see; the
    answers (path, status, where a redirect leads)."""
    base = f'/manage/subscriptions/{subscription_id}'
    answers = []
    for path in (base, f'{base}/change/frequency', f'{base}/change/radius', f'{base}/unsubscribe'):
        got = await client.get(path, allow_redirects=False)
        answers.append((path, got.status, got.headers.get('Location', '')))
    posts = {
        f'{base}/pause': {}, f'{base}/resume': {}, f'{base}/unsubscribe': {},
        f'{base}/change/frequency': {'frequency': 'weekly'}, f'{base}/change/radius': {'radius': '2000'},
        f'{base}/change/channels': {'channels': 'sms'}, f'{base}/change/quiet-hours': {'quiet': 'none'},
    }  # fmt: skip
    for path, data in posts.items():
        got = await client.post(path, data={**data, 'csrf_token': csrf}, allow_redirects=False)
        answers.append((path, got.status, got.headers.get('Location', '')))
    return answers


async def test_a_link_for_a_cannot_change_b_of_the_same_resident_or_of_anyone_else(
    client: TestClient, pg: asyncpg.Pool, ann: Resident
) -> None:
    a = await make_subscription(pg, ann, near='M32 0AH', radius_m=500, topics=['planning'])
    same_resident = await make_subscription(pg, ann, near='M32 0AH', radius_m=250, topics=['licensing'])
    bob = await make_resident(pg, email='bob@example.com')
    someone_else = await make_subscription(pg, bob, near='M32 0AH', radius_m=250, topics=['planning'])
    before = {b: await state(pg, b) for b in (same_resident, someone_else)}
    csrf = csrf_of(await opened(client, a))

    mine = await tries_everything_on(client, same_resident, csrf)
    theirs = await tries_everything_on(client, someone_else, csrf)
    assert all((status, location) == (303, '/manage') for _, status, location in mine), mine
    # the same answers for both: the link does not tell its holder which other subscriptions are the resident's
    assert [answer[1:] for answer in mine] == [answer[1:] for answer in theirs]
    assert {b: await state(pg, b) for b in before} == before
    assert (await client.get(f'/manage/subscriptions/{a}')).status == 200, 'A itself is still open'


async def test_a_link_shows_neither_the_list_nor_the_data_nor_stops_everything(
    client: TestClient, pg: asyncpg.Pool, ann: Resident
) -> None:
    a = await make_subscription(pg, ann, near='M32 0AH', radius_m=500, topics=['planning'])
    other = await make_subscription(pg, ann, kind='topic', topics=['bins'])
    csrf = csrf_of(await opened(client, a))
    for path in ('/manage/subscriptions', '/manage/your-data', '/manage/your-data/download',
                 '/manage/your-data/delete', '/manage/unsubscribe-all'):  # fmt: skip
        got = await client.get(path, allow_redirects=False)
        assert (got.status, got.headers.get('Location')) == (303, '/manage'), path
        assert 'ann@example.com' not in await got.text()
    for path in ('/manage/your-data/delete', '/manage/unsubscribe-all'):
        got = await client.post(path, data={'csrf_token': csrf}, allow_redirects=False)
        assert (got.status, got.headers.get('Location')) == (303, '/manage'), path
    assert await pg.fetchval('select count(*) from residents where id = $1', ann.id) == 1
    assert await pg.fetchval('select count(*) from subscriptions where status = $1', 'active') == 2
    assert (await state(pg, other))[0] == 'active'


async def test_a_link_adds_no_contact_point_and_lends_its_resident_to_no_sign_up(
    client: TestClient, pg: asyncpg.Pool, aiohttp_client: Any, services: Services
) -> None:
    only_email = await make_resident(pg, email='cat@example.com')
    a = await make_subscription(pg, only_email, kind='topic', topics=['planning'])
    page = await opened(client, a)
    # the channels question offers only the addresses the resident already has; a text channel is refused
    channels = f'/manage/subscriptions/{a}/change/channels'
    assert 'value="sms"' not in await (await client.get(channels)).text()
    refused = await client.post(channels, data={'channels': 'sms', 'csrf_token': csrf_of(page)})
    assert 'Select at least one way for us to tell you' in await refused.text()
    assert (await state(pg, a))[4] == ['email']

    # signing up in the browser that opened the link joins nothing to the link's resident
    browser = await make_browser(aiohttp_client, services, pg)
    assert (await browser.client.get(manage_path(JOURNEY_SECRET.encode(), a), allow_redirects=False)).status == 303
    answers = {'/near': {'postcode': 'm32 0ah'}, '/near/radius': {'radius': '500'},
               '/near/topics': {'topics': 'planning'}, '/near/frequency': {'frequency': 'immediate'}}  # fmt: skip
    for path, data in answers.items():
        assert not (await browser.submit(path, data)).errors()
    await choose_contact(browser, 'near', mobile='07700 900666')
    await browser.submit('/near/check', {})
    points = await pg.fetch('select channel, address from contact_points where resident_id = $1', only_email.id)
    assert [(p['channel'], p['address']) for p in points] == [('email', 'cat@example.com')]
    assert await pg.fetchval('select count(*) from subscriptions where resident_id = $1', only_email.id) == 1


@pytest.mark.parametrize(
    'token',
    [
        '1.AAAAAAAAAAAAAAAAAAAAAA',
        'nonsense',
        '1.',
        '.abc',
        '99999999999999999999.AAAA',
        '1.%F0%9F%92%A9',
        '1.a.b',
        '1' * 19 + '.AAAAAAAAAAAAAAAAAAAAAA',
        '-1.AAAAAAAAAAAAAAAAAAAAAA',
    ],
)
async def test_a_forged_or_garbled_manage_link_is_a_plain_404(
    client: TestClient, pg: asyncpg.Pool, ann: Resident, token: str
) -> None:
    await make_subscription(pg, ann, kind='topic', topics=['planning'])
    answer = await client.get(f'/manage/s/{token}', allow_redirects=False)
    nowhere = await client.get('/no-such-page')
    assert answer.status == 404
    assert text_of(await answer.text()) == text_of(await nowhere.text()), 'nothing but "page not found"'
    assert 'tellme_session' not in answer.cookies


async def test_a_token_made_for_unsubscribing_or_an_event_does_not_open_manage(
    client: TestClient, pg: asyncpg.Pool, ann: Resident
) -> None:
    a = await make_subscription(pg, ann, kind='topic', topics=['planning'])
    unsubscribe = links.unsubscribe_url('', KEY, a).rsplit('/', 1)[1]
    event = links.event_path(a, private=True, secret=KEY).rsplit('/', 1)[1]
    for token in (unsubscribe, event):
        assert (await client.get(f'/manage/s/{token}', allow_redirects=False)).status == 404
    assert (await client.get(f'/manage/subscriptions/{a}', allow_redirects=False)).headers['Location'] == '/manage'


async def test_a_session_id_planted_before_the_link_is_opened_gets_nothing(
    client: TestClient, pg: asyncpg.Pool, ann: Resident
) -> None:
    a = await make_subscription(pg, ann, kind='topic', topics=['planning'])
    await post_form(client, '/near', {'postcode': 'not a postcode'})  # any page that stores something
    planted = client.session.cookie_jar.filter_cookies(client.make_url('/'))['tellme_session'].value
    await opened(client, a)
    now = client.session.cookie_jar.filter_cookies(client.make_url('/'))['tellme_session'].value
    assert now != planted, 'opening the link gave this browser a new session id'
    client.session.cookie_jar.clear()  # the planter's browser: the id it planted, and nothing the link gave
    client.session.cookie_jar.update_cookies({'tellme_session': planted})
    stale = await client.get(f'/manage/subscriptions/{a}', allow_redirects=False)
    assert (stale.status, stale.headers['Location']) == (303, '/manage')


async def test_every_form_the_link_opens_needs_its_csrf_token(
    client: TestClient, pg: asyncpg.Pool, ann: Resident
) -> None:
    a = await make_subscription(pg, ann, kind='topic', topics=['planning'])
    await opened(client, a)
    before = await state(pg, a)
    for path, data in ((f'/manage/subscriptions/{a}/pause', {}), (f'/manage/subscriptions/{a}/unsubscribe', {}),
                       (f'/manage/subscriptions/{a}/change/frequency', {'frequency': 'weekly'})):  # fmt: skip
        assert (await client.post(path, data=data, allow_redirects=False)).status == 403
        assert (await client.post(path, data={**data, 'csrf_token': 'forged'}, allow_redirects=False)).status == 403
    assert await state(pg, a) == before


async def test_the_link_is_revoked_when_the_subscription_ends(
    client: TestClient, pg: asyncpg.Pool, ann: Resident
) -> None:
    a = await make_subscription(pg, ann, kind='topic', topics=['planning'])
    page = await opened(client, a)
    ended = await client.post(f'/manage/subscriptions/{a}/unsubscribe', data={'csrf_token': csrf_of(page)},
                              allow_redirects=False)  # fmt: skip
    assert ended.status == 303 and (await state(pg, a))[0] == 'ended'
    again = await client.get(manage_path(KEY, a), allow_redirects=False)
    assert again.status == 410 and 'Location' not in again.headers
    assert 'These updates have stopped' in await again.text()
    resumed = await client.post(f'/manage/subscriptions/{a}/resume', data={'csrf_token': csrf_of(page)},
                                allow_redirects=False)  # fmt: skip
    assert resumed.status in (303, 404) and (await state(pg, a))[0] == 'ended'
    changed = await client.post(
        f'/manage/subscriptions/{a}/change/frequency', data={'frequency': 'weekly', 'csrf_token': csrf_of(page)}
    )
    assert changed.status == 404 and (await state(pg, a))[1] == 'immediate'


async def test_the_link_signs_nobody_in(client: TestClient, pg: asyncpg.Pool, ann: Resident) -> None:
    a = await make_subscription(pg, ann, kind='topic', topics=['planning'])
    await opened(client, a)
    assert await pg.fetchval('select count(*) from web_sessions where resident_id is not null') == 0
    sign_in = await (await client.get('/manage')).text()
    assert 'Enter your email address or mobile number' in sign_in, 'seeing everything still needs a sign-in'
