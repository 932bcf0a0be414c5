"""Signing someone up, shared by `POST /api/subscriptions` and a case system's push with the reporter's consent.

Everything here runs in the caller's transaction: find (or make) the resident their addresses belong to, add the
contact points, and put the confirmation message in the outbox. The caller queues it for sending after commit
(`send_confirmation`); if Redis is down the senders still find the row in the outbox.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import asyncpg

from notifier.outbox import queue
from notifier.outbox.rows import queue_message
from notifier.outbox.states import cancel_for_contact_points
from notifier.outbox.tokens import make_token
from notifier.settings import Settings
from subscriptions.residents import queries
from subscriptions.residents.models import Channel, ContactPoint, NewSubscription
from subscriptions.topics import catalogue as topic_catalogue
from templates.personalisation import describe_subscription
from templates.registry import notice_message, outbox_purpose

logger = logging.getLogger('notifier.signup')

CONFIRM = 'confirm'


class SignupRefused(Exception):
    """We cannot sign these addresses up (a suppressed address; a vouched-for reporter whose addresses belong to two
    different people)."""

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


def field_of(channel: Channel) -> str:
    return 'email' if channel == 'email' else 'mobile'


def confirm_url(settings: Settings, subscription_id: int) -> str:
    return f'{settings.public_url}/confirm/{make_token(settings.link_secrets[0], CONFIRM, subscription_id)}'


@dataclass(frozen=True)
class Placement:
    """Where a sign-up lands: the resident, their language, and the contact points (on that resident) it may use."""

    resident_id: int
    language: str
    points: dict[Channel, ContactPoint]


def confirming_channel(channels: Iterable[Channel]) -> Channel:
    """The address a confirmation goes to: the email address when there is one, else the mobile (else a letter)."""
    given = set(channels)
    return next(channel for channel in ('email', 'sms', 'letter') if channel in given)


async def place(
    conn: asyncpg.Connection,
    language: str,
    addresses: dict[Channel, Any],
    *,
    signed_in: int | None = None,
    vouched: frozenset[Channel] = frozenset(),
) -> Placement:
    """Decide which resident a sign-up belongs to, and add its new addresses there, without ever letting one
    person's typing join another person's account.

    A resident is the set of addresses proved to be theirs; signing in with one of them shows all of them. So an
    address joins an existing resident only with proof from that resident: a session signed in as them
    (`signed_in`), or a case system trusted to vouch for every address given (`vouched`, a --may-verify token).
    Anyone else's sign-up either lands on a resident that already holds every address it names (nothing is
    added; the confirmation goes to an address they hold) or on a new resident of its own, whatever we know:
    - an address no one holds is added to the new resident, unverified until a confirmation reaches it;
    - an address another resident holds unverified belongs to no one yet, and moves to the new resident (with the
      codes and messages waiting for it); so does a number that only texted us (`residents.from_text`, decision 60),
      even given alone: its resident was made to answer a text, not by a sign-up, and the new one has the language
      chosen now;
    - an address another resident has verified is left where it is and this sign-up does not use it; when it is
      the address the confirmation would go to, the sign-up lands on its owner instead, adding nothing, so the
      person who typed it sees the same page as anyone else and only the owner can confirm.
    The page after a sign-up is the same in every case, so it never says whether an address is known.
    """
    found = await _known(conn, addresses)
    if not set(addresses) <= vouched:
        vouched = frozenset()  # a word for some of the addresses is no word for the others
    target, may_add = await _target(conn, found, signed_in=signed_in, vouched=bool(vouched))
    if target is None:
        target = await queries.create_resident(conn, language=language)
    else:
        language = await conn.fetchval('select language from residents where id = $1', target)
    points: dict[Channel, ContactPoint] = {}
    for channel, address in addresses.items():
        point = found[channel]
        if point is None and not may_add:
            continue
        if point is not None and point.resident_id != target:
            if not may_add or point.verified_at is not None:
                continue  # someone else's proven address: not this sign-up's to use
            if not await _move_unproven(conn, point, target):
                continue  # proved meanwhile
        try:
            points[channel] = await queries.add_contact_point(
                conn, target, channel, address, verified=channel in vouched
            )
        except queries.ContactPointInUse:
            raise SignupRefused('that address was registered by someone else just now; try again') from None
    return Placement(target, language, points)


async def _known(conn: asyncpg.Connection, addresses: dict[Channel, Any]) -> dict[Channel, ContactPoint | None]:
    """Each address's contact point if we have one; SignupRefused for one we no longer send to."""
    found: dict[Channel, ContactPoint | None] = {}
    for channel, address in addresses.items():
        point = await queries.find_contact_point(conn, channel, address)
        if point is not None and point.suppressed_at is not None:
            raise SignupRefused(
                'we no longer send to this address', {field_of(channel): 'we cannot send messages here'}
            )
        found[channel] = point
    return found


