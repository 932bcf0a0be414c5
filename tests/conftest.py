"""Real services for every test: PostgreSQL and Redis, embedded by default, and the Notify simulator.

Set TELLME_TEST_DATABASE_URL (any database on the server; the suite creates and owns `tellme_test`) and
TELLME_TEST_REDIS_URL (the suite uses database 15 and flushes it) to run against existing servers.

The fixtures every folder may use besides (`settings`, `client`, `browser`) are in tests/support/fixtures.py; the
helpers, once each, in tests/support/; a folder's own fixtures in its conftest.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from redis.asyncio import Redis

from notifier import db
from notifier.sending.delivery import Sender
from notifier.settings import Settings
from notifier.shell import embedded
from tests.support.app import settings_for
from tests.support.notify import (
    DELIVERY_SETTINGS,
    RunningSim,
    sender_for,
    start_sim,
)

pytest_plugins = ('tests.support.fixtures',)

TEST_DATABASE = 'tellme_test'
TEST_REDIS_DB = 15


@dataclass(frozen=True)
class Services:
    postgres_server_url: str  # any database on the server, used to create and drop others
    database_url: str  # the migrated test database
    redis_url: str


def _redis_db(url: str, number: int) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f'/{number}', parts.query, parts.fragment))


@contextlib.contextmanager
def server_directory(prefix: str) -> Iterator[Path]:
    # Not pytest's tmp_path: pytest re-locks /tmp/pytest-of-<user> to 0700 whenever any pytest session starts,
    # and the embedded PostgreSQL runs as its own unprivileged user (when we are root) and must traverse it.
    root = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def server_dir() -> Iterator[Path]:
    """A fresh directory an embedded server (or `tellme dev`) may keep its data in."""
    with server_directory('tellme-test-') as root:
        yield root


@pytest.fixture(scope='session')
def services() -> Iterator[Services]:
    with server_directory('tellme-services-') as root, contextlib.ExitStack() as stops:
        server_url = os.environ.get('TELLME_TEST_DATABASE_URL', '')
        if not server_url:
            postgres = embedded.EmbeddedPostgres(root)
            stops.callback(postgres.stop)
            server_url = postgres.start()
        redis_url = os.environ.get('TELLME_TEST_REDIS_URL', '')
        if not redis_url:
            redis = embedded.EmbeddedRedis(root, persist=False)
            stops.callback(redis.stop)
            redis_url = redis.start()
        database_url = db.with_database(server_url, TEST_DATABASE)
        asyncio.run(_fresh_database(server_url, database_url))
        yield Services(server_url, database_url, _redis_db(redis_url, TEST_REDIS_DB))


async def _fresh_database(server_url: str, database_url: str) -> None:
    await db.ensure_database(server_url, TEST_DATABASE, recreate=True)
    conn = await asyncpg.connect(database_url)
    try:
        await db.migrate(conn)
    finally:
        await conn.close()


# every table emptied, and the topic catalogue laid again as Tell Me ships it (migration 0028: a fresh install)
TRUNCATE_ALL = """
do $$
declare tables text;
begin
    select string_agg(format('%I', tablename), ', ') into tables
    from pg_tables where schemaname = 'public' and tablename <> 'schema_migrations';
    if tables is not null then
        execute 'truncate ' || tables || ' restart identity cascade';
    end if;
    if to_regproc('default_topics') is not null then
        insert into topics (key, name_en, name_cy, hint_en, hint_cy, group_key, offered) select * from default_topics();
    end if;
end $$;
"""


@pytest.fixture
async def pg(services: Services) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(services.database_url, min_size=1, max_size=5, init=db._init_connection)
    assert pool is not None
    try:
        yield pool
    finally:
        await pool.execute(TRUNCATE_ALL)
        await pool.close()


@pytest.fixture
def scratch_database(services: Services) -> Iterator[str]:
    """An empty database of its own, for tests of the migration runner itself."""
    name = 'tellme_scratch'
    asyncio.run(db.ensure_database(services.postgres_server_url, name, recreate=True))
    yield db.with_database(services.postgres_server_url, name)
    asyncio.run(_drop(services.postgres_server_url, name))


async def _drop(server_url: str, name: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'drop database if exists {name} with (force)')
    finally:
        await conn.close()


@pytest.fixture
async def redis(services: Services) -> AsyncIterator[Redis]:
    """The test Redis database, flushed before and after."""
    client = Redis.from_url(services.redis_url)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


# --- the Notify simulator (tests/support/notify.py) ----------------------------------------------------------


@pytest.fixture
async def notify() -> AsyncIterator[RunningSim]:
    """The simulator with its own test templates; a sent message moves on to delivered after 0.05 s."""
    async with start_sim(status_delay=0.05) as running:
        yield running


@pytest.fixture
async def app_notify() -> AsyncIterator[RunningSim]:
    """A new Notify service as a council sets it up for Tell Me: the generic templates and nothing else."""
    async with start_sim(()) as running:
        yield running


@pytest.fixture
async def sim(pg: asyncpg.Pool) -> AsyncIterator[RunningSim]:
    """The delivery tests' simulator: the council's templates created and linked (`tellme notify link`) in the test
    database, the simulator's own test templates, no rate limit to speak of, and sent messages that stay `sending`
    for an hour unless a test lowers `sim.sim.status_delay`."""
    async with start_sim(rate_limit_per_minute=1_000_000, status_delay=3600) as running:
        assert all(link.ok for link in await running.link(pg))
        yield running


@pytest.fixture
def delivery_settings(services: Services, sim: RunningSim) -> Settings:
    return settings_for(services, sim, **DELIVERY_SETTINGS)


@pytest.fixture
async def sender(delivery_settings: Settings, sim: RunningSim, pg: asyncpg.Pool, redis: Redis) -> Sender:
    return sender_for(pg, redis, sim.client(timeout=2), delivery_settings, delivery_settings.notify_sends_per_second)
