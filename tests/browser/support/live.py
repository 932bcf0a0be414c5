"""The whole service for the browser, over HTTPS on a free port (a throwaway certificate: support/tls.py): the
web app, an arq worker with its sender (no cron: a test runs the sweep it needs), and the Notify simulator with
Tell Me's real templates, whose outbox a test reads (`messages()`, `wait_for_messages()`).

Everything runs in one background thread with its own event loop, so the tests drive Chromium with Playwright's
synchronous API while the server answers; `LiveServer.run(coro)` runs a coroutine in that loop (database set-up and
checks). The database and Redis are the suite's embedded ones (tests/conftest.py `services`), emptied per test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

import asyncpg
from aiohttp import web
from redis.asyncio import Redis

from notifier import db
from notifier.outbox.queue import WAKE_CHANNEL
from notifier.settings import Settings
from notifier.shell.app import create_app
from tests.browser.support import tls
from tests.conftest import TRUNCATE_ALL, Services
from tests.support.api import bearer, new_token
from tests.support.app import settings_for
from tests.support.factories import load_sample_postcodes
from tests.support.notify import CALLBACK_TOKEN, DELIVERY_SETTINGS, RunningSim, start_sim
from tests.support.worker import worker_in_a_task

T = TypeVar('T')
# due now: a message whose time has not come (quiet hours, a reminder's day, a demo started at a later fixed instant
# than the clock the suite runs at) is not being sent, so nothing waits for it
WAITING = (
    "select count(*) from notifications where status in ('sending', 'unknown') "
    "or (status in ('pending', 'retry') and not_before <= now())"
)
NOT_DELIVERED = """
select count(*) from notifications n join contact_points c on c.id = n.contact_point_id
where c.address = $1 and n.status <> 'delivered'
"""
LINK = re.compile(r'https?://[^\s)>\]]+')
COUNCIL = 'Testshire County Council'


class EventLoopThread:
    """An event loop running in a daemon thread until `stop()`."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name='browser-live-server', daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self.loop.close()


@dataclass(frozen=True)
class Message:
    """A message as the simulator received it: rendered body, recipient, Notify's one-click unsubscribe URL."""

    id: str
    type: str  # email | sms
    recipient: str
    subject: str | None
    body: str
    personalisation: dict[str, Any]
    one_click_unsubscribe_url: str | None

    def links(self, containing: str = '') -> list[str]:
        """The links in the body, in order, that contain `containing`."""
        return [link for link in LINK.findall(self.body) if containing in link]

    def link(self, containing: str) -> str:
        found = self.links(containing)
        assert found, f'no link containing {containing!r} in the {self.type} to {self.recipient}:\n{self.body}'
        return found[0]


