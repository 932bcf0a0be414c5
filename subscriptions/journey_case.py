"""Track my case (/case): the case reference (and which service, when more than one case system has that
reference), then the shared steps (subscriptions/journey.py). The subscription is kind 'case'.

The case must exist: some event carries that reference (any case, any letter case typed). When none does, a
kind page says so and what to do, and keeps the reference typed so it can be corrected.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from notifier import rendering
from notifier.app_keys import PG
from subscriptions import journey
from subscriptions.journey import Translate, answers_for, page, register, store, t_for

routes = web.RouteTableDef()

MAX_REFERENCE = 100
CASES = """
select e.source, e.case_reference, coalesce(nullif(s.options ->> 'service_name', ''), e.source) as service
from events e left join sources s on s.name = e.source
where e.case_reference is not null and upper(e.case_reference) = upper($1)
group by e.source, e.case_reference, service
order by service
"""


def own_steps(answers: dict[str, Any]) -> list[tuple[str, bool]]:
    steps = [('', 'reference' in answers)]
    if len(answers.get('found') or []) > 1:
        steps.append(('service', 'source' in answers))
    return steps


def check_rows(t: Translate, answers: dict[str, Any]) -> journey.Rows:
    rows = [{'key': t('case.check.reference'), 'value': answers['reference'], 'slug': ''}]
    if len(answers.get('found') or []) > 1:
        service = next(found['service'] for found in answers['found'] if found['source'] == answers['source'])
        rows.append({'key': t('case.check.service'), 'value': service, 'slug': 'service'})
    return rows


def fields(answers: dict[str, Any]) -> dict[str, Any]:
    return {'kind': 'case', 'case_source': answers['source'], 'case_reference': answers['reference']}


CASE = register(journey.Journey('case', own_steps, check_rows, fields, lambda answers: None))


@routes.get('/case', name='case-start')
async def reference_page(request: web.Request) -> web.Response:
    answers = await answers_for(request, CASE, '')
    return page(request, 'case/reference.html', CASE, answers, '', typed=answers.get('typed', ''))


@routes.post('/case')
async def reference_post(request: web.Request) -> web.StreamResponse:
    answers = await answers_for(request, CASE, '')
    typed = ' '.join(str((await request.post()).get('reference', '')).split())
    t = t_for(request)
    if not typed or len(typed) > MAX_REFERENCE:
        error = t('case.error.reference_missing') if not typed else t('case.error.reference_long')
        return page(request, 'case/reference.html', CASE, answers, '', typed=typed[:200], errors={'reference': error})
    rows = await request.app[PG].fetch(CASES, typed)
    if not rows:
        for name in ('reference', 'source', 'found'):
            answers.pop(name, None)
        await store(request, CASE, '', typed=typed)
        return rendering.render(request, 'case/not_found.html', {'reference': typed, 'back': '/case'})
    found = [{'source': row['source'], 'reference': row['case_reference'], 'service': row['service']} for row in rows]
    only = {'source': found[0]['source']} if len(found) == 1 else {}
    if not only:
        answers.pop('source', None)
    return await store(request, CASE, '', typed=typed, reference=found[0]['reference'], found=found, **only)


@routes.get('/case/service', name='case-service')
async def service_page(request: web.Request) -> web.Response:
    answers = await answers_for(request, CASE, 'service')
    return _service_page(request, answers, answers.get('source', ''), {})


def _service_page(request: web.Request, answers: dict[str, Any], chosen: str, errors: dict[str, str]) -> web.Response:
    items = [{'value': found['source'], 'text': found['service']} for found in answers.get('found') or []]
    return page(request, 'case/service.html', CASE, answers, 'service', items=items, chosen=chosen, errors=errors,
                reference=answers.get('reference', ''))  # fmt: skip


@routes.post('/case/service')
async def service_post(request: web.Request) -> web.StreamResponse:
    answers = await answers_for(request, CASE, 'service')
    chosen = str((await request.post()).get('source', ''))
    match = next((found for found in answers.get('found') or [] if found['source'] == chosen), None)
    if match is None:
        return _service_page(request, answers, '', {'source': t_for(request)('case.error.service')})
    return await store(request, CASE, 'service', source=match['source'], reference=match['reference'])
