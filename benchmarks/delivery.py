"""B3 — delivery at Notify's limit: two worker processes against the simulator (its own process, Notify's real token
bucket) with a backlog of exactly limit × minutes emails, then an idle spell and a second batch.

Each run is made twice, side by side in the same run of the benchmark: with the old settings (senders at 95% of the
limit, a one-second burst) and with the defaults (99%, and Notify's bucket less a margin for requests in transit).
Reported per variant: goodput over the window (messages the simulator accepted in `minutes` from the first one, as a
share of the sustained limit; target ≥ 99%), 429s (counted by the simulator's bucket itself, and as our senders
reported them; target 0), duplicates and lost (count per reference at the simulator once everything has drained;
target 0 and 0), and burst use after idle: once the backlog has drained and both buckets have refilled, a batch of
bucket + 10 s × limit messages, of which the simulator accepts at most (bucket - 1) + 10 s × limit in the first 10 s.

`--decision` also measures what the job-per-message vs batch-claim decision rests on (docs/decisions.md): the cost
of one arq job per message (enqueue rate, Redis bytes per job) and the cost of a batch claim with a 500,000-row
backlog.

    python -m benchmarks delivery            # 600/min × 3 min and 3,000/min × 5 min, old and new settings
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from arq.connections import RedisSettings, create_pool
from redis.asyncio import Redis

from notifier import db
from notifier.notify_sim.rules import keys as sim_keys
from notifier.outbox import delivery_states
from notifier.sending import template_links
from notifier.sending.notify_client import NotifyClient
from notifier.sending.rate_limit import notify_bucket_max
from notifier.settings import Settings
from notifier.shell import embedded
from notifier.shell.embedded import free_port
from templates.registry import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
# a confirmation in Tell Me's own wording, sent through the council's generic email template (linked below)
TEMPLATE = REGISTRY[('confirmation', 'email', 'en')].template_id
PERSONALISATION = {'subscription': 'planning applications near M32 0AH', 'confirm_url': 'https://example.gov.uk/c/1'}
FULL = ((600, 3), (3000, 5))
QUICK = ((600, 1),)
IDLE_SECONDS = 25  # both buckets refill in limit/3 / (limit/60) = 20 s
BURST_WINDOW = 10  # seconds after the first send of the second batch
GOODPUT_TARGET = 0.99
# the settings before issue 12: 95% of the limit and the limiter's one-second burst (as TELLME_ variables)
VARIANTS = {
    'old (95%, 1 s burst)': lambda limit: {'TELLME_NOTIFY_RATE_FRACTION': '0.95',
                                           'TELLME_NOTIFY_BURST': str(round(limit / 60 * 0.95))},
    'new (defaults)': lambda limit: {},
}  # fmt: skip

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


REFUSED = 'bucket refused a request'


def sim_main(argv: list[str]) -> int:
    """The simulator's own CLI, with every refusal of its token bucket logged (the bucket itself is unchanged)."""
    import logging

    from notifier.notify_sim.cli import main
    from notifier.notify_sim.rules.errors import ApiError
    from notifier.notify_sim.rules.limits import TokenBuckets

    check = TokenBuckets.check

    def counted(self: TokenBuckets, service_id: str, key_type: str) -> None:
        try:
            check(self, service_id, key_type)
        except ApiError as exc:
            if exc.status == 429:
                logging.getLogger('benchmarks.delivery').warning(REFUSED)
            raise

    TokenBuckets.check = counted  # type: ignore[method-assign]
    return main(argv)


def _start_sim(root: Path, key: str, rate_limit: int, name: str) -> tuple[subprocess.Popen[bytes], str, Path]:
    keys = root / 'keys.json'
    keys.write_text(json.dumps([{'api_key': key, 'type': 'live'}]))
    port = free_port()
    path = root / f'sim-{rate_limit}-{name}.log'
    log = path.open('wb')
    # the simulator's own CLI (`tellme notify-sim --port …` loses leading options to argparse's REMAINDER)
    launch = 'import sys; from benchmarks.delivery import sim_main; sys.exit(sim_main(sys.argv[1:]))'
    args = [sys.executable, '-c', launch, '--port', str(port), '--keys', str(keys),
            '--rate-limit', str(rate_limit), '--status-delay', '36000', '--tellme-templates']  # fmt: skip
    process = subprocess.Popen(args, cwd=ROOT, stdout=log, stderr=log)
    url = f'http://127.0.0.1:{port}'
    for _ in range(100):
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=0.2):
                return process, url, path
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError('simulator did not start')


