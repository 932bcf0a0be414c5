"""The migration runner: numbering, checksums, one transaction per file, and the real files apply cleanly."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from notifier import db


def test_shipped_migrations_are_numbered_without_gaps_or_duplicates() -> None:
    migrations = db.find_migrations()
    assert migrations, 'no migrations found'
    db.check_numbering(migrations)
    assert len({m.number for m in migrations}) == len(migrations)


@contextlib.asynccontextmanager
async def _connected(url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(url)
    try:
        yield conn
    finally:
        await conn.close()


def _add_migration(directory: Path, name: str, sql: str) -> str:
    """Write the next-numbered migration file in `directory`; return its version."""
    version = f'{len(db.find_migrations(directory)) + 1:04d}_{name}'
    (directory / f'{version}.sql').write_text(sql)
    return version


def _copy_migrations(tmp_path: Path) -> Path:
    target = tmp_path / 'migrations'
    shutil.copytree(db.MIGRATIONS_DIR, target)
    return target


def test_a_gap_in_numbering_is_refused(tmp_path: Path) -> None:
    directory = _copy_migrations(tmp_path)
    (directory / '0009_far_ahead.sql').write_text('select 1;')
    with pytest.raises(db.MigrationError, match='expected migration number'):
        db.check_numbering(db.find_migrations(directory))


def test_a_duplicate_number_is_refused(tmp_path: Path) -> None:
    directory = _copy_migrations(tmp_path)
    (directory / '0001_same_number.sql').write_text('select 1;')
    with pytest.raises(db.MigrationError, match='expected migration number'):
        db.check_numbering(db.find_migrations(directory))


def test_a_misnamed_file_is_refused(tmp_path: Path) -> None:
    directory = _copy_migrations(tmp_path)
    (directory / '2_Bad Name.sql').write_text('select 1;')
    with pytest.raises(db.MigrationError, match='NNNN_lowercase_words'):
        db.find_migrations(directory)


async def test_migrate_applies_each_file_once_and_records_checksums(scratch_database: str, tmp_path: Path) -> None:
    directory = _copy_migrations(tmp_path)
    async with _connected(scratch_database) as conn:
        first = await db.migrate(conn, directory)
        assert first == [m.version for m in db.find_migrations(directory)]
        assert await db.migrate(conn, directory) == []
        rows = await conn.fetch('select version, checksum from schema_migrations order by version')
        assert [(r['version'], r['checksum']) for r in rows] == [
            (m.version, m.checksum) for m in db.find_migrations(directory)
        ]
        assert await conn.fetchval("select to_regclass('worker_heartbeats') is not null")


async def test_an_edited_migration_is_an_error(scratch_database: str, tmp_path: Path) -> None:
    directory = _copy_migrations(tmp_path)
    async with _connected(scratch_database) as conn:
        await db.migrate(conn, directory)
        first = db.find_migrations(directory)[0].path
        first.write_text(first.read_text() + '\n-- an innocent-looking edit\n')
        with pytest.raises(db.MigrationError, match='edited after it was applied'):
            await db.migrate(conn, directory)


async def test_a_failing_migration_leaves_nothing_half_applied(scratch_database: str, tmp_path: Path) -> None:
    directory = _copy_migrations(tmp_path)
    broken = _add_migration(
        directory, 'broken', 'create table half_done (id int);\ninsert into no_such_table values (1);'
    )
    async with _connected(scratch_database) as conn:
        with pytest.raises(asyncpg.UndefinedTableError):
            await db.migrate(conn, directory)
        assert not await conn.fetchval("select to_regclass('half_done') is not null")
        recorded = await conn.fetchval('select count(*) from schema_migrations where version = $1', broken)
        assert recorded == 0
        # the earlier files did land, each in its own transaction
        assert await conn.fetchval("select to_regclass('worker_heartbeats') is not null")


async def test_no_transaction_files_run_outside_a_transaction(scratch_database: str, tmp_path: Path) -> None:
    directory = _copy_migrations(tmp_path)
    _add_migration(
        directory,
        'concurrent_index',
        '-- no-transaction\ncreate index concurrently heartbeats_host on worker_heartbeats (hostname);',
    )
    async with _connected(scratch_database) as conn:
        await db.migrate(conn, directory)  # `create index concurrently` fails inside a transaction block
        assert await conn.fetchval("select to_regclass('heartbeats_host') is not null")


async def test_two_runners_at_once_apply_each_file_once(scratch_database: str) -> None:
    import asyncio

    conns = [await asyncpg.connect(scratch_database) for _ in range(2)]
    try:
        results = await asyncio.gather(*(db.migrate(c) for c in conns))
        applied = sorted(v for result in results for v in result)
        assert applied == [m.version for m in db.find_migrations()]
    finally:
        for conn in conns:
            await conn.close()


async def test_a_database_ahead_of_the_code_is_refused(scratch_database: str) -> None:
    async with _connected(scratch_database) as conn:
        await db.migrate(conn)
        await conn.execute("insert into schema_migrations (version, checksum) values ('9999_from_the_future', 'x')")
        with pytest.raises(db.MigrationError, match='9999_from_the_future'):
            await db.migrate(conn)
