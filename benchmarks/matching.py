"""B1 matching: 1,000,000 radius/area/topic subscriptions, 10,000 events, one SQL statement each.

Data (seeded, so every run builds the same world): 70% of subscribers clustered around 30 GB towns (Gaussian,
σ 4–15 km), 30% spread uniformly over a box covering GB. 70% near (radius 100 m – 5 km, mostly 200 m – 1 km;
`--dense`: more at 1–5 km, about 3x the matches); 20% area (90% ward, 10% district, as synthetic GSS-shaped
codes from a ~1 km² / ~110 km² grid, which events carry too); 10% topic (300 bulletins); 3% paused. About 180
matches per event. Events: 87% planning, 10% licensing (located like subscribers), 3% bulletins. Loaded with
COPY into a database of its own (`tellme_bench_matching`) on the server at TELLME_BENCH_DATABASE_URL, or on an
embedded PostgreSQL started under `.tellme/bench/` and removed afterwards.

Measured: `subscriptions.matching.fan_out.match` per event (ids returned to Python) on one connection
(p50/p99, events/s) and on two connections at once (events/s, this machine has 2 cores); EXPLAIN ANALYZE of the
busiest event;
and the brute-force alternative — geopy's geodesic distance for every subscription, in Python — timed over a
slice of the same subscriptions for a few events and extrapolated to the whole table (a full scan would take
minutes per event). `--quick` (or TELLME_BENCH_QUICK=1): 100,000 subscriptions and 1,000 events.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import asyncpg
from geopy.distance import geodesic

from notifier import db
from notifier.shell.embedded import EmbeddedPostgres
from subscriptions.matching import fan_out as matching
from subscriptions.residents.models import BBOX_MARGIN

SEED = 20261121
BENCH_ROOT = Path(__file__).resolve().parent.parent / '.tellme' / 'bench'
TOWNS = [  # name, lat, lng, weight, sigma km
    ('London', 51.5074, -0.1278, 20, 15), ('Birmingham', 52.4862, -1.8904, 6, 8),
    ('Manchester', 53.4808, -2.2426, 6, 8), ('Leeds', 53.8008, -1.5491, 4, 6),
    ('Glasgow', 55.8642, -4.2518, 4, 6), ('Liverpool', 53.4084, -2.9916, 3, 4),
    ('Newcastle', 54.9783, -1.6178, 3, 4), ('Sheffield', 53.3811, -1.4701, 3, 4),
    ('Bristol', 51.4545, -2.5879, 3, 4), ('Edinburgh', 55.9533, -3.1883, 3, 4),
    ('Leicester', 52.6369, -1.1398, 2, 4), ('Nottingham', 52.9548, -1.1581, 2, 4),
    ('Cardiff', 51.4816, -3.1791, 2, 4), ('Coventry', 52.4068, -1.5197, 2, 4),
    ('Bradford', 53.7960, -1.7594, 2, 4), ('Stoke', 53.0027, -2.1794, 2, 4),
    ('Southampton', 50.9097, -1.4044, 2, 4), ('Plymouth', 50.3755, -4.1427, 1, 4),
    ('Reading', 51.4543, -0.9781, 1, 4), ('Derby', 52.9225, -1.4746, 1, 4),
    ('Hull', 53.7676, -0.3274, 1, 4), ('Norwich', 52.6309, 1.2974, 1, 4),
    ('Brighton', 50.8225, -0.1372, 1, 4), ('York', 53.9600, -1.0873, 1, 4),
    ('Oxford', 51.7520, -1.2577, 1, 4), ('Cambridge', 52.2053, 0.1218, 1, 4),
    ('Exeter', 50.7184, -3.5339, 1, 4), ('Aberdeen', 57.1497, -2.0943, 1, 4),
    ('Swansea', 51.6214, -3.9436, 1, 4), ('Milton Keynes', 52.0406, -0.7594, 1, 4),
]  # fmt: skip
# Radius choices (metres, weight): most residents want their street or neighbourhood, a few the whole town.
RADII = [(100, 10), (200, 15), (250, 10), (400, 15), (500, 20), (800, 10), (1000, 12), (1500, 4), (2000, 2),
         (3000, 1), (5000, 1)]  # fmt: skip
# `--dense`: twice the mean catchment area (many more residents choosing 1-5 km): ~3x the matches per event.
DENSE_RADII = [(100, 5), (200, 10), (250, 5), (400, 10), (500, 20), (800, 10), (1000, 20), (1500, 8), (2000, 7),
               (3000, 3), (5000, 2)]  # fmt: skip
BULLETINS = [f'bulletins/{town.lower().replace(" ", "-")}-{k}' for town, *_ in TOWNS for k in range(10)]
APPLICATION_TYPES = ['Householder', 'Full', 'Trees', 'Advertising', 'Outline', 'Conditions']
COLUMNS = ('resident_id', 'status', 'kind', 'topics', 'exclusions', 'channels', 'centre_lat', 'centre_lng', 'radius_m',
           'bbox', 'area_codes', 'confirmed_at')  # fmt: skip


@dataclass(frozen=True)
class Size:
    subscriptions: int
    events: int
    brute_events: int
    brute_sample: int
    radii: tuple[tuple[int, int], ...] = tuple(RADII)


FULL = Size(subscriptions=1_000_000, events=10_000, brute_events=3, brute_sample=20_000)
QUICK = Size(subscriptions=100_000, events=1_000, brute_events=2, brute_sample=5_000)


def flag(name: str) -> bool:
    """`--quick` / `--dense` on the command line, or TELLME_BENCH_QUICK=1 / TELLME_BENCH_DENSE=1 (for make bench)."""
    parser = argparse.ArgumentParser()
    parser.add_argument(f'--{name}', action='store_true')
    args, _ = parser.parse_known_args(sys.argv[1:])
    return bool(getattr(args, name)) or os.environ.get(f'TELLME_BENCH_{name.upper()}') == '1'


def quick_requested() -> bool:
    return flag('quick')


# ---- a database of the benchmark's own


@contextlib.asynccontextmanager
async def bench_database(name: str) -> AsyncIterator[tuple[str, str]]:
    """(database URL of a fresh migrated `name`, description of the server); embedded unless told otherwise.

    The embedded server lives under `.tellme/` (git-ignored) rather than /tmp, where other tools tidy up.
    """
    server_url = os.environ.get('TELLME_BENCH_DATABASE_URL', '')
    BENCH_ROOT.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix=f'{name}-', dir=BENCH_ROOT))
    embedded = None
    try:
        if not server_url:
            embedded = EmbeddedPostgres(root)
            server_url = await asyncio.to_thread(embedded.start)
        await db.ensure_database(server_url, name, recreate=True)
        url = db.with_database(server_url, name)
        conn = await asyncpg.connect(url)
        try:
            await db.migrate(conn)
            version = await conn.fetchval('show server_version')
            buffers = await conn.fetchval('show shared_buffers')
        finally:
            await conn.close()
        where = 'embedded' if embedded else 'TELLME_BENCH_DATABASE_URL'
        yield url, f'PostgreSQL {version} ({where}, shared_buffers {buffers})'
        await _drop(server_url, name)
    finally:
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
        shutil.rmtree(root, ignore_errors=True)


async def _drop(server_url: str, name: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'drop database if exists {name} with (force)')  # name is a constant of ours
    finally:
        await conn.close()


async def connect(url: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(url)
    # binary, so COPY can carry jsonb (version byte 1, then the JSON text)
    await conn.set_type_codec(
        'jsonb',
        encoder=lambda value: b'\x01' + json.dumps(value).encode(),
        decoder=lambda data: json.loads(data[1:]),
        schema='pg_catalog',
        format='binary',
    )
    return conn


@contextlib.asynccontextmanager
async def indexes_dropped(conn: asyncpg.Connection, table: str) -> AsyncIterator[None]:
    """Drop `table`'s secondary indexes for a bulk load and rebuild them, exactly as the migrations made them."""
    rows = await conn.fetch(
        """
        select i.indexname, i.indexdef from pg_indexes i
        where i.schemaname = 'public' and i.tablename = $1
          and not exists (select 1 from pg_constraint c where c.conname = i.indexname)
        """,
        table,
    )
    for row in rows:
        await conn.execute(f'drop index {row["indexname"]}')  # names read from the catalogue
    yield
    for row in rows:
        await conn.execute(row['indexdef'])
    await conn.execute(f'analyze {table}')


