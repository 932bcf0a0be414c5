"""API keys, services and templates: the simulator's configuration, loaded from JSON files."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KEY_TYPES = ('live', 'team', 'test')
TEMPLATE_TYPES = ('sms', 'email', 'letter')
DEFAULT_SERVICE_NAME = 'Tell Me simulated service'


class ConfigError(ValueError):
    """A keys or templates file is missing or malformed. str(exc) is a one-line explanation."""


@dataclass(frozen=True)
class ApiKey:
    name: str
    service_id: str
    secret: str
    key_type: str  # live | team | test
    revoked: bool = False

    @property
    def key(self) -> str:
        return f'{self.name}-{self.service_id}-{self.secret}'


@dataclass
class Service:
    id: str
    name: str = DEFAULT_SERVICE_NAME
    keys: list[ApiKey] = field(default_factory=list)
    guest_list: set[str] = field(default_factory=set)  # team members + guest list, as given
    trial_mode: bool = False
    archived: bool = False
    permissions: set[str] = field(default_factory=lambda: {'email', 'sms', 'letter', 'international_letters'})
    sms_sender: str = 'GOVUK'
    # what Notify's Settings pages add: reply-to email addresses and text message senders, each with an id Notify makes
    reply_to_addresses: dict[str, str] = field(default_factory=dict)  # id → email address
    sms_senders: dict[str, str] = field(default_factory=dict)  # id → sender name or number

    @property
    def email_from(self) -> str:
        local = re.sub(r'[^a-z0-9.\-]', '', self.name.lower().replace(' ', '.'))
        return f'{local or "service"}@notifications.service.gov.uk'


@dataclass(frozen=True)
class Template:
    id: str
    type: str  # sms | email | letter
    name: str
    body: str
    subject: str | None = None
    version: int = 1
    service_id: str | None = None  # None: visible to every service
    archived: bool = False
    postage: str | None = None
    letter_contact_block: str | None = None
    created_by: str = 'notify-sim@example.gov.uk'


def check_template_fields(*, name: object, type: object, body: object, subject: object) -> None:
    """What Notify's admin insists on before it saves a template."""
    if type not in TEMPLATE_TYPES:
        raise ConfigError(f'type must be one of {", ".join(TEMPLATE_TYPES)}')
    if not isinstance(name, str) or not name.strip():
        raise ConfigError('a template needs a name')
    if not isinstance(body, str) or not body.strip():
        raise ConfigError('a template needs a body')
    if type in ('email', 'letter') and (not isinstance(subject, str) or not subject.strip()):
        raise ConfigError(f'an {type} template needs a subject' if type == 'email' else 'a letter needs a heading')


def generate_api_key(name: str, service_id: str | None = None) -> str:
    """A key in Notify's `{name}-{service uuid}-{secret uuid}` shape."""
    return f'{name}-{service_id or uuid.uuid4()}-{uuid.uuid4()}'


def parse_api_key(api_key: str, key_type: str, revoked: bool = False) -> ApiKey:
    # the official client slices the key the same way: service id [-73:-37], secret [-36:]
    if len(api_key) < 75 or api_key[-74] != '-' or api_key[-37] != '-':
        raise ConfigError(f'api_key must look like <name>-<service uuid>-<secret uuid> (got {len(api_key)} characters)')
    service_id, secret = api_key[-73:-37], api_key[-36:]
    for part, label in ((service_id, 'service id'), (secret, 'secret')):
        try:
            uuid.UUID(part)
        except ValueError as exc:
            raise ConfigError(f'api_key {label} part is not a UUID') from exc
    if key_type not in KEY_TYPES:
        raise ConfigError(f'key type must be one of {", ".join(KEY_TYPES)} (got {key_type!r})')
    return ApiKey(name=api_key[:-74], service_id=service_id, secret=secret, key_type=key_type, revoked=revoked)


def build_services(entries: list[dict[str, Any]]) -> dict[str, Service]:
    """Group key entries by service. Optional per-entry fields apply to the key's whole service."""
    services: dict[str, Service] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or 'api_key' not in entry:
            raise ConfigError(f'keys entry {index} must be an object with "api_key" and "type"')
        key = parse_api_key(str(entry['api_key']), str(entry.get('type', '')), bool(entry.get('revoked', False)))
        service = services.setdefault(key.service_id, Service(id=key.service_id))
        service.keys.append(key)
        if 'service_name' in entry:
            service.name = str(entry['service_name'])
        service.guest_list.update(str(r) for r in entry.get('guest_list', []))
        service.trial_mode = service.trial_mode or bool(entry.get('trial_mode', False))
        service.archived = service.archived or bool(entry.get('archived', False))
        if entry.get('international_sms'):
            service.permissions.add('international_sms')
        if 'permissions' in entry:
            service.permissions = {str(p) for p in entry['permissions']}
        if 'sms_sender' in entry:
            service.sms_sender = str(entry['sms_sender'])
    return services


def build_templates(entries: list[dict[str, Any]]) -> dict[str, Template]:
    templates: dict[str, Template] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ConfigError(f'templates entry {index} must be an object')
        missing = [f for f in ('id', 'type', 'name', 'body') if f not in entry]
        if missing:
            raise ConfigError(f'templates entry {index} is missing {", ".join(missing)}')
        try:
            template_id = str(uuid.UUID(str(entry['id'])))
        except ValueError as exc:
            raise ConfigError(f'templates entry {index}: id is not a UUID') from exc
        if entry['type'] not in TEMPLATE_TYPES:
            raise ConfigError(f'templates entry {index}: type must be one of {", ".join(TEMPLATE_TYPES)}')
        templates[template_id] = Template(
            id=template_id,
            type=entry['type'],
            name=str(entry['name']),
            body=str(entry['body']),
            subject=entry.get('subject'),
            version=int(entry.get('version', 1)),
            service_id=entry.get('service_id'),
            archived=bool(entry.get('archived', False)),
            postage=entry.get('postage', 'second' if entry['type'] == 'letter' else None),
            letter_contact_block=entry.get('letter_contact_block'),
        )
    return templates


def _read_json_list(path: str | Path, what: str) -> list[dict[str, Any]]:
    try:
        text = Path(path).read_text(encoding='utf-8')
    except OSError as exc:
        raise ConfigError(f'cannot read {what} file {path}: {exc.strerror or exc}') from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f'{what} file {path} is not valid JSON: {exc.msg} at line {exc.lineno}') from exc
    if not isinstance(data, list):
        raise ConfigError(f'{what} file {path} must hold a JSON list')
    return data


def load_keys(path: str | Path) -> dict[str, Service]:
    entries = _read_json_list(path, 'keys')
    try:
        return build_services(entries)
    except ConfigError as exc:
        raise ConfigError(f'keys file {path}: {exc}') from None


def load_templates(path: str | Path) -> dict[str, Template]:
    entries = _read_json_list(path, 'templates')
    try:
        return build_templates(entries)
    except ConfigError as exc:
        raise ConfigError(f'templates file {path}: {exc}') from None


DEFAULT_TEMPLATES_PATH = Path(__file__).parents[1] / 'data' / 'default_templates.json'
