"""Shared by the bulletin tests: a ward of subscribers (and people outside it), comms and approver staff signed in
through the real sign-in form, and small readers for the pages."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import time
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher

from notifier.api import auth as api_auth
from notifier.settings import Settings
from notifier.staff.accounts import add_staff
from tests.conftest import Services
from tests.support.factories import Resident, make_resident, make_subscription, place, places

PASSWORD = 'correct horse battery staple'
SALE_WARD = 'E05015254'  # M33 3BR, M33 7XF, M33 7XX, M33 7YE, M33 7YF in the sample postcodes
TRAFFORD = 'E08000009'
QUIET_HOURS = (time(22, 30), time(7, 0))  # the 'quiet' resident's own (the default is 21:00–08:00)
_HASH = PasswordHasher().hash(PASSWORD)


def settings_for(services: Services, **overrides: Any) -> Settings:
    """The app's settings for page tests: plain HTTP, so the test client keeps its cookies."""
    values: dict[str, Any] = {
        'database_url': services.database_url, 'redis_url': services.redis_url,
        'secret_key': 'bulletin-tests-' + 's' * 32, 'public_url': 'http://tellme.test',
    }  # fmt: skip
    return Settings(**(values | overrides))


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, 'no csrf field on the page'
    return found.group(1)


def text_of(page: str) -> str:
    return ' '.join(html.unescape(re.sub(r'<[^>]+>', ' ', page)).split())


def section(page: str, element_id: str) -> str:
    found = re.search(rf'<(\w+)[^>]* id="{re.escape(element_id)}"[^>]*>(.*?)</\1>', page, re.S)
    assert found, f'no element #{element_id} on the page'
    return text_of(found.group(2))


async def load_postcodes(pg: asyncpg.Pool) -> None:
    await pg.executemany(
        'insert into postcodes (postcode, lat, lng, eastings, northings, positional_quality, district_code, ward_code)'
        ' values ($1, $2, $3, 378000, 395000, 10, $4, $5) on conflict do nothing',
        [(p.postcode, p.lat, p.lng, p.district_code, p.ward_code) for p in places().values()],
    )


@dataclass
class Ward:
    """Residents in Sale ward (`inside`: each should hear an urgent ward bulletin for everyone once per channel) and
    outside it (or not hearing it: paused, unverified, a case, council-wide topic subscribers)."""

    inside: dict[str, Resident] = field(default_factory=dict)
    outside: dict[str, Resident] = field(default_factory=dict)

    def expected(self) -> set[tuple[int, str]]:
        """(contact point id, channel) for every message an urgent ward bulletin should send."""
        pairs = set()
        for resident in self.inside.values():
            if resident.email_id:
                pairs.add((resident.email_id, 'email'))
            if resident.sms_id:
                pairs.add((resident.sms_id, 'sms'))
        return pairs