# ---- the world


def _place(rng: random.Random) -> tuple[float, float]:
    if rng.random() < 0.7:
        _, lat, lng, _, sigma = rng.choices(TOWNS, weights=[t[3] for t in TOWNS])[0]
        dy, dx = rng.gauss(0, sigma), rng.gauss(0, sigma)
        return lat + dy / 111.2, lng + dx / (111.2 * math.cos(math.radians(lat)))
    return rng.uniform(50.2, 57.5), rng.uniform(-4.5, 1.5)


def area_codes(lat: float, lng: float) -> list[str]:
    """Ward- and district-shaped codes from a grid: ~1 km² wards (urban wards are 1-2 km²), ~110 km² districts."""
    ward = f'E05{int(lat / 0.01) % 1000:03d}{int((lng + 10) / 0.015) % 1000:03d}'
    district = f'E08{int(lat / 0.1) % 1000:03d}{int((lng + 10) / 0.15) % 1000:03d}'
    return [ward, district]


@cache
def _degrees_per_metre(lat_band: float) -> tuple[float, float]:
    """Geodesic degrees of latitude and longitude per metre at this latitude (geopy, 1 km reach)."""
    north = geodesic(meters=1000).destination((lat_band, 0), 0).latitude - lat_band
    east = geodesic(meters=1000).destination((lat_band, 0), 90).longitude
    return north / 1000, east / 1000


