"""The council's Notify templates, linked by name (`tellme notify link`), checked (`tellme notify check`) and read by
the senders.

Notify makes up a template's id when a person creates it in Notify's admin, so Tell Me looks its few generic
templates (templates/notify_templates.py) up by their exact names in `GET /v2/templates`, checks each one's type and
placeholders, and stores the ids in `notify_templates`. A channel whose template is not `linked` sends nothing: its
messages wait in the outbox (claims skip the channel), and linking again releases them at once. A template that
Notify refuses at send time ('Template not found', 'Missing personalisation: …') is marked `different` here the
same way, by the first sender to meet it, and that one change writes the one audit entry staff are alerted by.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from notifier import audit
from notifier.sending import errors
from notifier.sending.notify_client import NotifyClient
from notifier.settings import Settings
from templates.notify_templates import BY_CHANNEL, NOTIFY_TEMPLATES, NotifyTemplate, differences

logger = logging.getLogger('notifier.sending.template_links')

LINKER = audit.Actor('system', None, 'tellme notify (command line)')
SENDER = audit.Actor('system', None, 'sender')
# Notify's smoke-test recipients: validated like any other (template, personalisation, reply-to, text sender) and
# answered 201, but never stored, sent, charged or counted against a limit (notify.md §2 "Test recipients")
SMOKE_EMAIL = 'simulate-delivered@notifications.service.gov.uk'
SMOKE_PHONE = '07700900000'

NOT_LINKED = 'not linked yet: run tellme notify link'
READ = 'select channel, name, notify_id, version, state, problem, checked_at, linked_at from notify_templates'

# one writer for every outcome; the returned old state tells whether this call changed anything
STORE = """
insert into notify_templates as t (channel, name, notify_id, version, state, problem, checked_at, linked_at)
values ($1, $2, $3, $4, $5, $6, now(), case when $5 = 'linked' then now() end)
on conflict (channel) do update
set name = excluded.name, notify_id = excluded.notify_id, version = excluded.version, state = excluded.state,
    problem = excluded.problem, checked_at = now(),
    linked_at = case when excluded.state <> 'linked' then null
                     when t.state = 'linked' and t.notify_id = excluded.notify_id then t.linked_at
                     else now() end
returning (select state from notify_templates where channel = $1) as was
"""

# a sender met Notify refusing a linked template: only the first one to see it changes the row (and alerts)
BREAK = """
update notify_templates set state = 'different', problem = $3, checked_at = now()
where channel = $1 and notify_id = $2 and state = 'linked'
"""


@dataclass(frozen=True)
class Link:
    channel: str
    name: str
    notify_id: str | None
    version: int | None
    state: str  # linked | missing | different
    problem: str | None
    checked_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.state == 'linked'

    def as_json(self) -> dict[str, Any]:
        return {
            'channel': self.channel, 'name': self.name, 'state': self.state, 'notify_id': self.notify_id,
            'version': self.version, 'problem': self.problem,
            'checked_at': self.checked_at.isoformat() if self.checked_at else None,
        }  # fmt: skip


def wanted(settings: Settings) -> tuple[NotifyTemplate, ...]:
    """The templates this council must have: one for each channel it sends on (TELLME_NOTIFY_CHANNELS)."""
    return tuple(t for t in NOTIFY_TEMPLATES if t.channel in settings.notify_channel_list)


def judge(expected: NotifyTemplate, found: list[dict[str, Any]]) -> Link:
    """The link for `expected` among a service's templates (`GET /v2/templates`), by exact name."""
    named = [t for t in found if t.get('name') == expected.name]
    if not named:
        text = f'Notify has no template called “{expected.name}”: create it (tellme notify templates)'
        return Link(expected.channel, expected.name, None, None, 'missing', text)
    if len(named) > 1:
        return Link(expected.channel, expected.name, None, None, 'different',
                    f'{len(named)} templates are called “{expected.name}”: keep one')  # fmt: skip
    template = named[0]
    problems = differences(expected, template)
    if problems:
        return Link(expected.channel, expected.name, None, _version(template), 'different', '; '.join(problems))
    return Link(expected.channel, expected.name, str(template['id']), _version(template), 'linked', None)


def _version(template: dict[str, Any]) -> int | None:
    version = template.get('version')
    return version if isinstance(version, int) else None


async def read(db: asyncpg.Pool | asyncpg.Connection) -> dict[str, Link]:
    links = {}
    for row in await db.fetch(READ):
        values = {name: row[name] for name in Link.__dataclass_fields__}
        values['notify_id'] = str(row['notify_id']) if row['notify_id'] else None
        links[row['channel']] = Link(**values)
    return links


async def problems(db: asyncpg.Pool | asyncpg.Connection, settings: Settings) -> list[Link]:
    """The templates this council needs that cannot be used now (for /healthz and the staff overview)."""
    stored = await read(db)
    found = []
    for expected in wanted(settings):
        link = stored.get(expected.channel)
        if link is None:
            link = Link(expected.channel, expected.name, None, None, 'missing', NOT_LINKED)
        if not link.ok:
            found.append(link)
    return found


