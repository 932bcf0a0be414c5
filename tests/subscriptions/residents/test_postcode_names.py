"""A near subscription is named by its postcode (migration 0025): new ones keep the postcode the resident gave, and
the migration names those made before by the postcode whose centre they were made at."""

from __future__ import annotations

import shutil
from pathlib import Path

import asyncpg

from notifier import db
from tests.support.factories import load_sample_postcodes, place

NAMING = '0025_subscription_postcode.sql'


async def test_the_migration_names_earlier_subscriptions_by_the_postcode_at_their_centre(
    scratch_database: str, tmp_path: Path
) -> None:
    before = tmp_path / 'migrations'  # every migration up to the one that names places
    shutil.copytree(db.MIGRATIONS_DIR, before, ignore=lambda _, names: [n for n in names if n >= NAMING])
    home, nowhere = place('M32 0AH'), (53.45, -2.31)
    conn = await asyncpg.connect(scratch_database)
    try:
        await db.migrate(conn, before)
        pool = await asyncpg.create_pool(scratch_database, min_size=1, max_size=1)
        try:
            await load_sample_postcodes(pool)
        finally:
            await pool.close()
        resident = await conn.fetchval('insert into residents default values returning id')
        made = {}
        for name, (lat, lng) in (('home', (home.lat, home.lng)), ('nowhere', nowhere)):
            made[name] = await conn.fetchval(
                """insert into subscriptions (resident_id, status, kind, channels, centre_lat, centre_lng, radius_m,
                                              bbox)
                   values ($1, 'active', 'near', '{email}', $2, $3, 500, box(point($3, $2), point($3, $2)))
                   returning id""",
                resident, lat, lng,
            )  # fmt: skip
        await conn.fetchval("insert into subscriptions (resident_id, status, kind, channels, topics) values "
                            "($1, 'active', 'topic', '{email}', '{planning}') returning id", resident)  # fmt: skip
        shutil.copy(db.MIGRATIONS_DIR / NAMING, before / NAMING)
        assert await db.migrate(conn, before) == [NAMING.removesuffix('.sql')]
        named = {name: await conn.fetchval('select postcode from subscriptions where id = $1', sub_id)
                 for name, sub_id in made.items()}  # fmt: skip
        assert named == {'home': 'M32 0AH', 'nowhere': None}
        assert await conn.fetchval("select count(*) from subscriptions where kind = 'topic' and postcode is null") == 1
    finally:
        await conn.close()
