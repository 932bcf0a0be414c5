"""Authentication: every 401/403 the real server gives, in its order, through the official client."""

from __future__ import annotations

import time
import uuid

import jwt
import notifications_python_client.base as client_base
import pytest
import requests

from notifier.notify_sim.rules.auth import GENERAL_TOKEN_ERROR
from tests.support.notify import EMAIL_PERSONALISATION, EMAIL_TEMPLATE, Keys, client, error_of


def send(thread, key):  # type: ignore[no-untyped-def]
    return client(thread, key).send_email_notification('a@example.com', EMAIL_TEMPLATE, EMAIL_PERSONALISATION)


def raw_get(thread, headers: dict[str, str]) -> tuple[int, dict]:  # type: ignore[no-untyped-def]
    response = requests.get(f'{thread.url}/v2/notifications', headers=headers, timeout=5)
    return response.status_code, response.json()


def token(secret: str, **claims: object) -> str:
    return jwt.encode(claims, secret, algorithm='HS256')


def test_a_token_40_seconds_old_is_refused_with_the_clock_message(running, keys: Keys, monkeypatch) -> None:
    def old_token(secret: str, client_id: str) -> str:
        return token(secret, iss=client_id, iat=int(time.time()) - 40)

    monkeypatch.setattr(client_base, 'create_jwt_token', old_token)  # only the client's copy: the server is honest
    assert error_of(send, running, keys.live) == (
        403, 'AuthError', 'Error: Your system clock must be accurate to within 30 seconds'
    )  # fmt: skip


@pytest.mark.parametrize('skew', [-25, 25])
def test_a_token_within_30_seconds_either_way_is_accepted(running, keys: Keys, monkeypatch, skew: int) -> None:
    monkeypatch.setattr(
        client_base, 'create_jwt_token', lambda secret, iss: token(secret, iss=iss, iat=int(time.time()) + skew)
    )
    assert send(running, keys.live)['id']


def test_a_token_40_seconds_in_the_future_is_refused(running, keys: Keys, monkeypatch) -> None:
    monkeypatch.setattr(
        client_base, 'create_jwt_token', lambda secret, iss: token(secret, iss=iss, iat=int(time.time()) + 40)
    )
    assert error_of(send, running, keys.live)[2] == 'Error: Your system clock must be accurate to within 30 seconds'


def test_missing_header_and_wrong_scheme_are_401(running) -> None:
    assert raw_get(running, {}) == (
        401,
        {'status_code': 401, 'errors': [{'error': 'AuthError',
                                         'message': 'Unauthorized: authentication token must be provided'}]},
    )  # fmt: skip
    status, body = raw_get(running, {'Authorization': 'Basic abc'})
    assert (status, body['errors'][0]['message']) == (401, 'Unauthorized: authentication bearer scheme must be used')


def test_lower_case_bearer_is_accepted(running, keys: Keys) -> None:
    status, _ = raw_get(running, {'Authorization': 'bearer ' + token(keys.live[-36:], iss=keys.service_id,
                                                                        iat=int(time.time()))})  # fmt: skip
    assert status == 200


@pytest.mark.parametrize(
    ('make', 'message'),
    [
        (lambda k: 'not-a-jwt', GENERAL_TOKEN_ERROR),
        (lambda k: token(k.live[-36:], iat=int(time.time())), 'Invalid token: iss field not provided'),
        (lambda k: token(k.live[-36:], iss='nope', iat=int(time.time())),
         'Invalid token: service id is not the right data type'),
        (lambda k: token(k.live[-36:], iss=str(uuid.uuid4()), iat=int(time.time())),
         'Invalid token: service not found'),
        (lambda k: token(str(uuid.uuid4()), iss=k.service_id, iat=int(time.time())),
         'Invalid token: API key not found'),
        (lambda k: token(k.live[-36:], iss=k.service_id), 'Invalid token: API key not found'),  # no iat
        (lambda k: jwt.encode({'iss': k.service_id, 'iat': int(time.time())}, k.live[-36:], algorithm='HS512'),
         'Invalid token: algorithm used is not HS256'),
        (lambda k: token(k.revoked[-36:], iss=k.service_id, iat=int(time.time())), 'Invalid token: API key revoked'),
    ],
)  # fmt: skip
@pytest.mark.filterwarnings('ignore::jwt.warnings.InsecureKeyLengthWarning')
def test_token_problems_get_the_real_403_messages(running, keys: Keys, make, message: str) -> None:
    status, body = raw_get(running, {'Authorization': f'Bearer {make(keys)}'})
    assert status == 403
    assert body == {'status_code': 403, 'errors': [{'error': 'AuthError', 'message': message}]}


def test_revoked_key_through_the_client(running, keys: Keys) -> None:
    assert error_of(send, running, keys.revoked) == (403, 'AuthError', 'Invalid token: API key revoked')


def test_several_live_keys_of_one_service_work_side_by_side(running, keys: Keys) -> None:
    first = send(running, keys.live)
    second = send(running, keys.other_live)
    # both belong to the same service, so either key can read the other's notification
    assert client(running, keys.other_live).get_notification_by_id(first['id'])['id'] == first['id']
    assert client(running, keys.live).get_notification_by_id(second['id'])['id'] == second['id']


def test_status_page_needs_no_auth(running) -> None:
    assert requests.get(f'{running.url}/_status?simple=1', timeout=5).json() == {'status': 'ok'}
    body = requests.get(f'{running.url}/_status', timeout=5).json()
    assert body['status'] == 'ok' and 'db_version' in body
    assert requests.get(f'{running.url}/', timeout=5).json()['status'] == 'ok'
