"""What a resident asks for, checked at the edge: contact points in canonical form and subscriptions by kind.

Pure: no I/O. `NewSubscription` is what callers (the API, the resident journey, the demo) hand to
`subscriptions.residents.queries.create_subscription`; `Subscription` and `ContactPoint` are rows read back.

Canonical addresses (the `contact_points.address` column) follow Notify's own normal forms, so the same person
typing their details differently is one contact point: email lower-cased after Notify's validation; a UK mobile
as E.164 digits without '+' (`07700 900123` → `447700900123`); a postal address as the JSON list of its lines.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, time
from typing import Any, Literal

from geopy.distance import geodesic
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from notifier.notify_sim.rules.recipients import (
    InvalidRecipient,
    format_email_address,
    normalise_phone_number,
    validate_postal_address,
)
from notifier.outbox.contacts import SuppressedReason
from notifier.outbox.rows import Channel

Kind = Literal['near', 'area', 'address', 'case', 'topic']
Frequency = Literal['immediate', 'daily', 'weekly']
Status = Literal['pending', 'active', 'paused', 'ended']
EndedReason = Literal[
    'unsubscribed', 'unsubscribed-all', 'stop-reply', 'permanent-failure', 'staff', 'unconfirmed', 'deleted'
]
EndedBy = Literal['resident', 'staff', 'system']
RemindAt = Literal['evening-before', 'morning-of']

MIN_RADIUS_M = 50
MAX_RADIUS_M = 5000
# The box is only the index's first cut; the exact great-circle check in SQL decides. A 1% margin (plus 1 m)
# keeps every point within the great-circle radius inside the geodesic box, whichever earth model is used.
BBOX_MARGIN = 1.01
DEFAULT_QUIET_START = time(21, 0)
DEFAULT_QUIET_END = time(8, 0)
DEFAULT_DIGEST_TIME = time(8, 0)
TOPIC_PATTERN = r'^[a-z]+(/[a-z0-9-]+)?$'
POSTCODE_PATTERN = r'^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$'  # normalised, as the postcodes table holds them
GSS_CODE_PATTERN = r'^[A-Z][0-9]{8}$'
ATTRIBUTE_PATTERN = r'^[a-z][a-z0-9_]{0,49}$'


class InvalidContactPoint(ValueError):
    """An email address, mobile number or postal address we cannot send to; `str()` says why, for a resident."""


def canonical_address(channel: Channel, address: str | list[str]) -> str:
    """The form stored and compared: lower-cased email, E.164 digits for a UK mobile, JSON lines for a letter."""
    try:
        if channel == 'email' and isinstance(address, str):
            return format_email_address(address)
        if channel == 'sms' and isinstance(address, str):
            return normalise_phone_number(address)
        if channel == 'letter' and isinstance(address, list):
            lines = [line.strip() for line in address if line.strip()]
            fields = {f'address_line_{n}': line for n, line in enumerate(lines[:-1], start=1)}
            problems = validate_postal_address({**fields, 'postcode': lines[-1] if lines else ''})
            if problems:
                raise InvalidContactPoint(problems[0])
            return json.dumps(lines, ensure_ascii=False)
    except InvalidRecipient as exc:
        raise InvalidContactPoint(str(exc)) from exc
    raise InvalidContactPoint(
        f'a {channel} address must be given as {"a list of lines" if channel == "letter" else "text"}'
    )


def bounding_box(lat: float, lng: float, radius_m: float) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees around a centre, from geopy's geodesic `destination` N/E/S/W."""
    reach = geodesic(meters=radius_m * BBOX_MARGIN + 1)
    north = reach.destination((lat, lng), 0).latitude
    east = reach.destination((lat, lng), 90).longitude
    south = reach.destination((lat, lng), 180).latitude
    west = reach.destination((lat, lng), 270).longitude
    return west, south, east, north