class LiveServer:
    """One test's running service. Use `url(path)`, `messages()`, `wait_for_messages()`, `run()`, `fetch()`."""

    def __init__(self, loop: EventLoopThread, services: Services, **overrides: Any) -> None:
        self._loop, self.services, self.overrides = loop, services, overrides
        self._stack = contextlib.AsyncExitStack()
        self.base_url = ''
        self._token = ''
        self.settings: Settings
        self.sim: RunningSim
        self.pg: asyncpg.Pool

    def url(self, path: str = '/', **query: str) -> str:
        return self.base_url + path + (f'?{urlencode(query)}' if query else '')

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return self._loop.run(coro, timeout)

    def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        """Rows of a (parameterised) query on the service's database."""
        return self.run(self.pg.fetch(query, *args))

    def fetchval(self, query: str, *args: Any) -> Any:
        return self.run(self.pg.fetchval(query, *args))

    # --- the simulator's outbox ------------------------------------------------------------------------------------

    def messages(self, to: str = '') -> list[Message]:
        """Every message the simulator was sent (to `to`, if given), oldest first."""
        stored = reversed(self.sim.sim.store.all())  # the store is thread-safe
        return [
            Message(n.id, n.type, n.to, n.subject, n.body, dict(n.personalisation), n.one_click_unsubscribe_url)
            for n in stored
            if not to or n.to == to
        ]

    def wait_for_messages(
        self, count: int, *, timeout: float = 20, where: Callable[[Message], bool] = lambda m: True
    ) -> list[Message]:
        """Wait until at least `count` messages matching `where` have reached the simulator; oldest first."""
        deadline = time.monotonic() + timeout
        while True:
            found = [message for message in self.messages() if where(message)]
            if len(found) >= count or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert len(found) >= count, f'expected {count} message(s) at the simulator, found {len(found)}: {found}'
        return found

    def wait_for_delivered(self, address: str, timeout: float = 20) -> None:
        """Wait until every message sent to `address` is marked delivered by Notify's receipt (the callback)."""
        deadline = time.monotonic() + timeout
        while self.fetchval(NOT_DELIVERED, address) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not self.fetchval(NOT_DELIVERED, address), f'messages to {address} not marked delivered'

    def wake_senders(self) -> None:
        """Tell the senders there is something to send now, as the app does after queueing a message."""

        async def publish() -> None:
            redis = Redis.from_url(self.services.redis_url)
            try:
                await redis.publish(WAKE_CHANNEL, b'1')
            finally:
                await redis.aclose()

        self.run(publish())

    def wait_until_idle(self, timeout: float = 20) -> None:
        """Wait until the outbox holds nothing waiting to be sent now (held digest items aside)."""
        deadline = time.monotonic() + timeout
        while self.fetchval(WAITING) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not self.fetchval(WAITING), 'the outbox did not drain'

    # --- a council system publishing an event ------------------------------------------------------------------

    def publish(self, event: dict[str, Any]) -> dict[str, Any]:
        """POST /api/events as a council system would; returns the API's answer (event_id, matched, ...)."""
        return self.post_json('/api/events', event)

    def post_json(self, path: str, body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
        """POST to our API as a council system would: with `token`, else a system token (made once per test)."""
        if token is None:
            if not self._token:
                self._token = self.run(new_token(self.pg, name='council systems'))
            token = self._token
        request = urllib.request.Request(
            self.url(path),
            data=json.dumps(body).encode(),
            method='POST',
            headers={'Content-Type': 'application/json', **bearer(token)},
        )
        with self.open(request) as response:
            assert response.status in (200, 201), response.status
            return json.loads(response.read())

    def open(self, request: urllib.request.Request | str) -> Any:
        """urllib's urlopen for this server's HTTPS (trusting its test certificate)."""
        return urllib.request.urlopen(request, timeout=10, context=tls.client_context())

    # --- lifecycle ----------------------------------------------------------------------------------------------

    def start(self) -> LiveServer:
        try:
            self.run(self._start())
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self.run(self._stack.aclose())

    async def _start(self) -> None:
        stack = self._stack
        self.pg = await asyncpg.create_pool(
            self.services.database_url, min_size=1, max_size=4, init=db._init_connection
        )
        stack.push_async_callback(self.pg.close)
        await _empty(self.pg, self.services.redis_url)
        stack.push_async_callback(_empty, self.pg, self.services.redis_url)
        await load_sample_postcodes(self.pg)
        self.sim = await stack.enter_async_context(start_sim(rate_limit_per_minute=1_000_000, status_delay=0.05))
        sock, internal = _bound(), _bound()
        self.base_url = f'https://127.0.0.1:{sock.getsockname()[1]}'  # HTTPS, as in production
        here = {'public_url': self.base_url, 'council_name': COUNCIL, 'council_url': 'https://www.testshire.gov.uk'}
        self.settings = settings_for(self.services, self.sim, **(DELIVERY_SETTINGS | here | self.overrides))
        assert all(link.ok for link in await self.sim.link(self.pg))  # the council's go-live step
        runner = web.AppRunner(create_app(self.settings), access_log=None)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        await web.SockSite(runner, sock, ssl_context=tls.server_context()).start()
        # Notify's delivery receipts come in over plain HTTP on a second port (the simulator does not know our
        # certificate), as they would through a load balancer
        await web.SockSite(runner, internal).start()
        self.sim.sim.callback_url = f'http://127.0.0.1:{internal.getsockname()[1]}/notify/callbacks/status'
        self.sim.sim.callbacks.token = CALLBACK_TOKEN
        # the sender and its jobs; no cron (a test runs the sweeps it needs, so nothing runs at a random second)
        await stack.enter_async_context(worker_in_a_task(self.settings, cron_jobs=[]))


def _bound() -> socket.socket:
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    return sock


async def _empty(pg: asyncpg.Pool, redis_url: str) -> None:
    await pg.execute(TRUNCATE_ALL)
    redis = Redis.from_url(redis_url)
    try:
        await redis.flushdb()
    finally:
        await redis.aclose()