def _start_workers(
    services: Services,
    key: str,
    url: str,
    rate_limit: int,
    root: Path,
    name: str,
    settings: dict[str, str],
    count: int = 2,
) -> list[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if k not in ('TELLME_NOTIFY_RATE_FRACTION', 'TELLME_NOTIFY_BURST')}
    env |= settings | {
        'TELLME_DATABASE_URL': services.database_url,
        'TELLME_REDIS_URL': services.redis_url,
        'TELLME_NOTIFY_API_KEY': key,
        'TELLME_NOTIFY_BASE_URL': url,
        'TELLME_SECRET_KEY': 'benchmark-secret-' + 'b' * 32,
        'TELLME_NOTIFY_RATE_LIMIT': str(rate_limit),
        'TELLME_LOG_LEVEL': 'WARNING',
    }
    workers = []
    for n in range(count):
        log = (root / f'worker-{rate_limit}-{name}-{n}.log').open('wb')
        workers.append(subprocess.Popen([sys.executable, '-m', 'notifier', 'worker'], cwd=ROOT, env=env,
                                        stdout=log, stderr=log))  # fmt: skip
    return workers


async def _link(pool: asyncpg.Pool, key: str, url: str) -> None:
    async with aiohttp.ClientSession() as http:
        client = NotifyClient(http, key, url)
        links = await template_links.link(pool, client, Settings(notify_api_key=key, notify_base_url=url))
    if not all(link.ok for link in links):
        raise RuntimeError(f"the benchmark simulator's templates did not link: {links}")


async def _sim_notifications(http: aiohttp.ClientSession, url: str) -> list[dict[str, Any]]:
    async with http.get(url + '/_sim/notifications') as response:
        return list((await response.json())['notifications'])


def _at(stamp: str) -> float:
    return datetime.strptime(stamp, '%Y-%m-%dT%H:%M:%S.%fZ').replace(tzinfo=UTC).timestamp()


async def _wait_sent(pool: asyncpg.Pool, total: int, seconds: float) -> None:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        await asyncio.sleep(1)
        if await pool.fetchval("select count(*) from notifications where status = 'sent'") == total:
            return


