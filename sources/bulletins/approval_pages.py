"""Staff pages where an approver decides on a bulletin waiting for them (they got an email with its link,
sources/bulletins/notices.py): approve it (and it goes, or waits for its time), or send it back to its author with a
reason, which the author reads on the bulletin's page and in an email. Neither is offered to the person who
composed it. Both go through sources/bulletins/flow.py, audited in the same transaction."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from notifier.app_keys import PG, SETTINGS
from notifier.staff import auth as staff_auth
from notifier.staff.pages import render
from sources.bulletins import flow as bulletins
from sources.bulletins.pages import load, show_page, status_context, wake
from sources.bulletins.send_pages import after_release

routes = web.RouteTableDef()


@routes.post('/staff/bulletins/{bulletin_id}/approve', name='staff-bulletin-approve')
@staff_auth.staff_page('approver')
async def approve(request: web.Request) -> web.Response:
    row = await load(request)
    staff = await staff_auth.current(request)
    assert staff is not None
    settings = request.app[SETTINGS]
    try:
        async with request.app[PG].acquire() as conn:
            status = await bulletins.approve(conn, row['id'], staff_auth.actor(staff),
                                             threshold=settings.approval_threshold,
                                             public_url=settings.public_url)  # fmt: skip
    except bulletins.BulletinError as exc:
        return await show_page(request, row, notice=str(exc))
    return await after_release(request, row['id'], status)


def _send_back_form(request: web.Request, row: Any, reason: str = '', error: str | None = None) -> web.Response:
    context = status_context(row) | {'reason': reason, 'errors': {'reason': error} if error else {},
                                     'reason_max': bulletins.REASON_MAX}  # fmt: skip
    return render(request, 'staff/bulletins/send_back.html', context)


async def _may_send_back(request: web.Request, row: Any) -> bool:
    staff = await staff_auth.current(request)
    mine = staff is not None and (row['created_by_kind'], row['created_by_id']) == ('staff', staff.id)
    return row['status'] == 'awaiting_approval' and not mine


@routes.get('/staff/bulletins/{bulletin_id}/send-back', name='staff-bulletin-send-back')
@staff_auth.staff_page('approver')
async def send_back_page(request: web.Request) -> web.Response:
    row = await load(request)
    if not await _may_send_back(request, row):  # decided meanwhile, or their own: the bulletin's page says why
        raise web.HTTPSeeOther(f'/staff/bulletins/{row["id"]}')
    return _send_back_form(request, row)


@routes.post('/staff/bulletins/{bulletin_id}/send-back')
@staff_auth.staff_page('approver')
async def send_back(request: web.Request) -> web.Response:
    row = await load(request)
    reason = str((await request.post()).get('reason', ''))
    problem = bulletins.reason_problem(reason)
    if problem:
        return _send_back_form(request, row, reason, problem)
    staff = await staff_auth.current(request)
    assert staff is not None
    try:
        async with request.app[PG].acquire() as conn:
            await bulletins.send_back(conn, row['id'], staff_auth.actor(staff), reason=reason,
                                      public_url=request.app[SETTINGS].public_url)  # fmt: skip
    except bulletins.BulletinError as exc:
        return await show_page(request, await load(request), notice=str(exc))
    await wake(request)
    raise web.HTTPSeeOther(f'/staff/bulletins/{row["id"]}')
