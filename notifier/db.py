"""Database access: the connection pool and the migration runner.

Migrations are numbered `.sql` files in `notifier/migrations/`. `migrate()` applies the ones not yet
recorded in `schema_migrations`, each in its own transaction, under an advisory lock so two release
steps running at once cannot interleave. A file edited after it was applied is an error: the database
and the code would disagree about the schema. A file whose first line is `-- no-transaction` runs
outside a transaction (for `create index concurrently`). A database ahead of the code (a newer release's
migrations applied: a rollback) is left as it is, since from 0029 on migrations only add what older code
never reads (tests/notifier/test_migrations.py keeps them so); one with another line's migrations is an error.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from notifier.settings import Settings

logger = logging.getLogger('notifier.db')

MIGRATIONS_DIR = Path(__file__).parent / 'migrations'
MIGRATION_FILE = re.compile(r'^(\d{4})_[a-z0-9_]+\.sql$')
# Any constant unique to this application; pg_advisory_lock takes a bigint.
MIGRATION_LOCK = 0x7E11_3E00_0001
NO_TRANSACTION = '-- no-transaction'

CREATE_SCHEMA_MIGRATIONS = """
create table if not exists schema_migrations (
    version text primary key,
    checksum text not null,
    applied_at timestamptz not null default now()
)
"""
# `contract`: the migration took away something older releases read (its file has a `-- contract:` line), so a release
# older than it must not run on the database; added here rather than by a migration, so every release's runner reads it
ADD_CONTRACT = 'alter table schema_migrations add column if not exists contract boolean not null default false'
CONTRACT_LINE = re.compile(r'^-- contract:', re.MULTILINE)


class MigrationError(Exception):
    """The migrations on disk and the ones recorded in the database disagree."""


@dataclass(frozen=True)
class Migration:
    number: int
    version: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding='utf-8')

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    @property
    def contract(self) -> bool:
        """It takes away what older releases read (a `-- contract:` line says which release stopped reading it)."""
        return bool(CONTRACT_LINE.search(self.sql))


def find_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migration files in order; anything that looks like a migration but is misnamed is an error."""
    found = []
    for path in sorted(directory.glob('*.sql')):
        match = MIGRATION_FILE.match(path.name)
        if not match:
            raise MigrationError(f'{path.name}: migration files are named NNNN_lowercase_words.sql')
        found.append(Migration(number=int(match.group(1)), version=path.stem, path=path))
    return found


def check_numbering(migrations: list[Migration]) -> None:
    """Numbers run 1, 2, 3, … with no gap and no duplicate (two branches both adding 0007 is caught here)."""
    for expected, migration in enumerate(migrations, start=1):
        if migration.number != expected:
            raise MigrationError(f'{migration.path.name}: expected migration number {expected:04d}')


