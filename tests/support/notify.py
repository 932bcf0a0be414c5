"""The Notify simulator as the tests use it, and the outbox rows they send through it (this module holds no tests).

Two ways to run the simulator:

* `start_sim` (async): the aiohttp server in the test's own event loop, wrapped in a `RunningSim` with an HTTP
  session, our `NotifyClient`, fault injection and a look-up of what it was sent. conftest.py turns it into the
  `notify`, `app_notify` and `sim` fixtures.
* `make_sim` / `running_sim` (threaded): a `SimulatorThread` with live, team, test and revoked keys, for the
  simulator's own tests (tests/notifier/notify_sim/), which drive it with the official synchronous client.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from notifications_python_client import NotificationsAPIClient
from notifications_python_client.errors import HTTPError
from redis.asyncio import Redis

from notifier.notify_sim import Simulator, SimulatorThread, generate_api_key, load_templates
from notifier.notify_sim.rules.keys import DEFAULT_TEMPLATES_PATH, build_services, build_templates
from notifier.notify_sim.server import serve
from notifier.sending import template_links
from notifier.sending.delivery import Sender
from notifier.sending.notify_client import NotifyClient
from notifier.sending.rate_limit import SendLimiter
from notifier.settings import Settings
from templates.notify_templates import NOTIFY_TEMPLATES
from templates.registry import REGISTRY

if TYPE_CHECKING:  # conftest imports this module
    pass

EMAIL_TEMPLATE = '7f0b7c3e-5c8d-4b59-9a8e-0d1e3f4a5b60'
EMAIL_PERSONALISATION = {'title': 'Extension at 4 High St', 'url': 'https://x.example', 'unsubscribe_url': 'u'}
SMS_TEMPLATE = '9a3e5b7c-1d2f-4e6a-8b0c-3d4e5f6a7b89'
SMS_PERSONALISATION = {'title': 'Extension', 'url': 'https://x.example'}
# an outbox row's wording (templates/wording.json) and values: a confirmation, as Tell Me queues them
NOTICE_WORDING = {channel: REGISTRY[('confirmation', channel, 'en')].template_id for channel in ('email', 'sms')}
NOTICE_VALUES = {'subscription': 'planning applications near SW1A 1AA', 'confirm_url': 'https://example.gov.uk/c/1'}
# for the simulator's own EMAIL_TEMPLATE, sent straight through a client
PERSONALISATION = {'title': 'Two-storey rear extension', 'url': 'https://example.gov.uk/e/1', 'unsubscribe_url': 'x'}
LETTER_TEMPLATE = '5b1c0d2e-3f4a-4b5c-8d6e-7f8091a2b3c4'
ADDRESS = {'address_line_1': 'A Resident', 'address_line_2': '4 High Street', 'address_line_3': 'SW1A 1AA'}


class FakeClock:
    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Keys:
    live: str
    team: str
    test: str
    other_live: str  # a second live key of the same service
    revoked: str
    service_id: str


def make_keys() -> Keys:
    live = generate_api_key('live')
    sid = live[-73:-37]
    return Keys(
        live=live,
        team=generate_api_key('team', sid),
        test=generate_api_key('test', sid),
        other_live=generate_api_key('live-2', sid),
        revoked=generate_api_key('old', sid),
        service_id=sid,
    )


def make_sim(keys: Keys, **options: Any) -> Simulator:
    services = build_services(
        [
            {'api_key': keys.live, 'type': 'live', 'service_name': 'Tell Me Test'},
            {'api_key': keys.team, 'type': 'team', 'guest_list': ['friend@example.gov.uk', '07700 900456']},
            {'api_key': keys.test, 'type': 'test'},
            {'api_key': keys.other_live, 'type': 'live'},
            {'api_key': keys.revoked, 'type': 'live', 'revoked': True},
        ]
    )
    templates = load_templates(DEFAULT_TEMPLATES_PATH)
    templates.update(
        build_templates(
            [
                {
                    'id': LETTER_TEMPLATE,
                    'type': 'letter',
                    'name': 'Letter',
                    'subject': 'Hello ((name))',
                    'body': 'Dear ((name)), <b>hi</b>',
                },
                {
                    'id': '6c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5',
                    'type': 'email',
                    'name': 'Old',
                    'subject': 's',
                    'body': 'b',
                    'archived': True,
                },
                {
                    'id': '8e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7',
                    'type': 'email',
                    'name': 'Blank',
                    'subject': 's',
                    'body': '((maybe))',
                },
            ]
        )  # fmt: skip
    )
    options.setdefault('status_delay', 0.05)
    return Simulator(services, templates, **options)


def running_sim(keys: Keys, **options: Any) -> Iterator[SimulatorThread]:
    with SimulatorThread(make_sim(keys, **options)) as thread:
        yield thread


def client(thread: SimulatorThread, key: str, timeout: float = 30) -> NotificationsAPIClient:
    return NotificationsAPIClient(key, base_url=thread.url, timeout=timeout)


def error_of(call: Any, *args: Any, **kwargs: Any) -> tuple[int, str, str]:
    """Run a client call that must fail; return (status, error class, first message)."""
    with pytest.raises(HTTPError) as info:
        call(*args, **kwargs)
    errors = info.value.message
    assert isinstance(errors, list), errors
    return info.value.status_code, errors[0]['error'], errors[0]['message']


def admin(thread: SimulatorThread, method: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(thread.url + path, data=data, method=method)
    request.add_header('Content-Type', 'application/json')
    with urllib.request.urlopen(request, timeout=10) as response:
        raw = response.read()
    return json.loads(raw) if raw.startswith((b'{', b'[')) else raw.decode()


def wait_for(predicate: Any, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError('condition not met in time')


class Receiver:
    """A real aiohttp server in its own thread that records callbacks and fails the first `fail_first` with 500s."""

    def __init__(self, fail_first: int = 0, fail_status: int = 500) -> None:
        self.fail_first = fail_first
        self.fail_status = fail_status
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.url = ''
        self._lock = threading.Lock()

    def __enter__(self) -> Receiver:
        import asyncio

        from aiohttp import web

        async def handle(request: web.Request) -> web.Response:
            body = await request.json()
            with self._lock:
                self.requests.append((dict(request.headers), body))
                count = len(self.requests)
            return web.Response(status=self.fail_status if count <= self.fail_first else 204)

        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application()
            app.router.add_post('/{tail:.*}', handle)
            runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, '127.0.0.1', 0)
            loop.run_until_complete(site.start())
            self.url = f'http://127.0.0.1:{runner.addresses[0][1]}/callback'
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def bodies(self) -> list[dict[str, Any]]:
        with self._lock:
            return [body for _, body in self.requests]


# --- the simulator in the test's event loop ------------------------------------------------------------------

CALLBACK_TOKEN = 'callback-token-' + 'c' * 32
# what the delivery tests' app runs with, on top of settings_for's (tests/support/app.py)
DELIVERY_SETTINGS: dict[str, Any] = {
    'notify_callback_token': CALLBACK_TOKEN,
    'secret_key': 'delivery-tests-secret-' + 's' * 32,
    'public_url': 'https://tellme.example.gov.uk',
    'notify_rate_limit': 60_000,
}


@dataclass
class RunningSim:
    sim: Simulator
    url: str
    key: str  # a live key
    revoked_key: str  # a revoked live key of the same service
    http: aiohttp.ClientSession

    def client(self, key: str | None = None, timeout: float = 5.0) -> NotifyClient:
        return NotifyClient(self.http, key or self.key, self.url, timeout=timeout)

    async def fault(self, body: dict[str, Any], *, rule: bool = False) -> None:
        path = '/_sim/faults' if rule else '/_sim/faults/next'
        async with self.http.post(self.url + path, json=body) as response:
            assert response.status == 201, await response.text()

    async def link(self, pg: asyncpg.Pool, **settings: Any) -> list[template_links.Link]:
        """`tellme notify link` against this simulator, storing the links in `pg` (the council's go-live step)."""
        chosen = Settings(notify_api_key=self.key, notify_base_url=self.url, **settings)
        return await template_links.link(pg, self.client(), chosen)

    def council_template(self, channel: str) -> Any:
        """The template the council created for `channel` (as Notify holds it)."""
        name = next(t.name for t in NOTIFY_TEMPLATES if t.channel == channel)
        return next(t for t in self.sim.templates.values() if t.name == name)

    def sent(self, reference: uuid.UUID | str) -> list[Any]:
        return [n for n in self.sim.store.all() if n.reference == str(reference)]

    def references(self) -> list[str]:
        return [str(n.reference) for n in self.sim.store.all()]


URL = re.compile(r'https?://[^\s<>()]+')


def link_in(text: str, part: str) -> str:
    """The first address in a message (as the resident reads it) that contains `part`, e.g. '/e/' or '/confirm'."""
    found = [url for url in URL.findall(text) if part in url]
    assert found, f'no link with {part!r} in the message'
    return found[0]


def create_council_templates(simulator: Simulator) -> None:
    """What a council does in Notify's admin before going live: create the templates `tellme notify templates
    --json` prints. Notify (the simulator) makes up their ids."""
    for template in NOTIFY_TEMPLATES:
        simulator.create_template(**template.as_json())


@contextlib.asynccontextmanager
async def start_sim(
    templates: Sequence[Path] = (DEFAULT_TEMPLATES_PATH,),
    *,
    council: bool = True,
    key_type: str = 'live',
    guest_list: Sequence[str] = (),
    trial_mode: bool = False,
    **options: Any,
) -> AsyncIterator[RunningSim]:
    """Serve a simulator with one service (a `key_type` key and a revoked one), the templates of `templates` and,
    with `council`, Tell Me's generic templates created as a council creates them (not yet linked: see
    RunningSim.link). A team key or `trial_mode` sends only to the `guest_list` (team members and guests)."""
    service_id = str(uuid.uuid4())
    live = generate_api_key(key_type, service_id)
    revoked = generate_api_key('old', service_id)
    services = build_services(
        [{'api_key': live, 'type': key_type, 'guest_list': list(guest_list), 'trial_mode': trial_mode},
         {'api_key': revoked, 'type': 'live', 'revoked': True}]
    )  # fmt: skip
    loaded: dict[str, Any] = {}
    for path in templates:
        loaded |= load_templates(path)
    simulator = Simulator(services, loaded, **options)
    if council:
        create_council_templates(simulator)
    runner, url = await serve(simulator)
    try:
        async with aiohttp.ClientSession() as http:
            yield RunningSim(simulator, url, live, revoked, http)
    finally:
        await runner.cleanup()


def receipts_to(client: TestClient, sim: RunningSim) -> None:
    """The simulator sends its delivery receipts to this app (a pytest-aiohttp client), quickly."""
    sim.sim.callback_url = str(client.make_url('/notify/callbacks/status'))
    sim.sim.callbacks.token = CALLBACK_TOKEN
    sim.sim.status_delay = 0.05


def sender_for(
    pg: asyncpg.Pool, redis: Redis, notify: NotifyClient, settings: Settings, per_second: float = 100
) -> Sender:
    """Our Sender through `notify` (a RunningSim's client), with a send limiter of `per_second` on Redis."""
    return Sender(pg, notify, SendLimiter(redis, notify.service_id, per_second=per_second), settings)


# --- outbox rows ---------------------------------------------------------------------------------------------


async def make_contact(pg: asyncpg.Pool, channel: str = 'email', address: str | None = None) -> int:
    resident = await pg.fetchval('insert into residents default values returning id')
    address = address or (f'r{uuid.uuid4().hex[:10]}@example.com' if channel == 'email' else '447700900123')
    return int(
        await pg.fetchval(
            'insert into contact_points (resident_id, channel, address, verified_at) values ($1, $2, $3, now()) '
            'returning id',
            resident,
            channel,
            address,
        )
    )


async def resident_of(pg: asyncpg.Pool, contact_id: int) -> int:
    return int(await pg.fetchval('select resident_id from contact_points where id = $1', contact_id))


async def make_notification(pg: asyncpg.Pool, contact_id: int | None = None, *, channel: str = 'email') -> uuid.UUID:
    """A confirmation notice queued for `contact_id` (a new email or text contact point by default)."""
    contact_id = contact_id or await make_contact(pg, channel)
    return await pg.fetchval(
        'insert into notifications (contact_point_id, channel, purpose, template_id, personalisation) '
        "values ($1, $2, 'notice', $3, $4) returning id",
        contact_id,
        channel,
        uuid.UUID(NOTICE_WORDING[channel]),
        NOTICE_VALUES,
    )


LETTER_ADDRESS = ['A Resident', '4 High Street', 'Stretford', 'M32 0AH']


async def make_letter(pg: asyncpg.Pool) -> uuid.UUID:
    """A letter about a new event (built when sent, from Tell Me's own letter template) to a postal address."""
    from tests.support.factories import make_event, record  # factories reach into the domain: only when asked

    event = await record(pg, make_event())
    contact = await make_contact(pg, 'letter', json.dumps(LETTER_ADDRESS))
    return await pg.fetchval(
        "insert into notifications (event_id, contact_point_id, channel) values ($1, $2, 'letter') returning id",
        event.event_id,
        contact,
    )


async def set_status(sim: RunningSim, notify_id: uuid.UUID | str, status: str) -> None:
    """Notify moves one of its notifications to `status` (`POST /_sim/notifications/{id}/status`), firing the
    delivery-status callback for a final status of an email or a text, as Notify does."""
    async with sim.http.post(f'{sim.url}/_sim/notifications/{notify_id}/status', json={'status': status}) as answer:
        assert answer.status == 200, await answer.text()


def sends_of(sim: RunningSim, nid: uuid.UUID) -> list[str]:
    """The references of every notification the simulator holds for this row (each send: `<id>`, `<id>.2`, …)."""
    return sorted(str(n.reference) for n in sim.sim.store.all() if str(n.reference).split('.')[0] == str(nid))


async def many_notifications(pg: asyncpg.Pool, count: int, purpose: str = 'notice') -> None:
    """`count` email messages (`purpose` 'notice' or 'bulletin') to distinct contact points, in one statement."""
    await pg.execute(
        """
        with r as (insert into residents (language) select 'en' from generate_series(1, $1) returning id),
        c as (insert into contact_points (resident_id, channel, address)
              select id, 'email', 'r' || id || '@example.com' from r returning id)
        insert into notifications (contact_point_id, channel, purpose, template_id, personalisation)
        select id, 'email', $4, $2, $3 from c
        """,
        count,
        uuid.UUID(NOTICE_WORDING['email']),
        NOTICE_VALUES,
        purpose,
    )


async def row(pg: asyncpg.Pool, nid: uuid.UUID) -> asyncpg.Record:
    return await pg.fetchrow('select * from notifications where id = $1', nid)
