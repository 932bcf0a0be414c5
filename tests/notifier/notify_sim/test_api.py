"""The v2 endpoints through the official synchronous client: response shapes, reads, and 400/404 errors."""

from __future__ import annotations

import base64
import io
import re
import uuid

import pytest
import requests

from notifier.notify_sim import SimulatorThread
from tests.support.notify import (
    ADDRESS,
    EMAIL_PERSONALISATION,
    EMAIL_TEMPLATE,
    LETTER_TEMPLATE,
    SMS_PERSONALISATION,
    SMS_TEMPLATE,
    Keys,
    admin,
    client,
    error_of,
    wait_for,
)

TIMESTAMP = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$')


def test_send_email_returns_the_real_201_body(running: SimulatorThread, keys: Keys) -> None:
    body = client(running, keys.live).send_email_notification(
        'resident@example.com', EMAIL_TEMPLATE, EMAIL_PERSONALISATION, reference='ref-1',
        one_click_unsubscribe_url='https://tellme.example/unsub/1',
    )  # fmt: skip
    assert set(body) == {'id', 'reference', 'uri', 'template', 'content', 'scheduled_for', 'sanitised_content'}
    assert body['reference'] == 'ref-1' and body['scheduled_for'] is None and body['sanitised_content'] == {}
    assert body['uri'] == f'{running.url}/v2/notifications/{body["id"]}'
    assert body['template'] == {
        'id': EMAIL_TEMPLATE,
        'version': 1,
        'uri': f'{running.url}/services/{keys.service_id}/templates/{EMAIL_TEMPLATE}',
    }
    assert body['content'] == {
        'subject': 'New planning application: Extension at 4 High St',
        'body': body['content']['body'],
        'from_email': 'tell.me.test@notifications.service.gov.uk',
        'one_click_unsubscribe_url': 'https://tellme.example/unsub/1',
    }
    assert 'Read it here: https://x.example' in body['content']['body']
    uuid.UUID(body['id'])


def test_send_sms_and_get_it_back_as_it_moves_to_delivered(running: SimulatorThread, keys: Keys) -> None:
    api = client(running, keys.live)
    sent = api.send_sms_notification('07700 900123', SMS_TEMPLATE, SMS_PERSONALISATION)
    assert sent['content'] == {'body': 'New planning application near you: Extension. Details: https://x.example',
                               'from_number': 'GOVUK'}  # fmt: skip
    assert sent['reference'] is None
    first = api.get_notification_by_id(sent['id'])
    assert first['status'] in ('created', 'sending')
    final = wait_for(lambda: (n := api.get_notification_by_id(sent['id']))['status'] == 'delivered' and n)
    assert final['phone_number'] == '07700 900123'  # as sent, like Notify's `to`
    assert final['type'] == 'sms' and final['email_address'] is None
    for stamp in ('created_at', 'sent_at', 'completed_at'):
        assert TIMESTAMP.match(final[stamp]), stamp
    assert final['template']['uri'].endswith(f'/service/{keys.service_id}/template/{SMS_TEMPLATE}')
    assert final['is_cost_data_ready'] is True and final['cost_details']['billable_sms_fragments'] == 1


def test_test_key_failure_simulators_end_in_their_status(running: SimulatorThread, keys: Keys) -> None:
    api = client(running, keys.test)
    perm = api.send_email_notification('perm-fail@simulator.notify', EMAIL_TEMPLATE, EMAIL_PERSONALISATION)
    temp = api.send_sms_notification('07700900003', SMS_TEMPLATE, SMS_PERSONALISATION)
    ok = api.send_sms_notification('07700900123', SMS_TEMPLATE, SMS_PERSONALISATION)
    wait_for(lambda: api.get_notification_by_id(ok['id'])['status'] == 'delivered')
    wait_for(lambda: api.get_notification_by_id(perm['id'])['status'] == 'permanent-failure')
    wait_for(lambda: api.get_notification_by_id(temp['id'])['status'] == 'temporary-failure')


def test_smoke_test_recipients_get_201_but_are_not_stored(running: SimulatorThread, keys: Keys) -> None:
    api = client(running, keys.live)
    body = api.send_email_notification(
        'simulate-delivered@notifications.service.gov.uk', EMAIL_TEMPLATE, EMAIL_PERSONALISATION, reference='smoke'
    )
    assert body['id'] and body['content']['subject']
    assert error_of(api.get_notification_by_id, body['id']) == (404, 'NoResultFound', 'No result found')
    assert api.get_all_notifications(reference='smoke')['notifications'] == []
    assert api.send_sms_notification('07700900111', SMS_TEMPLATE, SMS_PERSONALISATION)['id']
    assert admin(running, 'GET', '/_sim/notifications')['notifications'] == []


