"""`tellme dev`: the whole service on one laptop, in one process.

Whatever is not configured is started here: PostgreSQL and Redis from `.tellme/`, and the Notify
simulator with a generated live key. Then migrations, the web app and a worker. Ctrl-C (or SIGTERM)
stops everything in reverse order, so no postgres or redis-server process is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web
from pydantic import SecretStr

from notifier import db
from notifier.notify_sim.rules import keys as sim_keys
from notifier.notify_sim.server import serve
from notifier.notify_sim.simulator import Simulator
from notifier.sending import template_links
from notifier.sending.errors import NotifyError
from notifier.sending.notify_client import NotifyClient
from notifier.settings import Settings
from notifier.shell import demo, embedded
from notifier.shell.app import create_app
from subscriptions.places import areas
from subscriptions.places.codepoint import open_codepoint
from subscriptions.places.postcode_import import SAMPLE, import_postcodes
from templates.notify_templates import NOTIFY_TEMPLATES
from workers.settings import make_worker

logger = logging.getLogger('notifier.shell.dev')

DEV_DATABASE = 'tellme'
DEMO_FIRST_AFTER = 5.0
DEMO_EVERY = 60.0
DEMO_CASE_EVERY = 180.0


class DevError(RuntimeError):
    """`tellme dev` cannot start; the message says what to do."""


@dataclass
class DevStack:
    """What `tellme dev` started, so it can be stopped in reverse order whatever happened."""

    data_dir: Path
    postgres: embedded.EmbeddedPostgres | None = None
    redis: embedded.EmbeddedRedis | None = None
    runners: list[web.AppRunner] = field(default_factory=list)
    urls: dict[str, str] = field(default_factory=dict)

    async def close(self) -> None:
        """Every step runs even when an earlier one fails: a leftover postgres is worse than a noisy log."""
        steps: list[Callable[[], Awaitable[object]]] = [runner.cleanup for runner in reversed(self.runners)]
        if self.redis is not None:
            steps.append(partial(asyncio.to_thread, self.redis.stop))
        if self.postgres is not None:
            steps.append(partial(asyncio.to_thread, self.postgres.stop))
        await run_all(steps)


async def run_all(steps: list[Callable[[], Awaitable[object]]]) -> None:
    for step in steps:
        try:
            await step()
        except Exception:  # noqa: BLE001 - log it and go on stopping the rest
            logger.exception('while stopping')


DEV_ENV = 'dev.env'
# what another `tellme` command in this checkout needs to reach the running dev service
CLI_SETTINGS = ('database_url', 'redis_url', 'secret_key', 'notify_api_key', 'notify_base_url', 'public_url')


def _leave_settings_for_the_cli(data_dir: Path, settings: Settings) -> Path:
    """`.tellme/dev.env`: the running service's URLs and keys, read by `tellme staff …`, `tellme sources …` and the
    rest when no TELLME_DATABASE_URL is set (notifier/shell/cli.py), removed when `tellme dev` stops."""
    lines = []
    for name in CLI_SETTINGS:
        value = getattr(settings, name)
        value = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        lines.append(f'TELLME_{name.upper()}={value}')
    path = data_dir / DEV_ENV
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text('\n'.join(lines) + '\n')
    return path


def _claim_data_dir(data_dir: Path) -> Path:
    """One `tellme dev` per data directory: two would share one PostgreSQL and fight over Redis's files."""
    data_dir.mkdir(parents=True, exist_ok=True)
    pid_file = data_dir / 'dev.pid'
    if pid_file.exists():
        text = pid_file.read_text().strip()
        if text.isdigit() and int(text) != os.getpid() and embedded.process_alive(int(text)):
            raise DevError(f'another tellme dev (pid {text}) is using {data_dir}; stop it first')
    pid_file.write_text(str(os.getpid()))
    return pid_file


def _simulator_key(data_dir: Path) -> tuple[str, dict[str, sim_keys.Service]]:
    """The simulator's live key, generated once and kept, so restarts keep the same service id."""
    path = data_dir / 'notify-sim-keys.json'
    if not path.exists():
        path.write_text(json.dumps([{'api_key': sim_keys.generate_api_key('tellme-dev'), 'type': 'live'}], indent=2))
        path.chmod(0o600)
    services = sim_keys.load_keys(path)
    live = next(key for service in services.values() for key in service.keys if key.key_type == 'live')
    return live.key, services


