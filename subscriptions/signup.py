"""Signing someone up, shared by `POST /api/subscriptions` and a case system's push with the reporter's consent.

Everything here runs in the caller's transaction: find (or make) the resident their addresses belong to, add the
contact points, and put the confirmation message in the outbox. The caller queues it for sending after commit
(`send_confirmation`); if Redis is down the senders still find the row in the outbox.
"""

from __future__ import annotations

import logging
import uuid

import asyncpg

from notifier import queue
from notifier.settings import Settings
from subscriptions import queries
from subscriptions.models import Channel, ContactPoint, NewSubscription
from subscriptions.tokens import make_token
from templates.personalisation import describe_subscription
from templates.registry import notice_message, outbox_purpose

logger = logging.getLogger('notifier.signup')

CONFIRM = 'confirm'

INSERT_NOTICE = """
insert into notifications (contact_point_id, subscription_id, channel, purpose, template_id, personalisation)
values ($1, $2, $3, $4, $5, $6)
returning id
"""


class SignupRefused(Exception):
    """We cannot sign these addresses up (a suppressed address, addresses of two different people)."""

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


def field_of(channel: Channel) -> str:
    return 'email' if channel == 'email' else 'mobile'


def confirm_url(settings: Settings, subscription_id: int) -> str:
    return f'{settings.public_url}/confirm/{make_token(settings.link_secrets[0], CONFIRM, subscription_id)}'


async def resident_for(conn: asyncpg.Connection, language: str, addresses: dict[Channel, str]) -> tuple[int, str]:
    """The resident these addresses already belong to (one address, one resident) and their language, or a new
    resident speaking `language`."""
    found = {}
    for channel, address in addresses.items():
        point = await queries.find_contact_point(conn, channel, address)
        if point is not None:
            if point.suppressed_at is not None:
                raise SignupRefused(
                    'we no longer send to this address', {field_of(channel): 'we cannot send messages here'}
                )
            found[channel] = point.resident_id
    if len(set(found.values())) > 1:
        raise SignupRefused('that email address and mobile number are registered to different people')
    if found:
        resident_id = next(iter(found.values()))
        known = await conn.fetchval('select language from residents where id = $1', resident_id)
        return resident_id, known
    return await queries.create_resident(conn, language=language), language


async def add_contact_points(
    conn: asyncpg.Connection,
    resident_id: int,
    addresses: dict[Channel, str],
    *,
    verified: frozenset[Channel] = frozenset(),
) -> dict[Channel, ContactPoint]:
    points = {}
    for channel, address in addresses.items():
        try:
            points[channel] = await queries.add_contact_point(
                conn, resident_id, channel, address, verified=channel in verified
            )
        except queries.ContactPointInUse:
            raise SignupRefused('that address was registered by someone else just now; try again') from None
    return points


async def queue_confirmation(
    conn: asyncpg.Connection,
    settings: Settings,
    subscription_id: int,
    spec: NewSubscription,
    *,
    language: str,
    points: dict[Channel, ContactPoint],
    place: str | None,
) -> tuple[uuid.UUID, Channel]:
    """Put the 'confirm your subscription' message in the outbox (email if there is one, else text)."""
    channel: Channel = next(channel for channel in ('email', 'sms') if channel in spec.channels)
    message = notice_message(
        'confirmation',
        channel=channel,
        language=language,
        subscription=describe_subscription(
            language,
            kind=spec.kind,
            topics=spec.topics,
            radius_m=spec.radius_m,
            place=place,
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
    return notification_id, channel


async def send_confirmation(redis: queue.Queue, notification_id: uuid.UUID) -> None:
    """After commit: send the confirmation now, ahead of any backlog."""
    try:
        await queue.enqueue_delivery(redis, notification_id)
    except Exception:  # noqa: BLE001 - committed: the senders find pending rows in the outbox on their own
        logger.warning('could not queue confirmation %s', notification_id, exc_info=True)
