"""Signed in: your data — download everything we hold about you (JSON), or delete all of it.

The download is everything tied to the resident: their language, every contact point in full (it is theirs),
every subscription, every message we queued or sent them with its status, the consents a case system passed
us, and the texts they sent us.

Deleting removes the resident row; the database cascades to contact points, subscriptions, messages, digests,
one-time codes, consents and sessions. What Notify told us about those messages (delivery receipts, which carry
the address) and texts they sent us are deleted with them. Nothing personal is kept. Events (the council's own
records: applications, a case's status) are not about the resident and stay.

Before that, what each message said is deleted `notification_retention_days` after it finished (the page says so,
as the privacy notice does); its record, and so its line in the download, stays (notifier/outbox/retention.py).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiohttp import web

from notifier.app_keys import PG, SETTINGS
from notifier.outbox import archive
from notifier.web import sessions
from notifier.web.rendering import days, language, render
from subscriptions.manage.common import see_other, signed_in_only

routes = web.RouteTableDef()

RESIDENT = 'select id, language, created_at, updated_at from residents where id = $1'
CONTACT_POINTS = """
select id, channel, address, verified_at, suppressed_at, suppressed_reason, created_at
from contact_points where resident_id = $1 order by id
"""
SUBSCRIPTIONS = """
select id, status, kind, topics, exclusions, channels, frequency, digest_time, quiet_start, quiet_end,
       centre_lat, centre_lng, radius_m, postcode, area_codes, uprn, case_source, case_reference, remind_at,
       remind_time, confirmed_at, ended_reason, ended_by, ended_at, created_at, updated_at
from subscriptions where resident_id = $1 order by id
"""
MESSAGES = """
select n.id, n.channel, n.purpose, n.status, n.subscription_id, n.event_id, e.title as event_title,
       n.created_at, n.sent_at, n.completed_at
from notifications n join contact_points cp on cp.id = n.contact_point_id
left join events e on e.id = n.event_id
where cp.resident_id = $1 order by n.created_at, n.id
"""
CONSENTS = 'select * from consents where resident_id = $1 order by id'
# the resident's numbers as Notify sends them (07…, +44…, 44…) compared in our canonical form
_CANONICAL_SENDER = r"""
case when regexp_replace(payload->>'source_number', '\D', '', 'g') ~ '^0[^0]'
     then '44' || substr(regexp_replace(payload->>'source_number', '\D', '', 'g'), 2)
     else regexp_replace(regexp_replace(payload->>'source_number', '\D', '', 'g'), '^00', '') end
"""
TEXTS_FROM = f"""
select payload->>'message' as message, received_at from notify_callbacks
where kind = 'inbound-sms' and ({_CANONICAL_SENDER}) = any($1::text[]) order by received_at
"""
# a row sent again (Notify's technical-failure) had one reference per send, `<id>`, `<id>.2`, … (outbox/references.py),
# and keeps only its latest notify id: the receipts of every send go
FORGET_RECEIPTS = """
delete from notify_callbacks c using notifications n, contact_points cp
where c.kind in ('status', 'returned-letter') and cp.resident_id = $1 and n.contact_point_id = cp.id
  and (c.notify_id = n.notify_id or split_part(c.reference, '.', 1) = n.id::text)
"""
FORGET_TEXTS = f"delete from notify_callbacks where kind = 'inbound-sms' and ({_CANONICAL_SENDER}) = any($1::text[])"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, str | int | float | bool | type(None)):
        return value
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return str(value)  # times, UUIDs


def _rows(rows: list[asyncpg.Record]) -> list[dict[str, Any]]:
    return [{key: _plain(value) for key, value in dict(row).items()} for row in rows]


async def _mobiles(conn: asyncpg.Connection, resident_id: int) -> list[str]:
    rows = await conn.fetch(
        "select address from contact_points where resident_id = $1 and channel = 'sms' and verified_at is not null",
        resident_id,
    )
    return [row['address'] for row in rows]


async def everything(conn: asyncpg.Connection, resident_id: int) -> dict[str, Any]:
    """All we hold about one resident, as plain JSON values."""
    resident = await conn.fetchrow(RESIDENT, resident_id)
    return {
        'exported_at': datetime.now(UTC).isoformat(),
        'resident': _rows([resident])[0] if resident else None,
        'contact_points': _rows(await conn.fetch(CONTACT_POINTS, resident_id)),
        'subscriptions': _rows(await conn.fetch(SUBSCRIPTIONS, resident_id)),
        'messages': _rows(await conn.fetch(MESSAGES, resident_id)),
        'consents': _rows(await conn.fetch(CONSENTS, resident_id)),
        'texts_you_sent_us': _rows(await conn.fetch(TEXTS_FROM, await _mobiles(conn, resident_id))),
    }


async def forget(conn: asyncpg.Connection, resident_id: int) -> None:
    """Delete the resident and everything about them (the caller owns the transaction). What was sent to them stays
    only as the council's counts per day, channel and status (notification_counts: nothing about the person), so the
    overview and reports do not change when someone leaves."""
    await conn.execute(FORGET_RECEIPTS, resident_id)  # found through the messages: before they are counted and go
    await archive.move_out_of(conn, [resident_id])
    await conn.execute(FORGET_TEXTS, await _mobiles(conn, resident_id))
    await sessions.end_all_for(conn, resident_id)
    await conn.execute('delete from residents where id = $1', resident_id)


@routes.get('/manage/your-data', name='your-data')
@signed_in_only
async def your_data_page(request: web.Request, resident_id: int) -> web.Response:
    kept = days(language(request), request.app[SETTINGS].notification_retention_days)
    return render(request, 'manage/your_data.html', {'retention_days': kept})


@routes.get('/manage/your-data/download', name='your-data-download')
@signed_in_only
async def download(request: web.Request, resident_id: int) -> web.Response:
    async with request.app[PG].acquire() as conn:
        data = await everything(conn, resident_id)
    return web.Response(
        text=json.dumps(data, ensure_ascii=False, indent=2),
        content_type='application/json',
        charset='utf-8',
        headers={
            'Content-Disposition': 'attachment; filename="tell-me-your-data.json"',
            'Cache-Control': 'no-store',
        },
    )


@routes.get('/manage/your-data/delete', name='your-data-delete')
@signed_in_only
async def delete_page(request: web.Request, resident_id: int) -> web.Response:
    return render(request, 'manage/delete.html')


@routes.post('/manage/your-data/delete', name='your-data-delete-do')
@signed_in_only
async def delete(request: web.Request, resident_id: int) -> web.Response:
    async with request.app[PG].acquire() as conn, conn.transaction():
        await forget(conn, resident_id)
    await sessions.end(request)
    return see_other('/manage/your-data/deleted')


@routes.get('/manage/your-data/deleted', name='your-data-deleted')
async def deleted(request: web.Request) -> web.Response:
    return render(request, 'manage/deleted.html')