async def store(pool: asyncpg.Pool, link: Link, actor: audit.Actor) -> None:
    """Save one outcome; a change of state is written to the audit log (the one alert staff get)."""
    async with pool.acquire() as conn, conn.transaction():
        was = await conn.fetchval(
            STORE, link.channel, link.name, link.notify_id, link.version, link.state, link.problem
        )
        if was != link.state:
            details = {'name': link.name, 'problem': link.problem}
            await audit.record(conn, actor, f'notify.template_{link.state}', target_kind='notify_template',
                               target_id=link.channel, details=details)  # fmt: skip
    if was != link.state and not link.ok:
        logger.error('the Notify %s template cannot be used, %s messages wait: %s', link.channel, link.channel,
                     link.problem)  # fmt: skip


async def link(pool: asyncpg.Pool, client: NotifyClient, settings: Settings) -> list[Link]:
    """Find each template by name in Notify, check it, store what was found; then try each linked one."""
    found = await client.get_templates()
    links = [judge(expected, found) for expected in wanted(settings)]
    links = [await _try_sending(client, settings, one) for one in links]
    for one in links:
        await store(pool, one, LINKER)
    return links


async def check(pool: asyncpg.Pool, client: NotifyClient, settings: Settings) -> list[Link]:
    """The stored links against Notify now (the same ids, read again); nothing is linked that was not."""
    stored = await read(pool)
    links = []
    for expected in wanted(settings):
        links.append(await _check_one(client, settings, expected, stored.get(expected.channel)))
    for one in links:
        await store(pool, one, LINKER)
    return links


async def _check_one(client: NotifyClient, settings: Settings, expected: NotifyTemplate, current: Link | None) -> Link:
    def problem(state: str, text: str, version: int | None = None) -> Link:
        return Link(expected.channel, expected.name, None, version, state, text)

    if current is None or current.notify_id is None:
        return problem(current.state if current else 'missing',
                       (current.problem if current else None) or NOT_LINKED)  # fmt: skip
    try:
        template = await client.get_template(current.notify_id)
    except errors.NotifyRejected as exc:
        if exc.status not in (400, 404):
            raise
        return problem('missing', 'the linked template is gone from Notify: create it again, then tellme notify link')
    if template.get('name') != expected.name:
        return problem('different', f'the linked template is now called “{template.get("name")}”: '
                       'rename it back, or run tellme notify link', _version(template))  # fmt: skip
    return await _try_sending(client, settings, judge(expected, [template]))


async def _try_sending(client: NotifyClient, settings: Settings, one: Link) -> Link:
    """A linked email or text template, tried on Notify's smoke-test recipient with our reply-to address or text
    sender: Notify checks everything a real send is checked for, and sends, stores and charges nothing."""
    if not one.ok or one.channel == 'letter':
        return one
    assert one.notify_id is not None
    values = {name: 'Tell Me check' for name in BY_CHANNEL[one.channel].placeholders}
    try:
        if one.channel == 'email':
            await client.send_email(email_address=SMOKE_EMAIL, template_id=one.notify_id, personalisation=values,
                                    email_reply_to_id=settings.notify_email_reply_to_id or None)  # fmt: skip
        else:
            await client.send_sms(phone_number=SMOKE_PHONE, template_id=one.notify_id, personalisation=values,
                                  sms_sender_id=settings.notify_sms_sender_id or None)  # fmt: skip
    except errors.NotifyRejected as exc:
        return Link(one.channel, one.name, None, one.version, 'different', f'Notify refused a test send: {exc}')
    return one


async def mark_refused(pool: asyncpg.Pool, channel: str, notify_id: str, problem: str) -> bool:
    """A sender met Notify refusing this template: it is `different` until linked again. True for the first."""
    async with pool.acquire() as conn, conn.transaction():
        changed = await conn.execute(BREAK, channel, notify_id, problem) == 'UPDATE 1'
        if changed:
            await audit.record(conn, SENDER, 'notify.template_different', target_kind='notify_template',
                               target_id=channel, details={'problem': problem})  # fmt: skip
    if changed:
        logger.error('Notify refused the %s template, %s messages wait until it is linked again: %s', channel,
                     channel, problem)  # fmt: skip
    return changed


class LinkCache:
    """The senders' view of the links, read again at most every `ttl` seconds (a link or a break shows within it)."""

    def __init__(self, pool: asyncpg.Pool, ttl: float = 5.0) -> None:
        self.pool, self.ttl = pool, ttl
        self._links: dict[str, Link] = {}
        self._read_at = float('-inf')

    async def get(self, channel: str) -> Link | None:
        if time.monotonic() - self._read_at > self.ttl:
            self._links = await read(self.pool)
            self._read_at = time.monotonic()
        return self._links.get(channel)

    def forget(self) -> None:
        self._read_at = float('-inf')
