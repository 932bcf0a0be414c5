"""Staff pages for bulletins: the list, compose and change (comms), and the bulletin's own page with the rendered
messages, the audience, the cost and the next step (send now or later, ask for or give approval), and why an
approver sent it back.

Sending, progress, the delivery report, pause and cancel are in send_pages.py; approving and sending back in
approval_pages.py. Every change goes through sources/bulletins/flow.py, which audits it in the same transaction.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from notifier.app_keys import PG, QUEUE, SETTINGS
from notifier.outbox import queue
from notifier.staff import auth as staff_auth
from notifier.staff.pages import STAFF_MENU, render
from sources.bulletins import costs as bulletin_costs
from sources.bulletins import finish, notices
from sources.bulletins import flow as bulletins
from sources.bulletins.drafts import ALL, Draft, bulletin_topics, read_list, resolve
from sources.bulletins.reports import CHANNEL_WORDS
from subscriptions.places import areas
from subscriptions.topics import catalogue as topic_catalogue
from subscriptions.topics.catalogue import Catalogue

logger = logging.getLogger('notifier.bulletins')
routes = web.RouteTableDef()
STAFF_MENU.append(('/staff/bulletins', 'Bulletins', ('comms', 'approver')))

LONDON = ZoneInfo('Europe/London')
VIEWERS = ('comms', 'approver')
STATUS = {
    'draft': ('Draft', 'grey'), 'awaiting_approval': ('Waiting for approval', 'yellow'),
    'scheduled': ('Scheduled', 'blue'), 'sending': ('Sending', 'light-blue'), 'paused': ('Paused', 'orange'),
    'sent': ('Sent', 'green'), 'cancelled': ('Cancelled', 'red'),
}  # fmt: skip
SENT_WITH_FAILURES = ('Sent with failures', 'orange')
EVERYONE = 'Everyone in the area, whatever topics they chose'
MAX_AHEAD = timedelta(days=90)
URGENCY_WORDS = {'urgent': 'Urgent: skips digests and quiet hours', 'normal': 'Normal'}


def bulletin_id(request: web.Request) -> int:
    value = request.match_info['bulletin_id']
    if not value.isdigit() or len(value) > 12:
        raise web.HTTPNotFound()
    return int(value)


async def load(request: web.Request) -> Any:
    try:
        return await bulletins.get(request.app[PG], bulletin_id(request))
    except bulletins.BulletinNotFound:
        raise web.HTTPNotFound() from None


def status_context(row: Any, *, failed: bool = False) -> dict[str, Any]:
    """The bulletin and its status as words and a tag colour: a sent one with any failed message (`failed`, from
    finish.failed_any or the report's counts) reads "Sent with failures"."""
    words, colour = SENT_WITH_FAILURES if row['status'] == 'sent' and failed else STATUS[row['status']]
    return {'b': row, 'status_words': words, 'status_colour': colour, 'channel_words': CHANNEL_WORDS}


def london(moment: datetime | None) -> str:
    return moment.astimezone(LONDON).strftime('%-d %B %Y at %H:%M') if moment else 'once it may go'


# --- compose and change --------------------------------------------------------------------------------------


def sent_back(row: Any) -> dict[str, str] | None:
    """Why an approver sent this draft back (its page and its change form show it), or None."""
    if row['status'] != 'draft' or row['sent_back_at'] is None:
        return None
    return {'by': row['sent_back_by_name'], 'on': london(row['sent_back_at']), 'reason': row['sent_back_reason']}


def topic_items(topics: Catalogue) -> list[dict[str, str]]:
    """The compose form's topics, by name; one residents may no longer choose says so."""
    items = [
        {'value': topic.key, 'text': topic.name_en,
         'hint': '' if topic.offered else 'Hidden from residents: only people who chose it before get it'}
        for topic in bulletin_topics(topics)
    ]  # fmt: skip
    return [*items, {'divider': 'or'}, {'value': ALL, 'text': EVERYONE}]


def topics_words(keys: list[str], topics: Catalogue) -> str:
    return ', '.join(EVERYONE if key == ALL else topics.name(key) for key in keys)


async def _compose(request: web.Request, draft: Draft, errors: dict[str, str], *, row: Any = None) -> web.Response:
    kept = (
        f'{len(draft.postcodes):,} postcodes and {len(draft.uprns):,} UPRNs' if draft.postcodes or draft.uprns else ''
    )
    context = {
        'draft': draft, 'errors': errors, 'bulletin_id': row['id'] if row else None, 'kept_list': kept,
        'sent_back': sent_back(row) if row else None,
        'topic_items': topic_items(await topic_catalogue.load(request.app[PG])),
        'back': f'/staff/bulletins/{row["id"]}' if row else '/staff/bulletins',
    }  # fmt: skip
    return render(request, 'staff/bulletins/compose.html', context)


async def _draft_from_form(request: web.Request, kept: Draft | None) -> tuple[Draft, OrderedDict[str, str]]:
    form = await request.post()
    draft = Draft(
        title=str(form.get('title', '')), message=str(form.get('message', '')),
        topics=[str(v) for v in form.getall('topics', [])], area=str(form.get('area', '')),
        wards=str(form.get('wards', '')), postcode=str(form.get('postcode', '')), radius=str(form.get('radius', '')),
        channels=[str(v) for v in form.getall('channels', [])], urgency=str(form.get('urgency', '')),
    )  # fmt: skip
    errors: OrderedDict[str, str] = OrderedDict()
    upload = form.get('list_file')
    if draft.area == 'list' and isinstance(upload, web.FileField) and upload.filename:
        draft.postcodes, draft.uprns, problem = read_list(upload.file.read())
        if problem:
            errors['list_file'] = problem
    elif kept is not None:
        draft.postcodes, draft.uprns = kept.postcodes, kept.uprns
    return draft, errors


@routes.get('/staff/bulletins', name='staff-bulletins')
@staff_auth.staff_page(*VIEWERS)
async def list_page(request: web.Request) -> web.Response:
    staff = await staff_auth.current(request)
    context = {'bulletins': await bulletins.recent(request.app[PG]), 'may_compose': staff and staff.has('comms'),
               'status_words': {name: words for name, (words, _) in STATUS.items()},
               'sent_with_failures': SENT_WITH_FAILURES[0]}  # fmt: skip
    return render(request, 'staff/bulletins/list.html', context)


@routes.get('/staff/bulletins/new', name='staff-bulletin-new')
@staff_auth.staff_page('comms')
async def new_page(request: web.Request) -> web.Response:
    return await _compose(request, Draft(), {})


@routes.post('/staff/bulletins/new')
@staff_auth.staff_page('comms')
async def create(request: web.Request) -> web.Response:
    draft, errors = await _draft_from_form(request, None)
    staff = await staff_auth.current(request)
    assert staff is not None
    async with request.app[PG].acquire() as conn:
        target, more = await resolve(conn, draft)
        errors.update((key, value) for key, value in more.items() if key not in errors)
        if errors or target is None:
            return await _compose(request, draft, errors)
        new_id = await bulletins.create(conn, draft, target, staff_auth.actor(staff))
    raise web.HTTPSeeOther(f'/staff/bulletins/{new_id}')


@routes.get('/staff/bulletins/{bulletin_id}/edit', name='staff-bulletin-edit')
@staff_auth.staff_page('comms')
async def edit_page(request: web.Request) -> web.Response:
    row = await load(request)
    if row['status'] not in bulletins.EDITABLE:
        raise web.HTTPSeeOther(f'/staff/bulletins/{row["id"]}')
    return await _compose(request, Draft.from_row(row), {}, row=row)


@routes.post('/staff/bulletins/{bulletin_id}/edit')
@staff_auth.staff_page('comms')
async def edit(request: web.Request) -> web.Response:
    row = await load(request)
    draft, errors = await _draft_from_form(request, Draft.from_row(row))
    staff = await staff_auth.current(request)
    assert staff is not None
    async with request.app[PG].acquire() as conn:
        target, more = await resolve(conn, draft)
        errors.update((key, value) for key, value in more.items() if key not in errors)
        if errors or target is None:
            return await _compose(request, draft, errors, row=row)
        try:
            await bulletins.update(conn, row['id'], draft, target, staff_auth.actor(staff))
        except bulletins.BulletinError as exc:
            # sent or cancelled while this form was open: show the edit again with why, so nothing vanishes silently
            return await _compose(request, draft, {'title': str(exc)}, row=row)
    raise web.HTTPSeeOther(f'/staff/bulletins/{row["id"]}')


# --- the bulletin's page: check, then send or ask for approval ---------------------------------------------------


async def show_page(
    request: web.Request, row: Any, *, errors: dict[str, str] | None = None, typed: dict[str, str] | None = None,
    notice: str = '',
) -> web.Response:  # fmt: skip
    settings = request.app[SETTINGS]
    staff = await staff_auth.current(request)
    audience, shown, cost = await bulletin_costs.check(request.app[PG], row, settings)
    spreads = await bulletin_costs.spreads(request.app[QUEUE], request.app[PG], settings, audience,
                                           list(row['channels']), row['urgency'])  # fmt: skip
    creator = (row['created_by_kind'], row['created_by_id'])
    waiting = row['status'] == 'awaiting_approval'
    failed = row['status'] == 'sent' and await finish.failed_any(request.app[PG], row['event_id'])
    context = status_context(row, failed=failed) | {
        'facts': facts(row, await topic_catalogue.load(request.app[PG]),
                       await areas.names_for(request.app[PG], row['ward_codes'])),
        'audience': audience, 'previews': shown, 'cost': cost,
        'price': f'{settings.sms_price_pence:g}', 'saving': settings.saving_per_contact_pence,
        'threshold': settings.approval_threshold, 'errors': errors or {}, 'typed': typed or {}, 'notice': notice,
        'may_compose': bool(staff and staff.has('comms')),
        'may_approve': bool(staff and staff.has('approver') and ('staff', staff.id) != creator),
        'send_at_words': london(row['send_at']), 'spreads': spreads, 'sent_back': sent_back(row),
        'approvers': len(await notices.approvers(request.app[PG], row)) if waiting else 0,
    }  # fmt: skip
    return render(request, 'staff/bulletins/show.html', context)


def describe_area(row: Any, area_names: dict[str, tuple[str, str]]) -> str:
    kind = row['area_kind']
    if kind == 'council':
        return 'Everyone subscribed, across the council'
    if kind == 'wards':
        return 'Wards: ' + ', '.join(areas.area_name(code, area_names) or code for code in row['ward_codes'])
    if kind == 'radius':
        return f'Within {row["radius_m"]:,} m of {row["centre_postcode"]}'
    return f'{len(row["list_postcodes"]):,} postcodes and {len(row["list_uprns"]):,} UPRNs from a list'


def facts(row: Any, topics: Catalogue, area_names: dict[str, tuple[str, str]]) -> list[dict[str, str]]:
    rows = [
        {'key': 'Message', 'value': row['message']},
        {'key': 'Topics', 'value': topics_words(list(row['topics']), topics)},
        {'key': 'Area', 'value': describe_area(row, area_names)},
        {'key': 'Send by', 'value': ', '.join(CHANNEL_WORDS[c] for c in row['channels'])},
        {
            'key': 'Urgency',
            'value': 'Urgent: skips digests and quiet hours' if row['urgency'] == 'urgent' else 'Normal',
        },
        {'key': 'Composed by', 'value': row['created_by_name']},
    ]
    if row['approved_by_name']:
        rows.append({'key': 'Approved by', 'value': row['approved_by_name']})
    if row['sent_at']:
        rows.append({'key': 'Sending started', 'value': london(row['sent_at'])})
    if row['finished_at']:
        rows.append({'key': 'Every message gone', 'value': london(row['finished_at'])})
    editable = row['status'] == 'draft'
    for n, fact in enumerate(rows):
        change = editable and n < 5
        fact.update(
            href=f'/staff/bulletins/{row["id"]}/edit' if change else '', action='Change', hidden=fact['key'].lower()
        )
    return rows


@routes.get('/staff/bulletins/{bulletin_id}', name='staff-bulletin')
@staff_auth.staff_page(*VIEWERS)
async def bulletin_page(request: web.Request) -> web.Response:
    return await show_page(request, await load(request))


async def wake(request: web.Request) -> None:
    """Wake the senders after a commit (they also poll the outbox every second, so a failure here loses nothing)."""
    try:
        await queue.wake_senders(request.app[QUEUE])
    except Exception:  # noqa: BLE001
        logger.warning('could not wake the senders for a bulletin', exc_info=True)
