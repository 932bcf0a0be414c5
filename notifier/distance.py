"""How far apart two points are, in SQL: the great-circle distance on the mean Earth sphere, as matching measures
it (subscriptions/matching/fan_out.py), so "about 150 m from M32 0TH" in a message or on a page is the distance
that decided the resident hears about it.

A base module like notifier.db: any layer may use it (the outbox's claim, matching, the resident pages).
"""

from __future__ import annotations

EARTH_RADIUS_M = 6371008.8  # mean radius (IUGG); the great-circle check is exact on this sphere


def great_circle_sql(lat_a: str, lng_a: str, lat_b: str, lng_b: str) -> str:
    """A SQL expression for the metres between (lat_a, lng_a) and (lat_b, lng_b): column names or parameters of the
    caller's own statement (constants, never values)."""
    return f"""(2 * {EARTH_RADIUS_M} * asin(least(1, sqrt(
            power(sin(radians({lat_b} - {lat_a}) / 2), 2)
            + cos(radians({lat_a})) * cos(radians({lat_b})) * power(sin(radians({lng_b} - {lng_a}) / 2), 2)))))"""
