"""Going live on GOV.UK Notify the way a council does: create the templates `tellme notify templates --json`
prints in Notify's admin (Notify makes up their ids), `tellme notify link`, send; a template changed in Notify
holds its channel's messages (nothing fails) until it is fixed and linked again. And a pilot on a team key."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis

from notifier.sending import notify_cli, template_links
from notifier.sending.delivery import Sender
from notifier.settings import Settings
from tests.conftest import Services
from tests.support.app import settings_for
from tests.support.factories import make_event, make_resident, make_subscription, record
from tests.support.notify import DELIVERY_SETTINGS, RunningSim, make_notification, row, sender_for, start_sim


async def tellme_notify(capsys: pytest.CaptureFixture[str], settings: Settings, *args: str) -> tuple[int, str]:
    """`tellme notify ARGS` as a council runs it (its own event loop, its own connections)."""
    capsys.readouterr()
    code = await asyncio.to_thread(notify_cli.main, list(args), settings)
    return code, capsys.readouterr().out


async def create_in_notify(running: RunningSim, template: dict[str, Any]) -> dict[str, Any]:
    """A person pasting one template into Notify's admin."""
    async with running.http.post(running.url + '/_sim/templates', json=template) as response:
        assert response.status == 201, await response.text()
        return await response.json()


async def edit_in_notify(running: RunningSim, template_id: str, **changes: Any) -> None:
    async with running.http.post(f'{running.url}/_sim/templates/{template_id}', json=changes) as response:
        assert response.status == 200, await response.text()


async def send_ready(sender: Sender) -> dict[str, str]:
    """Claim what is ready and send it: {channel: outcome}."""
    return {claimed.channel: await sender.send(claimed) for claimed in await sender.claim_ready(50)}