def test_list_filters_by_reference_status_type_and_key_type(running: SimulatorThread, keys: Keys) -> None:
    live, test = client(running, keys.live), client(running, keys.test)
    email = live.send_email_notification('a@example.com', EMAIL_TEMPLATE, EMAIL_PERSONALISATION, reference='r-a')
    live.send_sms_notification('07700900123', SMS_TEMPLATE, SMS_PERSONALISATION, reference='r-b')
    test.send_email_notification('b@example.com', EMAIL_TEMPLATE, EMAIL_PERSONALISATION, reference='r-a')
    by_ref = live.get_all_notifications(reference='r-a')['notifications']
    assert [n['id'] for n in by_ref] == [email['id']]  # the test-key one is invisible to a live key
    assert len(test.get_all_notifications()['notifications']) == 1
    assert [n['type'] for n in live.get_all_notifications(template_type='sms')['notifications']] == ['sms']
    wait_for(lambda: len(live.get_all_notifications(status='delivered')['notifications']) == 2)
    assert live.get_all_notifications(status='failed')['notifications'] == []
    assert test.get_notification_by_id(email['id'])['id'] == email['id']  # GET by id ignores key type


def test_list_repeats_status_and_pages_with_links(running: SimulatorThread, keys: Keys) -> None:
    api = client(running, keys.live)
    sent = [api.send_sms_notification('07700900123', SMS_TEMPLATE, SMS_PERSONALISATION)['id'] for _ in range(3)]
    response = requests.get(
        f'{running.url}/v2/notifications?status=created&status=sending&status=delivered',
        headers=api.generate_headers(__import__('notifications_python_client').authentication.create_jwt_token(
            api.api_key, api.service_id)), timeout=5,
    )  # fmt: skip
    assert len(response.json()['notifications']) == 3
    page = api.get_all_notifications(older_than=sent[2])
    assert [n['id'] for n in page['notifications']] == [sent[1], sent[0]]  # newest first
    assert page['links']['next'].endswith(f'older_than={sent[0]}')
    assert page['links']['current'] == f'{running.url}/v2/notifications?older_than={sent[2]}'
    assert api.get_all_notifications(older_than=sent[0]) == {
        'notifications': [],
        'links': {'current': f'{running.url}/v2/notifications?older_than={sent[0]}'},
    }
    assert [n['id'] for n in api.get_all_notifications_iterator()] == sent[::-1]


def test_list_validation_errors(running: SimulatorThread, keys: Keys) -> None:
    api = client(running, keys.live)
    status, error, message = error_of(api.get_all_notifications, status='lost')
    assert (status, error) == (400, 'ValidationError') and message.startswith('status lost is not one of')
    assert error_of(api.get_all_notifications, older_than='x')[:2] == (400, 'ValidationError')


def test_get_notification_errors(running: SimulatorThread, keys: Keys) -> None:
    api = client(running, keys.live)
    assert error_of(api.get_notification_by_id, 'nope') == (
        400, 'ValidationError', 'notification_id is not a valid UUID'
    )  # fmt: skip
    assert error_of(api.get_notification_by_id, str(uuid.uuid4())) == (404, 'NoResultFound', 'No result found')