class NewSubscription(BaseModel):
    """One thing a resident asks to hear about, and how. Fields a kind does not use must be left out."""

    model_config = ConfigDict(frozen=True, extra='forbid')

    kind: Kind
    channels: list[Channel] = Field(min_length=1, max_length=3)
    topics: list[str] = Field(default_factory=list, max_length=20)
    # attribute name -> values that leave an event out, e.g. {'application_type': ['Trees', 'Advertising']}
    exclusions: dict[str, list[str]] = Field(default_factory=dict, max_length=20)
    frequency: Frequency = 'immediate'
    # daily digests go at this Europe/London time (weekly ones on Monday at it)
    digest_time: time = DEFAULT_DIGEST_TIME
    # texts wait until the end of quiet hours (Europe/London wall clock); None = no quiet hours
    quiet_hours: tuple[time, time] | None = (DEFAULT_QUIET_START, DEFAULT_QUIET_END)
    # near
    lat: float | None = Field(None, ge=49.0, le=61.0)
    lng: float | None = Field(None, ge=-9.0, le=2.0)
    radius_m: int | None = Field(None, ge=MIN_RADIUS_M, le=MAX_RADIUS_M)
    # near: the postcode the resident gave, which names the place in pages and messages ("within 500 m of M32 0TH");
    # the API takes it as the contact's `postcode`, so it is not a field of its own there (nor in its OpenAPI schema)
    postcode: SkipJsonSchema[str | None] = Field(None, pattern=POSTCODE_PATTERN)
    # area
    area_codes: list[str] | None = Field(None, min_length=1, max_length=50)
    # address
    uprn: str | None = Field(None, pattern=r'^[0-9]{1,12}$')
    # address: bin reminders the evening before or the morning of a collection, at this Europe/London time
    # (None = 18:00 the evening before, 07:00 on the morning; see subscriptions/matching/reminders.py)
    remind_at: RemindAt | None = None
    remind_time: time | None = None
    # case
    case_source: str | None = Field(None, min_length=1, max_length=100)
    case_reference: str | None = Field(None, min_length=1, max_length=100)

    @field_validator('channels')
    @classmethod
    def _distinct_channels(cls, channels: list[Channel]) -> list[Channel]:
        if len(set(channels)) != len(channels):
            raise ValueError('give each channel once')
        return channels

    @field_validator('topics')
    @classmethod
    def _topics(cls, topics: list[str]) -> list[str]:
        bad = [topic for topic in topics if not re.fullmatch(TOPIC_PATTERN, topic)]
        if bad:
            raise ValueError(f'not a topic: {", ".join(bad)} (e.g. planning, bins, bulletins/roads)')
        return sorted(set(topics))

    @field_validator('area_codes')
    @classmethod
    def _gss_codes(cls, codes: list[str] | None) -> list[str] | None:
        bad = [code for code in codes or [] if not re.fullmatch(GSS_CODE_PATTERN, code)]
        if bad:
            raise ValueError(f'not a ward or district GSS code: {", ".join(bad)} (e.g. E05015247)')
        return sorted(set(codes)) if codes else codes

    @field_validator('exclusions')
    @classmethod
    def _exclusions(cls, exclusions: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, values in exclusions.items():
            if not re.fullmatch(ATTRIBUTE_PATTERN, name):
                raise ValueError(f'not an attribute name: {name!r}')
            if not values:
                raise ValueError(f'give at least one value to leave out for {name!r}')
        return {name: sorted(set(values)) for name, values in exclusions.items()}

    @model_validator(mode='after')
    def _fields_fit_the_kind(self) -> NewSubscription:
        needs: dict[str, tuple[str, ...]] = {
            'near': ('lat', 'lng', 'radius_m'),
            'area': ('area_codes',),
            'address': ('uprn',),
            'case': ('case_source', 'case_reference'),
            'topic': (),
        }
        every = {name for names in needs.values() for name in names}
        missing = [name for name in needs[self.kind] if getattr(self, name) is None]
        article = 'an' if self.kind[0] in 'aeiou' else 'a'
        if missing:
            raise ValueError(f'{article} {self.kind} subscription needs {", ".join(missing)}')
        extra = sorted(name for name in every - set(needs[self.kind]) if getattr(self, name) is not None)
        if extra:
            raise ValueError(f'{article} {self.kind} subscription does not use {", ".join(extra)}')
        if self.postcode is not None and self.kind != 'near':
            raise ValueError(f'{article} {self.kind} subscription does not use postcode')
        if self.kind == 'topic' and not self.topics:
            raise ValueError('a topic subscription needs at least one topic')
        if 'letter' in self.channels and self.frequency != 'immediate':
            raise ValueError('letters are sent as things happen; daily and weekly digests are for email and text')
        if self.remind_at is not None and self.kind != 'address':
            raise ValueError('bin reminders are for address subscriptions')
        if self.remind_time is not None and self.remind_at is None:
            raise ValueError('give remind_at (evening-before or morning-of) with remind_time')
        if self.quiet_hours is not None and self.quiet_hours[0] == self.quiet_hours[1]:
            raise ValueError('quiet hours must start and end at different times')
        return self

    def bbox(self) -> tuple[float, float, float, float] | None:
        if self.kind != 'near':
            return None
        assert self.lat is not None and self.lng is not None and self.radius_m is not None
        return bounding_box(self.lat, self.lng, self.radius_m)


class ContactPoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    resident_id: int
    channel: Channel
    address: str
    verified_at: AwareDatetime | None
    suppressed_at: AwareDatetime | None
    suppressed_reason: SuppressedReason | None


class Subscription(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    resident_id: int
    status: Status
    kind: Kind
    topics: list[str]
    exclusions: dict[str, Any]
    channels: list[Channel]
    frequency: Frequency
    digest_time: time
    centre_lat: float | None
    centre_lng: float | None
    radius_m: int | None
    postcode: str | None = None
    area_codes: list[str] | None
    uprn: str | None
    case_source: str | None
    case_reference: str | None
    quiet_start: time | None
    quiet_end: time | None
    remind_at: RemindAt | None = None
    remind_time: time | None = None
    ended_reason: EndedReason | None
    ended_by: EndedBy | None
    ended_at: datetime | None
    confirmed_at: datetime | None
    created_at: datetime
