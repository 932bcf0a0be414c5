"""Our async Notify client against the simulator: each failure lands in the class the sender acts on."""

from __future__ import annotations

import uuid

import aiohttp
import pytest
from aiohttp import web

from notifier.notify_sim.rules import keys as sim_keys
from notifier.sending import errors
from notifier.sending.notify_client import NotifyClient
from notifier.shell.embedded import free_port
from tests.support.notify import EMAIL_TEMPLATE, PERSONALISATION, SMS_TEMPLATE, RunningSim

# `notify` (tests/conftest.py): the simulator with its own test templates, a live key and a revoked one


async def test_an_email_is_accepted_and_found_again_by_its_reference(notify: RunningSim) -> None:
    client = notify.client()
    reference = str(uuid.uuid4())
    sent = await client.send_email(
        email_address='resident@example.com',
        template_id=EMAIL_TEMPLATE,
        personalisation=PERSONALISATION,
        reference=reference,
    )
    assert sent['reference'] == reference
    assert sent['content']['subject'] == 'New planning application: Two-storey rear extension'
    found = await client.find_by_reference(reference)
    assert [n['id'] for n in found] == [sent['id']]
    assert (await client.get_notification(sent['id']))['email_address'] == 'resident@example.com'


async def test_a_text_with_a_landline_is_rejected_with_notifys_reason(notify: RunningSim) -> None:
    with pytest.raises(errors.NotifyRejected) as caught:
        await notify.client().send_sms(
            phone_number='020 7946 0000', template_id=SMS_TEMPLATE, personalisation=PERSONALISATION
        )
    assert caught.value.status == 400
    assert 'Not a UK mobile number' in str(caught.value)


async def test_a_revoked_key_is_rejected_not_retried(notify: RunningSim) -> None:
    with pytest.raises(errors.NotifyRejected, match='API key revoked'):
        await notify.client(notify.revoked_key).get_templates()


@pytest.mark.parametrize(
    ('action', 'expected'),
    [
        ('429-rate', errors.RateLimited),
        ('429-daily', errors.DailyLimitReached),
        ('500', errors.NotifyOutcomeUnknown),  # the body reached Notify: it may have been stored
        ('503', errors.NotifyOutcomeUnknown),
        ('400', errors.NotifyRejected),
    ],
)
async def test_send_failures_are_classified_for_the_sender(
    notify: RunningSim, action: str, expected: type[errors.NotifyError]
) -> None:
    await notify.fault({'action': action})
    with pytest.raises(expected):
        await notify.client().send_email(
            email_address='resident@example.com', template_id=EMAIL_TEMPLATE, personalisation=PERSONALISATION
        )


async def test_a_5xx_on_a_read_is_plain_unavailability(notify: RunningSim) -> None:
    await notify.fault({'action': '503', 'all_endpoints': True})
    with pytest.raises(errors.NotifyUnavailable) as caught:
        await notify.client().get_templates()
    assert not isinstance(caught.value, errors.NotifyOutcomeUnknown)


async def test_accepted_then_dropped_is_unknown_and_the_message_is_there_by_reference(notify: RunningSim) -> None:
    await notify.fault({'action': 'drop', 'delay': 0})
    client = notify.client()
    reference = str(uuid.uuid4())
    with pytest.raises(errors.NotifyOutcomeUnknown):
        await client.send_email(
            email_address='resident@example.com',
            template_id=EMAIL_TEMPLATE,
            personalisation=PERSONALISATION,
            reference=reference,
        )
    # the sender must look before resending: Notify has the message
    assert len(await client.find_by_reference(reference)) == 1


async def test_a_slow_answer_past_our_timeout_is_unknown(notify: RunningSim) -> None:
    await notify.fault({'action': 'slow', 'delay': 2})
    with pytest.raises(errors.NotifyOutcomeUnknown):
        await notify.client(timeout=0.5).send_email(
            email_address='resident@example.com', template_id=EMAIL_TEMPLATE, personalisation=PERSONALISATION
        )


async def test_nobody_listening_is_unavailable_and_safe_to_retry() -> None:
    async with aiohttp.ClientSession() as http:
        client = NotifyClient(http, sim_keys.generate_api_key('k'), f'http://127.0.0.1:{free_port()}')
        with pytest.raises(errors.NotifyUnavailable) as caught:
            await client.send_email(email_address='a@example.com', template_id=EMAIL_TEMPLATE)
    assert not isinstance(caught.value, errors.NotifyOutcomeUnknown)


async def test_the_client_never_shows_its_secret(notify: RunningSim) -> None:
    client = notify.client()
    assert notify.key[-36:] not in repr(client)


async def test_a_body_that_is_not_json_is_not_trusted() -> None:
    async def html(request: web.Request) -> web.Response:
        return web.Response(text='<html>gateway</html>', status=502)

    app = web.Application()
    app.router.add_post('/v2/notifications/email', html)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, '127.0.0.1', port).start()
    try:
        async with aiohttp.ClientSession() as http:
            client = NotifyClient(http, sim_keys.generate_api_key('k'), f'http://127.0.0.1:{port}')
            with pytest.raises(errors.NotifyOutcomeUnknown):
                await client.send_email(email_address='a@example.com', template_id=EMAIL_TEMPLATE)
    finally:
        await runner.cleanup()
