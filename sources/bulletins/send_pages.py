"""Staff pages that send a bulletin and follow it: send now or later (or ask for approval), approve, live progress
(no JavaScript needed), pause, resume, cancel, and the delivery report afterwards (with, for urgent bulletins, the
check of who has not had it after N minutes)."""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from notifier.app_keys import PG, SETTINGS
from notifier.staff import auth as staff_auth
from notifier.staff.pages import render
from sources.bulletins import flow as bulletins
from sources.bulletins import reports as bulletin_reports
from sources.bulletins.pages import LONDON, MAX_AHEAD, VIEWERS, load, show_page, status_context, wake

routes = web.RouteTableDef()

BUCKET_WORDS = (
    ('queued', 'Queued'), ('sent', 'With Notify'), ('delivered', 'Delivered'), ('failed', 'Failed'),
    ('digest', 'In a daily or weekly digest'), ('cancelled', 'Cancelled'),
)  # fmt: skip
CHECK_MINUTES = 15


@routes.get('/staff/bulletins/{bulletin_id}/progress', name='staff-bulletin-progress')
@staff_auth.staff_page(*VIEWERS)
async def progress_page(request: web.Request) -> web.Response:
    row = await load(request)
    staff = await staff_auth.current(request)
    late = 0
    if row['urgency'] == 'urgent':  # the delivery check, at a glance
        late, _ = await bulletin_reports.not_delivered(request.app[PG], row['event_id'], CHECK_MINUTES, limit=0)
    context = status_context(row) | {
        'progress': await bulletin_reports.progress(request.app[PG], row['event_id']),
        'buckets': BUCKET_WORDS, 'may_compose': bool(staff and staff.has('comms')), 'late': late,
        'check_minutes': CHECK_MINUTES,
    }  # fmt: skip
    return render(request, 'staff/bulletins/progress.html', context)


@routes.get('/staff/bulletins/{bulletin_id}/report', name='staff-bulletin-report')
@staff_auth.staff_page(*VIEWERS)
async def report_page(request: web.Request) -> web.Response:
    row = await load(request)
    minutes_text = request.query.get('minutes', '')
    minutes = int(minutes_text) if minutes_text.isdigit() and 0 < int(minutes_text) <= 10080 else CHECK_MINUTES
    pool, event_id = request.app[PG], row['event_id']
    count, undelivered = await bulletin_reports.not_delivered(pool, event_id, minutes)
    context = status_context(row) | {
        'progress': await bulletin_reports.progress(pool, event_id),
        'failures': await bulletin_reports.failures(pool, event_id),
        'all_lines': await bulletin_reports.deliveries(pool, event_id),
        'minutes': minutes, 'undelivered_count': count, 'undelivered': undelivered,
        'status_words': bulletin_reports.STATUS_WORDS,
    }  # fmt: skip
    return render(request, 'staff/bulletins/report.html', context)


async def _step(request: web.Request, step: str) -> web.Response:
    row = await load(request)
    staff = await staff_auth.current(request)
    assert staff is not None
    action = {'pause': bulletins.pause, 'resume': bulletins.resume, 'cancel': bulletins.cancel}[step]
    try:
        async with request.app[PG].acquire() as conn:
            await action(conn, row['id'], staff_auth.actor(staff))
    except bulletins.BulletinError as exc:
        return await show_page(request, row, notice=str(exc))
    if step == 'resume':
        await wake(request)
    where = 'progress' if row['event_id'] is not None else ''
    raise web.HTTPSeeOther(f'/staff/bulletins/{row["id"]}/{where}'.rstrip('/'))


@routes.post('/staff/bulletins/{bulletin_id}/pause', name='staff-bulletin-pause')
@staff_auth.staff_page('comms')
async def pause(request: web.Request) -> web.Response:
    return await _step(request, 'pause')


@routes.post('/staff/bulletins/{bulletin_id}/resume', name='staff-bulletin-resume')
@staff_auth.staff_page('comms')
async def resume(request: web.Request) -> web.Response:
    return await _step(request, 'resume')


@routes.post('/staff/bulletins/{bulletin_id}/cancel', name='staff-bulletin-cancel')
@staff_auth.staff_page('comms')
async def cancel(request: web.Request) -> web.Response:
    return await _step(request, 'cancel')


# --- send now or later, approve -------------------------------------------------------------------------------


def send_time(form: Any, errors: OrderedDict[str, str]) -> datetime | None:
    """None for 'now'; else the London wall-clock time given, as an aware datetime (errors filled if wrong)."""
    when = str(form.get('when', 'now'))
    if when != 'later':
        return None
    parts = [str(form.get(f'send_{name}', '')).strip() for name in ('day', 'month', 'year')]
    clock = str(form.get('send_time', '')).strip().replace('.', ':')
    try:
        day = datetime(int(parts[2]), int(parts[1]), int(parts[0]))
    except ValueError:
        errors['send_date'] = 'Enter a real date, like 27 11 2026'
        return None
    hour, _, minute = clock.partition(':')
    if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
        errors['send_time'] = 'Enter a time on the 24-hour clock, like 07:30'
        return None
    moment = day.replace(hour=int(hour), minute=int(minute), tzinfo=LONDON)
    now = datetime.now(UTC)
    if moment <= now:
        errors['send_date'] = 'The time must be in the future (or choose Now)'
    elif moment - now > MAX_AHEAD:
        errors['send_date'] = 'Choose a time in the next 90 days'
    return moment


@routes.post('/staff/bulletins/{bulletin_id}/submit', name='staff-bulletin-submit')
@staff_auth.staff_page('comms')
async def submit(request: web.Request) -> web.Response:
    row = await load(request)
    form = await request.post()
    errors: OrderedDict[str, str] = OrderedDict()
    send_at = send_time(form, errors)
    typed = {name: str(form.get(name, '')) for name in ('when', 'send_day', 'send_month', 'send_year', 'send_time')}
    if errors:
        return await show_page(request, row, errors=errors, typed=typed)
    staff = await staff_auth.current(request)
    assert staff is not None
    settings = request.app[SETTINGS]
    try:
        async with request.app[PG].acquire() as conn:
            status = await bulletins.submit(conn, row['id'], staff_auth.actor(staff), send_at=send_at,
                                            threshold=settings.approval_threshold)  # fmt: skip
    except bulletins.BulletinError as exc:
        return await show_page(request, await load(request), errors={'when': str(exc)}, typed=typed)
    return await after_release(request, row['id'], status)


async def after_release(request: web.Request, bulletin: int, status: str) -> web.Response:
    if status == 'sending':
        await wake(request)
        raise web.HTTPSeeOther(f'/staff/bulletins/{bulletin}/progress')
    raise web.HTTPSeeOther(f'/staff/bulletins/{bulletin}')


@routes.post('/staff/bulletins/{bulletin_id}/approve', name='staff-bulletin-approve')
@staff_auth.staff_page('approver')
async def approve(request: web.Request) -> web.Response:
    row = await load(request)
    staff = await staff_auth.current(request)
    assert staff is not None
    try:
        async with request.app[PG].acquire() as conn:
            status = await bulletins.approve(conn, row['id'], staff_auth.actor(staff),
                                             threshold=request.app[SETTINGS].approval_threshold)  # fmt: skip
    except bulletins.BulletinError as exc:
        return await show_page(request, row, notice=str(exc))
    return await after_release(request, row['id'], status)
