"""Forgetting what we no longer need: unconfirmed sign-ups and numbers that only texted us after 7 days, expired
sessions and one-time secrets.

An unconfirmed sign-up is someone who asked but never clicked the link or typed the code — maybe not them at all.
After UNCONFIRMED_DAYS the pending subscription goes, and so does the resident if nothing else of theirs is left
(no other subscription, no verified address): the start page promises exactly this.

A number that texted us without signing up got a resident of its own so it could be answered (`residents.from_text`,
notifier/receipts/text_replies.py). UNCONFIRMED_DAYS after that resident was made, if it still follows nothing and
has proved no address, it goes as "delete your data" goes (subscriptions/manage/your_data.py): the resident, and
with it the number, our answers and our record of answering; Notify's receipts for those answers (they name the
number); and the texts the number sent. Our answers are first moved into the outbox's daily counts
(notifier/outbox/archive.py), as old messages are, so the overview still counts the texts sent that day. Not while
one of its texts still waits for staff (or is still to be read): the number stays until staff have dealt with it,
and goes at the next run after. Only residents made that way are forgotten so: a staff member's address also sits
unverified on a resident following nothing (staff_addresses.py), and stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from notifier.outbox import archive

UNCONFIRMED_DAYS = 7

# $1 days, $2 the moment to judge at (null: the database's clock)
FORGET_PENDING = """
delete from subscriptions
where status = 'pending' and created_at < coalesce($2::timestamptz, now()) - make_interval(days => $1)
returning resident_id
"""
# residents left with nothing: no subscriptions at all and no address they ever proved was theirs
FORGET_RESIDENTS = """
delete from residents r
where r.id = any($1::bigint[])
  and not exists (select 1 from subscriptions s where s.resident_id = r.id)
  and not exists (select 1 from contact_points c where c.resident_id = r.id and c.verified_at is not null)
"""
# Notify sends a number as it was typed (07…, +44…, 44…): compared in our canonical form (as your_data.py does)
_SENDER = r"""
case when regexp_replace(t.payload->>'source_number', '\D', '', 'g') ~ '^0[^0]'
     then '44' || substr(regexp_replace(t.payload->>'source_number', '\D', '', 'g'), 2)
     else regexp_replace(regexp_replace(t.payload->>'source_number', '\D', '', 'g'), '^00', '') end
"""
# $1 days, $2 the moment to judge at (null: the database's clock); the ones a text waiting for staff keeps are left
STRANGERS = f"""
with old as (
    select r.id from residents r
    where r.from_text and r.created_at < coalesce($2::timestamptz, now()) - make_interval(days => $1)
      and not exists (select 1 from subscriptions s where s.resident_id = r.id)
      and not exists (select 1 from contact_points c where c.resident_id = r.id and c.verified_at is not null)
    for update skip locked
), numbers as (
    select c.resident_id, c.address from contact_points c join old on old.id = c.resident_id where c.channel = 'sms'
), waiting as (
    select distinct n.resident_id from notify_callbacks t join numbers n on n.address = ({_SENDER})
    where t.kind = 'inbound-sms' and ((t.for_staff and t.staff_done_at is null) or t.processed_at is null)
)
select old.id, array_remove(array_agg(numbers.address), null) as numbers
from old left join numbers on numbers.resident_id = old.id
where old.id not in (select resident_id from waiting)
group by old.id
"""
FORGET_RECEIPTS = """
delete from notify_callbacks t using notifications n, contact_points c
where t.kind in ('status', 'returned-letter') and c.resident_id = any($1::bigint[]) and n.contact_point_id = c.id
  and (t.notify_id = n.notify_id or split_part(t.reference, '.', 1) = n.id::text)
"""
FORGET_TEXTS = f"""
delete from notify_callbacks t
where t.kind = 'inbound-sms' and t.processed_at is not null and ({_SENDER}) = any($1::text[])
"""


@dataclass(frozen=True)
class Forgotten:
    subscriptions: int
    residents: int
    sessions: int
    secrets: int


def _count(status: str) -> int:
    return int(status.split()[-1])


async def forget(conn: asyncpg.Connection, *, days: int = UNCONFIRMED_DAYS, now: datetime | None = None) -> Forgotten:
    """`now`: the moment sign-ups and texting numbers are judged at (None: the database's clock)."""
    async with conn.transaction():
        rows = await conn.fetch(FORGET_PENDING, days, now)
        residents = _count(await conn.execute(FORGET_RESIDENTS, sorted({row['resident_id'] for row in rows})))
        strangers = await conn.fetch(STRANGERS, days, now)
        if strangers:
            ids = [row['id'] for row in strangers]
            await conn.execute(FORGET_RECEIPTS, ids)
            await archive.move_out_of(conn, ids)  # the overview still counts what we sent them
            await conn.execute(FORGET_TEXTS, [number for row in strangers for number in row['numbers']])
            residents += _count(await conn.execute('delete from residents where id = any($1::bigint[])', ids))
        sessions = await conn.execute('delete from web_sessions where expires_at < now()')
        secrets = await conn.execute("delete from one_time_secrets where expires_at < now() - interval '1 day'")
    return Forgotten(len(rows), residents, _count(sessions), _count(secrets))
