-- Recovery in a minute (issue 13 item 7). A worker killed hard (kill -9, the OOM killer, a lost node) leaves the rows
-- it had claimed `sending`. These say whose claim a row is and whether its request to Notify had begun, so the sweeper
-- can take a dead worker's rows back as soon as its heartbeat lapses (worker_heartbeats, migration 0001) instead of
-- after STUCK_AFTER (notifier/sending/delivery.py), and still look each up at Notify before anything is sent again.
--
-- `claimed_by`: the worker id (workers/heartbeat.py: hostname:pid:random) whose claim the row is, set by the claim and
-- cleared by every change out of `sending`; null for a claim made outside a worker (it keeps the STUCK_AFTER rule).
-- `posted_at`: when this claim's request to Notify began (set just before the POST, cleared by the next claim): a dead
-- worker's row that never got this far cannot be at Notify and is looked up at once; one that did may still be
-- finishing there and is looked up 30 s after it began (POSTED_SETTLE), when Notify has finished or dropped it.
--
-- Nullable with no default: adding them rewrites nothing. No index: the sweeper reads only `sending` rows, through
-- migration 0003's notifications_in_flight.
alter table notifications
    add column claimed_by text,
    add column posted_at timestamptz;