def bbox(lat: float, lng: float, radius_m: int) -> asyncpg.Box:
    """`subscriptions.residents.models.bounding_box`, calibrated per 0.01° band (geopy per row: minutes at 1M)."""
    per_lat, per_lng = _degrees_per_metre(round(lat, 2))
    reach = radius_m * BBOX_MARGIN + 1
    return asyncpg.Box((lng + reach * per_lng * 1.001, lat + reach * per_lat * 1.001),
                       (lng - reach * per_lng * 1.001, lat - reach * per_lat * 1.001))  # fmt: skip


def subscriptions(n: int, radii_weights: tuple[tuple[int, int], ...], seed: int = SEED) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(seed)
    radii, weights = zip(*radii_weights, strict=True)
    for resident_id in range(1, n + 1):
        status = 'paused' if rng.random() < 0.03 else 'active'
        roll = rng.random()
        lat, lng = _place(rng)
        if roll < 0.7:
            radius = rng.choices(radii, weights)[0]
            topics = rng.choices([[], ['planning'], ['licensing', 'planning']], [6, 3, 1])[0]
            exclusions = {'application_type': ['Trees']} if rng.random() < 0.1 else {}
            yield (resident_id, status, 'near', topics, exclusions, ['email'], lat, lng, radius, bbox(lat, lng, radius),
                   None, None)  # fmt: skip
        elif roll < 0.9:
            ward, district = area_codes(lat, lng)
            codes = [ward] if rng.random() < 0.9 else [district]
            topics = rng.choice([[], ['planning']])
            yield resident_id, status, 'area', topics, {}, ['email'], None, None, None, None, codes, None
        else:
            topics = [rng.choice(BULLETINS)]
            yield resident_id, status, 'topic', topics, {}, ['email'], None, None, None, None, None, None


