"""The subscriptions API: sign someone up (pending, with a confirmation message), confirm, and look up a message.

    POST /api/subscriptions                 (token: system, case_officer)  → 201 pending + confirmation queued
    POST /api/subscriptions/{id}/confirm    {"token": "<from the confirmation link>"}  → 200 active
    GET  /api/notifications/{id}            (token: system, case_officer, comms)  → status, attempts, last error

A body is checked whole before anything is written, and everything a request writes commits together: the
resident, their contact points, the subscription and the confirmation message in the outbox. The confirmation is
queued for sending after the commit; if Redis is down the senders still find the row in the outbox.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Literal

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from notifier import queue
from notifier.api_auth import field_errors, iso, json_error, read_body, read_json, requires
from notifier.app_keys import PG, QUEUE, SETTINGS
from notifier.settings import Settings
from subscriptions import queries
from subscriptions.geocoding import locate_postcode, make_geocoder
from subscriptions.models import Channel, InvalidContactPoint, NewSubscription, canonical_address
from subscriptions.postcodes import PostcodeError, normalise_postcode
from subscriptions.tokens import make_token, read_token
from templates.personalisation import describe_subscription, mask_address
from templates.registry import notice_message, outbox_purpose

logger = logging.getLogger('notifier.subscriptions_api')

routes = web.RouteTableDef()

CONFIRM = 'confirm'
CONTACT_FIELDS = ('email', 'mobile', 'language', 'postcode')

INSERT_NOTICE = """
insert into notifications (contact_point_id, subscription_id, channel, purpose, template_id, personalisation)
values ($1, $2, $3, $4, $5, $6)
returning id
"""
CONFIRMATION_CONTACT = """
select contact_point_id from notifications
where subscription_id = $1 and purpose = 'confirmation'
order by created_at desc
limit 1
"""
NOTIFICATION = """
select n.id, n.status, n.channel, n.purpose, n.attempts, n.last_error, n.event_id, n.subscription_id, n.notify_id,
       n.not_before, n.created_at, n.updated_at, n.sent_at, n.completed_at, c.address