async def migrate(conn: asyncpg.Connection, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply every pending migration; return the versions applied now."""
    migrations = find_migrations(directory)
    check_numbering(migrations)
    await conn.execute('select pg_advisory_lock($1)', MIGRATION_LOCK)
    try:
        await conn.execute(CREATE_SCHEMA_MIGRATIONS)
        await conn.execute(ADD_CONTRACT)
        rows = await conn.fetch('select version, checksum, contract from schema_migrations')
        applied = {r['version']: r['checksum'] for r in rows}
        unknown = sorted(set(applied) - {m.version for m in migrations})
        newer = [v for v in unknown if _number(v) > migrations[-1].number]
        if set(unknown) - set(newer):  # another branch's, in our own range: not a database this code has seen
            raise MigrationError(f'the database has migrations this code does not know: {", ".join(unknown)}')
        taken = sorted(r['version'] for r in rows if r['contract'] and r['version'] in newer)
        if taken:
            raise MigrationError(_TOO_OLD.format(', '.join(taken)))
        if newer:  # a newer release migrated it (this is a rollback): migrations only add, so this code runs on it
            pending = [m.version for m in migrations if m.version not in applied]
            if pending:
                raise MigrationError(
                    f'the database has newer migrations ({", ".join(newer)}) but lacks {", ".join(pending)}'
                )
            logger.warning('the database is ahead of this release (%s, from a newer one): nothing to apply',
                           ', '.join(newer))  # fmt: skip
        done = []
        for migration in migrations:
            if migration.version in applied:
                if applied[migration.version] != migration.checksum:
                    raise MigrationError(f'{migration.path.name} was edited after it was applied')
                continue
            await _apply(conn, migration)
            logger.info('applied migration %s', migration.version)
            done.append(migration.version)
        return done
    finally:
        await conn.execute('select pg_advisory_unlock($1)', MIGRATION_LOCK)


_TOO_OLD = (
    'the database has {} from a newer release, which took away what this release reads: roll back by restoring a '
    'backup taken before it, not by running this release'
)


def _number(version: str) -> int:
    digits = re.match(r'\d+', version)
    return int(digits.group(0)) if digits else 0


async def _apply(conn: asyncpg.Connection, migration: Migration) -> None:
    sql = migration.sql
    record = 'insert into schema_migrations (version, checksum, contract) values ($1, $2, $3)'
    if sql.startswith(NO_TRANSACTION):
        await conn.execute(sql)
        await conn.execute(record, migration.version, migration.checksum, migration.contract)
        return
    async with conn.transaction():
        await conn.execute("set local lock_timeout = '5s'")
        await conn.execute(sql)
        await conn.execute(record, migration.version, migration.checksum, migration.contract)


NO_TABLES = 'the database has no Tell Me tables yet: run tellme migrate first'


async def schema_problem(conn: asyncpg.Connection, directory: Path = MIGRATIONS_DIR) -> str | None:
    """Why this code cannot run on this database yet (never migrated, or migrations pending), or None.

    `web` and `worker` ask at start-up, so starting them before `tellme migrate` is one clear line, not an
    UndefinedTableError from the first query. A database ahead of the code (a newer release migrated it) is fine,
    since migrations only add to what older code reads, unless a newer one was a contract (it took something away)."""
    if not await conn.fetchval("select to_regclass('schema_migrations') is not null"):
        return NO_TABLES
    applied = {row['version'] for row in await conn.fetch('select version from schema_migrations')}
    if not applied:
        return NO_TABLES
    migrations = find_migrations(directory)
    pending = [m.version for m in migrations if m.version not in applied]
    if pending:
        return f'the database lacks migration(s) {", ".join(pending)} that this code needs: run tellme migrate first'
    has_contract = await conn.fetchval(
        "select exists (select 1 from information_schema.columns where table_name = 'schema_migrations' "
        "and column_name = 'contract' and table_schema = current_schema())"
    )
    if has_contract:
        taken = [row['version'] for row in await conn.fetch('select version from schema_migrations where contract')
                 if _number(row['version']) > migrations[-1].number]  # fmt: skip
        if taken:
            return _TOO_OLD.format(', '.join(sorted(taken)))
    return None


async def check_schema(settings: Settings) -> str | None:
    conn = await asyncpg.connect(settings.database_url)
    try:
        return await schema_problem(conn)
    finally:
        await conn.close()


def latest_migration(directory: Path = MIGRATIONS_DIR) -> str:
    """The version of the newest migration this code has: a database without it is behind the code."""
    return find_migrations(directory)[-1].version


async def migrate_database(settings: Settings) -> list[str]:
    """Migrate on one direct connection: the advisory lock is a session's, and `create index concurrently` runs
    outside a transaction, so neither survives PgBouncer in transaction mode handing each statement to another
    server connection."""
    if settings.database_pooler == 'pgbouncer' and not settings.migrate_database_url:
        raise MigrationError(
            'TELLME_DATABASE_URL goes through PgBouncer (TELLME_DATABASE_POOLER=pgbouncer): set '
            'TELLME_MIGRATE_DATABASE_URL to a direct connection (or a session-mode pool) for migrations'
        )
    conn = await asyncpg.connect(settings.direct_database_url)
    try:
        return await migrate(conn)
    finally:
        await conn.close()


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec('jsonb', encoder=json.dumps, decoder=json.loads, schema='pg_catalog')
    await conn.set_type_codec('json', encoder=json.dumps, decoder=json.loads, schema='pg_catalog')


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Behind PgBouncer in transaction mode a released connection is not reset: asyncpg's reset (unlock every
    advisory lock, RESET ALL, …) would run on whichever server connection PgBouncer picks, maybe another client's.
    Nothing of ours leaves session state behind (every lock is a transaction's), so there is nothing to reset."""


async def connect(settings: Settings, *, codecs: bool = True) -> asyncpg.Connection:
    """One connection (for a CLI command) with the same json/jsonb codecs as the pool (unless `codecs` is false)
    and the same prepared statement cache."""
    conn = await asyncpg.connect(settings.database_url, statement_cache_size=settings.statement_cache_size)
    if codecs:
        await _init_connection(conn)
    return conn


async def create_pool(settings: Settings, *, min_size: int = 1, max_size: int | None = None) -> asyncpg.Pool:
    """A pool on TELLME_DATABASE_URL of `max_size` connections (default: TELLME_WEB_DATABASE_POOL)."""
    pool = await asyncpg.create_pool(
        settings.database_url,
        min_size=min(min_size, max_size or settings.web_database_pool),
        max_size=max_size or settings.web_database_pool,
        init=_init_connection,
        statement_cache_size=settings.statement_cache_size,
        reset=_keep_session if settings.database_pooler == 'pgbouncer' else None,
    )
    assert pool is not None
    return pool


async def ensure_database(server_url: str, name: str, *, recreate: bool = False) -> None:
    """Create database `name` on the server at `server_url` if it is missing (or drop it first)."""
    if not re.fullmatch(r'[a-z_][a-z0-9_]*', name):
        raise ValueError(f'unsafe database name {name!r}')
    conn = await asyncpg.connect(server_url)
    try:
        if recreate:
            await conn.execute(f'drop database if exists {name} with (force)')
        if not await conn.fetchval('select 1 from pg_database where datname = $1', name):
            await conn.execute(f'create database {name}')
    finally:
        await conn.close()


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at database `name` (keeps query options such as a socket `host`)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, '/' + name, parts.query, parts.fragment))