def _secret_key(data_dir: Path) -> SecretStr:
    """A secret for links, generated once and kept, so links in messages from earlier runs still work."""
    path = data_dir / 'secret_key'
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return SecretStr(path.read_text().strip())


async def _start_backends(stack: DevStack, settings: Settings) -> dict[str, Any]:
    updates: dict[str, Any] = {}
    if not settings.link_secrets:
        updates['secret_key'] = _secret_key(stack.data_dir)
    if not settings.database_url:
        stack.postgres = embedded.EmbeddedPostgres(stack.data_dir)
        server_url = await asyncio.to_thread(stack.postgres.start)
        await db.ensure_database(server_url, DEV_DATABASE)
        updates['database_url'] = db.with_database(server_url, DEV_DATABASE)
        stack.urls['PostgreSQL (embedded)'] = updates['database_url']
    if not settings.redis_url:
        stack.redis = embedded.EmbeddedRedis(stack.data_dir)
        updates['redis_url'] = await asyncio.to_thread(stack.redis.start)
        stack.urls['Redis (embedded)'] = updates['redis_url']
    if not settings.notify_api_key.get_secret_value():
        api_key, services = _simulator_key(stack.data_dir)
        # the simulator sends delivery receipts and text replies back to this service, as Notify would
        callback_token = secrets.token_urlsafe(24)
        service_url = f'http://{settings.host}:{settings.port}'
        simulator = Simulator(
            services,
            {},  # a new Notify service: no templates until the council creates them (below)
            rate_limit_per_minute=settings.notify_rate_limit,
            callback_url=service_url + '/notify/callbacks/status',
            inbound_callback_url=service_url + '/notify/callbacks/inbound-sms',
            callback_token=callback_token,
        )
        # what a council does in Notify's admin before going live: create the templates `tellme notify templates`
        # prints (Notify makes up their ids); run_dev then links them by name, as `tellme notify link` does
        for template in NOTIFY_TEMPLATES:
            simulator.create_template(**template.as_json())
        updates['notify_callback_token'] = SecretStr(callback_token)
        runner, url = await serve(simulator, settings.host, settings.notify_sim_port)
        stack.runners.append(runner)
        stack.urls['Notify simulator outbox'] = url + '/_sim/outbox'
        updates['notify_base_url'] = url
        updates['notify_api_key'] = SecretStr(api_key)
    return updates


async def _link_templates(settings: Settings) -> None:
    """`tellme notify link`: find the council's Notify templates by name and store their ids."""
    pool = await db.create_pool(settings, max_size=2)
    try:
        async with aiohttp.ClientSession() as http:
            key = settings.notify_api_key.get_secret_value()
            client = NotifyClient(http, key, settings.notify_base_url, timeout=settings.notify_timeout)
            links = await template_links.link(pool, client, settings)
    except NotifyError as exc:
        logger.warning('could not link the Notify templates (messages wait until `tellme notify link`): %s', exc)
        return
    finally:
        await pool.close()
    for link in links:
        if not link.ok:
            logger.warning('the Notify %s template is not linked, %s messages will wait: %s (see `tellme notify '
                           'templates`)', link.channel, link.channel, link.problem)  # fmt: skip


async def _seed_postcodes(settings: Settings) -> None:
    """An empty postcodes table gets the shipped sample, so postcode look-ups work at once, and an empty areas table
    the names of the sample's wards and districts."""
    conn = await db.connect(settings, codecs=False)
    try:
        if not await conn.fetchval('select exists (select 1 from postcodes)'):
            with open_codepoint(SAMPLE) as members:
                async with conn.transaction():
                    report = await import_postcodes(conn, members)
            logger.info('loaded %d sample postcodes (run `tellme postcodes import` for the full set)', report.added)
        if not await conn.fetchval('select exists (select 1 from areas)'):
            async with conn.transaction():
                await areas.load_names(conn, [areas.SAMPLE_NAMES])
    finally:
        await conn.close()


