"""Putting the demo in place, once: files, addresses, sources and residents; then the first polls.

`seed` is idempotent: each piece is added only when it is not there (see each module), so a second `tellme dev`
finds it all and adds nothing. A database with residents of its own and none of the demo's is left alone.

`first_polls` polls the demo sources that were never polled and queues the bin reminders now due, as
`tellme sources poll` and the worker's reminder cron would (the cron runs every five minutes): the demo round's
schedule, DEMO-1001 and the first bin reminder are there within seconds of the first start. The workers poll the
sources from then on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from notifier.settings import Settings
from notifier.shell.demo import bins, cases, residents
from notifier.shell.demo.sources import never_polled, register
from sources.feeds.polling import PollResult, poll_source
from subscriptions.matching.reminders import queue_reminders

logger = logging.getLogger('notifier.shell.demo')


@dataclass
class Seeded:
    demo: bool = False  # this is a demo database (empty, or seeded by the demo before)
    subscriptions: int = 0  # made now
    addresses: int = 0  # addresses added or changed now
    sources: list[str] = field(default_factory=list)  # registered now
    files: list[str] = field(default_factory=list)  # written now

    @property
    def added(self) -> int:
        return self.subscriptions + self.addresses + len(self.sources) + len(self.files)


SOURCES = [bins.SOURCE, cases.SOURCE]


async def seed(pool: asyncpg.Pool, settings: Settings, *, now: datetime) -> Seeded:
    """Everything the demo needs that is not there yet."""
    seeded = Seeded()
    async with pool.acquire() as conn:
        seeded.demo = await residents.is_demo_database(conn)
        if not seeded.demo:
            logger.info('demo: this database has residents of its own, so no demo data is added')
            return seeded
        calendar, wrote_calendar = bins.write_calendar(settings.data_dir, now)
        export, wrote_export = cases.write_export(settings.data_dir, now)
        seeded.files = [path.name for path, wrote in ((calendar, wrote_calendar), (export, wrote_export)) if wrote]
        async with conn.transaction():
            seeded.addresses = (await bins.load_addresses(conn)).added_or_changed
            for wanted in (bins.source(calendar), cases.source(export)):
                if await register(conn, wanted):
                    seeded.sources.append(wanted.name)
            seeded.subscriptions = await residents.sign_up_near(conn)
            [(uprn, _, _), *_] = bins.addresses()
            seeded.subscriptions += await residents.sign_up(
                conn, residents.BINS_RESIDENT, residents.bins_subscription(uprn, now), residents.BINS_MOBILE
            )
            seeded.subscriptions += await residents.sign_up(
                conn, residents.CASE_REPORTER, residents.case_subscription(cases.SOURCE, cases.REFERENCE)
            )
    if seeded.added:
        logger.info(
            'demo: %d subscriptions, %d addresses, %d sources (%s) and %d files added', seeded.subscriptions,
            seeded.addresses, len(seeded.sources), ', '.join(seeded.sources) or 'none', len(seeded.files),
        )  # fmt: skip
    return seeded


async def first_polls(pool: asyncpg.Pool, settings: Settings, *, now: datetime) -> list[PollResult]:
    """Poll the demo sources never polled, then queue the bin reminders due now; the polls' results."""
    results = []
    for name in await never_polled(pool, SOURCES):  # each poll logs what it found
        results.append(await poll_source(pool, name, now=now, secrets=settings.link_secrets))
    if settings.link_secrets:
        async with pool.acquire() as conn, conn.transaction():
            await queue_reminders(conn, now=now, public_url=settings.public_url, secret=settings.link_secrets[0])
    return results
