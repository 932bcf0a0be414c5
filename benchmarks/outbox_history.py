"""B2 with history: does a year of finished messages in the outbox slow the senders' claim, the fan-out or the overview,
and what does moving it out (issue 13 item 9, notifier/outbox/archive.py) give back? Three phases in one run, on the
B2 world (benchmarks/fanout.py: 500,000 contact points, an area bulletin to all of them):

1. empty: the bulletin fanned out into an empty outbox;
2. before: the same with a year of history in place (HISTORY finished rows: 1,000 events over 365 days, 90% delivered,
   the rest failed in Notify's ways, cancelled or digested, what they said already forgotten), as an outbox that keeps
   everything does;
3. after: the history moved out into daily counts by the housekeeping job's own `archive.move_out` (timed, in its
   batches of 5,000), then `vacuum analyze` as autovacuum would do, and the bulletin fanned out again;
4. reindexed: the same after a one-off `reindex table notifications`;
5. empty 2: the empty outbox again (truncated), so the noise of a shared machine shows between first and last.

Measured in each phase: ingest + fan-out + commit of the bulletin; the senders' claim (delivery_states.CLAIM_READY,
16 rows with a worker id, each in its own transaction, 300 times: p50 and p99); the sweeper's look for stuck rows
(delivery_states.FIND_STUCK, what `recover` reads every 15 s, with the 4,800 claimed rows in flight); the overview's
`gather` (median of 3); the outbox's rows and size on disk (table + indexes). History is loaded with the secondary
indexes dropped and rebuilt (a grown table's indexes would be somewhat larger). `--quick`: the B2 quick world and
500,000 history rows.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg

from benchmarks.fanout import BUILD, DISTRICT, FULL, OTHER_DISTRICT, QUICK, Size, bulletin
from benchmarks.matching import bench_database, connect, indexes_dropped, quick_requested
from notifier.outbox import archive, delivery_states
from notifier.overview import figures
from sources.events.ingest import ingest

HISTORY = 5_000_000
QUICK_HISTORY = 500_000
EVENTS = 1000
CLAIMS = 300
WORKER = 'bench:1:claims'

LINK_TEMPLATES = """
insert into notify_templates (channel, name, notify_id, version, state, linked_at)
select channel, 'Tell Me ' || channel, gen_random_uuid(), 1, 'linked', now() from unnest(array['email', 'sms']) channel
"""
# a year of news, 400 to 36 days ago: EVENTS events, one every 364/EVENTS days
HISTORY_EVENTS = """
insert into events (source, external_key, fingerprint, kind, topic, title, occurred_at, created_at)
select 'history', 'H' || e, md5(e::text), 'bulletin.published', 'bulletins/history', 'Old bulletin ' || e,
       now() - make_interval(days => 400) + e * make_interval(secs => 364 * 86400 / $1::int),
       now() - make_interval(days => 400) + e * make_interval(secs => 364 * 86400 / $1::int)
from generate_series(1, $1::int) e
"""
HISTORY_ROWS = """
with ev as (select id, created_at, row_number() over (order by id) as k from events where source = 'history'),
cps as (select min(id) as first, count(*) as n from contact_points where channel = 'email')
insert into notifications (event_id, contact_point_id, channel, purpose, status, attempts, notify_id, created_at,
                           updated_at, sent_at, completed_at, personal_data_removed_at, last_error)
select ev.id, cps.first + ((ev.k * 7919 + j) % cps.n), 'email', 'event', s.status, 1,
       case when s.status in ('cancelled', 'digested', 'failed') then null else gen_random_uuid() end,
       ev.created_at, ev.created_at + interval '1 hour', ev.created_at + interval '1 minute',
       case when s.status = 'digested' then null else ev.created_at + interval '1 hour' end,
       case when s.last_error is null then null else ev.created_at + interval '8 days' end, s.last_error
from ev, cps, generate_series(0, $1::int / $2::int - 1) j,
     lateral (select case when j % 100 < 90 then 'delivered' when j % 100 < 94 then 'permanent-failure'
                          when j % 100 < 95 then 'temporary-failure' when j % 100 < 96 then 'technical-failure'
                          when j % 100 < 97 then 'failed' when j % 100 < 98 then 'cancelled'
                          else 'digested' end as status) st,
     lateral (select st.status,
                     case when st.status in ('permanent-failure', 'temporary-failure', 'technical-failure', 'failed')
                          then 'Notify: ' || st.status end as last_error) s
