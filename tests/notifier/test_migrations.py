"""The migration runner: numbering, checksums, one transaction per file, and the real files apply cleanly."""

from __future__ import annotations

import contextlib
import re
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


# A rolling deploy runs the previous release beside the new one on the new schema, and a rollback runs the previous
# release on it alone (docs/operations.md, "Upgrades and rolling back"): so from 0029 on a migration only adds. What
# older code reads stays: no table, column, view, function or type dropped or renamed, no column's type changed or
# made NOT NULL. Removing something takes two releases: stop using it in one, drop it in a later one whose file
# starts with `-- contract:` saying which release stopped using it. (0018 dropped two columns, before this rule.)
EXPAND_ONLY_FROM = 29
# Narrowing a check (dropped and added again) or adding a unique constraint to a table older code writes also takes
# away, but reads like widening one: the reviewer's to catch, and the file's to mark `-- contract:`.
CONTRACTING = re.compile(
    r'\bdrop\s+(table|column|view|materialized\s+view|function|type|trigger|sequence|schema|index)\b'
    r'|\brename\b'
    r'|\balter\s+column\s+\S+\s+(set\s+not\s+null|drop\s+default|(set\s+data\s+)?type)\b',
    re.IGNORECASE,
)
ADD_COLUMN = re.compile(r'\badd\s+column\s+(?:if\s+not\s+exists\s+)?(\S+)([^,;]*)', re.IGNORECASE)


def contracting(sql: str) -> list[str]:
    """The statements in `sql` that take away something older code may read or write (comments aside)."""
    code = re.sub(r'--[^\n]*', '', sql)
    found = [m.group(0) for m in CONTRACTING.finditer(code)]
    for column in ADD_COLUMN.finditer(code):  # older code's inserts leave it out: NOT NULL needs a default
        clause = column.group(2).lower()
        if re.search(r'\bnot\s+null\b', clause) and not re.search(r'\b(default|generated)\b', clause):
            found.append(f'add column {column.group(1)} not null without a default')
    return found


def test_a_contracting_statement_is_recognised() -> None:
    assert contracting('alter table staff drop column failed_attempts, drop column locked_until;') == [
        'drop column', 'drop column'
    ]  # fmt: skip
    assert contracting('ALTER TABLE events RENAME COLUMN title TO heading;') == ['RENAME']
    assert contracting('alter table events alter column title type varchar(80);') == ['alter column title type']
    assert contracting('alter table events alter column summary set not null;') == ['alter column summary set not null']
    assert contracting('drop table old_things;') == ['drop table']
    assert contracting('alter table events alter column summary drop default;') == ['alter column summary drop default']
    assert contracting('drop trigger t on events; drop sequence s; drop index events_topic;') == [
        'drop trigger', 'drop sequence', 'drop index'
    ]  # fmt: skip
    assert contracting('alter table residents add column origin text not null;') == [
        'add column origin not null without a default'
    ]
    # what only adds, or widens a check (dropped and added again), is fine; so is a comment about dropping
    assert (
        contracting(
            'alter table t add column c text; create index i on t (c);\n'
            "alter table t drop constraint t_kind_check, add constraint t_kind_check check (kind in ('a', 'b'));\n"
            "-- we will drop column x in a later release\nalter table t alter column c set default '';"
        )
        == []
    )


def takes_away(migrations: list[db.Migration]) -> list[str]:
    """Files from EXPAND_ONLY_FROM on that take away what the previous release reads (unless marked `-- contract:`)."""
    return [
        migration.path.name
        for migration in migrations
        if migration.number >= EXPAND_ONLY_FROM and not migration.contract and contracting(migration.sql)
    ]


def test_migrations_from_0029_only_add_so_the_previous_release_runs_on_the_new_schema(tmp_path: Path) -> None:
    assert takes_away(db.find_migrations()) == [], (
        'these take away what the previous release reads: add what is new, stop using the old in this release, and '
        'drop it in a later one (a file starting `-- contract:` saying which release stopped using it)'
    )
    directory = _copy_migrations(tmp_path)
    while len(db.find_migrations(directory)) < EXPAND_ONLY_FROM - 1:  # the rule's first file, whatever ships now
        _add_migration(directory, 'adds', 'create table if not exists t (c text);')
    drops = _add_migration(directory, 'drops', 'alter table staff drop column name;')
    assert takes_away(db.find_migrations(directory)) == [f'{drops}.sql']
    (directory / f'{drops}.sql').write_text(
        '-- contract: 0.3 stopped reading staff.name\n' + 'alter table staff drop column name;'
    )
    assert takes_away(db.find_migrations(directory)) == []
    assert [m.contract for m in db.find_migrations(directory)][-2:] == [False, True]


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


async def test_a_database_ahead_of_the_code_is_left_as_it_is_so_a_rollback_starts(scratch_database: str) -> None:
    """The previous release's `tellme migrate` runs first on a rollback (compose and the units do): on a database a
    newer release migrated it applies nothing and succeeds, so its web and worker start on the (only added to)
    schema."""
    async with _connected(scratch_database) as conn:
        await db.migrate(conn)
        await conn.execute("insert into schema_migrations (version, checksum) values ('9999_from_the_future', 'x')")
        assert await db.migrate(conn) == []
        assert await db.schema_problem(conn) is None


async def test_a_database_with_another_lines_migration_is_refused(scratch_database: str) -> None:
    async with _connected(scratch_database) as conn:
        await db.migrate(conn)
        await conn.execute("insert into schema_migrations (version, checksum) values ('0005_from_a_fork', 'x')")
        with pytest.raises(db.MigrationError, match='0005_from_a_fork'):
            await db.migrate(conn)


async def test_a_rollback_past_a_contract_migration_is_refused(scratch_database: str) -> None:
    """A newer release's migration that took something away (marked `-- contract:`) is recorded as such, and this
    release then refuses the database, migrate and start alike: its code reads what was taken away."""
    async with _connected(scratch_database) as conn:
        await db.migrate(conn)
        assert await conn.fetchval('select count(*) from schema_migrations where contract') == 0
        await conn.execute(
            "insert into schema_migrations (version, checksum, contract) values ('9999_drop_old_column', 'x', true)"
        )
        with pytest.raises(db.MigrationError, match='9999_drop_old_column.*restoring a backup'):
            await db.migrate(conn)
        assert '9999_drop_old_column' in (await db.schema_problem(conn) or '')


async def test_a_contract_migration_is_recorded_as_one(scratch_database: str, tmp_path: Path) -> None:
    directory = _copy_migrations(tmp_path)
    version = _add_migration(directory, 'drop_it', '-- contract: 0.2 stopped reading t.c\ncreate table t (c text);')
    async with _connected(scratch_database) as conn:
        await db.migrate(conn, directory)
        assert await conn.fetchval('select contract from schema_migrations where version = $1', version) is True
        assert await conn.fetchval('select count(*) from schema_migrations where contract') == 1