@pytest.mark.parametrize(
    ('call', 'expected'),
    [
        (lambda api: api.send_email_notification('not-an-email', EMAIL_TEMPLATE, EMAIL_PERSONALISATION),
         (400, 'ValidationError', 'email_address Not a valid email address')),
        (lambda api: api.send_sms_notification('0770090012', SMS_TEMPLATE, SMS_PERSONALISATION),
         (400, 'ValidationError', 'phone_number Not enough digits')),
        (lambda api: api.send_sms_notification('+33 6 12 34 56 78', SMS_TEMPLATE, SMS_PERSONALISATION),
         (400, 'BadRequestError', 'Cannot send to international mobile numbers')),
        (lambda api: api.send_email_notification('a@example.com', str(uuid.uuid4())),
         (400, 'BadRequestError', 'Template not found')),
        (lambda api: api.send_email_notification('a@example.com', SMS_TEMPLATE, SMS_PERSONALISATION),
         (400, 'BadRequestError', 'sms template is not suitable for email notification')),
        (lambda api: api.send_email_notification('a@example.com', '6c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5'),
         (400, 'BadRequestError', 'Template has been deleted')),
        (lambda api: api.send_email_notification('a@example.com', EMAIL_TEMPLATE, {'title': 't'}),
         (400, 'BadRequestError', 'Missing personalisation: url, unsubscribe_url')),
        (lambda api: api.send_email_notification('a@example.com', '8e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7',
                                                 {'maybe': ''}),
         (400, 'BadRequestError', 'Your message is empty.')),
        (lambda api: api.send_sms_notification('07700900123', SMS_TEMPLATE, {'title': 'x' * 1000, 'url': 'u'}),
         (400, 'BadRequestError', 'Your message is too long. Text messages cannot be longer than 918 characters. '
                                  'Your message is 1047 characters long.')),
        (lambda api: api.send_email_notification('a@example.com', EMAIL_TEMPLATE, EMAIL_PERSONALISATION,
                                                 email_reply_to_id='11111111-1111-1111-1111-111111111111'),
         (400, 'BadRequestError', 'email_reply_to_id 11111111-1111-1111-1111-111111111111 does not exist in '
                                  'database for service id {sid}')),
        (lambda api: api.send_email_notification('a@example.com', EMAIL_TEMPLATE, EMAIL_PERSONALISATION,
                                                 one_click_unsubscribe_url='http://plain.example'),
         (400, 'ValidationError', 'one_click_unsubscribe_url is not a valid https url')),
    ],
)  # fmt: skip
def test_send_errors_match_the_real_server(running: SimulatorThread, keys: Keys, call, expected) -> None:  # type: ignore[no-untyped-def]
    status, error, message = expected
    assert error_of(call, client(running, keys.live)) == (status, error, message.format(sid=keys.service_id))


def test_schema_problems_are_one_validation_error_each(running: SimulatorThread, keys: Keys) -> None:
    with pytest.raises(Exception) as info:
        client(running, keys.live).post('/v2/notifications/sms', {'template_id': 'x', 'foo': 1})
    messages = [e['message'] for e in info.value.message]  # type: ignore[attr-defined]
    assert 'phone_number is a required property' in messages
    assert 'template_id is not a valid UUID' in messages
    assert 'Additional properties are not allowed (foo was unexpected)' in messages


def test_invalid_json_is_a_bad_request(running: SimulatorThread, keys: Keys) -> None:
    api = client(running, keys.live)
    url, kwargs = api._create_request_objects('/v2/notifications/email', None, None)
    response = requests.post(url, data=b'{not json', **kwargs)
    assert response.status_code == 400
    assert response.json()['errors'] == [{'error': 'BadRequestError', 'message': 'Invalid JSON supplied in POST data'}]


def test_team_key_only_reaches_the_guest_list(running: SimulatorThread, keys: Keys) -> None:
    api = client(running, keys.team)
    assert api.send_email_notification('Friend@example.gov.uk', EMAIL_TEMPLATE, EMAIL_PERSONALISATION)['id']
    assert api.send_sms_notification('+447700900456', SMS_TEMPLATE, SMS_PERSONALISATION)['id']
    assert error_of(api.send_email_notification, 'stranger@example.com', EMAIL_TEMPLATE, EMAIL_PERSONALISATION) == (
        400, 'BadRequestError', 'Can’t send to this recipient using a team-only API key'
    )  # fmt: skip
    assert error_of(api.send_letter_notification, LETTER_TEMPLATE, {**ADDRESS, 'name': 'A'}) == (
        403, 'BadRequestError', 'Cannot send letters with a team api key'
    )  # fmt: skip


