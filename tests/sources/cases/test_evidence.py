""" "We need something from you": an officer asks for evidence by a date; if the case has not moved by then the
resident is reminded automatically, and if it still has not moved after the reminder the officer is alerted.
Times are moved in the database instead of waiting."""

from __future__ import annotations

from datetime import date, timedelta

from redis.asyncio import Redis

from notifier.sending.delivery import Sender
from templates.registry import REGISTRY
from tests.support.cases import REFERENCE, REPORTER, SOURCE, Office
from tests.support.factories import make_resident, make_subscription
from tests.support.notify import RunningSim
from tests.support.pages import csrf_of, section, text_of
from workers.evidence import evidence_reminders

UPDATE_PAGE = f'/staff/cases/update?reference={REFERENCE}&source={SOURCE}'
CASE_PAGE = f'/staff/cases?reference={REFERENCE}&source={SOURCE}'


async def ask_for_evidence(office: Office, due: date) -> None:
    """The officer previews and sends "we need something from you" with a reply-by date."""
    asked = {'stage': 'need_info', 'note': 'a photo of the pothole with something for scale.',
             'due-day': str(due.day), 'due-month': str(due.month), 'due-year': str(due.year)}  # fmt: skip
    preview = await office.form(UPDATE_PAGE, {'action': 'preview', **asked})
    page = await preview.text()
    assert 'a photo of the pothole' in section(page, 'preview-email'), text_of(page)
    message = page.split('name="previewed" value="')[1].split('"')[0]
    template = page.split('id="template"')[1].split('>', 1)[1].split('</textarea>')[0]
    sent = await office.client.post(UPDATE_PAGE, data={
        'csrf_token': csrf_of(page), 'action': 'send', 'template': template, 'template_stage': 'need_info',
        'previewed': message, **asked,
    }, allow_redirects=False)  # fmt: skip
    assert sent.status == 303, text_of(await sent.text())


async def run_job(office: Office, redis: Redis) -> dict[str, int]:
    return await evidence_reminders({'pg': office.pg, 'settings': office.settings, 'redis': redis})


async def test_a_resident_who_sends_nothing_is_reminded_and_then_the_officer_is_alerted(
    office: Office, sender: Sender, sim: RunningSim, redis: Redis
) -> None:
    await office.case_with_reporter()
    await office.staff('officer@council.example', 'case_officer')
    due = date.today() + timedelta(days=10)
    await ask_for_evidence(office, due)
    [asked] = await office.pg.fetch("select * from notifications where purpose = 'event' and event_id = "
                                    "(select max(id) from events)")  # fmt: skip
    assert await sender.deliver(asked['id']) == 'sent'
    [request] = await office.pg.fetch('select * from evidence_requests')
    assert request['due_on'] == due and request['requested_by'] == 'officer@council.example'
    assert (await run_job(office, redis)) == {'reminders': 0, 'alerts': 0}  # not due yet

    await office.pg.execute("update evidence_requests set remind_at = now() - interval '1 minute'")
    assert (await run_job(office, redis)) == {'reminders': 1, 'alerts': 0}
    assert (await run_job(office, redis)) == {'reminders': 0, 'alerts': 0}  # once
    [reminder] = await office.pg.fetch("select * from notifications where purpose = 'notice'")
    assert str(reminder['template_id']) == REGISTRY[('case.evidence_requested', 'email', 'en')].template_id
    assert await sender.deliver(reminder['id']) == 'sent'
    [delivered] = sim.sent(reminder['id'])
    assert delivered.to == REPORTER and f'We need more information about your case {REFERENCE}' in delivered.subject
    assert 'Reminder: we have not heard from you yet.' in delivered.body
    assert 'a photo of the pothole with something for scale.' in delivered.body
    assert f'{due.day} ' in delivered.body  # the date it was due by

    waiting = await office.page('/staff/cases/waiting')
    assert f'{REFERENCE}' in section(waiting, 'waiting') and 'Reminder sent' in section(waiting, 'waiting')
    team = await make_resident(office.pg, email='case-team@council.example')  # the team's inbox takes staff alerts
    await make_subscription(office.pg, team, kind='topic', topics=['staff'])
    await office.pg.execute("update evidence_requests set alert_at = now() - interval '1 minute'")
    assert (await run_job(office, redis)) == {'reminders': 0, 'alerts': 1}
    [alert] = await office.pg.fetch(
        "select n.id from notifications n join events e on e.id = n.event_id where e.kind = 'staff.evidence_overdue'"
    )
    assert await sender.deliver(alert['id']) == 'sent'
    [emailed] = sim.sent(alert['id'])
    assert emailed.to == 'case-team@council.example' and f'No response on case {REFERENCE}' in emailed.body
    assert 'officer@council.example asked for something' in emailed.body and '/staff/cases?reference=' in emailed.body
    waiting = await office.page('/staff/cases/waiting')
    assert 'No response after the reminder' in section(waiting, 'waiting')
    case_page = await office.page(CASE_PAGE)
    assert f'id="alert-{request["id"]}"' in case_page
    assert 'No response after the reminder: we asked for something by' in text_of(case_page)
    assert 'Reminder (' not in section(case_page, 'messages')  # listed as a notice about the case, delivered or not
    assert 'Notice Email: r***@example.com' in section(case_page, 'messages')
    actions = [row['action'] for row in await office.pg.fetch('select action from audit_log order by id')]
    assert 'case.evidence_reminder' in actions and 'case.evidence_overdue' in actions


async def test_a_case_that_moves_before_the_date_sends_no_reminder(office: Office, redis: Redis) -> None:
    await office.case_with_reporter()
    await office.staff('officer@council.example', 'case_officer')
    await ask_for_evidence(office, date.today() + timedelta(days=5))
    token = await office.token('system', sources=[SOURCE])
    await office.push(token, status='investigating', note='Photo received, thank you.')
    await office.pg.execute("update evidence_requests set remind_at = now() - interval '1 minute'")
    assert (await run_job(office, redis)) == {'reminders': 0, 'alerts': 0}
    assert await office.pg.fetchval('select closed_reason from evidence_requests') == 'moved'
    assert 'No case is waiting' in text_of(await office.page('/staff/cases/waiting'))


async def test_an_officer_closes_an_alert_they_dealt_with_another_way(office: Office, redis: Redis) -> None:
    await office.case_with_reporter()
    await office.staff('officer@council.example', 'case_officer')
    await ask_for_evidence(office, date.today() + timedelta(days=5))
    await office.pg.execute("update evidence_requests set remind_at = now() - interval '1 minute'")
    await run_job(office, redis)
    await office.pg.execute("update evidence_requests set alert_at = now() - interval '1 minute'")
    await run_job(office, redis)
    request_id = await office.pg.fetchval('select id from evidence_requests')
    page = await office.page(CASE_PAGE)
    closed = await office.client.post(f'/staff/cases/evidence/{request_id}/dismiss',
                                      data={'csrf_token': csrf_of(page)}, allow_redirects=False)  # fmt: skip
    assert closed.status == 303
    after = await office.page(closed.headers['Location'])
    assert f'alert-{request_id}' not in after and 'The request for evidence is closed' in text_of(after)
    assert await office.pg.fetchval("select count(*) from audit_log where action = 'case.evidence_dismissed'") == 1
