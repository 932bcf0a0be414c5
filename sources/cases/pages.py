"""Case officers' pages: find a case by reference (/staff/cases), post a status update with a preview of exactly
what the resident will read (/staff/cases/update), and the requests for evidence still waiting for a resident
(/staff/cases/waiting).

An update is sent through `sources.cases.updates.save_update`, the same path as `POST /api/cases/{reference}/updates`,
so the resident hears an officer's update exactly as they would a case system's, and it is in the audit log.
Nothing personal goes in a URL: only the case reference and the case system's name.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from notifier.app_keys import PG, SETTINGS
from notifier.staff import auth as staff_auth
from notifier.staff.pages import STAFF_MENU, render
from sources.cases import evidence
from sources.cases import messages as case_messages
from sources.cases import queries as case_queries
from sources.cases.updates import NEED_INFO, NO_PLACE, CaseUpdate, draft_event, save_update
from sources.feeds.adapters.open311 import _STAGE_WORDS as STAGE_WORDS
from sources.feeds.adapters.open311 import STAGES
from templates.personalisation import LONDON
from templates.registry import MessageTooLong

routes = web.RouteTableDef()

STAFF_MENU.extend([
    ('/staff/cases', 'Cases', ('case_officer',)),
    ('/staff/cases/waiting', 'Waiting for residents', ('case_officer',)),
])  # fmt: skip

MAX_REFERENCE = 100
MAX_MESSAGE = 1000
# who the preview is for: letters when someone follows the case by post, Welsh when someone reads Welsh
AUDIENCE = """
select coalesce(bool_or('letter' = any(s.channels)), false) as letters,
       coalesce(bool_or(r.language = 'cy'), false) as welsh
