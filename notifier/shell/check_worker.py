"""`tellme check-worker [--id ID | --pid PID]`: a container health check for workers.

Without options: exit 0 when ANY worker has reported healthy to Redis within arq's health-check interval (arq's own
health-check key: one live worker anywhere passes, whichever process asks). With `--id ID` (the id a worker logs
when it starts and writes with its heartbeat, `hostname:pid:random`) or `--pid PID` (a worker on this host, e.g.
`--pid 1` in the worker's own container): exit 0 only when THAT worker's heartbeat in the database is fresh (within
2.5 × TELLME_WORKER_HEARTBEAT_SECONDS), else 1. One line says which worker and how long ago it was seen.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from notifier import db
from notifier.settings import Settings
from workers import heartbeat


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='tellme check-worker', description=__doc__.split('\n\n')[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument('--id', dest='worker_id', metavar='ID', help='this worker (hostname:pid:random) only')
    which.add_argument('--pid', type=int, metavar='PID', help='the worker with this process id on this host only')
    return parser


def main(argv: list[str], settings: Settings) -> int:
    args = build_parser().parse_args(argv)
    if args.worker_id is None and args.pid is None:
        if not settings.redis_url:
            raise SystemExit('tellme check-worker: set TELLME_REDIS_URL')
        from arq.worker import async_check_health

        return asyncio.run(async_check_health(settings.arq_redis))
    if not settings.database_url:
        raise SystemExit('tellme check-worker: set TELLME_DATABASE_URL (--id and --pid read the heartbeats)')
    return asyncio.run(_check_one(settings, args.worker_id, args.pid))


async def _check_one(settings: Settings, worker_id: str | None, pid: int | None) -> int:
    conn = await db.connect(settings, codecs=False)
    try:
        seen = await heartbeat.last_seen(conn, worker_id=worker_id, pid=pid)
    finally:
        await conn.close()
    asked = f'worker {worker_id}' if worker_id is not None else f'the worker with pid {pid} on this host'
    if seen is None:
        sys.stdout.write(f'{asked}: no heartbeat\n')
        return 1
    found, seconds = seen
    fresh = seconds <= settings.worker_stale_after
    state = 'fresh' if fresh else f'stale (more than {settings.worker_stale_after:g} s)'
    sys.stdout.write(f'worker {found}: last heartbeat {seconds:.1f} s ago, {state}\n')
    return 0 if fresh else 1
