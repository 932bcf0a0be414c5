"""What the logs hold after a whole resident journey (issue 13): a resident signs up on the web pages with an email
and a mobile, confirms by the link, is sent a planning application by email and text through the Notify simulator,
whose receipts come back; signs in to manage by the link we send, and unsubscribes with the mail client's one-click.

Everything logged meanwhile — the app's, the worker's, arq's, aiohttp's, asyncpg's, the simulator's — is captured
as `tellme web` and `tellme worker` write it (the real handler, formatter and safety net; the root logger at DEBUG;
the app served with `access_log=None`, as `tellme web` serves it). Then: every line is a JSON object; every answer
the resident had carries an X-Request-Id that its access line and the lines written while handling it carry; and
neither the resident's email address, nor their mobile number in any form, nor any token of the links we sent them
is anywhere in the log, nor did the safety net have to take one out."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from yarl import URL

from notifier.settings import Settings
from notifier.shell.app import create_app
from tests.support.api import bearer, new_token
from tests.support.app import PUBLIC
from tests.support.factories import load_sample_postcodes, place
from tests.support.journey import Browser, choose_contact
from tests.support.logs import Captured, captured_logs
from tests.support.notify import RunningSim, link_in, receipts_to
from tests.support.waiting import wait_until
from tests.support.worker import worker_in_a_task

EMAIL = 'Jo.Resident+tellme@example.com'
MOBILE = '07700 900123'
MOBILE_FORMS = ('07700 900123', '07700900123', '+447700900123', '447700900123', '+44 7700 900123', '7700900123',
                '7700 900123')  # fmt: skip
HOME = 'M32 0AH'
# the secret part of each link a message carries
SECRET = re.compile(r'/(?:confirm|unsubscribe|manage/s|manage/sign-in|d)/([^/?#\s]+)|/e/\d+\.([^/?#\s]+)')


class Recorded:
    """The test client, keeping every answer (and each redirect on the way) to check its X-Request-Id."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.answers: list[ClientResponse] = []

    async def get(self, path: str, **options: Any) -> ClientResponse:
        return self._kept(await self.client.get(path, **options))

    async def post(self, path: str, **options: Any) -> ClientResponse:
        return self._kept(await self.client.post(path, **options))

    def _kept(self, answer: ClientResponse) -> ClientResponse:
        self.answers += [*answer.history, answer]
        return answer


def path_of(link: str) -> str:
    return URL(link).path_qs


async def message_to(sim: RunningSim, part: str, *, kind: str = 'email') -> Any:
    """The latest message of `kind` the simulator was sent with a link containing `part`, once there is one."""
    found: list[Any] = []

    async def arrived() -> bool:
        found[:] = [n for n in sim.sim.store.all() if n.type == kind and part in n.body]
        return bool(found)

    await wait_until(arrived)
    return found[-1]


async def all_final(pg: asyncpg.Pool, count: int) -> Callable[[], Any]:
    async def final() -> bool:
        rows = await pg.fetch('select status from notifications')
        return len(rows) >= count and all(row['status'] in ('delivered', 'cancelled') for row in rows)

    return final


async def near_me(browser: Browser, *, email: str | None = None, mobile: str | None = None) -> str:
    """Things near me, planning applications within 500 m, at once; the page the sign-up ends on."""
    page = await browser.submit('/near', {'postcode': HOME.lower()})
    assert page.path == '/near/radius', page.errors()
    await browser.submit('/near/radius', {'radius': '500'})
    await browser.submit('/near/topics', [('topics', 'planning')])
    page = await browser.submit('/near/frequency', {'frequency': 'immediate'})
    assert page.path == '/near/channel', page.errors()
    await choose_contact(browser, 'near', email=email, mobile=mobile, quiet='none')
    return (await browser.submit('/near/check', {})).path


async def journey(browser: Browser, web: Recorded, pg: asyncpg.Pool, sim: RunningSim) -> str:
    """The resident's journey, end to end; the request id of the API call that published the news."""
    # signing up with an email and a mobile: the link in the email confirms it (and proves the email)
    assert await near_me(browser, email=EMAIL, mobile=MOBILE) == '/signup/sent'
    confirm = path_of(link_in((await message_to(sim, '/confirm/')).body, '/confirm/'))
    assert (await web.get(confirm)).status == 200
    assert (await web.post(confirm)).status == 200
    assert await pg.fetchval('select status from subscriptions') == 'active'

    # signing in to manage with the link we email; signed in, the mobile is proved with the code we text
    asked = await browser.submit('/manage', {'address': EMAIL})
    assert asked.status == 200, asked.text
    sign_in = path_of(link_in((await message_to(sim, '/manage/sign-in/')).body, '/manage/sign-in/'))
    signed_in = await browser.submit(sign_in, {}, via=sign_in)
    assert signed_in.status == 200 and signed_in.path.startswith('/manage/subscriptions'), signed_in.path
    assert await near_me(browser, mobile=MOBILE) == '/confirm/code'
    [code] = re.findall(r'\b\d{6}\b', (await message_to(sim, '', kind='sms')).body)
    assert (await browser.submit('/confirm/code', {'code': code})).path == '/signup/confirmed'

    # a planning application nearby: one email and one text, delivered, their receipts back
    here = place(HOME)
    event = {
        'source': 'trafford-planning', 'external_key': '113447/HHA/26', 'kind': 'planning.new', 'topic': 'planning',
        'title': 'Two-storey side extension', 'summary': 'Erection of a two-storey side extension.',
        'lat': here.lat, 'lng': here.lng, 'area_codes': [here.ward_code, here.district_code],
        'url': 'https://publicaccess.trafford.gov.uk/online-applications/113447',
        'occurred_at': datetime.now(UTC).isoformat(),
    }  # fmt: skip
    published = await web.post('/api/events', json=event, headers=bearer(await new_token(pg, name='planning')))
    assert published.status == 201, await published.text()
    news = await message_to(sim, '/unsubscribe/')
    assert news.to == EMAIL.lower() and 'Two-storey side extension' in news.body
    text = await message_to(sim, 'Two-storey side extension', kind='sms')
    assert text.to == '+447700900123'
    await wait_until(await all_final(pg, 5))  # confirmation, sign-in link, code, the news twice: all delivered

    # the event's page and the manage link, then the mail client's one-click unsubscribe
    assert (await web.get(path_of(link_in(news.body, '/e/')))).status == 200
    assert (await web.get(path_of(link_in(news.body, '/manage/s/')))).status == 200
    unsubscribe = news.one_click_unsubscribe_url
    assert unsubscribe and '/unsubscribe/' in unsubscribe
    assert (await web.get(path_of(unsubscribe))).status == 200
    one_click = await web.post(path_of(unsubscribe), data={'List-Unsubscribe': 'One-Click'})
    assert one_click.status == 200
    assert await pg.fetchval("select count(*) from subscriptions where status = 'ended'") == 1
    return published.headers['X-Request-Id']


