"""The case officers' tools as JSON: preview an update as the resident will read it, then send it through the
updates endpoint; the open requests for evidence; the stage templates (read by officers, changed by admins)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from tests.support.cases import REFERENCE, SOURCE, Office


@pytest.fixture
async def office(office: Office) -> Office:
    """The folder's office, with a case whose reporter is subscribed."""
    await office.case_with_reporter()
    return office


async def call(office: Office, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
    response = await office.client.request(method, path, json=body, headers={'Authorization': f'Bearer {token}'})
    return response.status, await response.json()


async def test_a_case_system_previews_an_update_then_sends_exactly_that(office: Office) -> None:
    officer = await office.token('case_officer')
    due = date.today() + timedelta(days=7)
    asked = {'stage': 'need_info', 'note': 'a photo of the damage.', 'evidence_due': due.isoformat()}
    status, body = await call(office, 'POST', f'/api/cases/{REFERENCE}/preview', officer, asked)
    assert status == 200, body
    assert body['source'] == SOURCE and 'we need something from you by' in body['message']
    email, text = body['previews']['email'], body['previews']['sms']
    assert f'We need more information about your case {REFERENCE}' in email['subject']
    assert 'a photo of the damage.' in email['body'] and text['fragments'] >= 2 and text['characters'] > 160
    assert 'a photo of the damage.' in body['previews']['letter']['body']
    assert await office.pg.fetchval('select count(*) from events') == 1  # nothing stored

    send = {'source': SOURCE, 'stage': 'need_info', 'note': body['message'], 'evidence_due': due.isoformat(),
            'occurred_at': '2026-03-02T10:00:00Z'}  # fmt: skip
    status, sent = await call(office, 'POST', f'/api/cases/{REFERENCE}/updates', officer, send)
    assert status == 201 and sent['matched'] == 1, sent
    status, waiting = await call(office, 'GET', '/api/case-evidence', officer)
    assert status == 200 and [item['due_on'] for item in waiting['requests']] == [due.isoformat()]
    assert waiting['requests'][0]['requested_by'] == 'case_officer token'


async def test_preview_mistakes_are_named(office: Office) -> None:
    officer = await office.token('case_officer')
    path = f'/api/cases/{REFERENCE}/preview'
    status, body = await call(office, 'POST', path, officer, {'stage': 'need_info', 'note': 'x'})
    assert status == 400 and 'evidence_due' in body['errors']
    status, body = await call(office, 'POST', path, officer, {'stage': 'resolved', 'template': 'Done ((notes))'})
    assert status == 400 and '((notes)) is not a placeholder' in body['errors']['template']
    status, body = await call(office, 'POST', path, officer, {'stage': 'finished'})
    assert status == 400 and 'stage' in body['errors']
    status, body = await call(office, 'POST', '/api/cases/NOPE-1/preview', officer, {'stage': 'resolved'})
    assert status == 404


async def test_templates_are_read_by_officers_and_changed_by_admins_only(office: Office) -> None:
    officer, admin = await office.token('case_officer'), await office.token('admin')
    status, body = await call(office, 'GET', '/api/case-templates', officer)
    assert status == 200 and [t['stage'] for t in body['templates']][0] == 'received'
    new = {'body': 'All done on ((reference)). ((note))'}
    assert (await call(office, 'PUT', '/api/case-templates/resolved', officer, new))[0] == 403
    status, body = await call(office, 'PUT', '/api/case-templates/resolved', admin, {'body': 'All done.'})
    assert status == 400 and 'Include ((note))' in body['errors']['body']
    status, body = await call(office, 'PUT', '/api/case-templates/resolved', admin, new)
    assert status == 200, body
    status, body = await call(office, 'GET', '/api/case-templates', officer)
    assert {t['stage']: t['body'] for t in body['templates']}['resolved'] == new['body']
    assert await office.pg.fetchval("select actor_kind from audit_log where action = 'case.template'") == 'token'


async def test_a_caller_is_signed_up_by_post_through_the_api_with_their_consent(office: Office) -> None:
    officer = await office.token('case_officer')
    consent = {'agreed_by': 'The resident', 'method': 'phone', 'wording': 'Letters about your case until it closes.'}
    body = {'channel': 'letter', 'address_lines': ['1 King Street', 'Stretford', 'M32 0AH'], 'consent': consent}
    status, answer = await call(office, 'POST', f'/api/cases/{REFERENCE}/subscribers', officer, body)
    assert status == 201 and answer['status'] == 'active', answer
    record = await office.pg.fetchrow('select * from consents where subscription_id = $1', answer['subscription_id'])
    assert record['recorded_by'] == 'case_officer token' and record['api_token_id'] is not None
    assert record['staff_id'] is None and record['wording'] == consent['wording']
    letter = await office.pg.fetchrow('select * from notifications where id = $1', answer['notification_id'])
    assert letter['channel'] == 'letter' and 'Letters about your case until it closes.' in str(
        letter['personalisation']
    )
    assert await office.pg.fetchval("select actor_kind from audit_log where action = 'case.assisted_signup'") == 'token'
    status, again = await call(office, 'POST', f'/api/cases/{REFERENCE}/subscribers', officer, body)
    assert status == 409 and 'already subscribed' in again['message']
    bad = {**body, 'address_lines': ['1 King Street']}
    status, refused = await call(office, 'POST', f'/api/cases/{REFERENCE}/subscribers', officer, bad)
    assert status == 400 and 'address_lines' in refused['errors']


@pytest.mark.parametrize(
    ('method', 'path'),
    [('GET', f'/api/cases/{REFERENCE}'), ('POST', f'/api/cases/{REFERENCE}/preview'), ('GET', '/api/case-evidence'),
     ('GET', '/api/case-templates'), ('POST', f'/api/cases/{REFERENCE}/subscribers')],
)  # fmt: skip
async def test_case_officer_endpoints_refuse_other_roles(office: Office, method: str, path: str) -> None:
    signing_up = path.endswith('/subscribers')  # an empty sign-up: allowed roles get as far as "what is missing"
    body = ({} if signing_up else {'stage': 'resolved'}) if method == 'POST' else None
    allowed = 400 if signing_up else 200
    assert (await office.client.request(method, path, json=body)).status == 401
    for role, expected in (('comms', 403), ('approver', 403), ('case_officer', allowed), ('admin', allowed)):
        status, answer = await call(office, method, path, await office.token(role), body)
        assert status == expected, (role, answer)
