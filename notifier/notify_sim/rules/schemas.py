"""Request schemas of GOV.UK Notify's v2 API and its way of turning JSON Schema errors into messages.

Pure functions, no I/O. Rewritten from alphagov/notifications-api (``app/v2/notifications/notification_schemas.py``,
``app/v2/template/template_schemas.py``, ``app/schema_validation/__init__.py`` and ``definitions.py``):

- Draft-07 schemas; the send requests refuse unknown properties. The preview request does not (Notify's
  doesn't either) and expects the template id from the URL to be added to the body as ``id``.
- One message per problem, duplicates dropped, order kept. A schema node carrying a ``validationMessage``
  (UUIDs, the https URL) gives ``"<field> <validationMessage>"`` whatever went wrong under it. Otherwise the
  message is jsonschema's own, with every ``'`` removed and the first path element in front:
  ``template_id is a required property``, ``Additional properties are not allowed (foo was unexpected)``,
  ``reference 5 is not of type string``. A failing format check gives its exception's text, e.g.
  ``phone_number Too many digits`` or ``email_address Not a valid email address``.
- Phone numbers are checked here with international numbers and UK landlines allowed, as Notify's format
  checker does; the service's own permissions are applied later, outside the schema.
"""

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from jsonschema import Draft7Validator, FormatChecker
from jsonschema import ValidationError as SchemaError

from notifier.notify_sim.rules.recipients import InvalidRecipient, normalise_phone_number, validate_email_address

__all__ = ['NOTIFICATION_STATUSES', 'SCHEMAS', 'TEMPLATE_TYPES', 'query_args_to_body', 'validate_request']

DRAFT_07 = 'http://json-schema.org/draft-07/schema#'

# The list filter's status enum, in the order Notify prints it in its error message.
NOTIFICATION_STATUSES = (
    'cancelled created sending sent delivered pending failed technical-failure temporary-failure '
    'permanent-failure pending-virus-check validation-failed virus-scan-failed returned-letter accepted received'
).split()
TEMPLATE_TYPES = ['sms', 'email', 'letter']
POSTAGE_TYPES = ('first', 'second', 'economy')
REFERENCE_MAX_LENGTH = 1000

_DATETIME_FORMAT_MESSAGE = (
    'datetime format is invalid. It must be a valid ISO8601 date time format, https://en.wikipedia.org/wiki/ISO_8601'
)

_uuid = {'type': 'string', 'format': 'validate_uuid', 'validationMessage': 'is not a valid UUID'}
_personalisation = {'type': 'object'}
_reference = {'type': 'string', 'maxLength': REFERENCE_MAX_LENGTH}
_https_url = {'type': 'string', 'format': 'uri', 'pattern': '^https.*', 'validationMessage': 'is not a valid https url'}
_scheduled_for = {'type': ['string', 'null'], 'format': 'datetime_within_next_day'}


def _request(title: str, properties: dict[str, Any], required: list[str], *, closed: bool = True) -> dict[str, Any]:
    schema: dict[str, Any] = {
        '$schema': DRAFT_07,
        'type': 'object',
        'title': title,
        'properties': properties,
        'required': required,
    }
    if closed:
        schema['additionalProperties'] = False
    return schema


SCHEMAS: dict[str, dict[str, Any]] = {
    'sms': _request(
        'POST v2/notifications/sms',
        {
            'reference': _reference,
            'phone_number': {'type': 'string', 'format': 'phone_number'},
            'template_id': _uuid,
            'personalisation': _personalisation,
            'scheduled_for': _scheduled_for,
            'sms_sender_id': _uuid,
        },
        ['phone_number', 'template_id'],
    ),
    'email': _request(
        'POST v2/notifications/email',
        {
            'reference': _reference,
            'email_address': {'type': 'string', 'format': 'email_address'},
            'template_id': _uuid,
            'personalisation': _personalisation,
            'scheduled_for': _scheduled_for,
            'email_reply_to_id': _uuid,
            'one_click_unsubscribe_url': _https_url,
            'sanitise_content_for': {'type': 'array', 'items': {'type': 'string'}},
        },
        ['email_address', 'template_id'],
    ),
    'letter': _request(
        'POST v2/notifications/letter',
        {'reference': _reference, 'template_id': _uuid, 'personalisation': _personalisation},
        ['template_id', 'personalisation'],
    ),
    'precompiled_letter': _request(
        'POST v2/notifications/letter',
        {
            'reference': _reference,
            'content': {'type': 'string'},
            'postage': {'type': 'string', 'format': 'postage'},
        },
        ['reference', 'content'],
    ),
    'template_preview': _request(
        'POST v2/template/{id}/preview',
        {'id': _uuid, 'personalisation': _personalisation},
        ['id'],
        closed=False,
    ),
    'get_notifications': {
        '$schema': DRAFT_07,
        'type': 'object',
        'properties': {
            'reference': {'type': 'string'},
            'status': {'type': 'array', 'items': {'enum': NOTIFICATION_STATUSES}},
            'template_type': {'type': 'array', 'items': {'enum': TEMPLATE_TYPES}},
            'include_jobs': {'enum': ['true', 'True']},
            'older_than': _uuid,
        },
        'additionalProperties': False,
    },
}


