"""A text that comes due during the resident's quiet hours (a backlog draining into the night, a retry) waits
for the morning; urgent news does not wait.

Each text is claimed at a chosen instant (`Sender.deliver(now=…)`), never at the time the test runs, so the same
night is tested however late CI runs — including the night the clocks go back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from notifier.sending.delivery import Sender
from tests.support.factories import make_event, make_resident, make_subscription, record
from tests.support.notify import NOTICE_VALUES, NOTICE_WORDING, RunningSim, row

LONDON = ZoneInfo('Europe/London')
QUIET = (time(21, 0), time(8, 0))  # the default: 9pm to 8am
EVENING = datetime(2026, 12, 7, 19, 30, tzinfo=LONDON)  # the event is fanned out before quiet hours begin
LATE = datetime(2026, 12, 7, 23, 30, tzinfo=LONDON)  # and its text reaches the front of the queue this late


async def _text_queued_before_quiet_hours(
    pg: asyncpg.Pool, *, urgency: str = 'normal', queued: datetime = EVENING
) -> uuid.UUID:
    resident = await make_resident(pg, email=False, sms=True)
    await make_subscription(pg, resident, near='M32 0AH', radius_m=500, quiet_hours=QUIET)
    await record(pg, make_event(urgency=urgency), now=queued)
    nid = await pg.fetchval("select id from notifications where channel = 'sms'")
    assert (await row(pg, nid))['not_before'] == queued, 'due at once: quiet hours had not begun'
    return nid


def _london(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


@pytest.mark.parametrize(
    ('queued', 'claimed', 'morning'),
    [
        (EVENING, LATE, _london(2026, 12, 8, 8, 0)),
        (EVENING, _london(2026, 12, 8, 0, 10), _london(2026, 12, 8, 8, 0)),  # after midnight: this morning
        # 23:30 BST the night the clocks go back: the morning's 08:00 is GMT (08:00 UTC)
        (_london(2026, 10, 24, 19, 30), _london(2026, 10, 24, 23, 30), datetime(2026, 10, 25, 8, 0, tzinfo=UTC)),
        # 23:30 GMT the night the clocks go forward: the morning's 08:00 is BST (07:00 UTC)
        (_london(2027, 3, 27, 19, 30), _london(2027, 3, 27, 23, 30), datetime(2027, 3, 28, 7, 0, tzinfo=UTC)),
    ],
)
async def test_a_text_claimed_in_quiet_hours_waits_until_they_end(
    sim: RunningSim, sender: Sender, pg: asyncpg.Pool, queued: datetime, claimed: datetime, morning: datetime
) -> None:
    nid = await _text_queued_before_quiet_hours(pg, queued=queued)
    assert await sender.deliver(nid, now=claimed) == 'quiet-hours'
    stored = await row(pg, nid)
    assert stored['status'] == 'retry' and stored['attempts'] == 0
    assert stored['not_before'] == morning
    assert sim.sent(nid) == []


async def test_a_text_claimed_before_quiet_hours_goes(sim: RunningSim, sender: Sender, pg: asyncpg.Pool) -> None:
    nid = await _text_queued_before_quiet_hours(pg)
    assert await sender.deliver(nid, now=_london(2026, 12, 7, 20, 59)) == 'sent'


async def test_an_urgent_text_goes_at_once(sim: RunningSim, sender: Sender, pg: asyncpg.Pool) -> None:
    nid = await _text_queued_before_quiet_hours(pg, urgency='urgent')
    assert await sender.deliver(nid, now=LATE) == 'sent'


async def test_a_reminder_goes_at_the_time_the_resident_chose(
    sim: RunningSim, sender: Sender, pg: asyncpg.Pool
) -> None:
    nid = await _text_queued_before_quiet_hours(pg)
    await pg.execute(
        "update notifications set purpose = 'reminder', event_id = null, template_id = $2, personalisation = $3 "
        'where id = $1',
        nid, uuid.UUID(NOTICE_WORDING['sms']), NOTICE_VALUES,
    )  # fmt: skip
    assert await sender.deliver(nid, now=LATE) == 'sent'
