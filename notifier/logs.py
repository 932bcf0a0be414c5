"""Log lines: one JSON object per line (or today's readable text), carrying the context they were written in, with a
safety net that takes email addresses, phone numbers and link tokens out of whatever is logged.

Every process configures logging once (`configure`, called by the `tellme` CLI). A line says when (UTC, ISO 8601),
how bad, which logger and what, and, where there is one, the context it was written in: `request_id` (the web
request, notifier/web/request_ids.py), `notification_id` (the outbox row being sent or settled), `event_id`,
`source` (the feed being polled) and `job` (the arq job id, which names the job: `cron:sweep:…`,
`deliver:<notification id>`). The context lives in a contextvar, so a request id set by the middleware reaches every
line written while that request is handled — ours, asyncpg's, aiohttp's — and a job's id every line its job writes.

What must never be in a log (docs/security.md): email addresses, phone numbers, postal addresses, link tokens, what a
message says. The code logs ids instead; `ContextAndRedaction` is the safety net behind that, on the handler, so it
sees every record whatever logger wrote it: an email-like string becomes `[email]`, a UK-phone-like one `[phone]`, the
token in a link's path `[token]`, in the message, every field and any traceback.

The standard library's logging, not structlog: asyncpg, aiohttp and arq log through it whatever we choose, and one
handler filter and a small formatter give every line, theirs and ours, the same shape without another dependency.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
from collections.abc import Iterator, Mapping
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, TextIO

CONTEXT_FIELDS = ('request_id', 'notification_id', 'event_id', 'source', 'job')
FORMATS = ('json', 'text')
TEXT_FORMAT = '%(asctime)s %(levelname)s %(name)s: %(message)s'
# aiohttp's own access log writes the raw request line (tokens in paths, query strings) and the client's address;
# ours (notifier/web/request_ids.py) replaces it, so aiohttp's is off in every process (and `access_log=None`)
QUIET_LOGGERS = {'aiohttp.access': logging.WARNING}

Context = Mapping[str, str | int]
_EMPTY: Context = MappingProxyType({})
_CONTEXT: ContextVar[Context] = ContextVar('tellme_log_context', default=_EMPTY)

# what a LogRecord holds of its own: anything else on a record came from `extra=` and is logged as a field
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord('', 0, '', 0, '', None, None).__dict__) | {'message', 'asctime'}


# --- context -----------------------------------------------------------------------------------------------------


def bind(**fields: object) -> Token[Context]:
    """Add `fields` (some of CONTEXT_FIELDS; None leaves one out) to the context of every line written from here on
    in this task and the tasks it starts; `unbind(token)` undoes it. `log_context` is the same as a `with` block."""
    unknown = set(fields) - set(CONTEXT_FIELDS)
    if unknown:
        raise ValueError(f'not a log context field: {", ".join(sorted(unknown))}')
    # ids stay numbers (event_id 42), anything else is written as text (a uuid)
    given = {
        name: value if isinstance(value, int) else str(value) for name, value in fields.items() if value is not None
    }
    return _CONTEXT.set(MappingProxyType({**_CONTEXT.get(), **given}))


def unbind(token: Token[Context]) -> None:
    _CONTEXT.reset(token)


@contextlib.contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Every line written inside the block (in this task, and in tasks it starts) carries `fields`."""
    token = bind(**fields)
    try:
        yield
    finally:
        unbind(token)


def current_context() -> Context:
    return _CONTEXT.get()


# --- the safety net ----------------------------------------------------------------------------------------------

