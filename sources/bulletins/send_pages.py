"""Staff pages that send a bulletin and follow it: send now or later (or ask for approval: approval_pages.py), live
progress (no JavaScript needed), pause, resume, cancel, and the delivery report afterwards (with, for urgent
bulletins, the check of who has not had it after N minutes).

Nothing is preselected on the send form: a bulletin is never one click from going out. The progress page, the
report and the API's status settle a bulletin whose every message has gone as sent (finish.py), so it reads Sent
the moment it is, with or without a worker's cron.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from notifier.app_keys import PG, SETTINGS
from notifier.staff import auth as staff_auth
from notifier.staff.pages import render
from sources.bulletins import finish
from sources.bulletins import flow as bulletins
from sources.bulletins import reports as bulletin_reports
from sources.bulletins.pages import LONDON, MAX_AHEAD, VIEWERS, load, london, show_page, status_context, wake

routes = web.RouteTableDef()

BUCKET_WORDS = (
    ('queued', 'Queued'), ('sent', 'With Notify'), ('delivered', 'Delivered'), ('failed', 'Failed'),
    ('digest', 'In a daily or weekly digest'), ('cancelled', 'Cancelled'),
)  # fmt: skip
CHECK_MINUTES = 15


async def progress_of(request: web.Request) -> tuple[Any, bulletin_reports.Progress]:
    """The bulletin and its progress, settled as sent first if every message has gone (finish.py)."""
    row = await load(request)
    progress = await bulletin_reports.progress(request.app[PG], row['event_id'])
    if row['status'] in finish.GOING and progress.finished:
        async with request.app[PG].acquire() as conn:
            if await finish.settle(conn, row['id']):
                row = await load(request)
    return row, progress


@routes.get('/staff/bulletins/{bulletin_id}/progress', name='staff-bulletin-progress')
@staff_auth.staff_page(*VIEWERS)
async def progress_page(request: web.Request) -> web.Response:
    row, progress = await progress_of(request)
    staff = await staff_auth.current(request)
    late = 0
    if row['urgency'] == 'urgent':  # the delivery check, at a glance
        late, _ = await bulletin_reports.not_delivered(request.app[PG], row['event_id'], CHECK_MINUTES, limit=0)
    context = status_context(row, failed=progress.count('failed') > 0) | {
        'progress': progress, 'buckets': BUCKET_WORDS, 'may_compose': bool(staff and staff.has('comms')),
        'late': late, 'check_minutes': CHECK_MINUTES, 'finished_words': london(row['finished_at']),
    }  # fmt: skip
    return render(request, 'staff/bulletins/progress.html', context)


@routes.get('/staff/bulletins/{bulletin_id}/report', name='staff-bulletin-report')
@staff_auth.staff_page(*VIEWERS)
async def report_page(request: web.Request) -> web.Response:
    row, progress = await progress_of(request)
    minutes_text = request.query.get('minutes', '')
    minutes = int(minutes_text) if minutes_text.isdigit() and 0 < int(minutes_text) <= 10080 else CHECK_MINUTES
    pool, event_id = request.app[PG], row['event_id']
    count, undelivered = await bulletin_reports.not_delivered(pool, event_id, minutes)
    state = status_context(row, failed=progress.count('failed') > 0)
    context = state | {
        'bulletin_status': state['status_words'], 'progress': progress,
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
    """None for 'now'; else the London wall-clock time given, as an aware datetime (errors filled if wrong, or if
    neither was chosen: nothing is chosen for them)."""
    when = str(form.get('when', ''))
    if when not in ('now', 'later'):
        errors['when'] = 'Select when the bulletin should go'
        return None
    if when == 'now':
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
                                            threshold=settings.approval_threshold,
                                            public_url=settings.public_url)  # fmt: skip
    except bulletins.BulletinError as exc:
        return await show_page(request, await load(request), errors={'when': str(exc)}, typed=typed)
    return await after_release(request, row['id'], status)


async def after_release(request: web.Request, bulletin: int, status: str) -> web.Response:
    """Wake the senders for what was just queued (the messages, or the approvers' emails) and go on."""
    if status in ('sending', 'awaiting_approval'):
        await wake(request)
    if status == 'sending':
        raise web.HTTPSeeOther(f'/staff/bulletins/{bulletin}/progress')
    raise web.HTTPSeeOther(f'/staff/bulletins/{bulletin}')
