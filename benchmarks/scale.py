"""Scale-out (issue 13 item 6): more worker and web processes on one shared PostgreSQL and Redis.

Run on the servers at TELLME_BENCH_DATABASE_URL / TELLME_BENCH_REDIS_URL when set (a machine's own servers stand in
for managed ones; a database `tellme_scale` is made there and dropped, and the Redis database named in the URL is
flushed), else on embedded ones. Everything runs as real `tellme worker` / `tellme web` processes.

1. **Delivery with 1, 2 and 4 workers.** A backlog of exactly `RATE` × 1 minute emails, the simulator in a process
   of its own with Notify's token bucket; per count: goodput (messages the simulator accepted in the minute from the
   first, as a share of the limit), 429s at the simulator, duplicates and lost per reference after draining.
   More workers must not send faster than Notify allows, nor send anything twice.
2. **Web with 1 and 2 processes** (wrk from Debian, `apt-get install wrk`; skipped with a note if it is missing).
   Two `tellme web` processes; for each route, in turn and for `rounds` rounds: wrk with `CONNECTIONS` connections
   on the first process alone, then half of them on each, as a round-robin load balancer would; medians reported.
   Routes: the start page, an event page, the first sign-up POST (`/near`, a postcode: CSRF-checked, a session
   written) and `POST /api/events`, where each request is a new planning application matched against
   `SUBSCRIBERS` place subscriptions and fanned out to the outbox in its transaction (matching throughput).
3. **What a process costs**: peak RSS and USS, and peak connections to PostgreSQL (by `application_name`) and to
   Redis (its sockets), sampled every half second while it works; and the machine's CPU use during each run, which
   says when the cores are full.

    python -m benchmarks scale          # ~9 minutes
    python -m benchmarks.scale --quick  # 600/min, 1 and 2 workers; web: two routes, one round of 5 s
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import psutil
from redis.asyncio import Redis

from benchmarks import delivery
from benchmarks.matching import bbox, bench_database
from notifier import db
from notifier.api.auth import create_token
from notifier.notify_sim.rules import keys as sim_keys
from notifier.shell.embedded import EmbeddedRedis, free_port

ROOT = Path(__file__).resolve().parents[1]
RATE = 3000  # Notify's default per-minute limit
WORKER_COUNTS = (1, 2, 4)
WEB_COUNTS = (1, 2)
CONNECTIONS = 16
WRK_SECONDS = 10
SUBSCRIBERS = 20_000  # place subscriptions in a 15 km square: a new application matches ~100 of them
CENTRE = (53.4460, -2.3080)  # Stretford, Trafford
SPAN = (0.135, 0.226)  # degrees of latitude and longitude: about 15 km each way there
POSTCODE = 'M32 0TH'
SECRET = 'benchmark-secret-' + 's' * 32
SAMPLE_EVERY = 0.5


@dataclass
class Shared:
    """The one PostgreSQL database and Redis every process of a run uses (as `delivery.Services` is)."""

    database_url: str
    redis_url: str


@dataclass
class Costs:
    """Peaks of one process while it worked."""

    rss: int = 0
    uss: int = 0
    pg: int = 0
    redis: int = 0
    cpu_s: float = 0.0


def named(url: str, name: str) -> str:
    """`url` with `application_name=name` (asyncpg passes unknown query parameters to the server as settings)."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query) + [('application_name', name)]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


