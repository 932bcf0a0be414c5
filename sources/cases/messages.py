"""What an officer's case update says: each stage's message template (stored in `case_stage_templates`, edited by
admins at /staff/case-templates), filled in with the officer's note, and the preview of exactly what the email,
the text message (and its fragments) and a letter will say.

A template may use ((reference)), ((stage)), ((note)) and, for "we need something from you" only, ((due_date));
it must use ((note)), where the officer's own words go. `template_problem` says what is wrong with one in words an
admin can act on; nothing is saved until it is right. The filled-in text is the update's note: it is what the
resident reads under the stage in the Notify template (the same note a case system sends through the API).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from notifier import audit
from notifier.outbox import links
from notifier.settings import Settings
from sources.events.models import Event
from sources.feeds.adapters.open311 import _STAGE_WORDS as STAGE_WORDS
from sources.feeds.adapters.open311 import STAGES
from templates.personalisation import EventInput, format_date
from templates.registry import Preview, event_message, preview

NEED_INFO = 'need_info'
PLACEHOLDERS = ('reference', 'stage', 'note', 'due_date')
MAX_TEMPLATE = 2000
# the order an officer sees the stages in, with what each is for
STAGE_HINTS = {
    'received': 'We have the report and will look at it',
    'assessing': 'An officer is looking into it',
    'action_scheduled': 'Work or a visit is arranged',
    'need_info': 'Ask the resident for evidence or information by a date; they are reminded if nothing comes',
    'resolved': 'The problem is dealt with',
    'closed': 'The case is closed without further action',
}
DEFAULT_TEMPLATES = {
    'received': 'Thank you for telling us. We have your report ((reference)) and will look at it soon. ((note))',
    'assessing': 'An officer is looking into your report ((reference)). ((note))',
    'action_scheduled': 'We have arranged for the work on ((reference)) to be done. ((note))',
    'need_info': 'To carry on with ((reference)) we need something from you by ((due_date)): ((note)) '
    'Reply to the contact details the council gave you, quoting ((reference)).',
    'resolved': 'We have dealt with your report ((reference)). ((note)) Thank you for telling us.',
    'closed': 'We have closed your case ((reference)). ((note))',
}
_PLACEHOLDER = re.compile(r'\(\(([^()]*)\)\)')
_SPACES = re.compile(r'[ \t]+')


@dataclass(frozen=True)
class StageTemplate:
    stage: str
    body: str
    updated_at: datetime | None  # None: the wording Tell Me ships with
    updated_by: str

    @property
    def stage_name(self) -> str:
        return STAGE_WORDS[self.stage]


def stage_items(selected: str | None = None) -> list[dict[str, Any]]:
    return [{'value': stage, 'text': STAGE_WORDS[stage], 'hint': STAGE_HINTS[stage]} for stage in STAGES]


async def stage_templates(db: asyncpg.Pool | asyncpg.Connection) -> dict[str, StageTemplate]:
    """Every stage's template, in stage order: as an admin saved it, else Tell Me's own wording."""
    rows = await db.fetch('select stage, body, updated_at, updated_by from case_stage_templates')
    found = {row['stage']: StageTemplate(**dict(row)) for row in rows}
    return {
        stage: found.get(stage) or StageTemplate(stage, DEFAULT_TEMPLATES[stage], None, 'Tell Me') for stage in STAGES
    }


def template_problem(stage: str, body: str) -> str | None:
    """Why this template cannot be saved for `stage`, or None."""
    text = body.strip()
    if not text:
        return 'Enter the message the stage starts from'
    if len(text) > MAX_TEMPLATE:
        return f'The message must be {MAX_TEMPLATE} characters or fewer'
    names = _PLACEHOLDER.findall(text)
    unknown = [name for name in names if name not in PLACEHOLDERS]
    if unknown:
        allowed = ', '.join(f'(({name}))' for name in PLACEHOLDERS if name != 'due_date' or stage == NEED_INFO)
        return f'(({unknown[0]})) is not a placeholder you can use. Use {allowed}'
    leftover = _PLACEHOLDER.sub('', text)
    if '((' in leftover or '))' in leftover:
        return 'Open and close each placeholder with two brackets, like ((note))'
    if 'due_date' in names and stage != NEED_INFO:
        return f'((due_date)) can only be used for “{STAGE_WORDS[NEED_INFO]}”'
    if 'note' not in names:
        return 'Include ((note)) where the officer’s own words go'
    return None


async def save_template(conn: asyncpg.Connection, stage: str, body: str, actor: audit.Actor) -> None:
    """Store a checked template (call `template_problem` first) and audit it, in the caller's transaction."""
    if stage not in STAGES or template_problem(stage, body):
        raise ValueError('check the template with template_problem before saving it')
    text = body.strip().replace('\r\n', '\n')
    await conn.execute(
        """
        insert into case_stage_templates (stage, body, updated_at, updated_by) values ($1, $2, now(), $3)
        on conflict (stage) do update set body = excluded.body, updated_at = now(), updated_by = excluded.updated_by
        """,
        stage,
        text,
        actor.name[:320],
    )
    await audit.record(conn, actor, 'case.template', target_kind='case_template', target_id=stage,
                       details={'characters': len(text)})  # fmt: skip


def fill(body: str, *, reference: str, stage: str, note: str, due_date: date | None) -> str:
    """The template with its placeholders filled in: the text the resident reads."""
    values = {
        'reference': reference,
        'stage': STAGE_WORDS[stage].lower(),
        'note': note.strip(),
        'due_date': format_date(due_date, 'en') or '' if due_date else '',
    }
    text = _PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), body)
    lines = [_SPACES.sub(' ', line).strip() for line in text.replace('\r\n', '\n').split('\n')]
    return re.sub(r'\n{3,}', '\n\n', '\n'.join(lines)).strip()


SAMPLE_SUBSCRIPTION = 10**7  # a subscription id as long as a real one


async def previews(
    db: asyncpg.Pool | asyncpg.Connection,
    settings: Settings,
    event: Event,
    changes: list[dict[str, Any]],
    *,
    channels: tuple[str, ...] = ('email', 'sms'),
    subscription_id: int | None = None,
    language: str = 'en',
) -> dict[str, Preview]:
    """The version as each channel's message will read, keyed by channel. Its links are as long as the real ones
    (so text lengths and fragments are exact) but signed with a key nobody keeps: a preview never carries a working
    link to a resident's subscription or to an event."""
    next_id = await db.fetchval('select coalesce(max(id), 0) + 1 from events')
    public = settings.public_url
    dummy = links.dummy_secret()
    event_url = links.event_url(public, next_id, private=True, secret=dummy)
    unsubscribe = links.unsubscribe_url(public, dummy, max(subscription_id or 0, SAMPLE_SUBSCRIPTION))
    data = EventInput(
        kind=event.kind, topic=event.topic, title=event.title, summary=event.summary, changes=changes,
        attributes=event.model_dump(mode='json')['attributes'], url=str(event.url) if event.url else None,
        occurred_at=event.occurred_at, urgency=event.urgency, case_reference=event.case_reference,
    )  # fmt: skip
    shown: dict[str, Preview] = {}
    for channel in channels:
        message = event_message(
            data, channel=channel, language=language, event_url=event_url, unsubscribe_url=unsubscribe,
            manage_url=links.manage_url(public, dummy, max(subscription_id or 0, SAMPLE_SUBSCRIPTION)),
        )  # fmt: skip
        shown[channel] = preview(message)
    return shown
