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

from notifier import audit, metrics
from notifier.api.auth import CALLER, field_errors, iso, json_error, read_body, read_json, requires
from notifier.app_keys import PG, QUEUE, SETTINGS
from notifier.outbox.tokens import read_token
from notifier.settings import Settings
from subscriptions.places.geocoding import locate_postcode, make_geocoder
from subscriptions.places.postcodes import PostcodeError, normalise_postcode
from subscriptions.residents import queries, signup
from subscriptions.residents.models import Channel, InvalidContactPoint, NewSubscription, canonical_address
from subscriptions.residents.signup import CONFIRM
from subscriptions.topics import catalogue
from templates.personalisation import mask_address

logger = logging.getLogger('notifier.subscriptions_api')

routes = web.RouteTableDef()

CONTACT_FIELDS = ('email', 'mobile', 'language', 'postcode')
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


def read_confirm_token(settings: Settings, token: str) -> int | None:
    return read_token(settings.link_secrets, CONFIRM, token)


async def confirm_subscription(
    conn: asyncpg.Connection, subscription_id: int, *, signed_in: int | None = None
) -> str | None:
    """Activate a pending subscription and verify the address the confirmation went to. Returns the status it is
    in afterwards ('active' also when it already was), or None when there is no such subscription.

    `signed_in`: the resident whose session confirmed it (a code typed in the browser that asked for it), if any.
    See signup.separate_unproven for what happens when the address was never proved to be that resident's."""
    via = await conn.fetchval(CONFIRMATION_CONTACT, subscription_id)
    if via is not None:
        await signup.separate_unproven(conn, subscription_id, via, signed_in=signed_in)
    activated = await queries.activate_subscription(conn, subscription_id, via_contact_point_id=via)
    subscription = await queries.get_subscription(conn, subscription_id)
    if activated and subscription:
        metrics.CONFIRMATIONS.labels(subscription.kind).inc()
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
            rest['postcode'] = normalise_postcode(contact.postcode)  # names the place: "within 500 m of M32 0TH"
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
    await _refuse_hidden_topics(request.app[PG], spec)
    # only the addresses the chosen channels use: an unused one is not stored, and cannot change where we land
    return contact, {channel: address for channel, address in addresses.items() if channel in spec.channels}, spec


def _place(contact: Contact, spec: NewSubscription) -> str | None:
    if spec.kind != 'near':
        return None
    if contact.postcode:
        try:
            return normalise_postcode(contact.postcode)
        except PostcodeError:
            pass
    return f'{spec.lat:.4f}, {spec.lng:.4f}'


async def _refuse_hidden_topics(pool: asyncpg.Pool, spec: NewSubscription) -> None:
    """422 for a topic the catalogue holds but residents may not choose (bin collections, chosen for an address;
    case updates; one the council hid), as the sign-up pages never offer it. Keys the catalogue does not hold are
    taken as before ('staff/…' topics, for instance)."""
    if spec.kind not in ('near', 'area', 'topic') or not spec.topics:
        return
    topics = await catalogue.load(pool)
    hidden = [key for key in spec.topics if (found := topics.find(key)) is not None and not found.offered]
    if hidden:
        named = ', '.join(f'{key} ({topics.name(key)})' for key in hidden)
        raise json_error(422, 'a topic residents may not choose', {'topics': f'residents may not choose {named}'})


# --- routes --------------------------------------------------------------------------------------------------


@routes.post('/api/subscriptions', name='api-subscriptions')
@requires('system', 'case_officer')
async def create_subscription(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    if not settings.link_secrets:
        raise json_error(503, 'TELLME_SECRET_KEY is not set, so confirmation links cannot be made')
    contact, addresses, spec = await _checked_signup(request)
    async with request.app[PG].acquire() as conn, conn.transaction():
        try:
            placed = await signup.place(conn, contact.language, addresses)
            subscription_id = await queries.create_subscription(conn, placed.resident_id, spec)
            notification_id, channel = await signup.queue_confirmation(
                conn, settings, subscription_id, spec, language=placed.language, points=placed.points,
                place=_place(contact, spec),
            )  # fmt: skip
            await audit.record(
                conn, request[CALLER].actor, 'subscription.create', target_kind='subscription',
                target_id=subscription_id,
                details={'kind': spec.kind, 'channels': list(spec.channels),
                         'to': {channel: mask_address(channel, address) for channel, address in addresses.items()}},
            )  # fmt: skip
        except signup.SignupRefused as exc:
            raise json_error(409, exc.message, exc.errors or None) from None
    await signup.send_confirmation(request.app[QUEUE], notification_id)
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
