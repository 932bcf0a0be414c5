"""A text that comes due during the resident's quiet hours (a backlog draining into the night, a retry) waits
for the morning; urgent news does not wait."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from notifier.delivery import Sender
from tests.factories import make_event, make_resident, make_subscription, record
from tests.notify_support import SMS_PERSONALISATION, SMS_TEMPLATE, RunningSim, row

LONDON = ZoneInfo('Europe/London')


async def _text_due_now(pg: asyncpg.Pool, *, urgency: str = 'normal') -> tuple[object, datetime]:
    now = datetime.now(LONDON)
    quiet = ((now - timedelta(hours=1)).time(), (now + timedelta(hours=1)).time())  # quiet hours around now
    resident = await make_resident(pg, email=False, sms=True)
    await make_subscription(pg, resident, near='M32 0AH', radius_m=500, quiet_hours=quiet)
    await record(pg, make_event(urgency=urgency))
    # as if it had been queued before quiet hours began and only now reached the front
    nid = await pg.fetchval("update notifications set not_before = now() - interval '1 minute' returning id")
    return nid, now + timedelta(hours=1)


async def test_a_text_claimed_in_quiet_hours_waits_until_they_end(
    sim: RunningSim, sender: Sender, pg: asyncpg.Pool
) -> None:
    nid, quiet_end = await _text_due_now(pg)
    assert await sender.deliver(nid) == 'quiet-hours'
    stored = await row(pg, nid)
    assert stored['status'] == 'retry' and stored['attempts'] == 0
    assert abs(stored['not_before'] - quiet_end) < timedelta(minutes=1)
    assert sim.sent(nid) == []


async def test_an_urgent_text_goes_at_once(sim: RunningSim, sender: Sender, pg: asyncpg.Pool) -> None:
    nid, _ = await _text_due_now(pg, urgency='urgent')
    assert await sender.deliver(nid) == 'sent'


async def test_a_reminder_goes_at_the_time_the_resident_chose(
    sim: RunningSim, sender: Sender, pg: asyncpg.Pool
) -> None:
    nid, _ = await _text_due_now(pg)
    await pg.execute(
        "update notifications set purpose = 'reminder', event_id = null, template_id = $2, personalisation = $3 "
        'where id = $1',
        nid, uuid.UUID(SMS_TEMPLATE), SMS_PERSONALISATION,
    )  # fmt: skip
    assert await sender.deliver(nid) == 'sent'
