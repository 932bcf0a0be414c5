"""Admins change the message a case stage starts from; a template with a wrong placeholder is refused with a
message saying what to fix; officers start from the new wording at once; every change is audited."""

from __future__ import annotations

import html

import pytest

from tests.support.cases import REFERENCE, SOURCE, Office
from tests.support.pages import csrf_of, section, text_of

EDIT = '/staff/case-templates/resolved'


@pytest.mark.parametrize(
    ('body', 'message'),
    [
        ('Fixed ((reference)). ((notes))', '((notes)) is not a placeholder you can use'),
        ('Fixed ((reference)) by ((due_date)). ((note))', '((due_date)) can only be used for'),
        ('Fixed ((reference)).', 'Include ((note)) where the officer’s own words go'),
        ('Fixed ((reference). ((note))', 'Open and close each placeholder with two brackets'),
        ('   ', 'Enter the message the stage starts from'),
    ],
)
async def test_a_template_with_a_mistake_is_not_saved_and_says_what_to_fix(
    office: Office, body: str, message: str
) -> None:
    await office.staff('admin@council.example', 'admin')
    response = await office.form(EDIT, {'body': body})
    page = await response.text()
    assert response.status == 200 and message in text_of(page)
    assert await office.pg.fetchval('select count(*) from case_stage_templates') == 0


async def test_an_admin_changes_a_template_and_officers_start_from_it(office: Office) -> None:
    await office.case_with_reporter()
    await office.staff('admin@council.example', 'admin')
    saved = await office.form(EDIT, {'body': 'Good news: ((reference)) is ((stage)). ((note))'})
    assert saved.status == 303
    listing = await office.page(saved.headers['Location'])
    assert 'Template saved' in section(listing, 'saved')
    assert 'Good news: FMS-20417 is resolved. A crew will visit on Tuesday.' in section(listing, 'template-resolved')
    [entry] = await office.pg.fetch("select * from audit_log where action = 'case.template'")
    assert entry['target_id'] == 'resolved' and entry['actor_name'] == 'admin@council.example'

    await office.staff('officer@council.example', 'case_officer')
    update = f'/staff/cases/update?reference={REFERENCE}&source={SOURCE}'
    preview = await office.form(update, {'action': 'preview', 'stage': 'resolved', 'note': 'Filled on Tuesday.'})
    assert 'Good news: FMS-20417 is resolved. Filled on Tuesday.' in section(await preview.text(), 'preview-email')


async def test_a_template_over_several_lines_is_sent_as_previewed(office: Office) -> None:
    await office.case_with_reporter()
    await office.staff('admin@council.example', 'admin')
    assert (await office.form(EDIT, {'body': 'Good news.\r\n\r\n((note))'})).status == 303
    await office.staff('officer@council.example', 'case_officer')
    update = f'/staff/cases/update?reference={REFERENCE}&source={SOURCE}'
    chosen = {'stage': 'resolved', 'note': 'Filled on Tuesday.'}
    page = await (await office.form(update, {'action': 'preview', **chosen})).text()
    previewed = html.unescape(page.split('name="previewed" value="')[1].split('"')[0])
    assert previewed == 'Good news.\n\nFilled on Tuesday.'
    template = html.unescape(page.split('id="template"')[1].split('>', 1)[1].split('</textarea>')[0])
    form = {
        'csrf_token': csrf_of(page),
        'action': 'send',
        'template': template.replace('\n', '\r\n'),
        'template_stage': 'resolved',
        'previewed': previewed.replace('\n', '\r\n'),
        **chosen,
    }  # as browsers do
    sent = await office.client.post(update, data=form, allow_redirects=False)
    assert sent.status == 303, text_of(await sent.text())
    sent_event = await office.pg.fetchrow('select summary, attributes from events order by id desc limit 1')
    assert sent_event['summary'] == 'Good news.\n\nFilled on Tuesday.'  # as previewed; the stage beside it
    assert sent_event['attributes']['status'] == 'Resolved'


async def test_only_admins_change_templates(office: Office) -> None:
    for path in ('/staff/case-templates', EDIT):
        assert (await office.client.get(path, allow_redirects=False)).status == 303
    await office.staff('officer@council.example', 'case_officer', 'comms')
    for path in ('/staff/case-templates', EDIT):
        assert (await office.client.get(path)).status == 403
    await office.staff('admin@council.example', 'admin')
    for path in ('/staff/case-templates', EDIT):
        assert (await office.client.get(path)).status == 200
    assert (await office.client.get('/staff/case-templates/not-a-stage')).status == 404
