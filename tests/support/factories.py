"""Test helpers: residents with contact points, subscriptions of every kind, events, real postcode places (and the
sample postcodes in the `postcodes` table, so the pages and the pollers can place a postcode).

They go through the real query functions (`subscriptions.residents.queries`, `sources.events.ingest`), so a test
that builds its world with them exercises the same validation and SQL as the product. Anyone's tests may import them.
"""

from __future__ import annotations

import csv
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import asyncpg

from sources.events.ingest import Ingested, ingest
from sources.events.models import Event
from subscriptions.residents import queries
from subscriptions.residents.models import NewSubscription
from tests.support import FIXTURES, ROOT

_SAMPLE = ROOT / 'subscriptions' / 'data' / 'postcodes_sample.csv'
SAMPLE_WGS84 = FIXTURES / 'geocoding' / 'codepoint_open_2025_2_sample_wgs84.csv'
_serial = itertools.count(1)


@dataclass(frozen=True)
class Place:
    postcode: str
    lat: float
    lng: float
    district_code: str
    ward_code: str


@cache
def places() -> dict[str, Place]:
    """The shipped sample postcodes (OS Code-Point Open, OGL) with WGS84 coordinates and GSS codes."""
    with _SAMPLE.open(newline='') as file:
        wards = {row['PC']: row['WC'] for row in csv.DictReader(file)}
    with SAMPLE_WGS84.open(newline='') as file:
        return {
            row['postcode']: Place(
                row['postcode'],
                float(row['lat']),
                float(row['lng']),
                row['admin_district_code'],
                wards[row['postcode']],
            )
            for row in csv.DictReader(file)
        }


def place(postcode: str) -> Place:
    return places()[postcode]


async def load_sample_postcodes(pool: asyncpg.Pool) -> int:
    """The shipped Code-Point Open sample (OGL) into `postcodes`, with ward and district codes; how many."""
    sample = places()
    with SAMPLE_WGS84.open(newline='') as file:
        rows = [
            (
                row['postcode'], float(row['lat']), float(row['lng']), int(row['eastings']), int(row['northings']),
                int(row['positional_quality']), sample[row['postcode']].district_code,
                sample[row['postcode']].ward_code,
            )
            for row in csv.DictReader(file)
        ]  # fmt: skip
    await pool.executemany(
        """
        insert into postcodes (postcode, lat, lng, eastings, northings, positional_quality, district_code, ward_code)
        values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict do nothing
        """,
        rows,
    )
    return len(rows)


@dataclass(frozen=True)
class Resident:
    id: int
    email_id: int | None  # contact point ids
    sms_id: int | None
    email: str | None
    mobile: str | None


async def make_resident(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    email: bool | str = True,
    sms: bool | str = False,
    language: str = 'en',
    verified: bool = True,
) -> Resident:
    """A resident with an email address and/or a UK mobile (unique ones unless given)."""
    n = next(_serial)
    email_address = email if isinstance(email, str) else (f'resident{n}@example.com' if email else None)
    mobile = sms if isinstance(sms, str) else (f'07700 9{10000 + n % 90000:05d}' if sms else None)
    async with _connection(conn) as c:
        resident_id = await queries.create_resident(c, language=language)
        email_cp = sms_cp = None
        if email_address:
            email_cp = (await queries.add_contact_point(c, resident_id, 'email', email_address, verified=verified)).id
        if mobile:
            sms_cp = (await queries.add_contact_point(c, resident_id, 'sms', mobile, verified=verified)).id
    return Resident(resident_id, email_cp, sms_cp, email_address, mobile)


async def make_subscription(
    conn: asyncpg.Connection | asyncpg.Pool,
    resident: Resident | int,
    *,
    status: str = 'active',
    channels: list[str] | None = None,
    **fields: Any,
) -> int:
    """A subscription (default: active, on the resident's channels); `fields` are NewSubscription's.

    `near=` a postcode (or `at=(lat, lng)`, a point no postcode names) with `radius_m` is a shortcut for a near
    subscription.
    """
    resident_id = resident if isinstance(resident, int) else resident.id
    if channels is None:
        assert not isinstance(resident, int), 'give channels= with a bare resident id'
        channels = [name for name, cp in (('email', resident.email_id), ('sms', resident.sms_id)) if cp]
    if 'near' in fields:
        spot = place(fields.pop('near'))
        fields.update(kind='near', lat=spot.lat, lng=spot.lng, postcode=spot.postcode)
    if 'at' in fields:
        lat, lng = fields.pop('at')
        fields.update(kind='near', lat=lat, lng=lng)
    spec = NewSubscription(channels=channels, **fields)
    async with _connection(conn) as c:
        sub_id = await queries.create_subscription(c, resident_id, spec, active=status in ('active', 'paused'))
        if status == 'paused':
            assert await queries.pause_subscription(c, sub_id)
        elif status == 'ended':
            assert await queries.end_subscription(c, sub_id, reason='unsubscribed', by='resident')
    return sub_id


def make_event(**overrides: Any) -> Event:
    """A planning application at M32 0AH (Stretford) unless told otherwise; `postcode=` places it anywhere."""
    n = next(_serial)
    postcode = overrides.pop('postcode', 'M32 0AH')
    values: dict[str, Any] = {
        'source': 'trafford-planning',
        'external_key': f'APP/{n:05d}',
        'kind': 'planning.new',
        'topic': 'planning',
        'title': 'Single-storey rear extension',
        'summary': 'Erection of a single-storey rear extension.',
        'occurred_at': datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
        'url': f'https://planning.example.gov.uk/applications/{n}',
        'attributes': {'application_type': 'Householder', 'status': 'validated'},
    }
    if postcode is not None:
        spot = place(postcode)
        values.update(lat=spot.lat, lng=spot.lng, area_codes=[spot.ward_code, spot.district_code])
    values.update(overrides)
    return Event(**values)


async def record(pool: asyncpg.Pool, event: Event, *, now: datetime | None = None) -> Ingested:
    """Ingest one event in its own transaction, as the API and the feed pollers do."""
    async with pool.acquire() as conn, conn.transaction():
        return await ingest(conn, event, now=now)


class _connection:
    """Use a connection as it is, or borrow one from a pool for the duration."""

    def __init__(self, db: asyncpg.Connection | asyncpg.Pool) -> None:
        self._db = db
        self._acquired: Any = None

    async def __aenter__(self) -> asyncpg.Connection:
        if isinstance(self._db, asyncpg.Pool):
            self._acquired = self._db.acquire()
            return await self._acquired.__aenter__()
        return self._db

    async def __aexit__(self, *exc: object) -> None:
        if self._acquired is not None:
            await self._acquired.__aexit__(*exc)
