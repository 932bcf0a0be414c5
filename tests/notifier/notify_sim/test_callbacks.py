"""Delivery-status and inbound-SMS callbacks to a real receiver that fails the first tries."""

from __future__ import annotations

import re

from notifier.notify_sim import SimulatorThread
from tests.support.notify import (
    EMAIL_PERSONALISATION,
    EMAIL_TEMPLATE,
    SMS_PERSONALISATION,
    SMS_TEMPLATE,
    Receiver,
    admin,
    client,
    make_keys,
    make_sim,
    wait_for,
)

TOKEN = 'callback-token-1234567890'
TIMESTAMP = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$')


def test_delivery_callback_is_retried_on_5xx_until_it_lands() -> None:
    keys = make_keys()
    with Receiver(fail_first=3) as receiver:
        sim = make_sim(keys, callback_url=receiver.url, callback_token=TOKEN, callback_retry_interval=0.05)
        with SimulatorThread(sim) as thread:
            sent = client(thread, keys.test).send_email_notification(
                'perm-fail@simulator.notify', EMAIL_TEMPLATE, EMAIL_PERSONALISATION, reference='cb-1'
            )
            wait_for(lambda: len(receiver.requests) == 4)
            log = wait_for(lambda: (entries := admin(thread, 'GET', '/_sim/callbacks')['callbacks'])[-1:]
                           and entries[-1]['outcome'] == '204' and entries)  # fmt: skip
    headers, body = receiver.requests[-1]
    assert headers['Authorization'] == f'Bearer {TOKEN}'
    assert body == {
        'id': sent['id'],
        'reference': 'cb-1',
        'to': 'perm-fail@simulator.notify',
        'status': 'permanent-failure',
        'created_at': body['created_at'],
        'completed_at': body['completed_at'],
        'sent_at': body['sent_at'],
        'notification_type': 'email',
        'template_id': EMAIL_TEMPLATE,
        'template_version': 1,
    }
    assert all(TIMESTAMP.match(body[k]) for k in ('created_at', 'completed_at', 'sent_at'))
    assert [e['outcome'] for e in log] == ['500', '500', '500', '204']
    assert len({str(b) for b in receiver.bodies()}) == 1  # the same payload every time


def test_callbacks_give_up_after_five_retries_and_never_retry_other_4xx() -> None:
    keys = make_keys()
    with Receiver(fail_first=100, fail_status=503) as failing, Receiver(fail_first=100, fail_status=400) as refusing:
        sim = make_sim(keys, callback_url=failing.url, callback_token=TOKEN, callback_retry_interval=0.02)
        with SimulatorThread(sim) as thread:
            client(thread, keys.live).send_sms_notification('07700900123', SMS_TEMPLATE, SMS_PERSONALISATION)
            wait_for(lambda: len(failing.requests) == 6)
            sim.callback_url = refusing.url
            client(thread, keys.live).send_sms_notification('07700900124', SMS_TEMPLATE, SMS_PERSONALISATION)
            wait_for(lambda: len(refusing.requests) == 1)
            wait_for(lambda: len(admin(thread, 'GET', '/_sim/callbacks')['callbacks']) == 7)
            import time

            time.sleep(0.3)  # time enough for a (wrong) retry or seventh try to arrive
    assert len(failing.requests) == 6 and len(refusing.requests) == 1


def test_connection_errors_are_retried() -> None:
    keys = make_keys()
    with Receiver() as receiver:
        url = receiver.url
    sim = make_sim(keys, callback_url=url, callback_token=TOKEN, callback_retry_interval=0.02)
    with SimulatorThread(sim) as thread:
        client(thread, keys.live).send_sms_notification('07700900123', SMS_TEMPLATE, SMS_PERSONALISATION)
        log = wait_for(lambda: len(e := admin(thread, 'GET', '/_sim/callbacks')['callbacks']) == 6 and e)
    assert {e['outcome'] for e in log} == {'ClientConnectorError'}
    assert [e['retrying'] for e in log] == [True] * 5 + [False]


def test_smoke_test_recipients_get_no_callback() -> None:
    keys = make_keys()
    with Receiver() as receiver:
        sim = make_sim(keys, callback_url=receiver.url, callback_token=TOKEN, callback_retry_interval=0.02)
        with SimulatorThread(sim) as thread:
            api = client(thread, keys.live)
            api.send_sms_notification('07700900000', SMS_TEMPLATE, SMS_PERSONALISATION)
            api.send_sms_notification('07700900123', SMS_TEMPLATE, SMS_PERSONALISATION, reference='real')
            wait_for(lambda: len(receiver.requests) == 1)
    assert receiver.bodies()[0]['reference'] == 'real'


def test_inbound_sms_posts_the_callback_and_is_listed() -> None:
    keys = make_keys()
    with Receiver() as receiver:
        sim = make_sim(keys, inbound_callback_url=receiver.url, callback_token=TOKEN)
        with SimulatorThread(sim) as thread:
            inbound = {'user_number': '447700900123', 'content': 'STOP', 'notify_number': '07700900999'}
            text = admin(thread, 'POST', '/_sim/inbound-sms', inbound)
            wait_for(lambda: receiver.requests)
            listed = client(thread, keys.live).get_received_texts()['received_text_messages']
    headers, body = receiver.requests[0]
    assert headers['Authorization'] == f'Bearer {TOKEN}'
    assert body == {
        'id': text['id'],
        'source_number': '447700900123',
        'destination_number': '07700900999',
        'message': 'STOP',
        'date_received': text['created_at'],
    }
    assert [t['id'] for t in listed] == [text['id']]