async def sale_ward(pg: asyncpg.Pool) -> Ward:
    await load_postcodes(pg)
    await pg.execute(
        "insert into addresses (uprn, postcode, address) values ('100012345678', 'M33 7YE', '1 Example Road, Sale')"
    )
    ward = Ward()
    near = await make_resident(pg, sms=True)  # near a ward postcode, immediate, email and text
    await make_subscription(pg, near, near='M33 7XF', radius_m=100, topics=['bulletins'])
    ward.inside['near'] = near
    digest = await make_resident(pg)  # the ward by code, on a daily digest
    await make_subscription(pg, digest, kind='area', area_codes=[SALE_WARD], frequency='daily')
    ward.inside['digest'] = digest
    quiet = await make_resident(pg, email=False, sms=True)  # texts only, with quiet hours of their own
    await make_subscription(pg, quiet, near='M33 3BR', radius_m=200, quiet_hours=QUIET_HOURS)
    ward.inside['quiet'] = quiet
    home = await make_resident(pg)  # an address in the ward
    await make_subscription(pg, home, kind='address', uprn='100012345678', frequency='weekly')
    ward.inside['address'] = home
    both = await make_resident(pg)  # two subscriptions that both cover the ward: still one message
    await make_subscription(pg, both, near='M33 7XX', radius_m=500)
    await make_subscription(pg, both, kind='area', area_codes=[SALE_WARD, 'E05015247'], frequency='weekly')
    ward.inside['twice'] = both
    district = await make_resident(pg)  # the whole district, so every ward in it
    await make_subscription(pg, district, kind='area', area_codes=[TRAFFORD])
    ward.inside['district'] = district
    planning = await make_resident(pg)  # only for planning news: an urgent bulletin for everyone reaches them too
    await make_subscription(pg, planning, near='M33 7YE', radius_m=100, topics=['planning'])
    ward.inside['planning only'] = planning

    stretford = await make_resident(pg, sms=True)  # 3 km away
    await make_subscription(pg, stretford, near='M32 0AH', radius_m=100)
    ward.outside['elsewhere'] = stretford
    everywhere = await make_resident(pg)  # council-wide bulletins: a ward bulletin is not for them
    await make_subscription(pg, everywhere, kind='topic', topics=['bulletins'])
    ward.outside['council-wide'] = everywhere
    paused = await make_resident(pg)
    await make_subscription(pg, paused, near='M33 7YF', radius_m=100, status='paused')
    ward.outside['paused'] = paused
    unconfirmed = await make_resident(pg, verified=False)
    await make_subscription(pg, unconfirmed, near='M33 7YE', radius_m=100)
    ward.outside['unverified'] = unconfirmed
    case = await make_resident(pg)
    await make_subscription(pg, case, kind='case', case_source='fixmystreet', case_reference='FMS-1')
    ward.outside['case'] = case
    assert place('M33 7XF').ward_code == SALE_WARD
    return ward


@dataclass
class Desk:
    """The staff side of the app: sign in as someone, use the pages and the API."""

    client: TestClient
    pg: asyncpg.Pool

    async def staff(self, email: str, *roles: str) -> None:
        async with self.pg.acquire() as conn:
            if await conn.fetchval('select id from staff where email = $1', email) is None:
                staff_id = await add_staff(conn, email, list(roles))
                await conn.execute('update staff set password_hash = $2 where id = $1', staff_id, _HASH)
        self.client.session.cookie_jar.clear()
        page = await self.client.get('/staff/sign-in')
        form = {'csrf_token': csrf_of(await page.text()), 'email': email, 'password': PASSWORD, 'next': '/staff'}
        signed_in = await self.client.post('/staff/sign-in', data=form, allow_redirects=False)
        assert signed_in.status == 303, await signed_in.text()

    async def token(self, role: str, name: str | None = None) -> str:
        async with self.pg.acquire() as conn:
            _, token = await api_auth.create_token(conn, name=name or f'{role} token', role=role)
        return token

    async def form(self, path: str, fields: list[tuple[str, Any]] | dict[str, Any], *, page: str | None = None) -> Any:
        """POST a form the way a browser does (the csrf token read from `page`, default: GET `path` first)."""
        source = await (await self.client.get(page or path)).text()
        data = list(fields.items()) if isinstance(fields, dict) else list(fields)
        data.append(('csrf_token', csrf_of(source)))
        return await self.client.post(path, data=data, allow_redirects=False)

    async def compose(self, **fields: Any) -> int:
        """Compose a bulletin through the form; its id."""
        values: dict[str, Any] = {'title': 'Water supply off in Sale', 'message': 'Water is off until 6pm today.',
                                  'topics': ['*'], 'area': 'wards', 'wards': SALE_WARD,
                                  'channels': ['email', 'sms'], 'urgency': 'urgent'} | fields  # fmt: skip
        data = [
            (name, item) for name, value in values.items() for item in (value if isinstance(value, list) else [value])
        ]
        answer = await self.form('/staff/bulletins/new', data)
        assert answer.status == 303, text_of(await answer.text())
        return int(answer.headers['Location'].rsplit('/', 1)[1])