class _FormatProblem(Exception):
    """Raised by a format check; its text becomes the message after the field name."""


def _format_checker(now: datetime) -> FormatChecker:
    checker = FormatChecker(formats=())

    @checker.checks('validate_uuid', raises=(ValueError, TypeError, AttributeError))
    def _is_uuid(instance: object) -> bool:
        if isinstance(instance, str):
            UUID(instance)  # accepts what Python's UUID accepts, as Notify's check does
        return True

    @checker.checks('phone_number', raises=InvalidRecipient)
    def _is_phone_number(instance: object) -> bool:
        if isinstance(instance, str):
            normalise_phone_number(instance, allow_international=True, allow_uk_landline=True)
        return True

    @checker.checks('email_address', raises=InvalidRecipient)
    def _is_email_address(instance: object) -> bool:
        if isinstance(instance, str):
            validate_email_address(instance)
        return True

    @checker.checks('postage', raises=_FormatProblem)
    def _is_postage(instance: object) -> bool:
        if isinstance(instance, str) and instance not in POSTAGE_TYPES:
            raise _FormatProblem('invalid. It must be either first, second or economy.')
        return True

    @checker.checks('datetime_within_next_day', raises=_FormatProblem)
    def _is_soon(instance: object) -> bool:
        if isinstance(instance, str):
            _check_within_next_day(instance, now)
        return True

    return checker


def _check_within_next_day(value: str, now: datetime) -> None:
    try:
        moment = datetime.fromisoformat(value.replace('Z', '+00:00'))
    except ValueError as exc:
        raise _FormatProblem(_DATETIME_FORMAT_MESSAGE) from exc
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    if moment < now:
        raise _FormatProblem('datetime can not be in the past')
    if moment > now + timedelta(hours=24):
        raise _FormatProblem('datetime can only be 24 hours in the future')


def _message(error: SchemaError) -> str:
    if 'validationMessage' in error.schema:
        field = error.path[0] if error.path else ''
        return f'{field} {error.schema["validationMessage"]}'.strip()
    text = str(error.cause) if error.cause else error.message
    text = text.replace("'", '')
    return f'{error.path[0]} {text}' if error.path else text


def query_args_to_body(args: Mapping[str, object]) -> dict[str, object]:
    """Shape GET /v2/notifications query arguments like Notify does before validating them.

    Every argument is treated as repeatable; ``status`` and ``template_type`` stay lists while ``older_than``,
    ``reference`` and ``include_jobs`` keep their first value. Pass a plain dict or ``{k: query.getall(k)}``.
    """
    body: dict[str, object] = {}
    for key, value in args.items():
        values = list(value) if isinstance(value, list | tuple) else [value]
        body[key] = values[0] if key in ('older_than', 'reference', 'include_jobs') and values else values
    return body


def validate_request(kind: str, body: object, *, now: datetime | None = None) -> list[str]:
    """Return Notify's ValidationError messages for a request body (``[]`` when it is valid).

    ``kind`` is one of ``sms``, ``email``, ``letter``, ``precompiled_letter``, ``template_preview`` or
    ``get_notifications`` (query arguments, shaped with :func:`query_args_to_body`). ``now`` (naive UTC) is the
    clock for ``scheduled_for``; it defaults to the current time.
    """
    try:
        schema = SCHEMAS[kind]
    except KeyError:
        raise ValueError(f'unknown request kind {kind!r}') from None
    if kind == 'get_notifications' and isinstance(body, Mapping):
        body = query_args_to_body(body)
    clock = now or datetime.now(UTC).replace(tzinfo=None)
    validator = Draft7Validator(schema, format_checker=_format_checker(clock))
    messages: list[str] = []
    for error in validator.iter_errors(body):
        message = _message(error)
        if message not in messages:
            messages.append(message)
    return messages
