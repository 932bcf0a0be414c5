"""A case officer in Chromium: sets a password from the link `tellme staff add` printed, signs in, finds a case by
its reference, chooses the stage, writes a note, previews exactly what the resident will read (with the text
message's fragments), sends it; the resident's email reaches Notify (the simulator) with the note, and the case
page, reloaded, shows it delivered. Every staff page on the way passes axe (WCAG 2.2 A and AA)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest

from tests.browser.support.browse import Browse
from tests.browser.support.journeys import pick
from tests.browser.support.live import LiveServer
from tests.browser.support.staff_support import new_member_of_staff, push_case_update, reload_until, text
from tests.support.notify import link_in

REFERENCE = 'FMS-20417'
SOURCE = 'fixmystreet'
REPORTER = 'reporter@example.com'
OFFICER = 'officer@council.example'
NOTE = 'A crew fills the pothole on Tuesday morning.'
pytestmark = pytest.mark.timeout(90)


def reported_case(live: LiveServer) -> None:
    """The case system reports a new case whose reporter it has verified: they are subscribed, and hear of it."""
    consent = {'given': True, 'wording': 'Tell me by email when my report changes', 'at': '2026-03-01T09:00:00Z'}
    push_case_update(live, REFERENCE, {
        'source': SOURCE, 'status': 'confirmed', 'note': 'Thank you, we have your report.',
        'title': 'Pothole on King Street', 'occurred_at': datetime.now(UTC).isoformat(),
        'reporter': {'email': REPORTER, 'verified': True, 'consent': consent},
    })  # fmt: skip
    live.wait_for_messages(1, where=lambda m: m.recipient == REPORTER)
    status = "select status from subscriptions where kind = 'case' and case_reference = $1"
    assert live.fetchval(status, REFERENCE) == 'active'


def message_row(officer: Browse, version: int) -> str:
    rows = officer.page.locator('#messages tbody tr', has_text=f'(version {version})')
    return ' '.join(rows.first.inner_text().split()) if rows.count() else ''


def test_an_officer_updates_a_case_and_the_resident_gets_it(resident: Browse, live: LiveServer) -> None:
    officer = resident  # the harness's page, with a screenshot of every page
    reported_case(live)
    new_member_of_staff(officer, live, OFFICER, 'case_officer', start='/staff/cases')

    assert officer.heading() == 'Find a case'
    officer.accessible('find a case')
    officer.fill('Find a case', REFERENCE.lower(), exact=True)  # as typed on the phone, in any letter case
    officer.press('Find case')
    assert officer.heading() == f'Case {REFERENCE}'
    assert 'Pothole on King Street' in text(officer, '.govuk-summary-list')
    assert 'r***@example.com' in text(officer, '#subscribers') and REPORTER not in officer.page.content()
    officer.accessible('the case')

    officer.press('Post an update')  # a link styled, and announced, as a button
    assert officer.heading() == f'Post an update on {REFERENCE}'
    officer.accessible('post an update')
    pick(officer, 'stage', 'action_scheduled')
    officer.fill('Your note to the resident', NOTE, exact=True)
    officer.press('Preview')
    assert officer.heading() == f'Post an update on {REFERENCE}'
    email = text(officer, '#preview-email')
    assert NOTE in email and f'Subject: Update on your case {REFERENCE}' in email
    assert 'Status: Action scheduled' in email
    assert NOTE in text(officer, '#preview-sms')
    fragments = text(officer, '#fragments')  # e.g. "312 characters: 2 text messages (fragments) each"
    characters, count = int(fragments.split(' characters')[0]), int(fragments.split(': ')[1].split(' ')[0])
    assert characters > len(NOTE) and count >= (2 if characters > 160 else 1), fragments
    officer.accessible('the preview')
    assert live.fetchval('select count(*) from events') == 1, 'a preview sends nothing'

    officer.press('Send update')
    assert officer.heading() == f'Case {REFERENCE}'
    assert 'Update sent' in text(officer, '#done')
    officer.accessible('update sent')

    (update,) = live.wait_for_messages(1, where=lambda m: m.recipient == REPORTER and NOTE in m.body)
    assert update.type == 'email' and 'Status: Action scheduled' in update.body
    assert update.subject and REFERENCE in update.subject

    reload_until(officer, lambda: 'Delivered' in message_row(officer, 2), 'version 2 delivered')
    assert 'Email: r***@example.com' in message_row(officer, 2)
    assert 'Action scheduled' in text(officer, '#history') and NOTE in text(officer, '#history')
    officer.accessible('the case, delivered')
    [entry] = live.fetch(
        "select actor_name, details from audit_log where action = 'case.update' and actor_kind = 'staff'"
    )
    assert entry['actor_name'] == OFFICER and entry['details']['stage'] == 'action_scheduled'

    # the resident reads it as a person wrote it: the note once, the stage by its name, no internal field changes
    assert update.body.count(NOTE) == 1 and 'What has changed' not in update.body
    assert 'action_scheduled' not in update.body and 'Notes:' not in update.body
    officer.open(urlsplit(link_in(update.body, '/e/')).path)
    page = text(officer, 'main')
    assert page.count(NOTE) == 1 and 'Action scheduled' in page
    assert 'What has changed' not in page and 'action_scheduled' not in page
    officer.accessible('the update as the resident reads it')
