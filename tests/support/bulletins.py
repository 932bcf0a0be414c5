"""Shared by the bulletin tests: a ward of subscribers (and people outside it), comms and approver staff signed in
through the real sign-in form (the Desk), a bulletin someone else wrote, in any state, and the emails staff were
sent about bulletins, as they will read them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from notifier import audit
from sources.bulletins import finish
from sources.bulletins import flow as bulletins
from sources.bulletins.drafts import Draft, resolve
from templates.registry import Message, preview
from tests.support.api import new_token
from tests.support.app import PUBLIC
from tests.support.factories import Resident, load_sample_postcodes, make_resident, make_subscription, place
from tests.support.pages import Fields, post_form, text_of
from tests.support.staff import add_member, sign_in_as

SALE_WARD = 'E05015254'  # M33 3BR, M33 7XF, M33 7XX, M33 7YE, M33 7YF in the sample postcodes
TRAFFORD = 'E08000009'
QUIET_HOURS = (time(22, 30), time(7, 0))  # the 'quiet' resident's own (the default is 21:00–08:00)
OTHER = audit.Actor('token', 999_999, 'another team')  # whoever wrote `bulletin_in`'s bulletin


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
    await load_sample_postcodes(pg)
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
        await sign_in_as(self.client, self.pg, email, *roles)

    async def comms_in_sale(self) -> Ward:
        """Where most bulletin tests start: Sale's ward and its people (sale_ward), and comms@council.example signed
        in with the comms role."""
        ward = await sale_ward(self.pg)
        await self.staff('comms@council.example', 'comms')
        return ward

    async def token(self, role: str, name: str | None = None) -> str:
        return await new_token(self.pg, role, name=name)

    async def form(self, path: str, fields: Fields, *, page: str | None = None) -> Any:
        """POST a form the way a browser does (the csrf token read from `page`, default: GET `path` first)."""
        return await post_form(self.client, path, fields, page=page)

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


async def bulletin_in(pg: asyncpg.Pool, state: str) -> int:
    """A bulletin composed by someone else, brought to `state` (`sent`: every message delivered, and settled)."""
    draft = Draft(title='Test', message='Hello', area='wards', wards=SALE_WARD, channels=['email'])
    async with pg.acquire() as conn:
        target, _ = await resolve(conn, draft)
        assert target is not None
        made = await bulletins.create(conn, draft, target, OTHER)
        if state == 'awaiting_approval':
            await bulletins.submit(conn, made, OTHER, send_at=None, threshold=0, public_url=PUBLIC)
        elif state in ('sending', 'paused', 'sent'):
            await bulletins.submit(conn, made, OTHER, send_at=None, threshold=1000, public_url=PUBLIC)
            if state == 'paused':
                await bulletins.pause(conn, made, OTHER)
            if state == 'sent':
                await everything_delivered(conn, made)
                assert await finish.settle(conn, made)
    return made


async def everything_delivered(conn: asyncpg.Connection, bulletin: int) -> None:
    """As if Notify had delivered every message of the bulletin (its receipts all in)."""
    await conn.execute(
        "update notifications set status = 'delivered', sent_at = now(), completed_at = now() "
        'where event_id = (select event_id from bulletins where id = $1)',
        bulletin,
    )


@dataclass(frozen=True)
class StaffEmail:
    subject: str
    body: str
    urgency: str  # urgent ones are claimed first
    status: str


async def staff_members(pg: asyncpg.Pool, *people: tuple[str, list[str]]) -> None:
    """Staff accounts (email, roles) made before anyone signs in as them: approvers waiting to be asked, say."""
    async with pg.acquire() as conn:
        for email, roles in people:
            await add_member(conn, email, *roles)


async def emails_to(pg: asyncpg.Pool, address: str) -> list[StaffEmail]:
    """The notices queued for this email address, oldest first, rendered as Notify will show them."""
    rows = await pg.fetch(
        """select n.template_id, n.personalisation, n.urgency, n.status from notifications n
           join contact_points c on c.id = n.contact_point_id
           where c.channel = 'email' and c.address = $1 and n.purpose = 'notice' order by n.created_at, n.id""",
        address,
    )
    shown = []
    for row in rows:
        rendered = preview(Message(str(row['template_id']), row['personalisation'], None))
        shown.append(StaffEmail(rendered.subject or '', rendered.body, row['urgency'], row['status']))
    return shown