async def _run_demo(settings: Settings) -> None:
    """The demo put in place once (notifier/shell/demo/), then a made-up event every DEMO_EVERY seconds and the demo
    case moved on every DEMO_CASE_EVERY (TELLME_DEMO=false turns it all off)."""
    pool = await db.create_pool(settings, max_size=2)
    try:
        seeded = await _seed_demo(pool, settings)
        events = demo.DemoEvents()
        await asyncio.sleep(DEMO_FIRST_AFTER)
        repeating = [_every(DEMO_EVERY, partial(events.publish, pool), 'demo event not published')]
        if seeded:
            move_case = partial(asyncio.to_thread, demo.advance_case, settings.data_dir)
            repeating.append(_every(DEMO_CASE_EVERY, move_case, 'demo case not moved on', wait_first=True))
        await asyncio.gather(*repeating)
    finally:
        await pool.close()


async def _seed_demo(pool: asyncpg.Pool, settings: Settings) -> bool:
    """Put the demo in place and poll its sources a first time; False when this is not a demo database (or the
    demo could not be put in place: the service runs on without it)."""
    now = datetime.now(UTC)
    try:
        seeded = await demo.seed(pool, settings, now=now)
        if seeded.demo:
            await demo.first_polls(pool, settings, now=now)
    except (OSError, ValueError, asyncpg.PostgresError) as exc:
        logger.warning('demo data not put in place: %s', exc)
        return False
    return seeded.demo


async def _every(seconds: float, step: Callable[[], Awaitable[object]], failed: str, wait_first: bool = False) -> None:
    if wait_first:
        await asyncio.sleep(seconds)
    while True:
        try:
            await step()
        except (OSError, asyncpg.PostgresError) as exc:
            logger.warning('%s: %s', failed, exc)
        await asyncio.sleep(seconds)


async def run_dev(settings: Settings) -> int:
    stack = DevStack(data_dir=settings.data_dir.resolve())
    pid_file = _claim_data_dir(stack.data_dir)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    worker = None
    demo_task: asyncio.Task[None] | None = None
    try:
        settings = settings.model_copy(update=await _start_backends(stack, settings))
        _leave_settings_for_the_cli(stack.data_dir, settings)
        applied = await db.migrate_database(settings)
        logger.info('migrations applied now: %s', ', '.join(applied) or 'none (up to date)')
        await _seed_postcodes(settings)
        await _link_templates(settings)
        runner = web.AppRunner(create_app(settings), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, settings.host, settings.port).start()
        stack.runners.append(runner)
        stack.urls = {'Tell Me': f'http://{settings.host}:{settings.port}/', **stack.urls}
        worker = make_worker(settings, handle_signals=False)
        worker_task = asyncio.create_task(worker.async_run(), name='arq-worker')
        if settings.demo:
            demo_task = asyncio.create_task(_run_demo(settings), name='demo-events')
        _announce(stack, settings)
        await _wait_for_stop(stop, worker_task)
    finally:
        stopping: list[Callable[[], Awaitable[object]]] = []
        if demo_task is not None:
            stopping.append(partial(_cancel, demo_task))
        if worker is not None:
            stopping.append(worker.close)
        stopping.append(stack.close)
        await run_all(stopping)
        (stack.data_dir / DEV_ENV).unlink(missing_ok=True)
        pid_file.unlink(missing_ok=True)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    sys.stdout.write('Tell Me stopped.\n')
    return 0


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _wait_for_stop(stop: asyncio.Event, worker_task: asyncio.Task[None]) -> None:
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({stopper, worker_task}, return_when=asyncio.FIRST_COMPLETED)
    if worker_task in done:
        stopper.cancel()
        worker_task.result()  # the worker ended on its own: surface why
        raise DevError('the worker stopped unexpectedly')
    worker_task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await worker_task


def _announce(stack: DevStack, settings: Settings) -> None:
    places = {**stack.urls, 'Health': f'http://{settings.host}:{settings.port}/healthz', 'Data': str(stack.data_dir)}
    if settings.log_format_for('dev') == 'json':  # TELLME_LOG_FORMAT=json: one more JSON line, not a banner
        logger.info('Tell Me is running', extra={'places': places})
        return
    lines = ['', 'Tell Me is running. Press Ctrl-C to stop.']
    lines += [f'  {name:<24} {url}' for name, url in places.items()]
    sys.stdout.write('\n'.join(lines) + '\n\n')
    sys.stdout.flush()