class Sampler:
    """Samples named processes' memory and connections, and the machine's CPU use, until stopped."""

    def __init__(self, pool: asyncpg.Pool, processes: dict[str, psutil.Process], redis_port: int) -> None:
        self.pool, self.processes, self.redis_port = pool, processes, redis_port
        self.costs = {name: Costs() for name in processes}
        self._cpu_start = {name: sum(p.cpu_times()[:2]) for name, p in processes.items()}
        self._task: asyncio.Task[None] | None = None
        psutil.cpu_percent()  # the next call reports use since now
        self.cpu_percent = 0.0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> dict[str, Costs]:
        if self._task is None:  # stopped already
            return self.costs
        self.cpu_percent = psutil.cpu_percent()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        for name, process in self.processes.items():
            with contextlib.suppress(psutil.Error):
                self.costs[name].cpu_s = sum(process.cpu_times()[:2]) - self._cpu_start[name]
        return self.costs

    async def _run(self) -> None:
        while True:
            by_name = dict(await self.pool.fetch(
                'select application_name, count(*) from pg_stat_activity where datname = current_database() '
                'group by application_name'
            ))  # fmt: skip
            for name, process in self.processes.items():
                costs = self.costs[name]
                with contextlib.suppress(psutil.Error):
                    memory = process.memory_full_info()
                    costs.rss, costs.uss = max(costs.rss, memory.rss), max(costs.uss, memory.uss)
                    to_redis = sum(1 for c in process.net_connections('tcp')
                                   if c.raddr and c.raddr.port == self.redis_port)  # fmt: skip
                    costs.redis = max(costs.redis, to_redis)
                costs.pg = max(costs.pg, by_name.get(name, 0))
            await asyncio.sleep(SAMPLE_EVERY)


# ---- the shared services


@contextlib.asynccontextmanager
async def shared_services(root: Path) -> AsyncIterator[tuple[Shared, str]]:
    redis_url = os.environ.get('TELLME_BENCH_REDIS_URL', '')
    embedded = None
    if not redis_url:
        embedded = EmbeddedRedis(root, persist=False)
        redis_url = embedded.start()
    try:
        async with bench_database('tellme_scale') as (database_url, where):
            redis = Redis.from_url(redis_url)
            version = (await redis.info('server'))['redis_version']
            await redis.aclose()
            kind = 'embedded' if embedded else 'TELLME_BENCH_REDIS_URL'
            yield Shared(database_url, redis_url), f'{where}; Redis {version} ({kind})'
    finally:
        if embedded is not None:
            embedded.stop()


def _redis_port(url: str) -> int:
    return urllib.parse.urlsplit(url).port or 6379


def _mb(n: int) -> str:
    return f'{n / 1e6:.0f} MB'


# ---- 1. delivery with 1, 2 and 4 workers


async def deliver(shared: Shared, root: Path, workers: int, rate: int) -> dict[str, Any]:
    key = sim_keys.generate_api_key('scale', str(uuid.uuid4()))
    backlog = rate  # one minute's worth
    pool = await asyncpg.create_pool(shared.database_url, init=db._init_connection)
    await pool.execute('truncate notifications restart identity cascade')
    await pool.execute(delivery.INSERT_BACKLOG, backlog, uuid.UUID(delivery.TEMPLATE), delivery.PERSONALISATION)
    await pool.execute(delivery.ANALYZE)
    redis = Redis.from_url(shared.redis_url)
    await redis.flushdb()
    await redis.aclose()
    sim, url, sim_log = delivery._start_sim(root, key, rate, f'scale{workers}')
    await delivery._link(pool, key, url)
    processes = []
    for n in range(workers):
        run = Shared(named(shared.database_url, f'worker-{n}'), shared.redis_url)
        processes += delivery._start_workers(run, key, url, rate, root, f'scale{workers}-{n}',
                                             {'TELLME_WORKER_METRICS_PORT': '0'}, count=1)  # fmt: skip
    sampler = Sampler(pool, {f'worker-{n}': psutil.Process(p.pid) for n, p in enumerate(processes)},
                      _redis_port(shared.redis_url))  # fmt: skip
    sampler.start()
    try:
        await delivery._wait_sent(pool, backlog, 60 + 60)
        costs = await sampler.stop()
        async with aiohttp.ClientSession() as http:
            notes = await delivery._sim_notifications(http, url)
    finally:
        await sampler.stop()
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(30)
        sim.kill()
        sim.wait(10)
    sent = await pool.fetchval("select count(*) from notifications where status = 'sent'")
    references = {str(r['id']) for r in await pool.fetch('select id from notifications')}
    await pool.close()
    # by message: a resend after Notify's technical failure carries `<id>.2`, and would be the same message twice
    counts = collections.Counter(n['reference'].split('.', 1)[0] for n in notes)
    created = sorted(delivery._at(n['created_at']) for n in notes)
    first = created[0] if created else 0.0
    return {
        'workers': workers,
        'backlog': backlog,
        'sent': sent,
        'goodput': sum(1 for at in created if at < first + 60) / backlog,
        'drained_s': (created[-1] - first) if created else 0.0,
        # over the whole run: above 100% would be faster than Notify allows (the minute's share cannot show that)
        'pace': (len(created) - 1) / (created[-1] - first) / (rate / 60) if len(created) > 1 else 0.0,
        '429s': sim_log.read_text(errors='replace').count(delivery.REFUSED),
        'duplicates': sum(1 for n in counts.values() if n > 1),
        'lost': len(references - set(counts)),
        'cpu_percent': sampler.cpu_percent,
        'costs': costs,
    }


