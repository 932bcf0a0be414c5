"""POST /v2/notifications/{sms,email,letter}: the real server's checks, in the real server's order.

Rate limit (token bucket) and daily limit, then JSON, schema, service permission, template (found, type, deleted),
personalisation, empty content, reply-to ids, letters' key and address rules, recipient (team key / trial mode
guest list, then the number or address itself), international SMS limit, length; then store (smoke-test recipients
are not stored) and count towards the daily limit (test keys never count).
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from typing import Any

from aiohttp import web

from . import shapes
from .rules import recipients, rendering, schemas
from .rules.errors import ApiError, bad_request, invalid_json, validation_error
from .rules.keys import ApiKey, Service, Template
from .simulator import API_KEY, FAULT, SERVICE, SIM, Simulator
from .store import Notification

PRECOMPILED_TEMPLATE_ID = '00000000-0000-0000-0000-0000000000a1'  # stands in for the service's precompiled template
PLURAL = {'email': 'emails', 'sms': 'text messages', 'letter': 'letters'}


def parse_json(raw: bytes) -> Any:
    try:
        data = json.loads(raw)
    except ValueError as exc:  # UnicodeDecodeError is a ValueError too
        raise invalid_json() from exc
    return data or {}  # the real get_valid_json() does `request_json or {}`


def check_rate_limiting(sim: Simulator, service: Service, key: ApiKey, channel: str) -> None:
    sim.buckets.check(service.id, key.key_type)
    sim.daily.check(service.id, channel)


def check_schema(kind: str, body: Any, sim: Simulator | None = None) -> dict[str, Any]:
    now = sim.now().replace(tzinfo=None) if sim is not None else None
    problems = schemas.validate_request(kind, body, now=now)
    if problems:
        raise validation_error(*problems)
    return body  # type: ignore[no-any-return]


def check_permission(service: Service, channel: str) -> None:
    if channel not in service.permissions:
        raise bad_request(f'Service is not allowed to send {PLURAL[channel]}')


def check_template(sim: Simulator, service: Service, template_id: str, channel: str) -> Template:
    template = sim.template_for(service, template_id)
    if template is None:
        raise bad_request('Template not found')
    if template.type != channel:
        raise bad_request(f'{template.type} template is not suitable for {channel} notification')
    if template.archived:
        raise bad_request('Template has been deleted')
    return template


def fill_template(template: Template, personalisation: dict[str, Any]) -> tuple[str, str | None]:
    missing = rendering.missing_personalisation(template.subject, template.body, personalisation)
    if missing:
        raise bad_request(rendering.missing_personalisation_message(missing))
    body = rendering.render(template.body, personalisation)
    subject = rendering.render(template.subject, personalisation) if template.subject is not None else None
    if rendering.is_empty(body):
        raise bad_request('Your message is empty.')
    return body, subject


def check_reply_to(service: Service, body: dict[str, Any]) -> None:
    known = {'email_reply_to_id': service.reply_to_addresses, 'sms_sender_id': service.sms_senders}
    for field, ids in known.items():
        if body.get(field) and str(body[field]) not in ids:  # added in Notify's Settings (here: /_sim/services/…)
            raise bad_request(f'{field} {body[field]} does not exist in database for service id {service.id}')


def _comparable(recipient: str) -> str:
    try:
        if '@' in recipient:
            return recipients.format_email_address(recipient)
        return recipients.normalise_phone_number(recipient, allow_international=True, allow_uk_landline=True)
    except recipients.InvalidRecipient:
        return recipient.strip().lower()


def check_allowed_recipient(service: Service, key: ApiKey, recipient: str) -> None:
    if key.key_type == 'test' or (key.key_type == 'live' and not service.trial_mode):
        return
    if recipients.is_smoke_test(recipient):
        return
    if _comparable(recipient) in {_comparable(r) for r in service.guest_list}:
        return
    if key.key_type == 'team':
        raise bad_request('Can’t send to this recipient using a team-only API key')
    raise bad_request(
        'Can’t send to this recipient when service is in trial mode – see https://www.notifications.service.gov.uk/trial-mode'
    )


def check_recipient(sim: Simulator, service: Service, channel: str, recipient: str) -> tuple[str, bool]:
    """Return (normalised recipient, is international)."""
    field = 'email_address' if channel == 'email' else 'phone_number'
    try:
        if channel == 'email':
            return recipients.validate_email_address(recipient), False
        allow_intl = 'international_sms' in service.permissions
        normalised = recipients.normalise_phone_number(recipient, allow_international=allow_intl)
    except recipients.InternationalNotAllowed as exc:
        raise bad_request(str(exc)) from exc
    except recipients.InvalidRecipient as exc:
        raise validation_error(f'{field} {exc}') from exc
    international = not normalised.startswith('44')  # canonical E.164 digits
    if international:
        sim.daily.check(service.id, 'international_sms')
    return normalised, international


def check_length(channel: str, body: str) -> None:
    too_long = rendering.sms_too_long(body) if channel == 'sms' else rendering.email_too_long(body)
    if too_long:
        raise bad_request(rendering.too_long_message(channel, body))


def new_notification(
    sim: Simulator, service: Service, key: ApiKey, channel: str, template: Template, **fields: Any
) -> Notification:
    return Notification(
        id=str(uuid.uuid4()),
        service_id=service.id,
        key_type=key.key_type,
        api_key_name=key.name,
        type=channel,
        template_id=template.id,
        template_version=template.version,
        created_at=sim.now(),
        **fields,
    )


def store_and_count(sim: Simulator, n: Notification, key: ApiKey, international: bool = False) -> None:
    sim.accept(n)
    if key.key_type != 'test':
        sim.daily.increment(n.service_id, n.type)
        if international:
            sim.daily.increment(n.service_id, 'international_sms')


def url_root(request: web.Request) -> str:
    return f'{request.url.origin()}/'


async def send_sms_or_email(request: web.Request, channel: str, final_status: str | None) -> web.Response:
    sim, service, key = request.app[SIM], request[SERVICE], request[API_KEY]
    check_rate_limiting(sim, service, key, channel)
    body = check_schema(channel, parse_json(await request.read()), sim)
    check_permission(service, channel)
    template = check_template(sim, service, body['template_id'], channel)
    personalisation = body.get('personalisation') or {}
    content, subject = fill_template(template, personalisation)
    check_reply_to(service, body)
    recipient = body['email_address' if channel == 'email' else 'phone_number']
    check_allowed_recipient(service, key, recipient)
    _, international = check_recipient(sim, service, channel, recipient)
    check_length(channel, content)
    outcome = recipients.simulated_outcome(recipient) if key.key_type == 'test' else None
    n = new_notification(
        sim, service, key, channel, template,
        to=recipient, body=content, subject=subject if channel == 'email' else None,
        reference=body.get('reference'), personalisation=personalisation,
        one_click_unsubscribe_url=body.get('one_click_unsubscribe_url'),
        final_status=final_status or outcome or 'delivered',
    )  # fmt: skip
    if not recipients.is_smoke_test(recipient):
        store_and_count(sim, n, key, international)
    return web.json_response(shapes.post_response(n, url_root(request), service), status=201)


def check_letter_key(service: Service, key: ApiKey) -> None:
    if key.key_type == 'team':
        raise bad_request('Cannot send letters with a team api key', status=403)
    if service.trial_mode and key.key_type != 'test':
        raise bad_request('Cannot send letters when service is in trial mode', status=403)


async def send_letter(request: web.Request, final_status: str | None) -> web.Response:
    sim, service, key = request.app[SIM], request[SERVICE], request[API_KEY]
    check_rate_limiting(sim, service, key, 'letter')  # post_precompiled_letter_notification's own check
    raw = parse_json(await request.read())
    if isinstance(raw, dict) and 'content' in raw:
        return await send_precompiled_letter(request, raw)
    check_rate_limiting(sim, service, key, 'letter')  # ...and post_notification's: a templated letter costs 2
    body = check_schema('letter', raw, sim)
    check_permission(service, 'letter')
    template = check_template(sim, service, body['template_id'], 'letter')
    personalisation = body.get('personalisation') or {}
    content, subject = fill_template(template, personalisation)
    check_letter_key(service, key)
    problems = recipients.validate_postal_address(
        personalisation, allow_international_letters='international_letters' in service.permissions
    )
    if problems:
        raise validation_error(*problems)
    lines = (personalisation.get(f'address_line_{i}') for i in range(1, 8))
    address = [str(line) for line in lines if line]
    n = new_notification(
        sim, service, key, 'letter', template,
        to='\n'.join(address), body=content, subject=subject, reference=body.get('reference'),
        personalisation=personalisation, postage=template.postage or 'second', final_status=final_status or 'delivered',
    )  # fmt: skip
    store_and_count(sim, n, key)
    return web.json_response(shapes.post_response(n, url_root(request), service), status=201)


async def send_precompiled_letter(request: web.Request, raw: dict[str, Any]) -> web.Response:
    sim, service, key = request.app[SIM], request[SERVICE], request[API_KEY]
    body = check_schema('precompiled_letter', raw, sim)
    check_permission(service, 'letter')
    check_letter_key(service, key)
    try:
        pdf = base64.b64decode(body['content'], validate=False)
    except (binascii.Error, ValueError) as exc:
        raise bad_request('Cannot decode letter content (invalid base64 encoding)') from exc
    precompiled = Template(id=PRECOMPILED_TEMPLATE_ID, type='letter', name='Pre-compiled PDF', body='', version=1)
    n = new_notification(
        sim, service, key, 'letter', precompiled,
        to='Provided as PDF', body='', subject='Pre-compiled PDF', reference=body['reference'],
        postage=body.get('postage') or 'second', precompiled_pdf=pdf, status='pending-virus-check',
    )  # fmt: skip
    store_and_count(sim, n, key)
    return web.json_response({'id': n.id, 'reference': n.reference, 'postage': n.postage}, status=201)


async def post_notification(request: web.Request) -> web.Response:
    channel = request.match_info['channel']
    fault = request.get(FAULT)
    final_status = fault.status if fault is not None and fault.action == 'status' else None
    if channel == 'letter':
        return await send_letter(request, final_status)
    if channel in ('sms', 'email'):
        return await send_sms_or_email(request, channel, final_status)
    request.app[SIM].buckets.check(request[SERVICE].id, request[API_KEY].key_type)
    raise ApiError(404, 'NotFound', 'Not found')  # the real server fails after spending a token, too
