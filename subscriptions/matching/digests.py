"""Digests: the events a daily or weekly subscriber collected, sent as one message per contact point and channel.

Fan-out parks such rows as `held` in the contact point's open digest (one per channel and frequency, due at
08:00 Europe/London). When a digest falls due, `close_due_digests` turns it into one outbox row (purpose
'digest') with the message already built, marks the items `digested`, and returns the new rows' ids for the
caller to wake the senders. Items whose subscription ended or whose contact point was suppressed meanwhile
are cancelled, never sent. Runs under `for update skip locked`, so two workers never close one digest twice.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from notifier import metrics
from notifier.outbox import links, states
from notifier.outbox.rows import queue_message
from notifier.outbox.tokens import make_token
from subscriptions.topics import catalogue
from templates.personalisation import EventInput
from templates.registry import digest_message

logger = logging.getLogger('notifier.digests')

DIGEST_TOKEN_PURPOSE = 'digest'

DUE_DIGESTS = """
select id, contact_point_id, channel, frequency
from digests
where status = 'open' and due_at <= $1
order by due_at
limit $2
for update skip locked
"""

DIGEST_ITEMS = """
select n.id, n.subscription_id, e.id as event_id, e.kind, e.topic, e.title, e.summary, e.changes, e.attributes,
       e.url, e.occurred_at, e.urgency, e.case_reference,
       (s.status is not distinct from 'active' and cp.suppressed_at is null) as still_wanted,
       r.language
from notifications n
join events e on e.id = n.event_id
join contact_points cp on cp.id = n.contact_point_id
join residents r on r.id = cp.resident_id
left join subscriptions s on s.id = n.subscription_id
where n.digest_id = $1 and n.status = 'held'
order by e.occurred_at desc, e.id desc
"""

CLOSE_DIGEST = 'update digests set status = $2, closed_at = now() where id = $1'


@dataclass(frozen=True)
class Closed:
    digests: int
    messages: list[UUID]
    empty: int


def _item_url(item: Mapping[str, Any], public_url: str, secret: bytes) -> str:
    private = links.is_private(item['topic'], item['case_reference'])
    return links.event_url(public_url, item['event_id'], private=private, secret=secret)


def see_all_url(public_url: str, secret: bytes, digest_id: int) -> str:
    """A permanent page listing every item of the digest (the message itself is capped)."""
    return f'{public_url}/d/{make_token(secret, DIGEST_TOKEN_PURPOSE, digest_id)}'


async def close_due_digests(
    conn: asyncpg.Connection, *, now: Any, public_url: str, secret: bytes, limit: int = 500
) -> Closed:
    """Close up to `limit` due digests inside the caller's transaction."""
    messages: list[UUID] = []
    closed = empty = 0
    for digest in await conn.fetch(DUE_DIGESTS, now, limit):
        try:
            async with conn.transaction():  # a savepoint: one digest that cannot be built never blocks the rest
                queued = await _close_one(conn, digest, public_url, secret)
        except (ValueError, KeyError) as exc:
            logger.error('digest %s could not be built and is marked failed: %s', digest['id'], exc)
            await conn.execute(CLOSE_DIGEST, digest['id'], 'failed')
            await states.fail_held(conn, digest['id'], f'digest could not be built: {exc}'[:500])
            continue
        if queued is None:
            empty += 1
        else:
            messages.append(queued)
            closed += 1
    metrics.DIGESTS_QUEUED.inc(len(messages))
    return Closed(digests=closed, messages=messages, empty=empty)


async def _close_one(conn: asyncpg.Connection, digest: asyncpg.Record, public_url: str, secret: bytes) -> UUID | None:
    items = await conn.fetch(DIGEST_ITEMS, digest['id'])
    wanted = [item for item in items if item['still_wanted']]
    unwanted = [item['id'] for item in items if not item['still_wanted']]
    if unwanted:
        await states.cancel_held(conn, unwanted)
    if not wanted:
        await conn.execute(CLOSE_DIGEST, digest['id'], 'empty')
        return None
    queued = await _queue_digest(conn, digest, wanted, public_url, secret)
    await states.mark_digested(conn, [item['id'] for item in wanted])
    await conn.execute(CLOSE_DIGEST, digest['id'], 'closed')
    return queued


async def _queue_digest(
    conn: asyncpg.Connection, digest: asyncpg.Record, items: list[asyncpg.Record], public_url: str, secret: bytes
) -> UUID:
    # the newest item's subscription answers the one-click unsubscribe; the manage page shows the others
    subscription_id = items[0]['subscription_id']
    language = items[0]['language']
    names = (await catalogue.load(conn)).names()
    message = digest_message(
        [
            (EventInput.from_row(item), links.in_language(_item_url(item, public_url, secret), language))
            for item in items
        ],
        channel=digest['channel'],
        language=language,
        frequency=digest['frequency'],
        see_all_url=links.in_language(see_all_url(public_url, secret, digest['id']), language),
        unsubscribe_url=links.in_language(
            links.unsubscribe_url(public_url, secret, subscription_id) if subscription_id else None, language
        ),
        manage_url=links.in_language(links.manage_url(public_url, secret, subscription_id), language),
        names=names,
    )
    return await queue_message(
        conn,
        message,
        contact_point_id=digest['contact_point_id'],
        channel=digest['channel'],
        purpose='digest',
        subscription_id=subscription_id,
        digest_id=digest['id'],
    )