def report_delivery(rows: list[dict[str, Any]], rate: int) -> None:
    out = sys.stdout.write
    out(f"delivery: {rate}/min for 1 minute ({rate} emails), simulator with Notify's token bucket\n")
    out('  workers | goodput in the minute | all sent after | pace (share of the limit) | 429s | duplicates | lost '
        '| machine CPU\n')  # fmt: skip
    for r in rows:
        out(f'  {r["workers"]:>7} | {r["goodput"]:>21.1%} | {r["drained_s"]:>12.1f} s | {r["pace"]:>24.1%} | '
            f'{r["429s"]:>4} | {r["duplicates"]:>10} | {r["lost"]:>4} | {r["cpu_percent"]:>10.0f}%\n')  # fmt: skip
    for r in rows:
        for name, c in r['costs'].items():
            out(f'    {r["workers"]} workers, {name}: RSS {_mb(c.rss)}, USS {_mb(c.uss)}, PostgreSQL connections '
                f'{c.pg}, Redis connections {c.redis}, CPU {c.cpu_s:.1f} s\n')  # fmt: skip
    sys.stdout.flush()


# ---- 2. web with 1 and 2 processes


BUILD_WORLD = [
    'truncate notifications, subscriptions, contact_points, residents, events restart identity cascade',
    "insert into residents (language) select 'en' from generate_series(1, $1::int)",
    """insert into contact_points (resident_id, channel, address, verified_at)
       select id, 'email', 'scale' || id || '@example.com', now() from residents""",
]
SUBSCRIPTION_COLUMNS = ('resident_id', 'status', 'kind', 'topics', 'channels', 'centre_lat', 'centre_lng',
                        'radius_m', 'bbox', 'confirmed_at')  # fmt: skip


async def build_world(pool: asyncpg.Pool) -> None:
    """Residents with verified emails and place subscriptions, and the postcode the sign-up POST gives."""
    await pool.execute(BUILD_WORLD[0])
    for sql in BUILD_WORLD[1:]:
        await pool.execute(sql, *([SUBSCRIBERS] if '$1' in sql else []))
    rng = random.Random(20261206)
    now = time.time()

    def rows() -> Any:
        from datetime import UTC, datetime

        confirmed = datetime.fromtimestamp(now, UTC)
        for resident in range(1, SUBSCRIBERS + 1):
            lat = CENTRE[0] + (rng.random() - 0.5) * SPAN[0]
            lng = CENTRE[1] + (rng.random() - 0.5) * SPAN[1]
            radius = rng.choice((200, 500, 500, 1000))
            yield (resident, 'active', 'near', ['planning'], ['email'], lat, lng, radius, bbox(lat, lng, radius),
                   confirmed)  # fmt: skip

    async with pool.acquire() as conn:
        await conn.copy_records_to_table('subscriptions', records=rows(), columns=SUBSCRIPTION_COLUMNS)
    await pool.execute(
        """insert into postcodes (postcode, lat, lng, eastings, northings, positional_quality, district_code)
           values ($1, $2, $3, 379000, 395000, 10, 'E08000009') on conflict (postcode) do nothing""",
        POSTCODE, CENTRE[0], CENTRE[1],
    )  # fmt: skip
    await pool.execute('vacuum (analyze) residents, contact_points, subscriptions, events, notifications')