from subscriptions s join residents r on r.id = s.resident_id
where s.kind = 'case' and s.case_source = $1 and s.case_reference = $2 and s.status in ('active', 'pending')
"""
DONE = {
    'update': 'Update sent. The case’s subscribers get it within a minute; its delivery shows below.',
    'subscribed': 'Signed up. A confirmation is on its way to them, saying how to cancel.',
    'dismissed': 'The request for evidence is closed.',
}


def case_url(source: str, reference: str, path: str = '/staff/cases', **extra: str) -> str:
    return f'{path}?{urlencode({"reference": reference, "source": source, **extra})}'


async def chosen_case(request: web.Request) -> dict[str, Any]:
    """The case named by ?reference=&source= (404 page if there is none, or several and no source)."""
    reference = ' '.join(request.query.get('reference', '').split())[:MAX_REFERENCE]
    found = await case_queries.find(request.app[PG], reference, request.query.get('source') or None)
    if found.case is None:
        raise web.HTTPNotFound()
    return found.case


@routes.get('/staff/cases', name='staff-cases')
@staff_auth.staff_page('case_officer')
async def find_case(request: web.Request) -> web.Response:
    typed = ' '.join(request.query.get('reference', '').split())
    if 'reference' not in request.query:
        return render(request, 'staff/cases/find.html', {'reference': ''})
    errors: OrderedDict[str, str] = OrderedDict()
    if not typed:
        errors['reference'] = 'Enter a case reference, like FMS-20417'
    elif len(typed) > MAX_REFERENCE:
        errors['reference'] = f'A case reference is {MAX_REFERENCE} characters or fewer'
    found = None if errors else await case_queries.find(request.app[PG], typed, request.query.get('source') or None)
    if found is not None and not found.cases:
        errors['reference'] = f'No case has the reference {typed}. Check the reference and try again'
    if errors or found is None:
        return render(request, 'staff/cases/find.html', {'reference': typed[:200], 'errors': errors})
    if found.case is None:
        links = [(case, case_url(case['source'], case['reference'])) for case in found.cases]
        return render(request, 'staff/cases/choose.html', {'reference': typed, 'links': links})
    details = await case_queries.details(request.app[PG], found.case)
    context = {
        'case': details,
        'done': DONE.get(request.query.get('done', '')),
        'alerts': [item for item in details.evidence if item.alerted_at and item.open],
        'update_url': case_url(details.source, details.reference, '/staff/cases/update'),
        'subscribe_url': case_url(details.source, details.reference, '/staff/cases/subscribe'),
        'keep_days': request.app[SETTINGS].outbox_keep_days,
    }
    return render(request, 'staff/cases/case.html', context)


# --- posting an update ---------------------------------------------------------------------------------------


def _due_date(form: dict[str, str], errors: OrderedDict[str, str]) -> date | None:
    parts = [form.get(f'due-{part}', '').strip() for part in ('day', 'month', 'year')]
    if not any(parts):
        errors['due-day'] = 'Enter the date the resident must reply by'
        return None
    try:
        due = date(int(parts[2]), int(parts[1]), int(parts[0]))
    except ValueError:
        errors['due-day'] = 'The reply-by date must be a real date, like 27 3 2027'
        return None
    if due <= datetime.now(LONDON).date():
        errors['due-day'] = 'The reply-by date must be in the future'
        return None
    return due


def _checked(form: dict[str, str], templates: dict[str, Any], reference: str) -> tuple[dict[str, Any], Any]:
    """(what the officer asked for, the errors by field)."""
    errors: OrderedDict[str, str] = OrderedDict()
    stage = form.get('stage', '')
    if stage not in STAGES:
        errors['stage'] = 'Choose the stage the case is at now'
    note = form.get('note', '').strip()
    due = _due_date(form, errors) if stage == NEED_INFO else None
    if stage == NEED_INFO and not note:
        errors['note'] = 'Say what you need from the resident'
    template = form.get('template', '').strip()
    if stage in STAGES and (not template or form.get('template_stage') != stage):
        template = templates[stage].body if stage in templates else '((note))'
    problem = case_messages.template_problem(stage, template) if stage in STAGES else None
    if problem:
        errors['template'] = problem
    message = ''
    if stage in STAGES and not problem:
        message = case_messages.fill(template, reference=reference, stage=stage, note=note, due_date=due)
        if len(message) > MAX_MESSAGE:
            errors['note'] = f'The message is {len(message)} characters; make it {MAX_MESSAGE} or fewer'
    chosen = {'stage': stage, 'note': note, 'due': due, 'template': template, 'message': message}
    return chosen, errors


def _form(raw: Any) -> dict[str, str]:
    return {key: str(value) for key, value in raw.items()}


@routes.get('/staff/cases/update', name='staff-case-update')
@staff_auth.staff_page('case_officer')
async def update_page(request: web.Request) -> web.Response:
    case = await chosen_case(request)
    return render(request, 'staff/cases/update.html', _update_context(case, {}, None))


def _update_context(case: dict[str, Any], form: dict[str, str], shown: dict[str, Any] | None, **kw: Any) -> dict:
    return {
        'case': case, 'form': form, 'stage_items': case_messages.stage_items(), 'shown': shown,
        'case_url': case_url(case['source'], case['reference']), 'stage_name': STAGE_WORDS, **kw,
    }  # fmt: skip


@routes.post('/staff/cases/update')
@staff_auth.staff_page('case_officer')
async def update_post(request: web.Request) -> web.StreamResponse:
    case = await chosen_case(request)
    staff = await staff_auth.current(request)
    assert staff is not None
    form = _form(await request.post())
    pool = request.app[PG]
    chosen, errors = _checked(form, await case_messages.stage_templates(pool), case['reference'])
    form |= {'template': chosen['template'], 'template_stage': chosen['stage']}
    if errors:
        return render(request, 'staff/cases/update.html', _update_context(case, form, None, errors=errors))
    update = CaseUpdate(
        source=case['source'], stage=chosen['stage'], note=chosen['message'], occurred_at=datetime.now(UTC),
        evidence_due=chosen['due'],
    )  # fmt: skip
    previewed = form.get('previewed', '').replace('\r\n', '\n').strip()  # browsers send line ends as CRLF
    if form.get('action') == 'send' and previewed == chosen['message']:
        status, body = await _send(request, case, update, staff)
        if status >= 400:
            errors['stage'] = body
            return render(request, 'staff/cases/update.html', _update_context(case, form, None, errors=errors))
        raise web.HTTPSeeOther(case_url(case['source'], case['reference'], done='update'))
    event, changes = await draft_event(pool, case['reference'], update, chosen['stage'])
    audience = await pool.fetchrow(AUDIENCE, case['source'], case['reference'])
    channels = ('email', 'sms', 'letter') if audience['letters'] else ('email', 'sms')
    shown: dict[str, Any] = {}
    try:
        for language in ('en', 'cy') if audience['welsh'] else ('en',):
            found = await case_messages.previews(
                pool, request.app[SETTINGS], event, changes, channels=channels, language=language
            )
            shown |= {channel if language == 'en' else f'{channel}-cy': preview for channel, preview in found.items()}
    except MessageTooLong:
        errors['note'] = 'The text message would be too long even shortened; make the note shorter'
        return render(request, 'staff/cases/update.html', _update_context(case, form, None, errors=errors))
    changed = form.get('action') == 'send'  # what was previewed is not what the form says now: show it first
    context = _update_context(case, form, shown, message=chosen['message'], changed=changed)
    return render(request, 'staff/cases/update.html', context)


async def _send(request: web.Request, case: dict[str, Any], update: CaseUpdate, staff: Any) -> tuple[int, Any]:
    try:
        return await save_update(
            request.app, case['reference'], update, update.stage or '', NO_PLACE, actor=staff_auth.actor(staff),
            staff_id=staff.id,
        )  # fmt: skip
    except web.HTTPException as exc:  # a JSON error from the shared path (e.g. another update at the same moment)
        try:
            message = json.loads(exc.text or '{}').get('message', 'The update could not be sent. Try again')
        except ValueError:
            message = 'The update could not be sent. Try again'
        return exc.status, f'{message[:1].upper()}{message[1:]}'


# --- waiting for residents -----------------------------------------------------------------------------------


@routes.get('/staff/cases/waiting', name='staff-cases-waiting')
@staff_auth.staff_page('case_officer')
async def waiting(request: web.Request) -> web.Response:
    found = await evidence.requests(request.app[PG])
    rows = [(item, case_url(item.case_source, item.case_reference)) for item in found]
    return render(request, 'staff/cases/waiting.html', {'rows': rows})


@routes.post('/staff/cases/evidence/{id:[0-9]{1,18}}/dismiss', name='staff-evidence-dismiss')
@staff_auth.staff_page('case_officer')
async def dismiss(request: web.Request) -> web.StreamResponse:
    staff = await staff_auth.current(request)
    assert staff is not None
    async with request.app[PG].acquire() as conn, conn.transaction():
        case = await evidence.dismiss(conn, int(request.match_info['id']), staff_auth.actor(staff))
    if case is None:
        raise web.HTTPNotFound()
    raise web.HTTPSeeOther(case_url(*case, done='dismissed'))
