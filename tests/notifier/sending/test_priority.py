"""What a resident is waiting for right now goes before any backlog."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg

from notifier.outbox import delivery_states as sql
from templates.registry import notice_message
from tests.support.factories import make_event, make_resident, make_subscription, record
from tests.support.notify import RunningSim


async def test_a_confirmation_and_an_urgent_event_jump_a_bulletin_backlog(pg: asyncpg.Pool, sim: RunningSim) -> None:
    # `sim`: the council's templates are linked, so every channel may be claimed
    # the backlog was queued two hours ago (before the database's clock, which the claim reads: a fixed date
    # would be in the future for a clock set back, and nothing would be ready)
    earlier = await pg.fetchval("select now() - interval '2 hours'")
    residents = [await make_resident(pg) for _ in range(30)]
    for resident in residents:
        await make_subscription(pg, resident, near='M32 0AH', radius_m=500)
    await record(pg, make_event(title='Bulletin-sized backlog'), now=earlier)
    await pg.execute("update notifications set not_before = $1 where purpose = 'event'", earlier)

    newcomer = await make_resident(pg, verified=False)
    confirm = notice_message('confirmation', channel='email', language='en', subscription='planning news near you',
                             confirm_url='https://tellme.example.gov.uk/confirm/1.x')  # fmt: skip
    confirmation = await pg.fetchval(
        'insert into notifications (contact_point_id, channel, purpose, template_id, personalisation) '
        "values ($1, 'email', 'confirmation', $2, $3) returning id",
        newcomer.email_id, uuid.UUID(confirm.template_id), confirm.personalisation,
    )  # fmt: skip
    flood = await record(pg, make_event(title='Flood warning', urgency='urgent'), now=earlier + timedelta(hours=1))

    urgent_ids = {r['id'] for r in await pg.fetch('select id from notifications where event_id = $1', flood.event_id)}
    assert len(urgent_ids) == 30
    claimed = [row['id'] for row in await pg.fetch(sql.CLAIM_READY, 31, [], None)]
    # the one the newcomer is waiting for and the flood warning come first; the backlog waits
    assert set(claimed) == {confirmation} | urgent_ids
