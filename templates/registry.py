"""Which wording says what: (event kind or purpose) × channel × language → wording id + values.

Pure (stdlib and our own personalisation builders). The only file read is our own wording file
(templates/wording.json), once. Tell Me renders every message from it with Notify's own rules (placeholders,
((flag??text)) conditionals), so text length, fragments and previews are exact, and sends the result through the
council's few generic Notify templates (templates/notify_templates.py): a council never copies this wording.

Wording ids are stable UUIDv5s of '<key>/<channel>/<language>', our own (Notify never sees them), so the file and
the code cannot drift apart silently (tests/templates/test_registry.py checks every entry against the file).
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from templates.personalisation import (
    DIGEST_FIELDS,
    DIGEST_ITEM_CAP,
    DIGEST_SMS_FIELDS,
    EVENT_KEYS,
    LANGUAGES,
    NO,
    NOTICE_CHANNELS,
    NOTICE_FIELDS,
    EventInput,
    TopicNames,
    digest_values,
    event_key,
    event_placeholders,
    event_values,
    truncate,
)

__all__ = [
    'REGISTRY',
    'SMS_CHARACTER_LIMIT',
    'WORDING_FILE',
    'EventInput',
    'Message',
    'MessageTooLong',
    'Preview',
    'TemplateSpec',
    'digest_message',
    'event_message',
    'notice_message',
    'outbox_purpose',
    'preview',
    'render',
    'sms_characters',
    'sms_fragments',
    'spec_for_event',
    'template_id',
]

WORDING_FILE = Path(__file__).with_name('wording.json')
TEMPLATE_NAMESPACE = uuid.UUID('8f8bb191-181f-4df4-b61a-0bb39a7a24bb')
SMS_CHARACTER_LIMIT = 918
FREQUENCIES = ('daily', 'weekly')
# purpose given to notice_message → the notifications.purpose it is queued under
NOTICE_OUTBOX_PURPOSE = {
    'confirmation': 'confirmation',
    'confirm-code': 'confirmation',
    'sign-in': 'sign-in',
    'sign-in-link': 'sign-in',
    'contact-suppressed': 'notice',
    'texts-stopped': 'reply',
    'texts-started': 'reply',
    'text-bins': 'reply',
    'text-bins-unknown': 'reply',
    'text-case': 'reply',
    'text-help': 'reply',
    'text-not-followed': 'reply',
    'text-received': 'reply',
    'bulletin-approval': 'notice',
    'bulletin-sent-back': 'notice',
}
# what gives way first when a text message would be over the limit
EVENT_SHRINK_ORDER = ('summary', 'changes', 'title', 'where', 'decision', 'status', 'bulletin', 'bin')


class MessageTooLong(ValueError):
    """Even with every shrinkable value emptied the text is over 918 characters (e.g. an absurd public URL)."""


def template_id(key: str, channel: str, language: str) -> str:
    return str(uuid.uuid5(TEMPLATE_NAMESPACE, f'{key}/{channel}/{language}'))


@dataclass(frozen=True)
class TemplateSpec:
    key: str  # an event key ('planning.new', 'planning.*', '*'), 'digest.daily', or a notice purpose
    channel: str  # email | sms | letter
    language: str  # en | cy
    template_id: str
    placeholders: frozenset[str]  # exactly what the builder produces and the template uses


@dataclass(frozen=True)
class Message:
    """A message ready for Notify: the template, its personalisation, the one-click unsubscribe URL (emails
    answering a subscription only) and, for text messages, how many fragments Notify will bill."""

    template_id: str
    personalisation: dict[str, str]
    one_click_unsubscribe_url: str | None
    fragments: int = 0


@dataclass(frozen=True)
class Preview:
    subject: str | None
    body: str
    characters: int
    fragments: int


def _spec(key: str, channel: str, language: str, placeholders: frozenset[str]) -> TemplateSpec:
    return TemplateSpec(key, channel, language, template_id(key, channel, language), placeholders)


def _build_registry() -> dict[tuple[str, str, str], TemplateSpec]:
    specs = []
    for language in LANGUAGES:
        for key in EVENT_KEYS:
            specs += [_spec(key, channel, language, event_placeholders(key, channel)) for channel in ('email', 'sms')]
        specs.append(_spec('*', 'letter', language, event_placeholders('*', 'letter')))
        for frequency in FREQUENCIES:
            specs.append(_spec(f'digest.{frequency}', 'email', language, DIGEST_FIELDS))
            specs.append(_spec(f'digest.{frequency}', 'sms', language, DIGEST_SMS_FIELDS))
        for purpose, fields in NOTICE_FIELDS.items():
            channels = NOTICE_CHANNELS.get(purpose, ('email', 'sms'))
            specs += [_spec(purpose, channel, language, fields) for channel in channels]
    return {(spec.key, spec.channel, spec.language): spec for spec in specs}


REGISTRY: dict[tuple[str, str, str], TemplateSpec] = _build_registry()


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(f'language must be one of {", ".join(LANGUAGES)} (got {language!r})')


def spec_for_event(kind: str, topic: str, channel: str, language: str) -> TemplateSpec:
    """The kind's own template, else its topic's, else the general one (letters use the general one)."""
    _check_language(language)
    for key in (event_key(kind, topic), '*'):
        spec = REGISTRY.get((key, channel, language))
        if spec is not None:
            return spec
    raise ValueError(f'no {channel} template for events (channel must be email, sms or letter)')


def outbox_purpose(notice: str) -> str:
    """The notifications.purpose a notice is queued under ('contact-suppressed' → 'notice')."""
    return NOTICE_OUTBOX_PURPOSE[notice]


# --- Notify's rendering rules (see notifier/notify_sim/rules/rendering.py for where they come from) -----------------

_PLACEHOLDER = re.compile(r'\(\(([^()]+)\)\)')
_TRUTHY = frozenset({'yes', 'y', 'true', 't', '1', 'include', 'show'})
_GSM_EXTENDED = frozenset('^{}\\[~]|€')
_GSM = _GSM_EXTENDED | frozenset(
    '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?'
    '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà'
)
# typographic characters Notify swaps for GSM ones before sending, so they never force UCS-2
_SMS_SWAPS = str.maketrans(
    {
        '\u2011': '-', '\u2013': '-', '\u2014': '-', '\u2212': '-', '\u2026': '...',
        '\u2018': "'", '\u2019': "'", '\u201a': "'", '\u201c': '"', '\u201d': '"', '\u201e': '"',
        '\u180e': '', '\u200b': '', '\u200c': '', '\u2060': '', '\ufeff': '', '\u2028': '', '\u2029': '',
        '\u00a0': ' ', '\u202f': ' ', '\t': ' ',
    }
)  # fmt: skip


def _key(name: str) -> str:
    return name.translate({ord(' '): None, ord('_'): None, ord('-'): None}).lower()


def placeholders(text: str | None) -> set[str]:
    """Placeholder names in a template text, conditional ones included (as Notify reads them)."""
    return {_key(body.split('??', 1)[0]) for body in _PLACEHOLDER.findall(text or '')}


def render(text: str, personalisation: Mapping[str, object]) -> str:
    """Fill in ((name)) and ((flag??text)) the way Notify does; a missing value leaves the placeholder."""
    values = {_key(str(name)): value for name, value in personalisation.items()}

    def substitute(match: re.Match[str]) -> str:
        name, conditional, shown = match.group(1).partition('??')
        value = values.get(_key(name))
        if value is None:
            return match.group(0)
        if conditional:
            return shown if str(value).lower() in _TRUTHY else ''
        return str(value)

    return _PLACEHOLDER.sub(substitute, text)


def sms_characters(text: str) -> int:
    """Characters Notify counts against its 918 limit (the rendered text, trimmed, before any swaps)."""
    return len(text.replace('\r\n', '\n').strip())


def sms_fragments(text: str) -> int:
    """Fragments Notify bills: GSM-7 160 in one part or 153 a part, else UCS-2 70 or 67 (a Welsh ŵ does that);
    GSM extension characters count twice."""
    plain = text.replace('\r\n', '\n').strip()
    sent = plain.translate(_SMS_SWAPS)
    characters = len(plain) + sum(1 for char in sent if char in _GSM_EXTENDED)
    if any(char not in _GSM for char in sent):
        return 1 if characters <= 70 else math.ceil(characters / 67)
    return 1 if characters <= 160 else math.ceil(characters / 153)


@cache
def _templates() -> dict[str, dict[str, Any]]:
    entries = json.loads(WORDING_FILE.read_text(encoding='utf-8'))
    return {str(uuid.UUID(entry['id'])): entry for entry in entries}


def template(template_id: str) -> dict[str, Any]:
    """The wording's entry in templates/wording.json ({id, type, name, subject, body})."""
    return _templates()[str(uuid.UUID(template_id))]


