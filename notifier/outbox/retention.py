"""Forgetting what a message said (issue 12). GOV.UK Notify deletes a message 7 days after sending it; Tell Me deletes
its own copy of what was personal in it `notification_retention_days` (a setting) after the row finished
(states.FINISHED: Notify's final word, failed, cancelled, or gone out inside a digest):

- `personalisation`, the values put into the template (a subscription's description with its postcode or address,
  links carrying tokens, sign-in codes, a digest's items, a case letter's wording): emptied (null);
- `last_error`: kept, because the overview groups failures by it and case officers and bulletin reports show it, but
  any email address, phone number or postcode in it, and any line of the recipient's own address, becomes REMOVED
  (Notify's validation messages may quote the value they refused);
- Notify's delivery receipt (`notify_callbacks`, kind 'status'): its `to` (the recipient) and `original_json` (the
  exact body, kept beside a payload that needed cleaning) go, once the receipt is processed.

Status, channel, purpose, event, subscription, contact point, attempts, Notify's id and every time stay: they are what
the service overview, a case's messages and a bulletin's report count and show. `personal_data_removed_at` records
when. A row still on its way (pending, held, retry, sending, unknown, sent) is never touched, however old. The address
itself is not on the row but on the resident's contact point, and goes when the resident does
(subscriptions/manage/your_data.py, subscriptions/residents/housekeeping.py).

Each run is bounded: at most `batches` short transactions of `batch` rows, oldest first, `for update skip locked`, so
two runs at once take different rows, and what is left waits for the next hourly run (workers/housekeeping.py). A row
is cleared once: migration 0022's partial indexes hold only what is still to do, so running again changes nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from notifier.outbox.states import FINISHED

REMOVED = '[removed]'
BATCH = 500
BATCHES = 20  # 10,000 messages and 10,000 receipts an hour at most: a year's backlog goes in days, a day's at once

_NOT_IN_ADDRESS = r"""\s@'"<>()\[\],;:"""
_EMAIL = re.compile(rf'[^{_NOT_IN_ADDRESS}]+@[^{_NOT_IN_ADDRESS}]+\.[^{_NOT_IN_ADDRESS}]+')
# 10 to 15 digits, perhaps after a + and with single spaces (07700 900123, +447700900123); not part of a longer word,
# a UUID or a date (2026-11-20 09:05)
_PHONE = re.compile(r'(?<![\w-])\+?\d(?: ?\d){9,14}(?![\w-])')
_POSTCODE = re.compile(r'\b[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}\b', re.IGNORECASE)
_SHORTEST_LINE = 4  # a postal address's lines this long or longer are looked for; shorter ones ("1", "Flat") are not

_FINISHED = '(' + ', '.join(f"'{state}'" for state in FINISHED) + ')'
# the rows' moment of finishing: completed_at, or for a row cancelled with its subscription (no completed_at) and a
# digested one, its last change; migration 0022's index is on this very expression
_FINISHED_AT = 'coalesce(n.completed_at, n.updated_at)'

# $1 the moment to judge at (null: the database's clock), $2 days, $3 how many
FIND_MESSAGES = f"""
select n.id, n.last_error, c.address
from notifications n join contact_points c on c.id = n.contact_point_id
where n.personal_data_removed_at is null
  and n.status in {_FINISHED}
  and (n.personalisation is not null or n.last_error is not null)
  and {_FINISHED_AT} < coalesce($1::timestamptz, now()) - make_interval(days => $2)
order by {_FINISHED_AT}
limit $3
for update of n skip locked
"""
CLEAR_MESSAGES = """
update notifications n
set personalisation = null, last_error = u.last_error, personal_data_removed_at = coalesce($3::timestamptz, now())
from unnest($1::uuid[], $2::text[]) as u(id, last_error)
where n.id = u.id
"""
FORGET_RECEIPTS = """
with old as (
    select id from notify_callbacks
    where kind = 'status' and processed_at is not null and payload ?| array['to', 'original_json']
      and received_at < coalesce($1::timestamptz, now()) - make_interval(days => $2)
    order by received_at
    limit $3
    for update skip locked
)
update notify_callbacks c set payload = c.payload - array['to', 'original_json']
from old where c.id = old.id
"""


@dataclass(frozen=True)
class Forgotten:
    messages: int  # outbox rows cleared
    receipts: int  # Notify's receipts that no longer name their recipient


def scrub(text: str, *, address: str | None = None) -> str:
    """`text` with every email address, phone number and postcode in it, and the lines (or the whole) of `address`
    (a contact point's: an email, a number, or a postal address as JSON lines), replaced by REMOVED."""
    for pattern in (_EMAIL, _PHONE, _POSTCODE):
        text = pattern.sub(REMOVED, text)
    for line in sorted(_lines(address), key=len, reverse=True):
        text = re.sub(re.escape(line), REMOVED, text, flags=re.IGNORECASE)
    return text


def _lines(address: str | None) -> list[str]:
    if not address:
        return []
    try:
        lines = json.loads(address) if address.startswith('[') else [address]
    except ValueError:
        lines = [address]
    if not isinstance(lines, list):
        return []
    return [line.strip() for line in lines if isinstance(line, str) and len(line.strip()) >= _SHORTEST_LINE]


async def forget(
    conn: asyncpg.Connection,
    *,
    days: int,
    now: datetime | None = None,
    batch: int = BATCH,
    batches: int = BATCHES,
) -> Forgotten:
    """Clear what rows that finished more than `days` before `now` (None: the database's clock) held of a person,
    and the recipient from their receipts; at most `batches` × `batch` of each. Each batch is its own transaction."""
    messages = 0
    for _ in range(batches):
        async with conn.transaction():
            found = await conn.fetch(FIND_MESSAGES, now, days, batch)
            if found:
                errors = [None if r['last_error'] is None else scrub(r['last_error'], address=r['address'])
                          for r in found]  # fmt: skip
                await conn.execute(CLEAR_MESSAGES, [r['id'] for r in found], errors, now)
        messages += len(found)
        if len(found) < batch:
            break
    receipts = 0
    for _ in range(batches):
        done = int((await conn.execute(FORGET_RECEIPTS, now, days, batch)).split()[-1])
        receipts += done
        if done < batch:
            break
    return Forgotten(messages, receipts)
