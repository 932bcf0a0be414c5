"""The case officers' tools as JSON, for case systems and integrations (the pages are sources/cases/pages.py):

- `POST /api/cases/{reference}/preview` (case_officer): what an update would say, by email, text (with its
  fragments) and letter, without sending it: `{stage, note, evidence_due?, template?, source?}` →
  `{message, previews: {email: {subject, body, characters, fragments}, sms: …, letter: …}}`. Send it with
  `POST /api/cases/{reference}/updates` and `{stage, note: message}`.
- `POST /api/cases/{reference}/subscribers` (case_officer): assisted sign-up, as on /staff/cases/subscribe:
  `{channel: email|sms|letter, email | mobile | address_lines, language?, consent: {agreed_by, method, wording}}`
  → 201 `{subscription_id, status, notification_id}` (a confirmation link, or for post a letter saying how to stop).
- `GET /api/case-evidence` (case_officer): the open requests for evidence, alerted ones first.
- `GET /api/case-templates` (case_officer) and `PUT /api/case-templates/{stage}` (admin, `{body}`): the message each
  stage starts from; a template with a wrong placeholder is refused naming it. Changes are audited.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator

from notifier.api.auth import CALLER, json_error, read_body, requires
from notifier.app_keys import PG, QUEUE, SETTINGS
from notifier.audit import Actor
from sources.cases import evidence
from sources.cases import messages as case_messages
from sources.cases import signup as case_signup
from sources.cases.api import checked_reference, one_case
from sources.cases.updates import NEED_INFO, SOURCE_PATTERN, CaseUpdate, draft_event
from sources.feeds.adapters.open311 import STAGES
from subscriptions.residents import signup
from subscriptions.residents.models import InvalidContactPoint, canonical_address
from templates.registry import MessageTooLong

routes = web.RouteTableDef()


class PreviewRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    source: str | None = Field(None, min_length=1, max_length=100, pattern=SOURCE_PATTERN)
    stage: str
    note: str = Field('', max_length=1000)
    evidence_due: date | None = None
    template: str | None = Field(None, min_length=1, max_length=case_messages.MAX_TEMPLATE)

    @field_validator('stage')
    @classmethod
    def _known(cls, stage: str) -> str:
        if stage not in STAGES:
            raise ValueError(f'stage {stage!r} is not one of {", ".join(STAGES)}')
        return stage


class AssistedConsent(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    agreed_by: str = Field(min_length=1, max_length=200)
    method: Literal['phone', 'in-person', 'in-writing']
    wording: str = Field(min_length=1, max_length=2000)


class AssistedSignup(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    source: str | None = Field(None, min_length=1, max_length=100, pattern=SOURCE_PATTERN)
    channel: Literal['email', 'sms', 'letter']
    email: str | None = Field(None, max_length=320)
    mobile: str | None = Field(None, max_length=30)
    address_lines: list[str] | None = Field(None, max_length=7)
    language: Literal['en', 'cy'] = 'en'
    consent: AssistedConsent


class TemplateBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    body: str = Field(max_length=case_messages.MAX_TEMPLATE + 100)


@routes.post('/api/cases/{reference}/preview', name='api-case-preview')
@requires('case_officer')
async def preview_update(request: web.Request) -> web.Response:
    reference = checked_reference(request.match_info['reference'])
    asked = await read_body(request, PreviewRequest)
    case = await one_case(request, reference, asked.source)
    if asked.evidence_due is not None and asked.stage != NEED_INFO:
        raise json_error(400, 'invalid request', {'evidence_due': f'only for the stage {NEED_INFO}'})
    if asked.stage == NEED_INFO and asked.evidence_due is None:
        raise json_error(400, 'invalid request', {'evidence_due': 'give the date the resident must reply by'})
    pool = request.app[PG]
    template = asked.template or (await case_messages.stage_templates(pool))[asked.stage].body
    problem = case_messages.template_problem(asked.stage, template)
    if problem:
        raise json_error(400, 'invalid request', {'template': problem})
    message = case_messages.fill(
        template, reference=case['reference'], stage=asked.stage, note=asked.note, due_date=asked.evidence_due
    )
    update = CaseUpdate(source=case['source'], stage=asked.stage, note=message, occurred_at=datetime.now(UTC),
                        evidence_due=asked.evidence_due)  # fmt: skip
    event, changes = await draft_event(pool, case['reference'], update, asked.stage)
    try:
        shown = await case_messages.previews(
            pool, request.app[SETTINGS], event, changes, channels=('email', 'sms', 'letter')
        )
    except MessageTooLong:
        raise json_error(400, 'invalid request', {'note': 'the text message would be too long; shorten it'}) from None
    previews = {channel: dataclasses.asdict(preview) for channel, preview in shown.items()}
    return web.json_response({'source': case['source'], 'message': message, 'previews': previews})


@routes.post('/api/cases/{reference}/subscribers', name='api-case-subscribers')
@requires('case_officer')
async def assisted_signup(request: web.Request) -> web.Response:
    reference = checked_reference(request.match_info['reference'])
    asked = await read_body(request, AssistedSignup)
    case = await one_case(request, reference, asked.source)
    field = case_signup.FIELD[asked.channel] + ('_lines' if asked.channel == 'letter' else '')
    given = {'email': asked.email, 'sms': asked.mobile, 'letter': asked.address_lines}[asked.channel]
    if not given:
        raise json_error(400, 'invalid request', {field: f'give the {field.replace("_", " ")} for this channel'})
    try:
        address = canonical_address(asked.channel, given)
    except InvalidContactPoint as exc:
        raise json_error(400, 'invalid request', {field: str(exc)}) from None
    settings, caller = request.app[SETTINGS], request[CALLER]
    if not settings.link_secrets:
        raise json_error(503, 'TELLME_SECRET_KEY is not set, so confirmation links cannot be made')
    consent = {**asked.consent.model_dump(), 'language': asked.language}
    recorder = case_signup.Recorder(Actor('token', caller.token_id, caller.name), token_id=caller.token_id)
    try:
        async with request.app[PG].acquire() as conn, conn.transaction():
            subscription_id, notification_id = await case_signup.sign_up(
                conn, settings, case, asked.channel, address, consent=consent, recorder=recorder
            )
    except case_signup.Refused as exc:
        raise json_error(409, exc.message, {field: exc.message}) from None
    await signup.send_confirmation(request.app[QUEUE], notification_id)
    status = 'active' if asked.channel == 'letter' else 'pending'
    body = {'subscription_id': subscription_id, 'status': status, 'notification_id': str(notification_id)}
    return web.json_response(body, status=201)


@routes.get('/api/case-evidence', name='api-case-evidence')
@requires('case_officer')
async def open_requests(request: web.Request) -> web.Response:
    found = await evidence.requests(request.app[PG])
    return web.json_response({'requests': [item.as_json() for item in found]})


@routes.get('/api/case-templates', name='api-case-templates')
@requires('case_officer')
async def list_templates(request: web.Request) -> web.Response:
    templates = await case_messages.stage_templates(request.app[PG])
    body = [
        {'stage': t.stage, 'stage_name': t.stage_name, 'body': t.body, 'updated_by': t.updated_by,
         'updated_at': t.updated_at.isoformat() if t.updated_at else None}
        for t in templates.values()
    ]  # fmt: skip
    return web.json_response({'templates': body, 'placeholders': list(case_messages.PLACEHOLDERS)})


@routes.put('/api/case-templates/{stage}', name='api-case-template')
@requires('admin')
async def save_template(request: web.Request) -> web.Response:
    stage = request.match_info['stage']
    if stage not in STAGES:
        raise json_error(404, f'no stage {stage[:50]!r}: stages are {", ".join(STAGES)}')
    given = await read_body(request, TemplateBody)
    problem = case_messages.template_problem(stage, given.body)
    if problem:
        raise json_error(400, 'invalid request', {'body': problem})
    caller = request[CALLER]
    async with request.app[PG].acquire() as conn, conn.transaction():
        await case_messages.save_template(conn, stage, given.body, Actor('token', caller.token_id, caller.name))
    return web.json_response({'stage': stage, 'body': given.body.strip().replace('\r\n', '\n')})
