"""Postcode → place: a geopy `Geocoder` that answers from the `postcodes` table, or an online one by setting.

How it works with asyncpg: geopy geocoders are either sync or async, decided by their adapter; with an async
adapter (`adapter_factory=AioHTTPAdapter`) `geocode()` returns a coroutine. `PostcodeGeocoder` is always an
async geocoder: its `geocode()` is a coroutine that runs one indexed query on the asyncpg pool (or connection)
it was given, and its adapter is a stub that refuses any HTTP. `make_geocoder()` builds online geocoders with
geopy's `AioHTTPAdapter`, so every caller writes the same thing whichever is configured:

    async with make_geocoder(settings, pool) as geocoder:   # `async with` closes an online one's session
        location = await locate_postcode(geocoder, 'sw1a 1aa')

`locate_postcode` is what resident-facing code should call: it normalises the postcode, refuses malformed or
non-GB ones with a `PostcodeError` a resident can act on, and turns geopy's "no answer" (`None`) into
`PostcodeNotFound`. `PostcodeGeocoder.geocode` itself keeps geopy's contract (None when nothing matches, so it
works with `geopy.extra.rate_limiter.AsyncRateLimiter` and other geopy tooling), but raises `PostcodeError`
for text that is not a postcode at all. Its `Location.raw` carries the district and ward GSS codes; an
online geocoder's does not (its `raw` is that service's answer), so area matching needs the offline table.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from geopy.adapters import AioHTTPAdapter, BaseAsyncAdapter
from geopy.exc import ConfigurationError, GeocoderNotFound
from geopy.geocoders import get_geocoder_for_service
from geopy.geocoders.base import Geocoder
from geopy.location import Location

from notifier.settings import Settings
from subscriptions.places.postcodes import PostcodeNotFound, gb_postcode

logger = logging.getLogger('notifier.geocoding')

OFFLINE = 'postcodes'

FIND_POSTCODE = """
select postcode, lat, lng, positional_quality, country_code, district_code, ward_code
from postcodes
where postcode = $1
"""


async def find_postcode(db: asyncpg.Pool | asyncpg.Connection, postcode: str) -> asyncpg.Record | None:
    """The row for a normalised postcode, or None."""
    return await db.fetchrow(FIND_POSTCODE, postcode)


async def postcodes_loaded(db: asyncpg.Pool | asyncpg.Connection) -> bool:
    return bool(await db.fetchval('select exists (select 1 from postcodes)'))


class _NoNetwork(BaseAsyncAdapter):
    """Marks PostcodeGeocoder as an async geocoder; it never makes HTTP requests."""

    async def get_json(self, url: str, *, timeout: float, headers: dict[str, str]) -> Any:
        raise RuntimeError('PostcodeGeocoder answers from the database and makes no HTTP requests')

    async def get_text(self, url: str, *, timeout: float, headers: dict[str, str]) -> str:
        raise RuntimeError('PostcodeGeocoder answers from the database and makes no HTTP requests')


class PostcodeGeocoder(Geocoder):
    """GB postcodes from the `postcodes` table (OS Code-Point Open). Async: `await geocoder.geocode(...)`."""

    def __init__(self, db: asyncpg.Pool | asyncpg.Connection) -> None:
        super().__init__(adapter_factory=_NoNetwork)
        self._db = db
        self._checked_loaded = False

    async def geocode(  # type: ignore[override]
        self, query: str | dict[str, str], *, exactly_one: bool = True, timeout: float | None = None
    ) -> Location | list[Location] | None:
        """A `Location` for the postcode, None if the table has no such postcode.

        `query` is a postcode (any spacing or case), or geopy's structured form `{'postalcode': ...}`.
        Raises `PostcodeError` when it is not a GB postcode. `timeout` is accepted for geopy compatibility.
        """
        text = query.get('postalcode', '') if isinstance(query, dict) else query
        postcode = gb_postcode(text)
        row = await find_postcode(self._db, postcode)
        if row is None:
            await self._warn_if_empty()
            return None
        location = Location(
            row['postcode'],
            (row['lat'], row['lng']),
            {
                'postcode': row['postcode'],
                'lat': row['lat'],
                'lng': row['lng'],
                'positional_quality': row['positional_quality'],
                'country_code': row['country_code'],
                'district_code': row['district_code'],
                'ward_code': row['ward_code'],
                'source': 'OS Code-Point Open',
            },
        )
        return location if exactly_one else [location]

    async def _warn_if_empty(self) -> None:
        if self._checked_loaded:
            return
        self._checked_loaded = True
        if not await postcodes_loaded(self._db):
            logger.warning('the postcodes table is empty: run `tellme postcodes import` to load it')


def make_geocoder(settings: Settings, db: asyncpg.Pool | asyncpg.Connection) -> Geocoder:
    """The geocoder `TELLME_GEOCODER` names: 'postcodes' (offline, default) or a geopy service, async."""
    name = settings.geocoder.strip().lower()
    if name == OFFLINE:
        return PostcodeGeocoder(db)
    try:
        service = get_geocoder_for_service(name)
    except GeocoderNotFound:
        raise ConfigurationError(
            f'TELLME_GEOCODER: unknown geocoder {settings.geocoder!r}; use {OFFLINE!r} (the offline postcode '
            "table) or a geopy service name such as 'nominatim'"
        ) from None
    if not settings.geocoder_user_agent:
        raise ConfigurationError(
            'TELLME_GEOCODER_USER_AGENT: an online geocoder needs a user agent that identifies this service, '
            "e.g. 'tellme-exampleshire (digital@exampleshire.gov.uk)' (Nominatim's usage policy requires one)"
        )
    return service(user_agent=settings.geocoder_user_agent, adapter_factory=AioHTTPAdapter, **settings.geocoder_options)


async def locate_postcode(geocoder: Geocoder, text: str) -> Location:
    """Where a resident's postcode is; `PostcodeError` (with a message for them) when it cannot be placed."""
    postcode = gb_postcode(text)
    location = await geocoder.geocode(postcode, exactly_one=True)
    if location is None:
        raise PostcodeNotFound(
            f'We could not find {postcode}. Check it is right and try again. '
            'A new postcode can take a few months to reach our records'
        )
    return location
