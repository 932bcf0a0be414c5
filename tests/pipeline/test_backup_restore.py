"""Backups and a restore, done as docs/operations.md says: `pg_dump --format=custom` of the live database, the
database lost, `pg_restore` into a new one, `tellme migrate`, then `tellme outbox after-restore` before any worker
starts. Redis holds nothing to back up (it is flushed here, as a new one would be empty).

What a resident would notice: a message already sent before the backup is not sent again; one that was waiting at
the backup but went out before the failure is not sent again either (it is looked up at Notify by its reference, as a
crashed worker's are, and found); one that was still waiting is sent, once."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import asyncpg
import pgserver
import pytest
from redis.asyncio import Redis

from notifier import db
from notifier.sending.delivery import BACKOFF
from notifier.settings import Settings
from tests.conftest import Services
from tests.support import ROOT
from tests.support.notify import RunningSim, make_notification, row, sender_for

BIN = Path(pgserver.__file__).parent / 'pginstall' / 'bin'  # as new as the suite's servers, or newer


def tellme(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith('TELLME_')} | {'TELLME_DATABASE_URL': database_url}
    return subprocess.run([sys.executable, '-m', 'notifier', *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip


@pytest.mark.timeout(180)
async def test_a_restored_backup_sends_what_was_waiting_once_and_nothing_twice(
    services: Services, scratch_database: str, pg: asyncpg.Pool, redis: Redis, sim: RunningSim,
    delivery_settings: Settings, tmp_path: Path,
) -> None:  # fmt: skip
    live = sender_for(pg, redis, sim.client(timeout=2), delivery_settings, 50)
    sent_before = await make_notification(pg)
    assert await live.deliver(sent_before) == 'sent'
    gone_after, still_waiting = await make_notification(pg), await make_notification(pg)

    dump = tmp_path / 'tellme.dump'
    backup = subprocess.run([str(BIN / 'pg_dump'), '--format=custom', f'--file={dump}', services.database_url],
                            capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert backup.returncode == 0, backup.stderr

    assert await live.deliver(gone_after) == 'sent'  # after the backup, before the database was lost
    await redis.flushdb()  # a new Redis: nothing in it

    restore = subprocess.run([str(BIN / 'pg_restore'), '--no-owner', '--exit-on-error', f'--dbname={scratch_database}',
                              str(dump)], capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert restore.returncode == 0, restore.stderr
    migrated = tellme(scratch_database, 'migrate')
    assert (migrated.returncode, migrated.stdout) == (0, 'applied 0 migration(s): none, up to date\n'), migrated.stderr

    dry = tellme(scratch_database, 'outbox', 'after-restore', '--dry-run')
    assert dry.returncode == 0, dry.stderr
    assert '2 messages (email 2) were waiting to go at the backup' in dry.stdout
    marked = tellme(scratch_database, 'outbox', 'after-restore')
    assert marked.returncode == 0, marked.stderr
    assert '2 messages (email 2) will be looked up at Notify' in marked.stdout
    again = tellme(scratch_database, 'outbox', 'after-restore')  # safe to run twice: nothing more to mark
    assert 'no messages were waiting' in again.stdout

    restored = await asyncpg.create_pool(scratch_database, init=db._init_connection)
    try:
        sender = sender_for(restored, redis, sim.client(timeout=2), delivery_settings, 50)
        outcomes = await sender.reconcile_stuck(unknown_after=timedelta(0))  # the sweeper's recover, every 15 s
        assert outcomes == {'found': 1, 'retry': 1}
        assert (await row(restored, gone_after))['status'] == 'sent'  # found at Notify: recorded, not resent
        await restored.execute('update notifications set not_before = now() where id = $1', still_waiting)
        assert await sender.deliver(still_waiting) == 'sent'
        for nid in (sent_before, gone_after, still_waiting):
            assert len(sim.sent(nid)) == 1, nid
        assert await sender.deliver(sent_before) == 'skipped'
    finally:
        await restored.close()


async def test_after_restore_refuses_while_a_worker_runs_on_the_database(services: Services, pg: asyncpg.Pool) -> None:
    waiting = await make_notification(pg)
    await pg.execute(
        """insert into worker_heartbeats (worker_id, hostname, pid, started_at, last_seen_at)
           values ('w-running', 'host', 1, now(), now())"""
    )
    refused = tellme(services.database_url, 'outbox', 'after-restore')
    assert refused.returncode == 1
    assert '1 worker(s) are running on this database: stop them first' in refused.stderr
    assert (await row(pg, waiting))['status'] == 'pending'  # nothing changed


async def test_a_message_waiting_for_its_last_attempt_still_gets_it_after_a_restore(
    services: Services, pg: asyncpg.Pool, redis: Redis, sim: RunningSim, delivery_settings: Settings
) -> None:
    last_try = await make_notification(pg)
    await pg.execute(
        "update notifications set status = 'retry', attempts = $2, not_before = now() where id = $1",
        last_try, len(BACKOFF),
    )  # fmt: skip
    marked = tellme(services.database_url, 'outbox', 'after-restore')
    assert marked.returncode == 0, marked.stderr
    sender = sender_for(pg, redis, sim.client(timeout=2), delivery_settings, 50)
    assert await sender.reconcile_stuck(unknown_after=timedelta(0)) == {'retry': 1}  # not at Notify: not given up
    await pg.execute('update notifications set not_before = now() where id = $1', last_try)
    assert await sender.deliver(last_try) == 'sent'
    assert len(sim.sent(last_try)) == 1