def test_letters_templated_and_precompiled(running: SimulatorThread, keys: Keys) -> None:
    api = client(running, keys.live)
    sent = api.send_letter_notification(LETTER_TEMPLATE, {**ADDRESS, 'name': 'Ann'}, reference='letter-1')
    assert sent['content'] == {'subject': 'Hello Ann', 'body': 'Dear Ann, <b>hi</b>'}
    got = api.get_notification_by_id(sent['id'])
    assert (got['line_1'], got['line_2'], got['type'], got['status']) == ('A Resident', '4 High Street', 'letter',
                                                                          'accepted')  # fmt: skip
    assert TIMESTAMP.match(got['estimated_delivery'])
    wait_for(lambda: api.get_notification_by_id(sent['id'])['status'] == 'received')
    assert api.get_pdf_for_letter(sent['id']).read().startswith(b'%PDF')
    bad = {**ADDRESS, 'address_line_3': 'Nowhere', 'name': 'A'}
    assert error_of(api.send_letter_notification, LETTER_TEMPLATE, bad) == (
        400, 'ValidationError', 'Last line of address must be a real UK postcode or another country'
    )  # fmt: skip
    pdf = b'%PDF-1.4 pretend'
    pre = api.send_precompiled_letter_notification('pre-1', io.BytesIO(pdf), postage='first')
    assert set(pre) == {'id', 'reference', 'postage'} and pre['postage'] == 'first'
    assert error_of(api.get_pdf_for_letter, pre['id']) == (
        400, 'PDFNotReadyError', 'PDF not available yet, try again later'
    )  # fmt: skip
    wait_for(lambda: api.get_notification_by_id(pre['id'])['status'] == 'received')
    assert api.get_pdf_for_letter(pre['id']).read() == pdf
    email = api.send_email_notification('a@example.com', EMAIL_TEMPLATE, EMAIL_PERSONALISATION)
    assert error_of(api.get_pdf_for_letter, email['id']) == (400, 'BadRequestError', 'Notification is not a letter')
    assert base64  # the client encodes the PDF itself


def test_templates_endpoints(running: SimulatorThread, keys: Keys) -> None:
    api = client(running, keys.live)
    template = api.get_template(EMAIL_TEMPLATE)
    assert template['personalisation'] == {n: {'required': True} for n in ('title', 'url', 'unsubscribe_url')}
    assert (template['type'], template['version'], template['subject']) == (
        'email',
        1,
        'New planning application: ((title))',
    )
    assert TIMESTAMP.match(template['created_at'])
    assert api.get_template_version(EMAIL_TEMPLATE, 1)['id'] == EMAIL_TEMPLATE
    assert error_of(api.get_template_version, EMAIL_TEMPLATE, 2) == (404, 'NoResultFound', 'No result found')
    assert error_of(api.get_template, 'x') == (400, 'ValidationError', 'id is not a valid UUID')
    assert error_of(api.get_template, str(uuid.uuid4()))[:2] == (404, 'NoResultFound')
    every = api.get_all_templates()['templates']
    assert {t['type'] for t in every} == {'email', 'sms', 'letter'}
    assert '6c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5' not in {t['id'] for t in every}  # archived
    assert {t['type'] for t in api.get_all_templates('sms')['templates']} == {'sms'}
    assert error_of(api.get_all_templates, 'fax') == (
        400, 'ValidationError', 'type fax is not one of [sms, email, letter]'
    )  # fmt: skip


def test_template_preview(running: SimulatorThread, keys: Keys) -> None:
    api = client(running, keys.live)
    preview = api.post_template_preview(EMAIL_TEMPLATE, {**EMAIL_PERSONALISATION, 'title': '<x>'})
    assert preview['subject'] == 'New planning application: <x>'
    assert '&lt;x&gt;' in preview['html'] and preview['type'] == 'email' and preview['version'] == 1
    assert error_of(api.post_template_preview, EMAIL_TEMPLATE, {'title': 't'}) == (
        400, 'BadRequestError', 'Missing personalisation: url, unsubscribe_url'
    )  # fmt: skip
    assert error_of(api.post_template_preview, str(uuid.uuid4()), {})[:2] == (404, 'NoResultFound')


def test_received_text_messages_are_paged(running: SimulatorThread, keys: Keys) -> None:
    ids = [
        admin(running, 'POST', '/_sim/inbound-sms', {'user_number': '07700900123', 'content': f'msg {i}'})['id']
        for i in range(3)
    ]
    api = client(running, keys.live)
    page = api.get_received_texts()
    assert [t['id'] for t in page['received_text_messages']] == ids[::-1]
    first = page['received_text_messages'][0]
    assert set(first) == {'id', 'user_number', 'notify_number', 'created_at', 'service_id', 'content'}
    assert first['content'] == 'msg 2' and first['service_id'] == keys.service_id
    assert [t['content'] for t in api.get_received_texts(older_than=ids[1])['received_text_messages']] == ['msg 0']
    assert [t['id'] for t in api.get_received_texts_iterator()] == ids[::-1]
    assert error_of(api.get_received_texts, 'x') == (400, 'ValidationError', 'older_than is not a valid UUID')
