"""Track my case (/case): the case reference (and which service, when more than one case system has that
reference), then the shared steps (subscriptions/journey/steps.py). The subscription is kind 'case'.

The case must exist: some event carries that reference (any case, any letter case typed). Whether it does is said
only at the end, with the contact details, and in the same words as for a case reported with other contact details
(subscriptions/journey/submit.py REPORTER_GUARD): a stranger cannot learn from these pages whether a case exists,
whether someone reported it with their contact details, or whose they were. The reference typed is kept, so it can
be corrected from the check page.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from notifier.app_keys import PG
from notifier.web import sessions
from subscriptions.journey import steps as journey
from subscriptions.journey import submit as journey_submit
from subscriptions.journey.steps import Translate, answers_for, page, register, store, t_for

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
    found = [{'source': row['source'], 'reference': row['case_reference'], 'service': row['service']} for row in rows]
    only = {'source': found[0]['source']} if len(found) == 1 else {}
    if not only:
        answers.pop('source', None)
    # no case with that reference goes on all the same: it is refused at the end, as a wrong contact is
    reference = found[0]['reference'] if found else typed
    return await store(request, CASE, '', typed=typed, reference=reference, found=found, **only)


# the message journey_submit gives a case reported with other contact details (its key is chosen there)
NOT_MATCHED = 'signup.error.not_reporter'


@routes.post('/case/check')
async def check_post(request: web.Request) -> web.StreamResponse:
    """Before the shared submit (journey_submit.submit): a reference no case has is refused with the same words,
    status and per-address and per-IP limits as a case whose reporter gave other contact details."""
    answers = (await sessions.get(request)).journey(CASE.name)
    if 'reference' not in answers or answers.get('found') or journey.first_unanswered(CASE, answers) is not None:
        return await journey_submit.submit(request)
    addresses = {channel: answers['email' if channel == 'email' else 'mobile'] for channel in answers['channels']}
    t = t_for(request)
    if not await journey_submit._allowed(request, addresses):  # the same counters as every sign-up
        return journey_submit.check_page(request, CASE, answers, errors={'main-content': t('signup.error.wait')},
                                         status=429)  # fmt: skip
    return journey_submit.check_page(request, CASE, answers, errors={'main-content': t(NOT_MATCHED)})


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
