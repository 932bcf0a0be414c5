"""Is a postcode in the council's area? The districts the council covers (TELLME_COUNCIL_DISTRICTS, GSS codes) against
the district OS Code-Point Open gives each postcode in our table.

A postcode outside them may still be close: a resident just over the border can care about a planning application
across the road, in our area, and a `near` subscription around their postcode reaches exactly that. So "outside" is
said plainly but is not a refusal, and `close_to_area` tells the journey whether a circle of the largest distance
offered around the postcode could reach the area at all (any of our postcodes within it).
"""

from __future__ import annotations

import math
from collections.abc import Collection

import asyncpg

EARTH_RADIUS_M = 6371008.8  # as subscriptions/matching/fan_out.py measures a near subscription
METRES_PER_DEGREE = EARTH_RADIUS_M * math.pi / 180

CLOSE = f"""
select exists (
    select 1 from postcodes
    where district_code = any($1::text[]) and lat between $2 and $3 and lng between $4 and $5
      and 2 * {EARTH_RADIUS_M} * asin(least(1, sqrt(
              power(sin(radians(lat - $6) / 2), 2)
              + cos(radians($6)) * cos(radians(lat)) * power(sin(radians(lng - $7) / 2), 2)))) <= $8
)
"""


def outside(districts: Collection[str], district_code: str | None) -> bool:
    """Outside the area: the council named its districts and the postcode is known to be in another one (a postcode
    whose district the table does not know is given the benefit of the doubt)."""
    return bool(districts) and bool(district_code) and district_code not in districts


async def close_to_area(
    db: asyncpg.Pool | asyncpg.Connection, districts: Collection[str], lat: float, lng: float, metres: float
) -> bool:
    """Whether any postcode in the council's districts is within `metres` of (lat, lng)."""
    dlat = metres / METRES_PER_DEGREE * 1.01  # a box a little larger than the circle, then the circle itself
    dlng = dlat / max(math.cos(math.radians(lat)), 0.01)
    box = (lat - dlat, lat + dlat, lng - dlng, lng + dlng)
    return bool(await db.fetchval(CLOSE, sorted(districts), *box, lat, lng, float(metres)))