def preview(message: Message) -> Preview:
    """The message as Notify will show it (subject, body), its length and SMS fragments."""
    entry = template(message.template_id)
    body = render(entry['body'], message.personalisation)
    subject = render(entry['subject'], message.personalisation) if entry.get('subject') else None
    texts = entry['type'] == 'sms'
    return Preview(subject, body, sms_characters(body), sms_fragments(body) if texts else 0)


# --- building messages ---------------------------------------------------------------------------------------


def _fit_sms(spec: TemplateSpec, values: dict[str, str], shrink: Sequence[str]) -> dict[str, str]:
    body = template(spec.template_id)['body']
    for name in shrink:
        over = sms_characters(render(body, values)) - SMS_CHARACTER_LIMIT
        if over <= 0:
            return values
        if values.get(name):
            values[name] = truncate(values[name], max(len(values[name]) - over, 0))
            if name == 'changes' and not values[name] and 'has_changes' in values:
                values['has_changes'] = NO
    if sms_characters(render(body, values)) > SMS_CHARACTER_LIMIT:
        raise MessageTooLong(f'{spec.key} text message is over {SMS_CHARACTER_LIMIT} characters even when shortened')
    return values


def _message(
    spec: TemplateSpec, values: Mapping[str, str], unsubscribe_url: str | None, shrink: Sequence[str] = ()
) -> Message:
    personalisation = {name: values[name] for name in sorted(spec.placeholders)}
    fragments = 0
    if spec.channel == 'sms':
        personalisation = _fit_sms(spec, personalisation, [name for name in shrink if name in personalisation])
        fragments = sms_fragments(render(template(spec.template_id)['body'], personalisation))
    # Notify takes the header on emails only, and only as an https URL (a plain-http dev host sends without it)
    one_click = unsubscribe_url if spec.channel == 'email' and (unsubscribe_url or '').startswith('https://') else None
    return Message(spec.template_id, personalisation, one_click, fragments)


