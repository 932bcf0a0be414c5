"""Taking back a dead worker's claims (issue 13 item 7): rows claimed by a worker whose heartbeat lapsed go back at
once, looked up at Notify first; a request that had begun waits as an unanswered one would; a live worker's claims
keep STUCK_AFTER; a worker that lost its claim this way cannot send it. The real worker processes are in
tests/workers/test_recovery.py."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg

from notifier.outbox import delivery_states
from notifier.sending.delivery import POSTED_SETTLE, Claimed, Sender
from tests.support.notify import RunningSim, make_notification, row

ALIVE, DEAD = 'host-a:101:aaaa', 'host-b:202:bbbb'


def worker(sender: Sender, worker_id: str) -> Sender:
    """Another process's sender on the same database, Notify and limiter, claiming as `worker_id`."""
    return Sender(sender.pool, sender.notify, sender.limiter, sender.settings, worker_id=worker_id)


async def heartbeat(pg: asyncpg.Pool, worker_id: str, seconds_ago: float) -> None:
    await pg.execute(
        """insert into worker_heartbeats (worker_id, hostname, pid, started_at, last_seen_at)
           values ($1, 'host', 1, now() - interval '1 hour', now() - make_interval(secs => $2))
           on conflict (worker_id) do update set last_seen_at = excluded.last_seen_at""",
        worker_id, seconds_ago,
    )  # fmt: skip


async def claimed_by(sender: Sender, nid: uuid.UUID, pg: asyncpg.Pool) -> Claimed:
    claimed = await sender.claim_one(nid)
    assert claimed is not None
    stored = await row(pg, nid)
    assert (stored['status'], stored['claimed_by'], stored['posted_at']) == ('sending', sender.worker_id, None)
    return claimed


async def test_a_dead_workers_claim_is_taken_back_at_once_looked_up_and_sent_once(
    sender: Sender, sim: RunningSim, pg: asyncpg.Pool
) -> None:
    nid = await make_notification(pg)
    await heartbeat(pg, DEAD, 1)
    await claimed_by(worker(sender, DEAD), nid, pg)
    assert await sender.reconcile_stuck() == {}  # its heartbeat is fresh: the claim stands

    await heartbeat(pg, DEAD, sender.settings.worker_stale_after + 1)  # killed: no more beats
    assert await sender.reconcile_stuck() == {'taken back': 1, 'retry': 1}  # asked Notify first: not there
    stored = await row(pg, nid)
    assert (stored['status'], stored['claimed_by'], stored['attempts']) == ('retry', None, 1)

    await pg.execute('update notifications set not_before = now() where id = $1', nid)
    assert await worker(sender, ALIVE).deliver(nid) == 'sent'
    assert len(sim.sent(nid)) == 1
    assert (await row(pg, nid))['claimed_by'] is None  # cleared by the outcome


async def test_a_worker_with_no_heartbeat_at_all_loses_its_claims(
    sender: Sender, sim: RunningSim, pg: asyncpg.Pool
) -> None:
    nid = await make_notification(pg)  # e.g. it stopped and removed its heartbeat, but a send was cut short
    await claimed_by(worker(sender, DEAD), nid, pg)
    assert await sender.reconcile_stuck() == {'taken back': 1, 'retry': 1}


async def test_a_request_that_had_begun_waits_as_an_unanswered_one_and_is_found_not_resent(
    sender: Sender, sim: RunningSim, pg: asyncpg.Pool
) -> None:
    nid = await make_notification(pg)
    dead = worker(sender, DEAD)
    claimed = await claimed_by(dead, nid, pg)
    assert await dead.send(claimed) == 'sent'
    notify_id = sim.sent(nid)[0].id
    # ... but the worker was killed after its POST and before it recorded Notify's answer
    await pg.execute("update notifications set status = 'sending', notify_id = null, sent_at = null, claimed_by = $2 "
                     'where id = $1', nid, DEAD)  # fmt: skip
    assert (await row(pg, nid))['posted_at'] is not None

    assert await sender.reconcile_stuck() == {}  # Notify may still be working on it: not yet
    waited = POSTED_SETTLE.total_seconds() + 1
    await pg.execute('update notifications set posted_at = posted_at - make_interval(secs => $2) where id = $1',
                     nid, waited)  # fmt: skip
    assert await sender.reconcile_stuck() == {'taken back': 1, 'found': 1}
    stored = await row(pg, nid)
    assert (stored['status'], str(stored['notify_id']), stored['claimed_by']) == ('sent', notify_id, None)
    assert len(sim.sent(nid)) == 1


async def test_a_claim_made_outside_a_worker_keeps_stuck_after(
    sender: Sender, sim: RunningSim, pg: asyncpg.Pool
) -> None:
    nid = await make_notification(pg)
    assert await sender.claim_one(nid) is not None  # no worker id: no heartbeat to judge it by
    assert (await row(pg, nid))['claimed_by'] is None
    assert await sender.reconcile_stuck() == {}
    assert await sender.reconcile_stuck(sending_after=timedelta(0)) == {'taken back': 1, 'retry': 1}


async def test_a_worker_that_lost_its_claim_to_the_sweeper_does_not_send_it(
    sender: Sender, sim: RunningSim, pg: asyncpg.Pool
) -> None:
    nid = await make_notification(pg)
    frozen = worker(sender, DEAD)  # SIGSTOPped, or its database connection gone, long enough to look dead
    claimed = await claimed_by(frozen, nid, pg)
    assert await sender.reconcile_stuck() == {'taken back': 1, 'retry': 1}
    await pg.execute('update notifications set not_before = now() where id = $1', nid)
    assert await worker(sender, ALIVE).deliver(nid) == 'sent'
    assert await frozen.send(claimed) == 'skipped'  # it wakes up: the claim is not its own any more
    assert len(sim.sent(nid)) == 1


async def test_a_late_look_up_never_moves_a_newer_claim(sender: Sender, sim: RunningSim, pg: asyncpg.Pool) -> None:
    nid = await make_notification(pg)
    await claimed_by(worker(sender, DEAD), nid, pg)
    await pg.execute("update notifications set status = 'unknown' where id = $1", nid)
    # one sweep found it missing and put it back; a worker claimed it again (attempt 2) and is sending it now
    await delivery_states.mark_retry(pg, nid, 1, 0, 'not at Notify')
    await claimed_by(worker(sender, ALIVE), nid, pg)
    # a second sweep, which looked at the row as attempt 1, now writes its own verdict: it changes nothing
    await delivery_states.mark_retry(pg, nid, 1, 5, 'not at Notify')
    await delivery_states.give_up(pg, nid, 1, 'gave up')
    stored = await row(pg, nid)
    assert (stored['status'], stored['attempts'], stored['claimed_by']) == ('sending', 2, ALIVE)
