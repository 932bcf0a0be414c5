"""`tellme outbox after-restore [--dry-run]`: after restoring the database from a backup, before any worker starts.

Every message that was waiting to go at the backup, and may have gone since, is looked up at Notify by its reference
before it is sent (notifier/outbox/after_restore.py); `--dry-run` says how many without changing anything. It refuses
while a worker is running on the database (its heartbeat is fresh): that worker would send them first.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from notifier import db
from notifier.outbox import after_restore
from notifier.sending.delivery import BACKOFF
from notifier.settings import Settings
from workers import heartbeat


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='tellme outbox', description='The outbox, for operators.')
    sub = parser.add_subparsers(dest='action', required=True, metavar='ACTION')
    restored = sub.add_parser(
        'after-restore',
        help='after restoring the database from a backup, before starting the workers: look up at Notify every '
        'message that was waiting at the backup before it is sent',
    )
    restored.add_argument('--dry-run', action='store_true', help='say how many, change nothing')
    return parser


def main(argv: list[str], settings: Settings) -> int:
    args = build_parser().parse_args(argv)
    if not settings.database_url:
        sys.stderr.write('tellme outbox: set TELLME_DATABASE_URL (the restored database)\n')
        return 2
    return asyncio.run(_after_restore(settings, dry_run=args.dry_run))


def _counted(by_channel: dict[str, int]) -> str:
    total = sum(by_channel.values())
    return f'{total} message{"" if total == 1 else "s"} ({", ".join(f"{c} {n}" for c, n in by_channel.items())})'


async def _after_restore(settings: Settings, *, dry_run: bool) -> int:
    problem = await db.check_schema(settings)
    if problem:
        sys.stderr.write(f'tellme outbox after-restore: {problem}\n')
        return 1
    pool = await db.create_pool(settings, max_size=2)
    try:
        running = await heartbeat.alive(pool, settings.worker_stale_after)
        if running and not dry_run:
            sys.stderr.write(
                f'tellme outbox after-restore: {running} worker(s) are running on this database: stop them first, '
                'or they send the messages waiting before they can be looked up\n'
            )
            return 1
        found = await (
            after_restore.waiting(pool) if dry_run else after_restore.mark_for_lookup(pool, most_attempts=len(BACKOFF))
        )
    finally:
        await pool.close()
    if not found:
        sys.stdout.write('no messages were waiting to go: nothing to look up\n')
    elif dry_run:
        sys.stdout.write(f'{_counted(found)} were waiting to go at the backup: after-restore would look each up at '
                         'Notify before sending it\n')  # fmt: skip
    else:
        sys.stdout.write(
            f'{_counted(found)} will be looked up at Notify by reference before anything is sent (the workers do it, '
            '500 every 15 seconds): found → recorded, not found → sent once. Start the workers now.\n'
        )
    return 0