def _start_web(shared: Shared, root: Path, index: int) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith('TELLME_')} | {
        'TELLME_DATABASE_URL': named(shared.database_url, f'web-{index}'),
        'TELLME_REDIS_URL': shared.redis_url,
        'TELLME_SECRET_KEY': SECRET,
        'TELLME_HOST': '127.0.0.1',
        'TELLME_PORT': str(port),
        'TELLME_LOG_LEVEL': 'WARNING',
    }
    log = (root / f'web-{index}.log').open('wb')
    process = subprocess.Popen([sys.executable, '-m', 'notifier', 'web'], cwd=ROOT, env=env, stdout=log, stderr=log)
    return process, port


async def _ready(http: aiohttp.ClientSession, port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise RuntimeError(f'tellme web exited ({process.returncode}); see its log')
        with contextlib.suppress(aiohttp.ClientError):
            async with http.get(f'http://127.0.0.1:{port}/readyz') as response:
                if response.status == 200:
                    return
        await asyncio.sleep(0.1)
    raise RuntimeError('tellme web did not become ready')


async def _csrf(http: aiohttp.ClientSession, port: int) -> tuple[str, str]:
    """A (cookie, form token) pair, as a browser holds after its first page; any process accepts it."""
    async with aiohttp.ClientSession() as fresh, fresh.get(f'http://127.0.0.1:{port}/near') as response:
        page = await response.text()
        cookie = response.cookies['tellme_csrf'].value
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    if not found:
        raise RuntimeError('no csrf_token on /near')
    return cookie, found.group(1)


DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"errors":%d,"status_errors":%d,'
    .. '"p50_us":%d,"p99_us":%d}\\n', summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout,
    e.status, latency:percentile(50), latency:percentile(99)))
end
"""


def scenarios(event_id: int, token: str, cookie: str, form: str) -> dict[str, str]:
    """wrk scripts by name; `@PREFIX@` and `@SEED@` make each wrk process's events its own."""
    lat, lng = CENTRE
    body = ('{"source":"scale-api","external_key":"%s-%d","kind":"planning.new","topic":"planning",'
            '"title":"Benchmark application","summary":"Erection of a two-storey side extension.",'
            '"lat":%.6f,"lng":%.6f,"area_codes":[],"occurred_at":"2026-12-01T09:00:00+00:00"}')  # fmt: skip
    headers = f'{{["Content-Type"] = "application/json", ["Authorization"] = "Bearer {token}"}}'
    return {
        'start page (GET /)': 'wrk.method = "GET"\nwrk.path = "/"\n',
        'event page (GET /e/{id})': f'wrk.method = "GET"\nwrk.path = "/e/{event_id}"\n',
        'sign-up step (POST /near)': (
            'wrk.method = "POST"\nwrk.path = "/near"\n'
            f'wrk.body = "csrf_token={urllib.parse.quote(form)}&postcode={urllib.parse.quote_plus(POSTCODE)}"\n'
            'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
            f'wrk.headers["Cookie"] = "tellme_csrf={cookie}"\n'
        ),
        'new event, matched (POST /api/events)': (
            'local n = 0\nmath.randomseed(@SEED@)\n'
            'request = function()\n  n = n + 1\n'
            f'  local lat = {lat} + (math.random() - 0.5) * {SPAN[0]}\n'
            f'  local lng = {lng} + (math.random() - 0.5) * {SPAN[1]}\n'
            f"  local body = string.format('{body}', '@PREFIX@', n, lat, lng)\n"
            f'  return wrk.format("POST", "/api/events", {headers}, body)\nend\n'
        ),
    }


def _script(script: str, prefix: str, seed: int) -> str:
    return script.replace('@PREFIX@', prefix).replace('@SEED@', str(seed))


