"""Texts residents sent us that were not STOP or START: kept for staff to read and deal with (/staff/replies).

The number is shown masked with what it follows here, so the list can be read over a shoulder; marking one as
dealt with is audited. (Replying is done in the council's own systems for now.)
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from notifier import audit
from notifier.app_keys import PG
from notifier.staff import auth as staff_auth
from notifier.staff.pages import STAFF_MENU, render
from templates.personalisation import mask_address

routes = web.RouteTableDef()
ROLES = ('case_officer', 'comms')
STAFF_MENU.append(('/staff/replies', 'Texts from residents', ROLES))

WAITING = """
select c.id, c.received_at, c.payload ->> 'message' as message, c.payload ->> 'source_number' as number,
       (select count(*) from contact_points p join subscriptions s on s.resident_id = p.resident_id
        where p.channel = 'sms' and p.address = regexp_replace(c.payload ->> 'source_number', '[^0-9]', '', 'g')
          and s.status = 'active') as following
from notify_callbacks c
where c.for_staff and c.staff_done_at is null
order by c.received_at
limit 200
"""


def _row(record: Any) -> dict[str, Any]:
    number = ''.join(ch for ch in str(record['number'] or '') if ch.isdigit())
    return {
        'id': record['id'],
        'received_at': record['received_at'],
        'message': record['message'] or '',
        'number': mask_address('sms', number) if number else 'unknown number',
        'following': record['following'],
    }


@routes.get('/staff/replies', name='staff-replies')
@staff_auth.staff_page(*ROLES)
async def replies(request: web.Request) -> web.Response:
    rows = [_row(record) for record in await request.app[PG].fetch(WAITING)]
    return render(request, 'staff/replies.html', {'replies': rows})


@routes.post('/staff/replies/{id:[0-9]{1,18}}/done', name='staff-reply-done')
@staff_auth.staff_page(*ROLES)
async def done(request: web.Request) -> web.Response:
    staff = await staff_auth.current(request)
    reply_id = int(request.match_info['id'])
    async with request.app[PG].acquire() as conn, conn.transaction():
        marked = await conn.fetchval(
            'update notify_callbacks set staff_done_at = now() '
            'where id = $1 and for_staff and staff_done_at is null returning id',
            reply_id,
        )
        if marked is not None and staff is not None:
            await audit.record(conn, staff_auth.actor(staff), 'reply.done', target_kind='text', target_id=reply_id)
    raise web.HTTPSeeOther('/staff/replies')
