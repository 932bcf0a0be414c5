"""Admins edit the message each case stage starts from (/staff/case-templates). A template is checked before it is
saved (only ((reference)), ((stage)), ((note)) and, for "we need something from you", ((due_date)); ((note)) must
be there), shown with an example filled in, and every change is in the audit log."""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime, timedelta

from aiohttp import web

from notifier.app_keys import PG
from notifier.staff import auth as staff_auth
from notifier.staff.pages import STAFF_MENU, render
from sources.cases import messages as case_messages
from sources.events.dates import LONDON
from sources.feeds.adapters.open311 import STAGES

routes = web.RouteTableDef()

STAFF_MENU.append(('/staff/case-templates', 'Case message templates', ('admin',)))

EXAMPLE_NOTE = 'A crew will visit on Tuesday.'


def example(stage: str, body: str) -> str:
    today = datetime.now(UTC).astimezone(LONDON).date()  # the council's date, not the server's
    due = today + timedelta(days=14) if stage == case_messages.NEED_INFO else None
    return case_messages.fill(body, reference='FMS-20417', stage=stage, note=EXAMPLE_NOTE, due_date=due)


@routes.get('/staff/case-templates', name='staff-case-templates')
@staff_auth.staff_page('admin')
async def list_templates(request: web.Request) -> web.Response:
    templates = await case_messages.stage_templates(request.app[PG])
    rows = [(template, example(template.stage, template.body)) for template in templates.values()]
    saved = request.query.get('saved', '')
    return render(request, 'staff/cases/templates.html', {'rows': rows, 'saved': saved if saved in STAGES else ''})


def _stage(request: web.Request) -> str:
    stage = request.match_info['stage']
    if stage not in STAGES:
        raise web.HTTPNotFound()
    return stage


@routes.get('/staff/case-templates/{stage}', name='staff-case-template')
@staff_auth.staff_page('admin')
async def edit_page(request: web.Request) -> web.Response:
    stage = _stage(request)
    template = (await case_messages.stage_templates(request.app[PG]))[stage]
    return render(request, 'staff/cases/template_edit.html', {'template': template, 'body': template.body})


@routes.post('/staff/case-templates/{stage}')
@staff_auth.staff_page('admin')
async def save(request: web.Request) -> web.StreamResponse:
    stage = _stage(request)
    staff = await staff_auth.current(request)
    assert staff is not None
    body = str((await request.post()).get('body', ''))
    problem = case_messages.template_problem(stage, body)
    if problem:
        template = (await case_messages.stage_templates(request.app[PG]))[stage]
        errors = OrderedDict(body=problem)
        return render(request, 'staff/cases/template_edit.html', {'template': template, 'body': body, 'errors': errors})
    async with request.app[PG].acquire() as conn, conn.transaction():
        await case_messages.save_template(conn, stage, body, staff_auth.actor(staff))
    raise web.HTTPSeeOther(f'/staff/case-templates?saved={stage}')
