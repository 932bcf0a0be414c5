"""Texts residents sent us that were not STOP or START (/staff/replies): those waiting for staff to read and deal
with, each with what Tell Me already texted back (the once-a-day acknowledgement, or nothing past the day's limit),
and those Tell Me answered itself in the last ANSWERED_DAYS days (BINS, a case reference, HELP) beside its answer,
so staff can see what residents were told.

The number is shown masked with what it follows here, so the list can be read over a shoulder; marking one as
dealt with is audited. (Replying is done in the council's own systems for now.) An answer's words (the first lines of
the resident's addresses, their case's stage) are shown only to those who answer texts (case officers, admins), while
the outbox still holds them (TELLME_NOTIFICATION_RETENTION_DAYS); comms, and anyone after that, see only what kind of
answer it was. An answer in a wording since taken out of the registry shows as such, not as an error.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from notifier import audit
from notifier.app_keys import PG
from notifier.staff import auth as staff_auth
from notifier.staff.pages import STAFF_MENU, render
from templates.personalisation import mask_address
from templates.registry import render as render_text
from templates.registry import template

routes = web.RouteTableDef()
ROLES = ('case_officer', 'comms')
# who answers residents' texts, so reads what Tell Me told each (their addresses' first lines, their case's stage);
# the others (comms) see only what kind of answer it was (and admin may do all)
READ_ANSWERS = ('case_officer',)
NO_LONGER_USED = '(a wording no longer in use)'
STAFF_MENU.append(('/staff/replies', 'Texts from residents', ROLES))

ANSWERED_DAYS = 7
_COLUMNS = """c.id, c.received_at, c.payload ->> 'message' as message, c.payload ->> 'source_number' as number,
       (select count(*) from contact_points p join subscriptions s on s.resident_id = p.resident_id
        where p.channel = 'sms' and p.address = regexp_replace(c.payload ->> 'source_number', '[^0-9]', '', 'g')
          and s.status = 'active') as following,
       t.answer, t.notification_id is not null as answer_sent, n.template_id, n.personalisation"""
_ANSWER = """{join} text_answers t on t.callback_id = c.id
left join notifications n on n.id = t.notification_id"""
WAITING = f"""
select {_COLUMNS}
from notify_callbacks c
{_ANSWER.format(join='left join')}
where c.for_staff and c.staff_done_at is null
order by c.received_at
limit 200
"""
ANSWERED = f"""
select {_COLUMNS}
from notify_callbacks c
{_ANSWER.format(join='join')}
where not c.for_staff and c.received_at >= now() - make_interval(days => $1)
order by c.received_at desc
limit 200
"""
# what an answer was, when its words are no longer kept (or none was sent)
ANSWER_NAMES = {
    'bins': 'their next bin collections',
    'bins-unknown': 'no bin dates known yet',
    'case': "their case's stage",
    'help': 'what they can ask by text',
    'not-followed': 'not signed up for that: how to sign up',
    'acknowledged': 'staff will reply',
}


def _answer(record: Any, words: bool) -> str | None:
    """What Tell Me texted back, as the resident read it if `words` (else what kind of answer); None when nothing
    was."""
    if record['answer'] is None:
        return None
    if not record['answer_sent']:
        return 'Not answered: this number had its answers for the day'
    if words and record['template_id'] is not None and record['personalisation'] is not None:
        try:
            wording = template(str(record['template_id']))
        except (KeyError, ValueError):  # a wording since taken out of templates/wording.json
            return NO_LONGER_USED
        return render_text(wording['body'], record['personalisation'])
    return f'Answered: {ANSWER_NAMES.get(record["answer"], record["answer"])}'


def _row(record: Any, words: bool) -> dict[str, Any]:
    number = ''.join(ch for ch in str(record['number'] or '') if ch.isdigit())
    return {
        'id': record['id'],
        'received_at': record['received_at'],
        'message': record['message'] or '',
        'number': mask_address('sms', number) if number else 'unknown number',
        'following': record['following'],
        'answer': _answer(record, words),
    }


@routes.get('/staff/replies', name='staff-replies')
@staff_auth.staff_page(*ROLES)
async def replies(request: web.Request) -> web.Response:
    staff = await staff_auth.current(request)
    words = staff is not None and staff.has(*READ_ANSWERS)
    rows = [_row(record, words) for record in await request.app[PG].fetch(WAITING)]
    answered = [_row(record, words) for record in await request.app[PG].fetch(ANSWERED, ANSWERED_DAYS)]
    return render(request, 'staff/replies.html', {'replies': rows, 'answered': answered, 'days': ANSWERED_DAYS})


@routes.post('/staff/replies/{id:[0-9]{1,18}}/done', name='staff-reply-done')
@staff_auth.staff_page(*ROLES)
async def done(request: web.Request) -> web.Response:
    staff = await staff_auth.current(request)
    reply_id = int(request.match_info['id'])
    async with request.app[PG].acquire() as conn, conn.transaction():
        marked = await conn.fetchval(
            'update notify_callbacks set staff_done_at = now() '
            'where id = $1 and for_staff and staff_done_at is null returning id',
            reply_id,
        )
        if marked is not None and staff is not None:
            await audit.record(conn, staff_auth.actor(staff), 'reply.done', target_kind='text', target_id=reply_id)
    raise web.HTTPSeeOther('/staff/replies')