def events(n: int, seed: int = SEED + 1) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(seed)
    for i in range(n):
        roll = rng.random()
        if roll < 0.97:
            lat, lng = _place(rng)
            topic = 'planning' if roll < 0.87 else 'licensing'
            attributes = {'application_type': rng.choice(APPLICATION_TYPES)} if topic == 'planning' else {}
            yield (f'e{i}', f'{topic}.new', topic, lat, lng, area_codes(lat, lng), attributes)
        else:
            yield f'e{i}', 'bulletin.published', rng.choice(BULLETINS), None, None, [], {}


async def load(conn: asyncpg.Connection, size: Size) -> tuple[float, list[tuple[Any, ...]]]:
    """COPY the world in; return seconds taken and the first `brute_sample` subscriptions for the brute force."""
    started = time.perf_counter()
    sample: list[tuple[Any, ...]] = []

    def keep_sample() -> Iterator[tuple[Any, ...]]:
        for row in subscriptions(size.subscriptions, size.radii):
            if len(sample) < size.brute_sample:
                sample.append(row)
            yield row

    await conn.execute("insert into residents (language) select 'en' from generate_series(1, $1)", size.subscriptions)
    async with indexes_dropped(conn, 'subscriptions'):
        await conn.copy_records_to_table('subscriptions', records=keep_sample(), columns=COLUMNS)
    now = datetime.now(UTC)
    await conn.copy_records_to_table(
        'events',
        records=(
            ('bench', key, 1, 'f', kind, topic, 'Benchmark event', lat, lng, codes, attrs, now)
            for key, kind, topic, lat, lng, codes, attrs in events(size.events)
        ),  # fmt: skip
        columns=(
            'source',
            'external_key',
            'version',
            'fingerprint',
            'kind',
            'topic',
            'title',
            'lat',
            'lng',
            'area_codes',
            'attributes',
            'occurred_at',
        ),  # fmt: skip
    )
    await conn.execute('vacuum (analyze) subscriptions')  # the steady state autovacuum keeps: hint bits set
    await conn.execute('analyze events')
    return time.perf_counter() - started, sample


# ---- measuring


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def timed_matches(conn: asyncpg.Connection, ids: list[int]) -> tuple[list[float], list[int]]:
    latencies, counts = [], []
    for event_id in ids:
        started = time.perf_counter()
        found = await matching.match(conn, event_id)
        latencies.append(time.perf_counter() - started)
        counts.append(len(found))
    return latencies, counts


async def parallel_rate(url: str, ids: list[int], connections: int) -> float:
    conns = [await connect(url) for _ in range(connections)]
    try:
        started = time.perf_counter()
        await asyncio.gather(*(timed_matches(conn, ids[i::connections]) for i, conn in enumerate(conns)))
        return len(ids) / (time.perf_counter() - started)
    finally:
        for conn in conns:
            await conn.close()


def brute_force(sample: list[tuple[Any, ...]], event: tuple[Any, ...]) -> tuple[set[int], float]:
    """Every subscription checked in Python, distance by geopy's geodesic: (matching ids, seconds)."""
    _, _, topic, lat, lng, codes, attributes = event
    topics = {topic, topic.split('/')[0]}
    found: set[int] = set()
    started = time.perf_counter()
    for sub_id, row in enumerate(sample, start=1):
        _, status, kind, sub_topics, exclusions, _, sub_lat, sub_lng, radius, _, sub_codes, _ = row
        if kind == 'near':
            hit = lat is not None and geodesic((lat, lng), (sub_lat, sub_lng)).meters <= radius
        elif kind == 'area':
            hit = bool(set(sub_codes) & set(codes))
        else:
            hit = bool(topics & set(sub_topics))
        wanted = not sub_topics or bool(topics & set(sub_topics))
        excluded = any(attributes.get(name) in values for name, values in exclusions.items())
        if hit and wanted and not excluded and status == 'active':
            found.add(sub_id)
    return found, time.perf_counter() - started


def plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get('Plans', []):
        yield from plan_nodes(child)


async def explain(conn: asyncpg.Connection, event_id: int) -> list[str]:
    plan = json.loads(await conn.fetchval('explain (analyze, format json) ' + matching.MATCH, event_id))[0]
    lines = []
    for node in plan_nodes(plan['Plan']):
        if 'Index Name' in node:
            lines.append(f'{node["Node Type"]} using {node["Index Name"]}: {node["Actual Rows"]:.0f} rows, '
                         f'{node["Actual Total Time"]:.3f} ms')  # fmt: skip
        elif node['Node Type'] == 'Seq Scan' and node.get('Relation Name') == 'subscriptions':
            lines.append('Seq Scan on subscriptions (!)')
    lines.append(f'execution {plan["Execution Time"]:.3f} ms, planning {plan["Planning Time"]:.3f} ms')
    return lines


async def run(size: Size) -> dict[str, Any]:
    out = sys.stdout.write
    async with bench_database('tellme_bench_matching') as (url, server):
        out(
            f'{server}; {size.subscriptions:,} subscriptions, {size.events:,} events, '
            f'{"dense" if size.radii == tuple(DENSE_RADII) else "realistic"} radii\n'
        )
        conn = await connect(url)
        try:
            seconds, sample = await load(conn, size)
            out(f'  loaded with COPY (+ index build, analyze) in {seconds:.1f} s\n')
            ids = [r['id'] for r in await conn.fetch('select id from events order by id')]
            sample_events = list(events(size.events))
            await timed_matches(conn, ids[: min(500, len(ids))])  # warm the cache and the prepared statement
            latencies, counts = await timed_matches(conn, ids)
            busiest = ids[max(range(len(counts)), key=counts.__getitem__)]
            plan = await explain(conn, busiest)
            located = [(i, e) for i, e in zip(ids, sample_events, strict=True) if e[3] is not None]
            brute = []
            for event_id, event in located[: size.brute_events]:
                found, took = brute_force(sample, event)
                in_sql = {i for i in await matching.match(conn, event_id) if i <= len(sample)}
                brute.append((took / len(sample) * size.subscriptions, len(found ^ in_sql), len(found)))
        finally:
            await conn.close()
        rate_1 = len(ids) / sum(latencies)
        rate_2 = await parallel_rate(url, ids, 2)
    p50, p99 = percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000
    brute_s = statistics.median(b[0] for b in brute)
    per_event = statistics.median(latencies)
    out(f'  matches per event: mean {statistics.mean(counts):.0f}, p50 {percentile(counts, 50):.0f}, '
        f'max {max(counts)}\n')  # fmt: skip
    out(f'  one connection:  p50 {p50:.2f} ms, p99 {p99:.2f} ms, {rate_1:,.0f} events/s\n')
    out(f'  two connections: {rate_2:,.0f} events/s   (targets: p99 <= 5 ms, >= 1,000 events/s)\n')
    out(f'  EXPLAIN ANALYZE, busiest event ({max(counts)} matches):\n')
    for line in plan:
        out(f'    {line}\n')
    out(f'  brute force (geopy geodesic per subscription, Python): timed over {len(sample):,} of the subscriptions '
        f'for {len(brute)} events, extrapolated: {brute_s:,.0f} s per event = x{brute_s / per_event:,.0f} the SQL p50; '
        f'disagreements with SQL in the slice: {sum(b[1] for b in brute)} of {sum(b[2] for b in brute)} matches '
        '(geodesic vs great circle at the very edge)\n')  # fmt: skip
    return {'p50_ms': p50, 'p99_ms': p99, 'rate_1': rate_1, 'rate_2': rate_2, 'brute_s': brute_s}


def main() -> None:
    size = QUICK if quick_requested() else FULL
    asyncio.run(run(dataclasses.replace(size, radii=tuple(DENSE_RADII)) if flag('dense') else size))


if __name__ == '__main__':
    main()
