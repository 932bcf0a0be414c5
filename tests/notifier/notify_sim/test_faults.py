"""Fault injection: recipient rules and the "next N requests" switch, as the official client sees them."""

from __future__ import annotations

import pytest
import requests
from notifications_python_client.errors import HTTP503Error, HTTPError

from notifier.notify_sim import SimulatorThread
from tests.support.notify import (
    EMAIL_PERSONALISATION,
    EMAIL_TEMPLATE,
    SMS_PERSONALISATION,
    SMS_TEMPLATE,
    Keys,
    admin,
    client,
    error_of,
)


def email(thread: SimulatorThread, key: str, to: str, **kwargs: object) -> dict:  # type: ignore[type-arg]
    return client(thread, key, **kwargs).send_email_notification(to, EMAIL_TEMPLATE, EMAIL_PERSONALISATION,  # type: ignore[arg-type]
                                                                   reference=f'ref-{to}')  # fmt: skip


@pytest.mark.parametrize(
    ('action', 'expected'),
    [
        ('400', (400, 'ValidationError', 'email_address Not a valid email address')),
        ('403', (403, 'AuthError', 'Invalid token: API key not found')),
        ('429-rate', (429, 'RateLimitError', 'Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds')),
        ('429-daily', (429, 'TooManyRequestsError', 'Exceeded send limits (email: 250000) for today')),
        ('500', (500, 'Exception', 'Internal server error')),
    ],
)
def test_recipient_rules_force_each_error(running: SimulatorThread, keys: Keys, action: str, expected: tuple) -> None:  # type: ignore[type-arg]
    admin(running, 'POST', '/_sim/faults', {'match': {'email_local_part': f'fail-{action}'}, 'action': action})
    assert error_of(email, running, keys.live, f'fail-{action}@example.com') == expected
    assert email(running, keys.live, 'fine@example.com')['id']  # others are untouched
    assert admin(running, 'GET', '/_sim/notifications?reference=ref-fail-' + action + '@example.com') == {
        'notifications': []
    }


def test_503_is_what_the_client_retries_on(running: SimulatorThread, keys: Keys) -> None:
    admin(running, 'POST', '/_sim/faults', {'match': {'phone_suffix': '0503'}, 'action': '503'})
    with pytest.raises(HTTP503Error):
        client(running, keys.live).send_sms_notification('07700 900503', SMS_TEMPLATE, SMS_PERSONALISATION)


def test_custom_error_text_and_a_limited_count(running: SimulatorThread, keys: Keys) -> None:
    rule = {'match': {'email_local_suffix': '+flaky'}, 'action': '400', 'error': 'BadRequestError',
            'message': 'Can’t send to this recipient using a team-only API key', 'count': 1}  # fmt: skip
    admin(running, 'POST', '/_sim/faults', rule)
    assert error_of(email, running, keys.live, 'x+flaky@example.com')[1:] == (
        'BadRequestError', 'Can’t send to this recipient using a team-only API key'
    )  # fmt: skip
    assert email(running, keys.live, 'x+flaky@example.com')['id']  # used up
    assert admin(running, 'GET', '/_sim/faults')['rules'] == []


def test_next_n_requests_switch(running: SimulatorThread, keys: Keys) -> None:
    admin(running, 'POST', '/_sim/faults/next', {'action': '500', 'count': 2})
    api = client(running, keys.live)
    assert api.get_all_notifications()['notifications'] == []  # reads are not affected by default
    for _ in range(2):
        assert error_of(email, running, keys.live, 'a@example.com')[0] == 500
    assert email(running, keys.live, 'a@example.com')['id']
    admin(running, 'POST', '/_sim/faults/next', {'action': '403', 'all_endpoints': True})
    assert error_of(api.get_all_notifications)[:2] == (403, 'AuthError')
    assert api.get_all_notifications()['notifications']


def test_slow_response_passes_the_client_timeout(running: SimulatorThread, keys: Keys) -> None:
    admin(running, 'POST', '/_sim/faults', {'match': {'email_local_part': 'slow'}, 'action': 'slow', 'delay': 1.0})
    with pytest.raises(HTTPError) as info:
        email(running, keys.live, 'slow@example.com', timeout=0.3)
    assert info.value.status_code == 503 and isinstance(info.value.__cause__, requests.exceptions.ReadTimeout)


def test_drop_stores_the_notification_but_the_client_sees_a_broken_connection(
    running: SimulatorThread, keys: Keys
) -> None:
    admin(running, 'POST', '/_sim/faults', {'match': {'email_local_part': 'ghost'}, 'action': 'drop', 'count': 1})
    with pytest.raises(HTTP503Error) as info:
        email(running, keys.live, 'ghost@example.com')
    assert isinstance(info.value.__cause__, requests.exceptions.ConnectionError)
    found = client(running, keys.live).get_all_notifications(reference='ref-ghost@example.com')['notifications']
    assert len(found) == 1 and found[0]['email_address'] == 'ghost@example.com'  # the ambiguous case: it IS sent


def test_drop_after_a_delay_looks_like_a_read_timeout(running: SimulatorThread, keys: Keys) -> None:
    admin(running, 'POST', '/_sim/faults',
          {'match': {'email_local_part': 'late'}, 'action': 'drop', 'delay': 1.0})  # fmt: skip
    with pytest.raises(HTTPError) as info:
        email(running, keys.live, 'late@example.com', timeout=0.3)
    assert isinstance(info.value.__cause__, requests.exceptions.ReadTimeout)
    assert len(client(running, keys.live).get_all_notifications(reference='ref-late@example.com')['notifications']) == 1


def test_status_rule_sets_the_final_status_for_live_keys(running: SimulatorThread, keys: Keys) -> None:
    admin(running, 'POST', '/_sim/faults',
          {'match': {'phone_suffix': '900777'}, 'action': 'status', 'status': 'permanent-failure'})  # fmt: skip
    api = client(running, keys.live)
    sent = api.send_sms_notification('07700900777', SMS_TEMPLATE, SMS_PERSONALISATION)
    from tests.support.notify import wait_for

    wait_for(lambda: api.get_notification_by_id(sent['id'])['status'] == 'permanent-failure')


def test_bad_fault_specs_are_refused(running: SimulatorThread) -> None:
    for spec in ({'action': 'explode', 'match': {'phone_suffix': '1'}}, {'action': '500'},
                 {'action': '500', 'match': {'colour': 'red'}}):  # fmt: skip
        with pytest.raises(Exception, match='400'):
            admin(running, 'POST', '/_sim/faults', spec)
    admin(running, 'POST', '/_sim/faults', {'action': '500', 'match': {'phone_suffix': '1'}})
    assert admin(running, 'DELETE', '/_sim/faults') == {'rules': [], 'next': None}
