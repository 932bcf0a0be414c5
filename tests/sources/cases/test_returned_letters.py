"""What Notify says after a message went, as the case officer sees it: a letter that came back ("Letter returned on
<date>"), and a message Notify sent no receipt for and no longer holds."""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo

from notifier.receipts.lookups import FORGOTTEN
from notifier.sending.delivery import Sender
from sources.cases.queries import status_of
from tests.support.cases import REFERENCE, SOURCE, Office
from tests.support.notify import CALLBACK_TOKEN
from tests.support.pages import section, text_of

SUBSCRIBE = f'/staff/cases/subscribe?reference={REFERENCE}&source={SOURCE}'
CASE_PAGE = f'/staff/cases?reference={REFERENCE}'
TOLD = 'We will write to you when your case FMS-20417 changes, until it is closed. Call us to stop.'


async def test_the_case_page_shows_when_a_letter_came_back(office: Office, sender: Sender) -> None:
    await office.case_with_reporter()
    await office.staff('officer@council.example', 'case_officer')
    form = {'channel': 'letter', 'address': 'Flat 2\n10 King Street\nStretford\nM32 0AH', 'agreed_by': 'The resident',
            'method': 'phone', 'language': 'en', 'wording': TOLD, 'agreed': 'yes'}  # fmt: skip
    done = await office.form(SUBSCRIBE, form)
    assert done.status == 303, text_of(await done.text())
    [letter] = await office.pg.fetch("select id from notifications where channel = 'letter'")
    assert await sender.deliver(letter['id']) == 'sent'
    sent = await office.pg.fetchrow('select notify_id from notifications where id = $1', letter['id'])
    assert 'Letter returned' not in section(await office.page(CASE_PAGE), 'messages')

    body = {'notification_id': str(sent['notify_id']), 'reference': str(letter['id']),
            'date_sent': '2026-11-20T16:30:00.000000Z', 'sent_by': 'Tell Me', 'template_name': 'Letter',
            'template_id': str(uuid.uuid4()), 'template_version': 1, 'spreadsheet_file_name': None,
            'spreadsheet_row_number': None, 'upload_letter_file_name': None}  # fmt: skip
    response = await office.client.post(
        '/notify/callbacks/returned-letter', json=body, headers={'Authorization': f'Bearer {CALLBACK_TOKEN}'}
    )
    assert response.status == 200
    returned_at = await office.pg.fetchval('select returned_at from notifications where id = $1', letter['id'])
    day = f'{returned_at.astimezone(ZoneInfo("Europe/London")):%-d %B %Y}'
    messages = section(await office.page(CASE_PAGE), 'messages')
    assert f'Letter: (postal address) Letter returned on {day}' in messages


def test_a_message_whose_outcome_notify_cannot_tell_says_so_rather_than_not_sent() -> None:
    text, outcome = status_of('failed', FORGOTTEN)
    assert text.startswith('Sent, but not known whether it arrived') and outcome == 'failed'
    assert status_of('failed', 'not sent: no template for this message')[0].startswith('Not sent: ')