EMAIL = re.compile(r"[\w.+'-]+(?:@|%40)(?:[\w-]+\.)+[A-Za-z][\w-]*")  # not user@127.0.0.1 in a server's URL
# UK numbers as people and Notify write them: 07700 900123, 07700-900-123, +44 7700 900123, 447700900123,
# 0044 7700 900123, +44 (0)7700 900123, 01632 960001; never the digits inside an id, a time or a decimal
PHONE = re.compile(r'(?<![\w.+-])(?:(?:\+|00)?44[ -]?(?:\(0\)[ -]?)?|\(?0)(?:\d\)?[ -]?){8,9}\d(?![\w-]|\.\d)')
# a link's secret part: /confirm/<id>.<mac>, /unsubscribe/…, /manage/s/…, /manage/sign-in/…, /d/…,
# /staff/set-password/…, and a private event's /e/<id>.<mac> (a route template's {token} is left as it is)
TOKEN_PATH = re.compile(r'(/(?:confirm|unsubscribe|manage/s|manage/sign-in|d|staff/set-password)/)[\w.~%-]{8,}')
EVENT_TOKEN = re.compile(r'(/e/\d+)\.[\w~%-]+')


def redact(text: str) -> str:
    """`text` with email-like strings, UK-phone-like numbers and the tokens of our links replaced."""
    text = TOKEN_PATH.sub(r'\1[token]', text)
    text = EVENT_TOKEN.sub(r'\1.[token]', text)
    text = EMAIL.sub('[email]', text)
    return PHONE.sub('[phone]', text)


class ContextAndRedaction(logging.Filter):
    """On the handler: copies the context onto each record (an `extra=` of the same name wins) and redacts its
    message, exception, stack and fields. The record is changed in place, so every formatter sees the same."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _CONTEXT.get().items():
            if getattr(record, name, None) is None:
                setattr(record, name, value)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string: logging's own handleError reports it
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = _PLAIN.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for name, value in list(record.__dict__.items()):
            if name not in _RECORD_ATTRIBUTES:
                setattr(record, name, _redacted(value))
        return True


def _redacted(value: Any) -> Any:
    """An `extra=` field with every string in it redacted; numbers stay numbers, anything else becomes its text."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {str(key): _redacted(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redacted(item) for item in value]
    return redact(value if isinstance(value, str) else str(value))


_PLAIN = logging.Formatter()


# --- formats -----------------------------------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601, milliseconds), level, logger, message, the context fields, any
    `extra=` fields, and `exception` / `stack` as text. ASCII only, so no byte a feed sent can break a line."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC).isoformat(timespec='milliseconds')
        line: dict[str, Any] = {
            'time': when.replace('+00:00', 'Z'),
            'level': record.levelname,
            'logger': record.name,
            'message': record.getMessage(),
        }
        for name, value in record.__dict__.items():
            if name not in _RECORD_ATTRIBUTES and name not in line and value is not None:
                line[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line['exception'] = record.exc_text
        if record.stack_info:
            line['stack'] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=True)


class TextFormatter(logging.Formatter):
    """Today's readable line, with the context in brackets at the end when there is some."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        context = [f'{name}={getattr(record, name)}' for name in CONTEXT_FIELDS if getattr(record, name, None)]
        if not context:
            return text
        first, newline, rest = text.partition('\n')
        return f'{first} [{" ".join(context)}]{newline}{rest}'


def handler(log_format: str, stream: TextIO | None = None) -> logging.Handler:
    """A stream handler (stderr unless `stream`) writing `log_format` ('json' or 'text'), with the context and the
    safety net."""
    if log_format not in FORMATS:
        raise ValueError(f'log format must be one of {", ".join(FORMATS)}')
    made = _Handler(stream or sys.stderr)
    made.setFormatter(JsonFormatter() if log_format == 'json' else TextFormatter())
    made.addFilter(ContextAndRedaction())
    return made


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """Ours, so `configure` called again replaces it rather than writing every line twice."""


def configure(level: str | int, log_format: str, stream: TextIO | None = None) -> logging.Handler:
    """The process's logging (the `tellme` CLI calls it once): the root logger at `level`, writing `log_format` to
    stderr (or `stream`), aiohttp's access log off, Python's warnings logged as well. Returns the handler."""
    made = handler(log_format, stream)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    root.addHandler(made)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    for name, quiet in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(quiet)
    logging.captureWarnings(True)
    return made
