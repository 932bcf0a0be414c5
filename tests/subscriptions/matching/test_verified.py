"""Messages go only to addresses the resident has proved are theirs."""

from __future__ import annotations

import asyncpg

from tests.support.factories import make_event, make_resident, make_subscription, record


async def test_an_unconfirmed_mobile_gets_no_texts_while_the_confirmed_email_does(pg: asyncpg.Pool) -> None:
    resident = await make_resident(pg, email=True, sms=True)
    await pg.execute('update contact_points set verified_at = null where id = $1', resident.sms_id)
    await make_subscription(pg, resident, near='M32 0AH', radius_m=500, quiet_hours=None)
    assert (await record(pg, make_event())).matched == 1
    assert await pg.fetchval('select channel from notifications') == 'email'
