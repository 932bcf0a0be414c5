"""B3 — delivery at Notify's limit: two worker processes against the simulator (its own process, Notify's real token
bucket) with a backlog of exactly limit × minutes emails.

Reported per run: goodput over the window (messages the simulator accepted in `minutes` from the first one, as a
share of the limit; target ≥ 95%), 429s (RateLimitErrors our senders met; target 0), duplicates and lost (count per
reference at the simulator once the backlog has drained; target 0 and 0).

`--decision` also measures what the job-per-message vs batch-claim decision rests on (docs/decisions.md): the cost
of one arq job per message (enqueue rate, Redis bytes per job) and the cost of a batch claim with a 500,000-row
backlog.

    python -m benchmarks delivery            # 600/min × 3 min and 3,000/min × 5 min
    python -m benchmarks.delivery --quick    # 600/min × 1 min
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from arq.connections import RedisSettings, create_pool
from redis.asyncio import Redis

from notifier import db
from notifier.notify_sim.rules import keys as sim_keys
from notifier.outbox import delivery_states
from notifier.shell import embedded
from notifier.shell.embedded import free_port

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = '7f0b7c3e-5c8d-4b59-9a8e-0d1e3f4a5b60'
PERSONALISATION = {'title': 'Rear extension', 'url': 'https://example.gov.uk/e/1', 'unsubscribe_url': 'x'}
FULL = ((600, 3), (3000, 5))
QUICK = ((600, 1),)

INSERT_BACKLOG = """
with r as (insert into residents (language) select 'en' from generate_series(1, $1) returning id),
c as (insert into contact_points (resident_id, channel, address)
      select id, 'email', 'b' || id || '@example.com' from r returning id)