from notifications n join contact_points c on c.id = n.contact_point_id
where n.id = $1
"""


class Contact(BaseModel):
    """Who is signing up: at least one of email and mobile; their language; a postcode for 'near'."""

    model_config = ConfigDict(frozen=True)

    email: str | None = Field(None, min_length=3, max_length=320)
    mobile: str | None = Field(None, min_length=5, max_length=30)
    language: Literal['en', 'cy'] = 'en'
    postcode: str | None = Field(None, min_length=2, max_length=12)

    def addresses(self) -> dict[Channel, str]:
        given: dict[Channel, str | None] = {'email': self.email, 'sms': self.mobile}
        return {channel: address for channel, address in given.items() if address}


class ConfirmRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    token: str = Field(min_length=3, max_length=200)


def confirm_url(settings: Settings, subscription_id: int) -> str:
    return f'{settings.public_url}/confirm/{make_token(settings.link_secrets[0], CONFIRM, subscription_id)}'


def read_confirm_token(settings: Settings, token: str) -> int | None:
    return read_token(settings.link_secrets, CONFIRM, token)


async def confirm_subscription(conn: asyncpg.Connection, subscription_id: int) -> str | None:
    """Activate a pending subscription and verify the address the confirmation went to. Returns the status it is
    in afterwards ('active' also when it already was), or None when there is no such subscription."""
    via = await conn.fetchval(CONFIRMATION_CONTACT, subscription_id)
    await queries.activate_subscription(conn, subscription_id, via_contact_point_id=via)
    subscription = await queries.get_subscription(conn, subscription_id)
    return subscription.status if subscription else None


# --- checking a sign-up --------------------------------------------------------------------------------------


async def _checked_signup(request: web.Request) -> tuple[Contact, dict[Channel, str], NewSubscription]:
    """The body as (contact, canonical addresses by channel, subscription), or one 400 listing every problem."""
    data = await read_json(request)
    errors: dict[str, str] = {}
    try:
        contact = Contact.model_validate({name: data[name] for name in CONTACT_FIELDS if name in data})
    except ValidationError as exc:
        raise json_error(400, 'invalid request', field_errors(exc)) from None
    rest: dict[str, Any] = {name: value for name, value in data.items() if name not in CONTACT_FIELDS}
    given = contact.addresses()
    if not given:
        errors['email'] = 'give an email address or a mobile number (or both)'
    rest.setdefault('channels', list(given))
    addresses: dict[Channel, str] = {}
    for channel, address in given.items():
        try:
            addresses[channel] = canonical_address(channel, address)
        except InvalidContactPoint as exc:
            errors['email' if channel == 'email' else 'mobile'] = str(exc)
    if contact.postcode and rest.get('kind') == 'near' and 'lat' not in rest and 'lng' not in rest:
        try:
            async with make_geocoder(request.app[SETTINGS], request.app[PG]) as geocoder:
                place = await locate_postcode(geocoder, contact.postcode)
            rest['lat'], rest['lng'] = place.latitude, place.longitude
        except PostcodeError as exc:
            errors['postcode'] = str(exc)
    try:
        spec = NewSubscription.model_validate(rest)
    except ValidationError as exc:
        errors = {**field_errors(exc), **errors}
        raise json_error(400, 'invalid request', errors) from None
    if 'letter' in spec.channels:
        errors['channels'] = 'letters are arranged by council staff; choose email or sms here'
    for channel in spec.channels:
        if channel != 'letter' and channel not in given:
            errors.setdefault('email' if channel == 'email' else 'mobile', f'needed for {channel} updates')
    if errors:
        raise json_error(400, 'invalid request', errors)
    return contact, addresses, spec


async def _resident_for(conn: asyncpg.Connection, contact: Contact, addresses: dict[Channel, str]) -> tuple[int, str]:
    """The resident these addresses already belong to (one address, one resident), or a new one."""
    found = {}
    for channel, address in addresses.items():
        point = await queries.find_contact_point(conn, channel, address)
        if point is not None:
            if point.suppressed_at is not None:
                field = 'email' if channel == 'email' else 'mobile'
                raise json_error(409, 'we no longer send to this address', {field: 'we cannot send messages here'})
            found[channel] = point.resident_id
    if len(set(found.values())) > 1:
        raise json_error(409, 'that email address and mobile number are registered to different people')
    if found:
        resident_id = next(iter(found.values()))
        language = await conn.fetchval('select language from residents where id = $1', resident_id)
        return resident_id, language
    return await queries.create_resident(conn, language=contact.language), contact.language


def _place(contact: Contact, spec: NewSubscription) -> str | None:
    if spec.kind != 'near':
        return None
    if contact.postcode:
        try:
            return normalise_postcode(contact.postcode)
        except PostcodeError:
            pass
    return f'{spec.lat:.4f}, {spec.lng:.4f}'


# --- routes --------------------------------------------------------------------------------------------------


@routes.post('/api/subscriptions', name='api-subscriptions')
@requires('system', 'case_officer')
async def create_subscription(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    if not settings.link_secrets:
        raise json_error(503, 'TELLME_SECRET_KEY is not set, so confirmation links cannot be made')
    contact, addresses, spec = await _checked_signup(request)
    async with request.app[PG].acquire() as conn, conn.transaction():
        resident_id, language = await _resident_for(conn, contact, addresses)
        points = {}
        for channel, address in addresses.items():
            try:
                points[channel] = await queries.add_contact_point(conn, resident_id, channel, address)
            except queries.ContactPointInUse:
                raise json_error(409, 'that address was registered by someone else just now; try again') from None
        subscription_id = await queries.create_subscription(conn, resident_id, spec)
        channel = next(channel for channel in ('email', 'sms') if channel in spec.channels)
        message = notice_message(
            'confirmation',
            channel=channel,
            language=language,
            subscription=describe_subscription(
                language,
                kind=spec.kind,
                topics=spec.topics,
                radius_m=spec.radius_m,
                place=_place(contact, spec),
                case_reference=spec.case_reference,
            ),
            confirm_url=confirm_url(settings, subscription_id),
        )
        notification_id = await conn.fetchval(
            INSERT_NOTICE,
            points[channel].id,
            subscription_id,
            channel,
            outbox_purpose('confirmation'),
            uuid.UUID(message.template_id),
            message.personalisation,
        )
    try:
        await queue.enqueue_delivery(request.app[QUEUE], notification_id)
    except Exception:  # noqa: BLE001 - committed: the senders find pending rows in the outbox on their own
        logger.warning('could not queue confirmation %s', notification_id, exc_info=True)
    body = {
        'subscription_id': subscription_id,
        'status': 'pending',
        'confirmation': {'notification_id': str(notification_id), 'channel': channel},
    }
    return web.json_response(body, status=201)


@routes.post(r'/api/subscriptions/{id:\d{1,18}}/confirm', name='api-subscription-confirm')
async def confirm(request: web.Request) -> web.Response:
    subscription_id = int(request.match_info['id'])
    body = await read_body(request, ConfirmRequest)
    if read_confirm_token(request.app[SETTINGS], body.token) != subscription_id:
        raise json_error(404, 'that confirmation link is not valid for this subscription', {'token': 'not valid'})
    async with request.app[PG].acquire() as conn, conn.transaction():
        status = await confirm_subscription(conn, subscription_id)
    if status is None:
        raise json_error(404, 'no such subscription (unconfirmed sign-ups are deleted after 7 days)')
    if status == 'ended':
        raise json_error(409, 'this subscription has ended; sign up again to hear about this')
    return web.json_response({'subscription_id': subscription_id, 'status': status})


@routes.get('/api/notifications/{id}', name='api-notification')
@requires('system', 'case_officer', 'comms')
async def get_notification(request: web.Request) -> web.Response:
    try:
        notification_id = uuid.UUID(request.match_info['id'])
    except ValueError:
        raise json_error(404, 'no such notification') from None
    row = await request.app[PG].fetchrow(NOTIFICATION, notification_id)
    if row is None:
        raise json_error(404, 'no such notification')
    body = {
        'id': str(row['id']),
        'status': row['status'],
        'channel': row['channel'],
        'purpose': row['purpose'],
        'to': mask_address(row['channel'], row['address']),
        'attempts': row['attempts'],
        'last_error': row['last_error'],
        'event_id': row['event_id'],
        'subscription_id': row['subscription_id'],
        'notify_id': str(row['notify_id']) if row['notify_id'] else None,
        'not_before': iso(row['not_before']),
        'created_at': iso(row['created_at']),
        'updated_at': iso(row['updated_at']),
        'sent_at': iso(row['sent_at']),
        'completed_at': iso(row['completed_at']),
    }
    return web.json_response(body)
