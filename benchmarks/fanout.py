"""B2 fan-out: one area bulletin matching 500,000 contact points, written to the outbox in one statement.

World (built server-side with generate_series, so the benchmark process never holds it): 400,000 residents in
one district, each with an email address and one in four also with a mobile (500,000 contact points), each
with an area subscription to that district's bulletins (10% daily digests, the rest immediate; texts with the
default quiet hours); plus 100,000 residents elsewhere who must not hear. The bulletin goes through
`sources.events.ingest.ingest` in one transaction, as the API does.

Measured: seconds from `ingest` to commit; outbox rows written; peak RSS of this process (getrusage) and of
the PostgreSQL backend that ran the statement (psutil, sampled every 50 ms; RSS counts the shared buffers it
touched, USS only its own memory); Python allocations during the call (tracemalloc peak: a Python object per
recipient would show as hundreds of MB); and how soon sending can start: a sender's batch claim
(`for update skip locked`, 100 rows) against the 500,000-row outbox. `--quick`: 50,000 contact points.
"""

from __future__ import annotations

import asyncio
import resource
import statistics
import sys
import threading
import time
import tracemalloc
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psutil

from benchmarks.matching import bench_database, connect, quick_requested
from sources.events.ingest import ingest
from sources.events.models import Event

DISTRICT = 'E08000009'  # Trafford
OTHER_DISTRICT = 'E08000010'


@dataclass(frozen=True)
class Size:
    residents: int  # in the district; every 4th also has a mobile, so contact points = residents * 5 / 4
    elsewhere: int


FULL = Size(residents=400_000, elsewhere=100_000)
QUICK = Size(residents=40_000, elsewhere=10_000)

BUILD = [
    "insert into residents (language) select 'en' from generate_series(1, $1::int + $2::int)",
    """
    insert into contact_points (resident_id, channel, address, verified_at)
    select id, 'email', 'resident' || id || '@example.com', now() from residents
    """,
    """
    insert into contact_points (resident_id, channel, address, verified_at)
    select id, 'sms', (447700000000 + id)::text, now() from residents where id % 4 = 0
    """,
    """
    insert into subscriptions (resident_id, status, kind, area_codes, topics, channels, frequency, quiet_start,
                               quiet_end, confirmed_at)
    select id, 'active', 'area', array[case when id <= $1 then $2 else $3 end], array['bulletins'],
           case when id % 4 = 0 then array['email', 'sms'] else array['email'] end,
           case when id % 10 = 0 then 'daily' else 'immediate' end, time '21:00', time '08:00', now()
    from residents
    """,
    'analyze',
]

# What a sender does to start work: claim a batch of due rows (measured here only to show the outbox is ready).
CLAIM = """
update notifications set status = 'sending', attempts = attempts + 1
where id in (
    select id from notifications
    where status in ('pending', 'retry') and not_before <= now()
    order by not_before
    limit 100
    for update skip locked
)
returning id
"""


class PeakMemory(threading.Thread):
    """Samples a process's RSS and USS until stopped; keeps the peaks."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.rss = self.uss = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            info = self.process.memory_full_info()
            self.rss, self.uss = max(self.rss, info.rss), max(self.uss, info.uss)
            self.done.wait(0.05)


def bulletin() -> Event:
    return Event(
        source='staff',
        external_key=f'bulletin-{time.time_ns()}',
        kind='bulletin.published',
        topic='bulletins/council-tax',
        title='Council tax bills for 2027/28 are on their way',
        summary='Bills will arrive by 20 March. Set up a direct debit online.',
        area_codes=[DISTRICT],
        occurred_at=datetime.now(UTC),
    )


async def run(size: Size) -> dict[str, Any]:
    out = sys.stdout.write
    contact_points = size.residents + size.residents // 4
    async with bench_database('tellme_bench_fanout') as (url, server):
        out(f'{server}; bulletin to {contact_points:,} contact points ({size.residents:,} residents)\n')
        conn = await connect(url)
        try:
            started = time.perf_counter()
            args = [(size.residents, size.elsewhere), (), (), (size.residents, DISTRICT, OTHER_DISTRICT), ()]
            for statement, values in zip(BUILD, args, strict=True):
                await conn.execute(statement, *values)
            out(f'  world built in {time.perf_counter() - started:.1f} s\n')
            backend = PeakMemory(await conn.fetchval('select pg_backend_pid()'))
            backend.start()
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            tracemalloc.start()
            started = time.perf_counter()
            async with conn.transaction():
                ingested = await ingest(conn, bulletin())
            seconds = time.perf_counter() - started
            _, python_peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            backend.done.set()
            backend.join()
            rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            rows = await conn.fetch(
                'select status, count(*) as n from notifications group by status order by status'
            )  # fmt: skip
            claims = []
            for _ in range(20):
                t = time.perf_counter()
                claimed = await conn.fetch(CLAIM)
                claims.append(time.perf_counter() - t)
                assert len(claimed) == 100
        finally:
            await conn.close()
    by_status = ', '.join(f'{r["status"]} {r["n"]:,}' for r in rows)
    out(f'  ingest + fan-out + commit: {seconds:.1f} s for {ingested.matched:,} outbox rows '
        f'({ingested.matched / seconds:,.0f} rows/s)   (target <= 60 s)\n')  # fmt: skip
    out(f'  outbox: {by_status}\n')
    out(
        f'  this process: peak RSS {rss_after / 1024:.0f} MB (before the bulletin {rss_before / 1024:.0f} MB); '
        f'Python allocations during ingest peaked at {python_peak / 1024:.0f} KiB, so no object per recipient\n'
    )
    out(
        f'  PostgreSQL backend: peak RSS {backend.rss / 2**20:.0f} MB (incl. shared buffers touched), '
        f'peak USS {backend.uss / 2**20:.0f} MB   (target <= 300 MB per process)\n'
    )
    out(f'  a sender claiming 100 due rows from the outbox: median {statistics.median(claims) * 1000:.1f} ms\n')
    return {'seconds': seconds, 'rows': ingested.matched, 'rss_mb': rss_after / 1024, 'backend_rss': backend.rss}


def main() -> None:
    asyncio.run(run(QUICK if quick_requested() else FULL))


if __name__ == '__main__':
    main()