async def _target(
    conn: asyncpg.Connection, found: dict[Channel, ContactPoint | None], *, signed_in: int | None, vouched: bool
) -> tuple[int | None, bool]:
    """(the existing resident the sign-up lands on, or None for a new one; whether it may add addresses there)."""
    if vouched:  # the council's own system says every address is the reporter's: it vouches for the addresses,
        # not for whoever holds one unproved (those move to the reporter)
        owners = {point.resident_id for point in found.values() if point is not None and point.verified_at}
        if len(owners) > 1:
            raise SignupRefused('that email address and mobile number are registered to different people')
        return (owners.pop() if owners else None), True
    confirming = found[confirming_channel(found)]
    if signed_in is not None:
        if confirming is not None and confirming.verified_at is not None and confirming.resident_id != signed_in:
            return confirming.resident_id, False  # someone else's proved address: as for anyone, add nothing
        return signed_in, True
    target = await _unproven_target(conn, found)
    return target, target is None  # an unproven sign-up adds addresses only to a resident of its own


# $1 the resident holding every address given, none proved; $2 those addresses' contact points
SAME_SIGN_UP_AGAIN = """
select not r.from_text
   and not exists (select 1 from contact_points where resident_id = r.id and not (id = any($2::bigint[])))
from residents r where r.id = $1
"""


async def _unproven_target(conn: asyncpg.Connection, found: dict[Channel, ContactPoint | None]) -> int | None:
    """The existing resident an unproven sign-up may land on, or None for a new one."""
    points = list(found.values())
    owners = {point.resident_id for point in points if point is not None}
    if len(owners) == 1 and all(point is not None for point in points):
        owner = owners.pop()
        if all(point.verified_at is not None for point in points if point is not None):
            return owner  # every address is theirs and proved: only they can confirm
        if await conn.fetchval(SAME_SIGN_UP_AGAIN, owner, [point.id for point in points if point is not None]):
            return owner  # the same unproved sign-up again, and nobody else's address is there to be proved later
        # (a number that only texted us, `from_text`, made no sign-up: a new resident takes it, as unproved)
    confirming = found[confirming_channel(found)]
    if confirming is not None and confirming.verified_at is not None:
        return confirming.resident_id
    return None


MOVE_UNPROVEN = f"""
with moved as (
    update contact_points set resident_id = $2 where id = $1 and verified_at is null returning id
), cancelled as (
    {cancel_for_contact_points('moved', "'the address was given in a newer sign-up'")}
), forgotten as (
    delete from one_time_secrets where contact_point_id in (select id from moved)
)
select count(*) from moved
"""


async def _move_unproven(conn: asyncpg.Connection, point: ContactPoint, target: int) -> bool:
    """Take an address nobody has proved from the resident it was given for; False if it was proved meanwhile."""
    return bool(await conn.fetchval(MOVE_UNPROVEN, point.id, target))


SEPARATE = f"""
with point as (
    select cp.id, cp.resident_id from contact_points cp join subscriptions s on s.resident_id = cp.resident_id
    where cp.id = $2 and s.id = $1 and s.status = 'pending' and cp.verified_at is null
      and cp.resident_id is distinct from $3::bigint
      and exists (select 1 from contact_points o
                  where o.resident_id = cp.resident_id and o.id <> cp.id and o.verified_at is not null)
), resident as (
    insert into residents (language) select r.language from residents r join point on r.id = point.resident_id
    returning id
), moved as (
    update contact_points set resident_id = (select id from resident) where id in (select id from point)
    returning id
), cancelled as (
    {cancel_for_contact_points('moved', "'the address was confirmed for a new resident'", sparing_subscription='$1')}
)
update subscriptions set resident_id = (select id from resident) where id = $1 and exists (select 1 from moved)
"""


async def separate_unproven(
    conn: asyncpg.Connection, subscription_id: int, contact_point_id: int, *, signed_in: int | None
) -> None:
    """Before a confirmation verifies an address: if the address was never proved to belong to the resident it sits
    on, and that resident already has a proved address, the address and this subscription become a resident of
    their own. Otherwise someone who gave a stranger's address alongside their own at sign-up, and proved their own
    first, would see the stranger's subscriptions once the stranger confirmed one. A session signed in as that
    resident (a code typed in it) is the proof that keeps them together."""
    await conn.execute(SEPARATE, subscription_id, contact_point_id, signed_in)


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
    channel = confirming_channel(spec.channels)
    if channel not in points:  # the address was proved on another resident between our read and our write
        raise SignupRefused('that address was registered by someone else just now; try again')
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
            names=await topic_catalogue.names(conn),
        ),
        confirm_url=confirm_url(settings, subscription_id),
    )
    notification_id = await queue_message(
        conn,
        message,
        contact_point_id=points[channel].id,
        channel=channel,
        purpose=outbox_purpose('confirmation'),
        subscription_id=subscription_id,
    )
    return notification_id, channel


async def send_confirmation(redis: queue.Queue, notification_id: uuid.UUID) -> None:
    """After commit: send the confirmation now, ahead of any backlog."""
    try:
        await queue.enqueue_delivery(redis, notification_id)
    except Exception:  # noqa: BLE001 - committed: the senders find pending rows in the outbox on their own
        logger.warning('could not queue confirmation %s', notification_id, exc_info=True)