async def run_one(services: Services, root: Path, rate_limit: int, minutes: int, variant: str) -> dict[str, Any]:
    key = sim_keys.generate_api_key('bench', str(uuid.uuid4()))
    backlog = rate_limit * minutes
    per_second = rate_limit / 60
    bucket = notify_bucket_max(rate_limit)
    second_batch = bucket + BURST_WINDOW * round(per_second)
    pool = await asyncpg.create_pool(services.database_url, init=db._init_connection)
    await pool.execute('truncate notifications, contact_points, residents restart identity cascade')
    await pool.execute(INSERT_BACKLOG, backlog, uuid.UUID(TEMPLATE), PERSONALISATION)
    await pool.execute(ANALYZE)
    redis = Redis.from_url(services.redis_url)
    await redis.flushdb()
    name = variant.split()[0]
    sim, url, sim_log = _start_sim(root, key, rate_limit, name)
    await _link(pool, key, url)  # `tellme notify link`, as a council does before going live
    workers = _start_workers(services, key, url, rate_limit, root, name, VARIANTS[variant](rate_limit))
    window = minutes * 60
    try:
        async with aiohttp.ClientSession() as http:
            await _wait_sent(pool, backlog, window + 60)  # the window, then time to drain the rest
            await asyncio.sleep(IDLE_SECONDS)  # idle: both buckets fill
            second_at = time.time()
            await pool.execute(INSERT_BACKLOG, second_batch, uuid.UUID(TEMPLATE), PERSONALISATION)
            await _wait_sent(pool, backlog + second_batch, second_batch / per_second + 30)
            notes = await _sim_notifications(http, url)
    finally:
        for process in workers:
            process.send_signal(signal.SIGTERM)
        for process in workers:
            process.wait(30)
        sim.kill()  # its state is read already; nothing to flush
        sim.wait(10)
    reported = int(await redis.hget(f'notifier:ratelimit:{key[-73:-37]}:live', 'rate_limited') or 0)
    await redis.aclose()
    statuses = dict(await pool.fetch('select status, count(*) from notifications group by status'))
    references = {str(r['id']) for r in await pool.fetch('select id from notifications')}
    await pool.close()
    counts = collections.Counter(n['reference'] for n in notes)
    created = sorted(_at(n['created_at']) for n in notes)
    first_batch = [at for at in created if at < second_at]
    later = [at for at in created if at >= second_at]
    first = first_batch[0] if first_batch else 0.0
    in_window = sum(1 for at in first_batch if at < first + window)
    burst_start = later[0] if later else 0.0
    in_burst_window = sum(1 for at in later if at < burst_start + BURST_WINDOW)
    return {
        'variant': variant,
        'limit_per_min': rate_limit,
        'minutes': minutes,
        'backlog': backlog,
        'accepted_in_window': in_window,
        'goodput_share': in_window / backlog,
        'goodput_per_s': in_window / window,
        '429s': sim_log.read_text(errors='replace').count(REFUSED),
        '429s_reported': reported,
        'duplicates': sum(1 for n in counts.values() if n > 1),
        'lost': len(references - set(counts)),
        'burst_accepted': in_burst_window,
        'burst_most': bucket - 1 + BURST_WINDOW * per_second,
        'burst_sustained_only': BURST_WINDOW * per_second,
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
    ok = result['goodput_share'] >= GOODPUT_TARGET and not (result['429s'] or result['429s_reported'])
    ok = ok and not result['duplicates'] and not result['lost']
    sys.stdout.write(
        f'  {result["limit_per_min"]:>5}/min × {result["minutes"]} min, {result["variant"]}: '
        f'goodput {result["goodput_share"]:.1%} '
        f'({result["goodput_per_s"]:.2f}/s of {result["limit_per_min"] / 60:.2f}/s), '
        f'429s {result["429s"]} at the simulator ({result["429s_reported"]} reported), '
        f'duplicates {result["duplicates"]}, lost {result["lost"]}; after {IDLE_SECONDS} s idle '
        f'{result["burst_accepted"]} accepted in {BURST_WINDOW} s (Notify allows {result["burst_most"]:.0f}, '
        f'the sustained rate alone {result["burst_sustained_only"]:.0f}) [{"met" if ok else "NOT met"}]  '
        f'statuses {result["statuses"]}\n'
    )
    sys.stdout.flush()


def _side_by_side(results: list[dict[str, Any]]) -> None:
    """Medians per (limit, variant) over the rounds, and new ÷ old."""
    old, new = list(VARIANTS)
    for limit, minutes in dict.fromkeys((r['limit_per_min'], r['minutes']) for r in results):
        runs = {v: [r for r in results if r['limit_per_min'] == limit and r['variant'] == v] for v in VARIANTS}
        med = {v: {k: statistics.median(r[k] for r in rs) for k in ('goodput_share', 'burst_accepted')}
               for v, rs in runs.items() if rs}  # fmt: skip
        if len(med) < 2:
            continue
        sys.stdout.write(
            f'  {limit:>5}/min × {minutes} min, medians over {len(runs[new])} round(s): goodput '
            f'{med[old]["goodput_share"]:.1%} → {med[new]["goodput_share"]:.1%} '
            f'(×{med[new]["goodput_share"] / med[old]["goodput_share"]:.3f}); accepted in {BURST_WINDOW} s after idle '
            f'{med[old]["burst_accepted"]:.0f} → {med[new]["burst_accepted"]:.0f} '
            f'(×{med[new]["burst_accepted"] / med[old]["burst_accepted"]:.2f})\n'
        )


async def _main(runs: tuple[tuple[int, int], ...], decision: bool, rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix='tellme-bench-') as tmp:
        root = Path(tmp)
        services = Services(root)
        await services.start()
        try:
            sys.stdout.write('two worker processes, simulator in its own process with Notify\'s token bucket; '
                             f'old and new settings in turn; targets: goodput ≥ {GOODPUT_TARGET:.0%} of the limit, '
                             '0 429s, 0 duplicates, 0 lost\n')  # fmt: skip
            results = []
            for _ in range(rounds):
                for rate_limit, minutes in runs:
                    for variant in VARIANTS:
                        results.append(await run_one(services, root, rate_limit, minutes, variant))
                        _report(results[-1])
            _side_by_side(results)
            if decision:
                numbers = await decision_numbers(services)
                sys.stdout.write('  decision: ' + ', '.join(f'{k} {v:.2f}' for k, v in numbers.items()) + '\n')
        finally:
            services.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog='python -m benchmarks.delivery')
    parser.add_argument('--quick', action='store_true', help='600/min for 1 minute only')
    parser.add_argument('--only', choices=['600', '3000'], help='one of the two full runs')
    parser.add_argument('--rounds', type=int, default=1, help='rounds of old and new, for medians')
    parser.add_argument('--decision', action='store_true', help='also measure job-per-message vs batch claims')
    args = parser.parse_args(argv if argv is not None else [])
    runs = QUICK if args.quick else tuple(r for r in FULL if args.only in (None, str(r[0])))
    asyncio.run(_main(runs, args.decision, args.rounds))


if __name__ == '__main__':
    main(sys.argv[1:])