async def test_a_whole_journey_leaves_json_lines_with_request_ids_and_nothing_personal(
    delivery_settings: Settings, sim: RunningSim, pg: asyncpg.Pool, redis: Any, aiohttp_client: Any
) -> None:
    await load_sample_postcodes(pg)
    with captured_logs() as captured:
        server = TestServer(create_app(delivery_settings.model_copy(update={'public_url': PUBLIC})))
        await server.start_server(access_log=None)  # as `tellme web` serves it: our access log, not aiohttp's
        client = await aiohttp_client(server)
        receipts_to(client, sim)
        web = Recorded(client)
        async with worker_in_a_task(delivery_settings):
            api_request = await journey(Browser(web), web, pg, sim)
        await client.close()

    lines = captured.lines()  # each line parses as JSON
    assert lines and all({'time', 'level', 'logger', 'message'} <= set(line) for line in lines)
    assert all(datetime.fromisoformat(line['time']).utcoffset().total_seconds() == 0 for line in lines)  # type: ignore[union-attr]
    _answers_and_their_request_ids(captured, web.answers, api_request)
    _jobs_and_messages_named(captured)
    _nothing_personal(captured, sim)


def _answers_and_their_request_ids(captured: Captured, answers: list[ClientResponse], api_request: str) -> None:
    access = captured.of('notifier.access')
    assert access and all(re.fullmatch(r'[0-9a-f]{32}', line['request_id']) for line in access)
    by_id = {line['request_id']: line for line in access}
    assert len(by_id) == len(access), 'one access line per request'
    assert len(answers) > 20
    for answer in answers:
        line = by_id[answer.headers['X-Request-Id']]
        assert line['status'] == answer.status and line['method'] == answer.method
        assert line['route'].startswith('/') and '?' not in line['route']
    routes = {line['route'] for line in access}
    for template in ('/confirm/{token}', '/unsubscribe/{token}', '/manage/s/{token}', '/manage/sign-in/{token}',
                     '/e/{ref}', '/notify/callbacks/status', '/{journey}/check', '/api/events'):  # fmt: skip
        assert template in routes, sorted(routes)
    # lines written while a request is handled carry its id: the event the API recorded, each receipt applied
    [recorded] = [line for line in captured.of('notifier.ingest') if line.get('request_id') == api_request]
    assert recorded['event_id'] and recorded['source'] == 'trafford-planning'
    receipts = captured.of('notifier.receipts.callbacks')
    assert len(receipts) >= 5 and all(line['request_id'] in by_id and line['notification_id'] for line in receipts)


def _names_its_job(line: dict[str, Any]) -> bool:
    """arq's "→" line names a queued job by its id (deliver:<id>:deliver_notification(…)) but a cron run by its
    function alone (cron:sweep(…)), while the run's id has the time too (cron:sweep:1764…)."""
    job = line['job'] or ''
    return bool(job) and (
        job in line['message'] or job.startswith('cron:') and f'{job.rsplit(":", 1)[0]}(' in line['message']
    )


def _jobs_and_messages_named(captured: Captured) -> None:
    jobs = [line for line in captured.of('arq.worker') if '→' in line['message']]
    assert jobs and all(_names_its_job(line) for line in jobs)
    sends = captured.of('notifier.sending.delivery')
    assert len(sends) >= 5 and all(line['notification_id'] for line in sends)
    assert not any('request_id' in line for line in sends), "a request's id stays with its request"


def _nothing_personal(captured: Captured, sim: RunningSim) -> None:
    everything = captured.text
    folded = everything.lower()
    assert EMAIL.lower() not in folded and EMAIL.split('@')[0].lower() not in folded
    for form in MOBILE_FORMS:
        assert form not in everything, form
    tokens = set()
    for message in sim.sim.store.all():
        for link in [*re.findall(r'https?://\S+', message.body), message.one_click_unsubscribe_url or '']:
            for whole, event_part in SECRET.findall(link):
                tokens |= {part for part in (whole, event_part, *whole.split('.')[1:]) if len(part) >= 8}
    assert len(tokens) >= 4, tokens  # confirm, unsubscribe, manage, sign-in
    for token in tokens:
        assert token not in everything, 'a token from a link we sent is in the log'
    codes = {code for n in sim.sim.store.all() if n.type == 'sms' for code in re.findall(r'\b\d{6}\b', n.body)}
    assert codes and not any(re.search(rf'(?<!\d){code}(?!\d)', everything) for code in codes)
    for mark in ('[email]', '[phone]', '[token]'):
        assert mark not in everything, f'the safety net had to take out {mark}: something logs personal data'
