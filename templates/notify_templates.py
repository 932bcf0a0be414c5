"""The few templates a council creates in its own GOV.UK Notify service, and what Tell Me puts into them.

Notify makes up a template's id when a person creates it in Notify's admin; the API can only read templates. So
Tell Me keeps all its wording (templates/wording.json, English and Welsh, with its own internal ids) and renders
each message itself, then sends it through one generic Notify template per channel, found by its exact name
(`tellme notify templates` prints them, `tellme notify link` finds their ids): the way GOV.UK's email-alert-api
sends every email through one `((subject))` / `((body))` template. See docs/decisions.md (decision 44).

Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from templates.registry import render, template

ADDRESS_LINES = frozenset(f'address_line_{n}' for n in range(1, 8)) | {'postcode'}


@dataclass(frozen=True)
class NotifyTemplate:
    """One template the council creates in Notify, exactly as `tellme notify templates` prints it."""

    channel: str  # email | sms | letter: the Notify template type
    name: str
    subject: str | None
    body: str
    placeholders: frozenset[str]  # what Tell Me sends and the template must use, no more and no fewer

    def as_json(self) -> dict[str, str | None]:
        return {'name': self.name, 'type': self.channel, 'subject': self.subject, 'body': self.body}


NOTIFY_TEMPLATES = (
    NotifyTemplate('email', 'Tell Me email', '((subject))', '((body))', frozenset({'subject', 'body'})),
    NotifyTemplate('sms', 'Tell Me text message', None, '((body))', frozenset({'body'})),
    NotifyTemplate('letter', 'Tell Me letter', '((subject))', '((body))', frozenset({'subject', 'body'})),
)
BY_CHANNEL = {t.channel: t for t in NOTIFY_TEMPLATES}

_PLACEHOLDER = re.compile(r'\(\(([^()]+)\)\)')


def placeholders_in(*texts: str | None) -> set[str]:
    """Placeholder names as Notify lists them (spaces, '_' and '-' ignored, any case; conditionals by their flag)."""
    found = set()
    for text in texts:
        for inner in _PLACEHOLDER.findall(text or ''):
            found.add(_normal(inner.split('??', 1)[0]))
    return found


def _normal(name: str) -> str:
    return name.translate({ord(' '): None, ord('_'): None, ord('-'): None}).lower()


def differences(expected: NotifyTemplate, found: Mapping[str, object]) -> list[str]:
    """Why a template read from Notify (`GET /v2/templates` shape) will not do for `expected`; [] when it will."""
    problems = []
    if found.get('type') != expected.channel:
        problems.append(f'it is a {found.get("type")} template, not {expected.channel}')
        return problems
    personalisation = found.get('personalisation')
    if isinstance(personalisation, Mapping):
        used = {_normal(str(name)) for name in personalisation}
    else:  # an older answer without the map: read the text as Notify would
        used = placeholders_in(str(found.get('subject') or ''), str(found.get('body') or ''))
    if expected.channel == 'letter':
        used -= {_normal(name) for name in ADDRESS_LINES}
    wanted = {_normal(name) for name in expected.placeholders}
    if used - wanted:
        problems.append(f'it uses {", ".join(f"(({n}))" for n in sorted(used - wanted))}, which Tell Me does not send')
    if wanted - used:
        problems.append(f'it does not use {", ".join(f"(({n}))" for n in sorted(wanted - used))}')
    if expected.subject and 'subject' in wanted and 'subject' not in placeholders_in(str(found.get('subject') or '')):
        problems.append('its subject must be ((subject))')
    if expected.channel == 'sms' and _squeeze(str(found.get('body') or '')) != _squeeze(expected.body):
        # Tell Me fits each text to 918 characters and counts the fragments it costs: any added words break that
        problems.append('a text message template must be exactly ((body)), with nothing added')
    return problems


def _squeeze(text: str) -> str:
    return ''.join(text.split())


def notify_personalisation(wording_id: str, channel: str, personalisation: Mapping[str, str]) -> dict[str, str]:
    """A message built from our wording, rendered as Notify would render it, as the generic template's values."""
    entry = template(wording_id)
    if entry['type'] != channel:
        raise ValueError(f'the wording {wording_id} is for {entry["type"]}, not {channel}')
    values = {'body': render(entry['body'], personalisation)}
    if channel != 'sms':
        values['subject'] = render(entry.get('subject') or '', personalisation)
    return values