def event_message(
    event: EventInput,
    *,
    channel: str,
    language: str,
    event_url: str,
    unsubscribe_url: str | None,
    manage_url: str,
    nearby: Mapping[str, Any] | None = None,
    names: TopicNames | None = None,
) -> Message:
    """One event for one resident on one channel. `unsubscribe_url` is None when no subscription is involved;
    `nearby` is how far the event is from the resident's place, when a near subscription brought it; `names`, the
    council's topic catalogue, names news on a topic without wording of its own."""
    spec = spec_for_event(event.kind, event.topic, channel, language)
    values = event_values(
        event,
        channel=channel,
        language=language,
        event_url=event_url,
        unsubscribe_url=unsubscribe_url,
        manage_url=manage_url,
        nearby=nearby,
        names=names,
    )
    return _message(spec, values, unsubscribe_url, EVENT_SHRINK_ORDER)


def digest_message(
    events: Sequence[tuple[EventInput, str]],
    *,
    channel: str,
    language: str,
    frequency: str,
    see_all_url: str,
    unsubscribe_url: str | None,
    manage_url: str,
    names: TopicNames | None = None,
) -> Message:
    """Several events in one message: at most 10 in an email, 3 in a text, then "and N more" + see all; `names`,
    the council's topic catalogue, labels news on a topic without wording of its own."""
    _check_language(language)
    spec = REGISTRY.get((f'digest.{frequency}', channel, language))
    if spec is None:
        raise ValueError(f'no {frequency} digest by {channel} (frequency daily or weekly, channel email or sms)')
    cap = DIGEST_ITEM_CAP[channel]
    while True:
        values = digest_values(
            events,
            channel=channel,
            language=language,
            see_all_url=see_all_url,
            unsubscribe_url=unsubscribe_url,
            manage_url=manage_url,
            cap=cap,
            names=names,
        )
        try:
            return _message(spec, values, unsubscribe_url)
        except MessageTooLong:
            if cap == 0:
                raise
            cap -= 1  # fewer items, more in "and N more"


def notice_message(purpose: str, *, channel: str, language: str, **values: str) -> Message:
    """A message that is not news: 'confirmation' (subscription, confirm_url), 'confirm-code' (subscription, code,
    minutes), 'sign-in' (code, minutes), 'sign-in-link' (sign_in_url, minutes),
    'contact-suppressed' (masked_address, manage_url; sent on the resident's other channel); answers to a text, by text
    only: 'text-bins' (collections), 'text-bins-unknown', 'text-case' (case_reference, stage, updated), 'text-help',
    'text-not-followed' (signup_url), 'text-received' (reply_within); to staff, by email only:
    'bulletin-approval' (title, author, people, is_urgent, bulletin_url), 'bulletin-sent-back' (title, approver,
    reason, bulletin_url)."""
    _check_language(language)
    spec = REGISTRY.get((purpose, channel, language))
    if spec is None or purpose not in NOTICE_FIELDS:
        raise ValueError(f'no {channel} template for {purpose!r}')
    missing, extra = spec.placeholders - values.keys(), values.keys() - spec.placeholders
    if missing or extra:
        raise ValueError(f'{purpose} needs exactly {", ".join(sorted(spec.placeholders))}')
    return _message(spec, {name: str(value) for name, value in values.items()}, None, ('subscription',))