async def test_a_council_creates_links_and_sends_and_a_changed_template_holds_only_its_messages(
    services: Services, pg: asyncpg.Pool, redis: Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    async with start_sim((), council=False, status_delay=3600) as notify:  # a new Notify service: no templates
        settings = settings_for(services, notify, **DELIVERY_SETTINGS)
        sender = sender_for(pg, redis, notify.client(timeout=2), settings)
        resident = await make_resident(pg, sms='447700900123')
        # no quiet hours, so the texts go at whatever hour this runs
        await make_subscription(pg, resident, near='M32 0AH', radius_m=500, channels=['email', 'sms'], quiet_hours=None)

        # news arrives before go-live: it waits, and nothing is sent or failed
        await record(pg, make_event(title='Rear extension at 4 Kings Road'))
        assert await sender.claim_ready(50) == []
        code, table = await tellme_notify(capsys, settings, 'check')
        assert code == 1 and 'MISSING' in table and 'not linked yet' in table

        # 1. the templates, exactly as printed, pasted into Notify; Notify picks the ids
        code, printed = await tellme_notify(capsys, settings, 'templates', '--json')
        wanted = json.loads(printed)
        assert code == 0 and [t['type'] for t in wanted] == ['email', 'sms', 'letter']
        assert all(set(t) == {'name', 'type', 'subject', 'body'} for t in wanted)
        created = {t['type']: await create_in_notify(notify, t) for t in wanted}
        assert all(uuid.UUID(t['id']).version == 4 for t in created.values())

        # 2. link: every template found by name, checked and stored; the waiting messages go
        code, table = await tellme_notify(capsys, settings, 'link')
        assert code == 0, table
        for t in wanted:
            assert f'{t["name"]}' in table and created[t['type']]['id'] in table
        assert await send_ready(sender) == {'email': 'sent', 'sms': 'sent'}
        email = next(n for n in notify.sim.store.all() if n.type == 'email')
        text = next(n for n in notify.sim.store.all() if n.type == 'sms')
        assert email.template_id == created['email']['id'] and text.template_id == created['sms']['id']
        assert 'Rear extension at 4 Kings Road' in (email.subject or '') and 'Rear extension' in text.body

        # 3. someone edits the text template in Notify: check names it, new texts wait, emails still go
        await edit_in_notify(notify, created['sms']['id'], body='((body)) Reply ((keyword)) to stop')
        code, table = await tellme_notify(capsys, settings, 'check')
        assert code == 1
        [line] = [line for line in table.splitlines() if line.startswith('sms')]
        assert 'DIFFERENT' in line and '((keyword))' in line
        await record(pg, make_event(title='New shopfront at 6 Kings Road'))
        assert await send_ready(sender) == {'email': 'sent'}
        [waiting] = await pg.fetch("select * from notifications where channel = 'sms' and status = 'pending'")
        assert await pg.fetchval("select count(*) from notifications where status = 'failed'") == 0

        # 4. put right in Notify and linked again: the text goes
        await edit_in_notify(notify, created['sms']['id'], body='((body))')
        code, table = await tellme_notify(capsys, settings, 'link')
        assert code == 0, table
        assert await send_ready(sender) == {'sms': 'sent'}
        assert (await row(pg, waiting['id']))['status'] == 'sent'


async def test_a_template_changed_after_linking_holds_its_messages_at_the_first_refusal_and_alerts_once(
    services: Services, sim: RunningSim, sender: Sender, pg: asyncpg.Pool
) -> None:
    # a placeholder Tell Me does not send: Notify refuses every message on it ("Missing personalisation")
    sim.sim.edit_template(sim.council_template('email').id, body='Dear ((name)),\n\n((body))')
    first, second = await make_notification(pg), await make_notification(pg)
    assert await sender.deliver(first) == 'waiting'
    assert await sender.deliver(second) == 'skipped'  # the claim skips a channel whose link broke
    stored = await row(pg, first)
    assert stored['status'] == 'retry' and stored['attempts'] == 0
    assert 'Missing personalisation: name' in stored['last_error']
    link = (await template_links.read(pg))['email']
    assert link.state == 'different' and 'Missing personalisation' in (link.problem or '')
    assert await pg.fetchval("select count(*) from audit_log where action = 'notify.template_different'") == 1
    assert await pg.fetchval("select count(*) from notifications where status = 'failed'") == 0

    # linking again finds the same fault and says so; once fixed, both messages go
    assert not all(link.ok for link in await sim.link(pg))
    sim.sim.edit_template(sim.council_template('email').id, body='((body))')
    assert all(link.ok for link in await sim.link(pg))
    await pg.execute("update notifications set not_before = now() where status = 'retry'")  # its minute has passed
    assert sorted([await sender.deliver(first), await sender.deliver(second)]) == ['sent', 'sent']


async def test_a_pilot_on_a_team_key_reaches_its_guest_list_and_fails_only_the_stranger(
    services: Services, pg: asyncpg.Pool, redis: Redis
) -> None:
    guests = ['tester.one@council.example', 'tester.two@council.example']
    async with start_sim((), key_type='team', guest_list=guests, status_delay=3600) as notify:
        assert all(link.ok for link in await notify.link(pg))
        settings = settings_for(services, notify, **DELIVERY_SETTINGS)
        sender = sender_for(pg, redis, notify.client(timeout=2), settings)
        stranger = await make_resident(pg, email='someone.else@example.com')
        testers = [await make_resident(pg, email=address) for address in guests]
        for person in (stranger, *testers):
            await make_subscription(pg, person, near='M32 0AH', radius_m=500)
        await record(pg, make_event(title='Rear extension at 4 Kings Road'))

        outcomes = {}
        for claimed in await sender.claim_ready(50):
            outcomes[claimed.address] = await sender.send(claimed)
        assert outcomes == {'someone.else@example.com': 'failed', guests[0]: 'sent', guests[1]: 'sent'}
        failed = await pg.fetchrow("select * from notifications where status = 'failed'")
        assert 'team-only API key' in failed['last_error']
        assert await sender.limiter.parked_channels() == []  # nothing paused: the pilot goes on
        assert sorted(n.to for n in notify.sim.store.all()) == sorted(guests)


async def test_the_reply_to_address_and_text_sender_are_checked_and_used(
    services: Services, pg: asyncpg.Pool, redis: Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    async with start_sim((), status_delay=3600) as notify:
        service = notify.client().service_id
        wrong = {'notify_email_reply_to_id': str(uuid.uuid4()), 'notify_sms_sender_id': str(uuid.uuid4())}
        settings = settings_for(services, notify, **DELIVERY_SETTINGS, **wrong)
        code, table = await tellme_notify(capsys, settings, 'link')
        assert code == 1
        assert 'email_reply_to_id' in table and 'sms_sender_id' in table and 'does not exist' in table
        # a message sent meanwhile waits rather than fail: the set-up is wrong, not the message
        sender = sender_for(pg, redis, notify.client(timeout=2), settings)
        waiting = await make_notification(pg)
        assert await sender.claim_ready(10) == []
        assert (await row(pg, waiting))['status'] == 'pending'

        # added in Notify's settings, with the ids Notify gives them
        ids = {}
        for kind, value in (('reply-to-addresses', 'planning@council.example'), ('sms-senders', 'TRAFFORD')):
            async with notify.http.post(f'{notify.url}/_sim/services/{service}/{kind}', json={'value': value}) as r:
                ids[kind] = (await r.json())['id']
        right = {'notify_email_reply_to_id': ids['reply-to-addresses'], 'notify_sms_sender_id': ids['sms-senders']}
        settings = settings_for(services, notify, **DELIVERY_SETTINGS, **right)
        code, table = await tellme_notify(capsys, settings, 'link')
        assert code == 0, table
        sender = sender_for(pg, redis, notify.client(timeout=2), settings)
        assert await sender.deliver(waiting) == 'sent'

        # an id removed from Notify after linking: that channel pauses, nothing fails
        notify.sim.services[service].reply_to_addresses.clear()
        later = await make_notification(pg)
        assert await sender.deliver(later) == 'paused'
        assert (await row(pg, later))['status'] == 'retry'
        assert 'email_reply_to_id' in (await row(pg, later))['last_error']