insert into notifications (contact_point_id, channel, purpose, template_id, personalisation)
select id, 'email', 'notice', $2, $3 from c
"""
ANALYZE = 'analyze residents, contact_points, notifications'


class Services:
    """Throwaway PostgreSQL and Redis for one benchmark run."""

    def __init__(self, root: Path) -> None:
        self.postgres = embedded.EmbeddedPostgres(root)
        self.redis = embedded.EmbeddedRedis(root, persist=False)
        self.database_url = self.redis_url = ''

    async def start(self) -> None:
        server = self.postgres.start()
        self.redis_url = self.redis.start()
        self.database_url = db.with_database(server, 'tellme_bench')
        await db.ensure_database(server, 'tellme_bench', recreate=True)
        conn = await asyncpg.connect(self.database_url)
        try:
            await db.migrate(conn)
        finally:
            await conn.close()

    def stop(self) -> None:
        self.redis.stop()
        self.postgres.stop()


def _start_sim(root: Path, key: str, rate_limit: int) -> tuple[subprocess.Popen[bytes], str]:
    keys = root / 'keys.json'
    keys.write_text(json.dumps([{'api_key': key, 'type': 'live'}]))
    port = free_port()
    log = (root / f'sim-{rate_limit}.log').open('wb')
    # the simulator's own CLI (`tellme notify-sim --port …` loses leading options to argparse's REMAINDER)
    launch = 'import sys; from notifier.notify_sim.cli import main; sys.exit(main(sys.argv[1:]))'
    args = [sys.executable, '-c', launch, '--port', str(port), '--keys', str(keys),
            '--rate-limit', str(rate_limit), '--status-delay', '36000']  # fmt: skip
    process = subprocess.Popen(args, cwd=ROOT, stdout=log, stderr=log)
    url = f'http://127.0.0.1:{port}'
    for _ in range(100):
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=0.2):
                return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError('simulator did not start')


def _start_workers(
    services: Services, key: str, url: str, rate_limit: int, root: Path
) -> list[subprocess.Popen[bytes]]:
    env = os.environ | {
        'TELLME_DATABASE_URL': services.database_url,
        'TELLME_REDIS_URL': services.redis_url,
        'TELLME_NOTIFY_API_KEY': key,
        'TELLME_NOTIFY_BASE_URL': url,
        'TELLME_SECRET_KEY': 'benchmark-secret-' + 'b' * 32,
        'TELLME_NOTIFY_RATE_LIMIT': str(rate_limit),
        'TELLME_LOG_LEVEL': 'WARNING',
    }
    workers = []
    for n in range(2):
        log = (root / f'worker-{rate_limit}-{n}.log').open('wb')
        workers.append(subprocess.Popen([sys.executable, '-m', 'notifier', 'worker'], cwd=ROOT, env=env,
                                        stdout=log, stderr=log))  # fmt: skip
    return workers


async def _sim_notifications(http: aiohttp.ClientSession, url: str) -> list[dict[str, Any]]:
    async with http.get(url + '/_sim/notifications') as response:
        return list((await response.json())['notifications'])


def _at(stamp: str) -> float:
    return datetime.strptime(stamp, '%Y-%m-%dT%H:%M:%S.%fZ').timestamp()


async def run_one(services: Services, root: Path, rate_limit: int, minutes: int) -> dict[str, Any]:
    key = sim_keys.generate_api_key('bench', str(uuid.uuid4()))
    backlog = rate_limit * minutes
    pool = await asyncpg.create_pool(services.database_url, init=db._init_connection)
    await pool.execute('truncate notifications, contact_points, residents restart identity cascade')
    await pool.execute(INSERT_BACKLOG, backlog, uuid.UUID(TEMPLATE), PERSONALISATION)
    await pool.execute(ANALYZE)
    redis = Redis.from_url(services.redis_url)
    await redis.flushdb()
    sim, url = _start_sim(root, key, rate_limit)
    workers = _start_workers(services, key, url, rate_limit, root)
    window = minutes * 60
    try:
        async with aiohttp.ClientSession() as http:
            started = time.monotonic()
            while time.monotonic() - started < window + 60:  # the window, then time to drain the rest
                await asyncio.sleep(2)
                sent = await pool.fetchval("select count(*) from notifications where status = 'sent'")
                if sent == backlog:
                    break
            notes = await _sim_notifications(http, url)
    finally:
        for process in workers:
            process.send_signal(signal.SIGTERM)
        for process in workers:
            process.wait(30)
        sim.kill()  # its state is read already; nothing to flush
        sim.wait(10)
    rate_limited = int(await redis.hget(f'notifier:ratelimit:{key[-73:-37]}:live', 'rate_limited') or 0)
    await redis.aclose()
    statuses = dict(await pool.fetch('select status, count(*) from notifications group by status'))
    references = {str(r['id']) for r in await pool.fetch('select id from notifications')}
    await pool.close()
    counts = collections.Counter(n['reference'] for n in notes)
    created = sorted(_at(n['created_at']) for n in notes)
    first = created[0] if created else 0.0
    in_window = sum(1 for at in created if at < first + window)
    return {
        'limit_per_min': rate_limit,
        'minutes': minutes,
        'backlog': backlog,
        'accepted_in_window': in_window,
        'goodput_share': in_window / backlog,
        'goodput_per_s': in_window / window,
        '429s': rate_limited,
        'duplicates': sum(1 for n in counts.values() if n > 1),
        'lost': len(references - set(counts)),
        'statuses': statuses,
    }


async def decision_numbers(services: Services) -> dict[str, float]:
    """What one arq job per message costs in Redis, and what a batch claim costs at a B2-sized backlog."""
    arq = await create_pool(RedisSettings.from_dsn(services.redis_url))
    await arq.flushdb()
    before = (await arq.info('memory'))['used_memory']
    jobs = 20_000
    start = time.perf_counter()
    for _ in range(jobs):
        job = uuid.uuid4()
        await arq.enqueue_job('deliver_notification', str(job), _job_id=f'deliver:{job}')
    enqueue_rate = jobs / (time.perf_counter() - start)
    bytes_per_job = ((await arq.info('memory'))['used_memory'] - before) / jobs
    await arq.flushdb()
    await arq.aclose()
    pool = await asyncpg.create_pool(services.database_url, init=db._init_connection)
    await pool.execute('truncate notifications, contact_points, residents restart identity cascade')
    start = time.perf_counter()
    await pool.execute(INSERT_BACKLOG, 500_000, uuid.UUID(TEMPLATE), PERSONALISATION)
    insert_s = time.perf_counter() - start
    await pool.execute(ANALYZE)  # after a truncate, stale statistics make the planner join by seq scans
    timings = []
    for _ in range(300):
        start = time.perf_counter()
        async with pool.acquire() as conn, conn.transaction():
            await conn.fetch(delivery_states.CLAIM_READY, 16, [], None)
        timings.append((time.perf_counter() - start) * 1000)
    await pool.execute('truncate notifications, contact_points, residents restart identity cascade')
    await pool.close()
    timings.sort()
    return {
        'arq_enqueue_per_s': enqueue_rate,
        'arq_bytes_per_job': bytes_per_job,
        'minutes_to_enqueue_500k': 500_000 / enqueue_rate / 60,
        'redis_mb_for_500k': bytes_per_job * 500_000 / 1e6,
        'backlog_insert_500k_s': insert_s,
        'claim16_p50_ms': statistics.median(timings),
        'claim16_p99_ms': timings[int(len(timings) * 0.99) - 1],
    }


def _report(result: dict[str, Any]) -> None:
    ok = result['goodput_share'] >= 0.95 and not result['429s'] and not result['duplicates'] and not result['lost']
    sys.stdout.write(
        f'  {result["limit_per_min"]:>5}/min × {result["minutes"]} min: goodput {result["goodput_share"]:.1%} '
        f'({result["goodput_per_s"]:.2f}/s of {result["limit_per_min"] / 60:.2f}/s), '
        f'429s {result["429s"]}, duplicates {result["duplicates"]}, lost {result["lost"]} '
        f'[{"met" if ok else "NOT met"}]  statuses {result["statuses"]}\n'
    )
    sys.stdout.flush()


async def _main(runs: tuple[tuple[int, int], ...], decision: bool) -> None:
    with tempfile.TemporaryDirectory(prefix='tellme-bench-') as tmp:
        root = Path(tmp)
        services = Services(root)
        await services.start()
        try:
            sys.stdout.write('two worker processes, simulator in its own process with Notify\'s token bucket; '
                             'targets: goodput ≥ 95% of the limit, 0 429s, 0 duplicates, 0 lost\n')  # fmt: skip
            for rate_limit, minutes in runs:
                _report(await run_one(services, root, rate_limit, minutes))
            if decision:
                numbers = await decision_numbers(services)
                sys.stdout.write('  decision: ' + ', '.join(f'{k} {v:.2f}' for k, v in numbers.items()) + '\n')
        finally:
            services.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog='python -m benchmarks.delivery')
    parser.add_argument('--quick', action='store_true', help='600/min for 1 minute only')
    parser.add_argument('--only', choices=['600', '3000'], help='one of the two full runs')
    parser.add_argument('--decision', action='store_true', help='also measure job-per-message vs batch claims')
    args = parser.parse_args(argv if argv is not None else [])
    runs = QUICK if args.quick else tuple(r for r in FULL if args.only in (None, str(r[0])))
    asyncio.run(_main(runs, args.decision))


if __name__ == '__main__':
    main(sys.argv[1:])