async def _wrk(root: Path, port: int, script: str, connections: int, seconds: int) -> dict[str, Any]:
    path = root / f'wrk-{uuid.uuid4().hex}.lua'
    path.write_text(script + DONE)
    process = await asyncio.create_subprocess_exec(
        'wrk', '-t1', f'-c{connections}', f'-d{seconds}s', '--timeout', '10s', '-s', str(path),
        f'http://127.0.0.1:{port}', stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output = (await process.communicate())[0].decode(errors='replace')
    found = re.search(r'^WRKJSON (.*)$', output, re.MULTILINE)
    if not found:
        raise RuntimeError(f'wrk said: {output[-500:]}')
    return dict(json.loads(found.group(1)))


@dataclass
class WebRuns:
    """Per route, per number of web processes: one measurement a round."""

    seconds: int
    rounds: int
    results: dict[str, dict[int, list[dict[str, Any]]]] = field(default_factory=dict)
    costs: dict[str, Costs] = field(default_factory=dict)

    def median(self, route: str, webs: int, key: str) -> float:
        return float(statistics.median(r[key] for r in self.results[route][webs]))


async def web(
    shared: Shared, root: Path, pool: asyncpg.Pool, names: list[str], seconds: int = WRK_SECONDS, rounds: int = 3
) -> WebRuns:
    """Two web processes; per route and round, wrk on the first only and then on both, side by side."""
    event_id = await pool.fetchval(
        """insert into events (source, external_key, version, fingerprint, kind, topic, title, summary, lat, lng,
                               area_codes, occurred_at)
           values ('scale', 'page', 1, 'f', 'planning.new', 'planning', 'Two-storey side extension',
                   'Erection of a two-storey side extension and a dropped kerb.', $1, $2, '{}', now())
           returning id""",
        CENTRE[0], CENTRE[1],
    )  # fmt: skip
    started = [_start_web(shared, root, n) for n in range(max(WEB_COUNTS))]
    runs = WebRuns(seconds, rounds)
    try:
        async with aiohttp.ClientSession() as http:
            for process, port in started:
                await _ready(http, port, process)
            cookie, form = await _csrf(http, started[0][1])
            scripts = scenarios(event_id, await _token(pool), cookie, form)
            processes = {f'web-{n}': psutil.Process(p.pid) for n, (p, _) in enumerate(started)}
            for name in names:
                script = scripts[name]
                # warm-up on every process (templates compiled, pools filled), then the measured rounds
                await asyncio.gather(*(_wrk(root, port, _script(script, f'warm-{n}', n), 2, 1)
                                       for n, (_, port) in enumerate(started)))  # fmt: skip
                for round_ in range(rounds):
                    for webs in WEB_COUNTS:
                        prefix = f'r{round_}-w{webs}'
                        sampler = Sampler(pool, processes, _redis_port(shared.redis_url))
                        sampler.start()
                        each = await asyncio.gather(*(
                            _wrk(root, port, _script(script, f'{prefix}-{n}', 100 * round_ + n), CONNECTIONS // webs,
                                 seconds)
                            for n, (_, port) in enumerate(started[:webs])
                        ))  # fmt: skip
                        for n, c in (await sampler.stop()).items():
                            was = runs.costs.setdefault(n, Costs())
                            was.rss, was.uss = max(was.rss, c.rss), max(was.uss, c.uss)
                            was.pg, was.redis = max(was.pg, c.pg), max(was.redis, c.redis)
                        result = {
                            'per_s': sum(r['requests'] / (r['duration_us'] / 1e6) for r in each),
                            'errors': sum(r['errors'] + r['status_errors'] for r in each),
                            'p50_ms': statistics.median(r['p50_us'] for r in each) / 1000,
                            'p99_ms': max(r['p99_us'] for r in each) / 1000,
                            'cpu_percent': sampler.cpu_percent,
                        }
                        if 'api/events' in name:
                            result['matches_per_event'] = float(await pool.fetchval(
                                "select coalesce(avg(matched_count), 0) from events where source = 'scale-api' "
                                'and external_key like $1', f'{prefix}-%',
                            ))  # fmt: skip
                        runs.results.setdefault(name, {}).setdefault(webs, []).append(result)
    finally:
        for process, _ in started:
            process.send_signal(signal.SIGINT)  # no drain: nothing routes to these
        for process, _ in started:
            process.wait(30)
    return runs


async def _token(pool: asyncpg.Pool) -> str:
    async with pool.acquire() as conn:
        return (await create_token(conn, name='scale benchmark', role='system'))[1]


def report_web(runs: WebRuns) -> None:
    out = sys.stdout.write
    out(f'web: wrk, {CONNECTIONS} connections shared among the processes, {runs.seconds} s a run, medians of '
        f'{runs.rounds} rounds taken in turn; {SUBSCRIBERS:,} place subscriptions\n')  # fmt: skip
    out('  route'.ljust(42) + ''.join(f'| {w} web: req/s (p50, p99 ms, CPU) '.ljust(38) for w in WEB_COUNTS)
        + '| ratio\n')  # fmt: skip
    for name, by_webs in runs.results.items():
        cells = []
        for webs in WEB_COUNTS:
            m = {k: runs.median(name, webs, k) for k in ('per_s', 'p50_ms', 'p99_ms', 'cpu_percent')}
            errors = sum(r['errors'] for r in by_webs[webs])
            note = f', {errors} errors' if errors else ''
            cell = f'| {m["per_s"]:>7.0f} ({m["p50_ms"]:.0f}, {m["p99_ms"]:.0f}, {m["cpu_percent"]:.0f}%{note}) '
            cells.append(cell.ljust(38))
        ratio = runs.median(name, WEB_COUNTS[-1], 'per_s') / runs.median(name, WEB_COUNTS[0], 'per_s')
        out(f'  {name}'.ljust(42) + ''.join(cells) + f'| ×{ratio:.2f}\n')
        if 'api/events' in name:
            for webs in WEB_COUNTS:
                per_s, matches = runs.median(name, webs, 'per_s'), runs.median(name, webs, 'matches_per_event')
                out(f'    {webs} web: {per_s:.0f} events/s matched, {matches:.0f} matches an event = '
                    f'{per_s * matches:.0f} outbox rows/s written\n')  # fmt: skip
    for name, c in runs.costs.items():
        out(f'    {name}: RSS {_mb(c.rss)}, USS {_mb(c.uss)}, PostgreSQL connections {c.pg}, Redis connections '
            f'{c.redis}\n')  # fmt: skip
    sys.stdout.flush()


# ---- the run


async def _main(quick: bool) -> None:
    rate = 600 if quick else RATE
    counts = (1, 2) if quick else WORKER_COUNTS
    root = Path(tempfile.mkdtemp(prefix='tellme-scale-'))
    try:
        async with shared_services(root) as (shared, where):
            sys.stdout.write(f'{psutil.cpu_count()} CPUs, {_mb(psutil.virtual_memory().total)}; {where}\n')
            rows = [await deliver(shared, root, n, rate) for n in counts]
            report_delivery(rows, rate)
            if not shutil.which('wrk'):
                sys.stdout.write('web: skipped, wrk is not installed (apt-get install wrk)\n')
                return
            pool = await asyncpg.create_pool(shared.database_url, init=db._init_connection)
            try:
                await build_world(pool)
                names = list(scenarios(0, '', '', ''))
                if quick:
                    names = [names[0], names[-1]]
                runs = await web(shared, root, pool, names, *((5, 1) if quick else ()))
            finally:
                await pool.close()
            report_web(runs)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog='python -m benchmarks.scale')
    parser.add_argument(
        '--quick', action='store_true', help='600/min with 1 and 2 workers; two web routes, one round of 5 s'
    )
    args = parser.parse_args(argv if argv is not None else [])
    asyncio.run(_main(args.quick or os.environ.get('TELLME_BENCH_QUICK') == '1'))


if __name__ == '__main__':
    main(sys.argv[1:])