"""
SIZE = "select count(*) as n, pg_total_relation_size('notifications') as bytes from notifications"


async def _claims(conn: asyncpg.Connection) -> tuple[float, float]:
    timings = []
    for _ in range(CLAIMS):
        started = time.perf_counter()
        async with conn.transaction():
            claimed = await conn.fetch(delivery_states.CLAIM_READY, 16, [], WORKER)
        timings.append((time.perf_counter() - started) * 1000)
        assert len(claimed) == 16
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.99) - 1]


async def _phase(conn: asyncpg.Connection, name: str) -> dict[str, Any]:
    started = time.perf_counter()
    async with conn.transaction():
        ingested = await ingest(conn, bulletin())
    fan_out = time.perf_counter() - started
    await conn.execute('analyze notifications')  # as autovacuum soon would after half a million new rows
    p50, p99 = await _claims(conn)
    sweeps = []  # what the sweeper's recover reads every 15 s: here 4,800 rows are `sending`, none stuck
    for _ in range(20):
        started = time.perf_counter()
        await delivery_states.find_stuck(conn, 60, 300, 500, dead_after=25, posted_after=30)
        sweeps.append((time.perf_counter() - started) * 1000)
    overview = []
    for _ in range(3):
        started = time.perf_counter()
        await figures.gather(conn, saving_pence=100)
        overview.append(time.perf_counter() - started)
    size = await conn.fetchrow(SIZE)
    result = {'phase': name, 'fan_out_s': fan_out, 'rows': ingested.matched, 'claim_p50_ms': p50,
              'claim_p99_ms': p99, 'overview_s': statistics.median(overview), 'outbox_rows': size['n'],
              'outbox_mb': size['bytes'] / 2**20, 'event_id': ingested.event_id,
              'find_stuck_ms': statistics.median(sweeps)}  # fmt: skip
    sys.stdout.write(
        f'  {name:<9} fan-out {fan_out:5.1f} s ({ingested.matched:,} rows) | claim 16: p50 {p50:5.2f} ms, '
        f'p99 {p99:6.2f} ms | sweep {result["find_stuck_ms"]:.2f} ms | overview {result["overview_s"]:.2f} s | '
        f'outbox {size["n"]:,} rows, '
        f'{result["outbox_mb"]:,.0f} MB\n'
    )
    sys.stdout.flush()
    return result


async def run(size: Size, history: int) -> list[dict[str, Any]]:
    out = sys.stdout.write
    async with bench_database('tellme_bench_history') as (url, server):
        out(f'{server}; {size.residents + size.residents // 4:,} contact points, {history:,} rows of history\n')
        conn = await connect(url)
        try:
            args = [(size.residents, size.elsewhere), (), (), (size.residents, DISTRICT, OTHER_DISTRICT), ()]
            for statement, values in zip(BUILD, args, strict=True):
                await conn.execute(statement, *values)
            await conn.execute(LINK_TEMPLATES)
            results = [await _phase(conn, 'empty')]
            await conn.execute('truncate notifications cascade')

            started = time.perf_counter()
            await conn.execute(HISTORY_EVENTS, EVENTS)
            async with indexes_dropped(conn, 'notifications'):
                await conn.execute(HISTORY_ROWS, history, EVENTS)
            await conn.execute('vacuum analyze notifications')
            out(f'  history of {history:,} rows loaded in {time.perf_counter() - started:.0f} s\n')
            results.append(await _phase(conn, 'before'))

            await conn.execute('delete from notifications where event_id = $1', results[-1]['event_id'])
            started = time.perf_counter()
            batches, moved = [], 0
            while True:
                t = time.perf_counter()
                done = await archive.move_out(conn, days=35, batches=1)
                batches.append(time.perf_counter() - t)
                moved += done
                if done < archive.BATCH:
                    break
            seconds = time.perf_counter() - started
            counts = await conn.fetchval('select count(*) from notification_counts')
            out(
                f'  moved out {moved:,} rows into {counts:,} daily counts in {seconds:.0f} s ({moved / seconds:,.0f} '
                f'rows/s; a batch of {archive.BATCH:,}: median {statistics.median(batches):.2f} s, so an hourly run '
                f'of {archive.BATCHES} batches takes about {statistics.median(batches) * archive.BATCHES:.0f} s)\n'
            )
            started = time.perf_counter()
            await conn.execute('vacuum analyze notifications')
            out(f'  vacuum after moving out: {time.perf_counter() - started:.0f} s\n')
            results.append(await _phase(conn, 'after'))
            # the first move-out of a long history leaves large, mostly empty indexes behind: a one-off rebuild
            await conn.execute('delete from notifications where event_id = $1', results[-1]['event_id'])
            started = time.perf_counter()
            await conn.execute('reindex table notifications')
            out(f'  reindex after moving out: {time.perf_counter() - started:.0f} s\n')
            results.append(await _phase(conn, 'reindexed'))
            # the empty outbox once more, so noise from a busy machine shows (the phases cannot be interleaved)
            await conn.execute('truncate notifications cascade')
            results.append(await _phase(conn, 'empty 2'))
        finally:
            await conn.close()
    base = results[0]
    out('  ratios to the empty outbox (claim p50 / fan-out / overview): ' + ', '.join(
        f'{r["phase"]} {r["claim_p50_ms"] / base["claim_p50_ms"]:.2f} / {r["fan_out_s"] / base["fan_out_s"]:.2f} / '
        f'{r["overview_s"] / base["overview_s"]:.2f}' for r in results[1:]) + '\n')  # fmt: skip
    out(f'  run at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n')
    return results


def main() -> None:
    quick = quick_requested()
    asyncio.run(run(QUICK if quick else FULL, QUICK_HISTORY if quick else HISTORY))


if __name__ == '__main__':
    main()
