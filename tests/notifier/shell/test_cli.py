"""The `tellme` CLI as an operator meets it: settings from the environment, clear errors, real commands."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import asyncpg
import pytest
from pydantic import ValidationError

from notifier import db
from notifier.settings import Settings
from tests.conftest import Services

KEY = 'tellme-live-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0'


def run_tellme(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith('TELLME_')}
    return subprocess.run(
        [sys.executable, '-m', 'notifier', *args],
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_settings_come_from_tellme_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('TELLME_NOTIFY_API_KEY', KEY)
    monkeypatch.setenv('TELLME_NOTIFY_RATE_LIMIT', '6000')
    monkeypatch.setenv('TELLME_DATABASE_URL', 'postgresql://tellme@db.internal/tellme')
    settings = Settings()
    assert settings.notify_rate_limit == 6000
    assert settings.notify_service_id == '26785a09-ab16-4eb0-8407-a37497a57506'
    assert settings.notify_sends_per_second == pytest.approx(6000 / 60 * 0.995)
    assert settings.database_url == 'postgresql://tellme@db.internal/tellme'


def test_secrets_never_show_in_settings_output() -> None:
    settings = Settings(notify_api_key=KEY, secret_key='s3cret-value-for-test', notify_callback_token='cb-token-1234')
    for text in (repr(settings), str(settings), str(settings.model_dump())):
        assert '3d844edf' not in text
        assert 's3cret-value-for-test' not in text
        assert 'cb-token-1234' not in text


@pytest.mark.parametrize(
    ('field', 'value', 'message'),
    [
        ('database_url', 'mysql://root@localhost/tellme', 'postgresql://'),
        ('redis_url', 'http://localhost:6379', 'redis://'),
        ('notify_api_key', 'not-a-notify-key', 'NAME-SERVICE_ID-SECRET'),
        ('notify_rate_fraction', 1.5, 'less than or equal to 1'),
    ],
)
def test_bad_settings_are_refused_with_a_reason(field: str, value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(**{field: value})


def test_cli_reports_a_bad_variable_by_name_without_a_traceback() -> None:
    result = run_tellme('migrate', env={'TELLME_DATABASE_URL': 'mysql://root@localhost/x'})
    assert result.returncode == 2
    assert 'TELLME_DATABASE_URL' in result.stderr and 'postgresql://' in result.stderr
    assert 'Traceback' not in result.stderr


def test_production_commands_refuse_to_run_without_urls() -> None:
    result = run_tellme('web')
    assert result.returncode != 0
    for name in ('TELLME_DATABASE_URL', 'TELLME_REDIS_URL', 'TELLME_SECRET_KEY'):
        assert name in result.stderr
    assert 'tellme dev' in result.stderr


def test_migrate_against_an_unreachable_database_is_one_clear_line(services: Services) -> None:
    env = {'TELLME_DATABASE_URL': 'postgresql://nobody@127.0.0.1:1/none', 'TELLME_REDIS_URL': services.redis_url}
    result = run_tellme('migrate', env=env)
    assert result.returncode == 1
    assert result.stderr.startswith('tellme migrate: ')
    assert 'Traceback' not in result.stderr


def test_migrate_applies_then_reports_up_to_date(services: Services, scratch_database: str) -> None:
    env = {'TELLME_DATABASE_URL': scratch_database, 'TELLME_REDIS_URL': services.redis_url}
    first = run_tellme('migrate', env=env)
    assert first.returncode == 0, first.stderr
    versions = [m.version for m in db.find_migrations()]
    assert f'applied {len(versions)} migration(s): {", ".join(versions)}' in first.stdout
    second = run_tellme('migrate', env=env)
    assert second.returncode == 0, second.stderr
    assert 'none, up to date' in second.stdout


def test_check_worker_fails_when_no_worker_has_reported(services: Services) -> None:
    env = {'TELLME_DATABASE_URL': services.database_url, 'TELLME_REDIS_URL': services.redis_url}
    result = run_tellme('check-worker', env=env)
    assert result.returncode == 1


def test_python_dash_m_and_help_list_every_command() -> None:
    result = run_tellme('--help')
    assert result.returncode == 0
    for command in ('dev', 'web', 'worker', 'migrate', 'check-worker', 'notify-sim'):
        assert command in result.stdout


def test_tellme_version_is_the_packages() -> None:
    result = run_tellme('--version')
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f'tellme {metadata.version("tellme")}'


@pytest.mark.parametrize('command', ['web', 'worker'])
def test_web_and_worker_before_migrate_say_to_migrate_first(
    services: Services, scratch_database: str, command: str
) -> None:
    env = {'TELLME_DATABASE_URL': scratch_database, 'TELLME_REDIS_URL': services.redis_url, 'TELLME_SECRET_KEY': 'k'}
    result = run_tellme(command, env=env)
    assert result.returncode != 0
    assert (
        result.stderr.strip() == f'tellme {command}: the database has no Tell Me tables yet: run tellme migrate first'
    )


async def test_a_database_missing_the_newest_migrations_is_named(scratch_database: str, tmp_path: Path) -> None:
    """Code newer than its database (a release whose `migrate` did not run) says which migrations are missing."""
    migrations = db.find_migrations()
    for migration in migrations[:-2]:
        (tmp_path / migration.path.name).write_bytes(migration.path.read_bytes())
    conn = await asyncpg.connect(scratch_database)
    try:
        assert await db.schema_problem(conn) == db.NO_TABLES
        await db.migrate(conn, tmp_path)
        missing = ', '.join(m.version for m in migrations[-2:])
        problem = await db.schema_problem(conn)
        assert problem == f'the database lacks migration(s) {missing} that this code needs: run tellme migrate first'
        await db.migrate(conn)
        assert await db.schema_problem(conn) is None
    finally:
        await conn.close()
