"""Small pieces several adapters share (pure, like the adapters)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from sources.events.models import Event
from sources.feeds.base import Page, Parsed, Rejected, SourceError, reason_for


def where_in(body: bytes, offset: int) -> str:
    """'byte 77, on line 3': where a byte is, without saying what it is."""
    line = body[:offset].count(b'\n') + 1
    return f'byte {offset}, on line {line}'


def decode_text(page: Page, options: Mapping[str, str], what: str) -> str:
    """The page as text in the source's encoding (`--option encoding=`, default UTF-8), or a SourceError naming
    where the first byte that does not fit is (not the byte) and the option that fixes it."""
    encoding = options.get('encoding', 'utf-8-sig')
    try:
        return page.body.decode(encoding)
    except UnicodeDecodeError as error:
        raise SourceError(
            f'{what} is not {encoding} (the first byte that does not fit is {where_in(page.body, error.start)}); '
            'if the feed uses another encoding, set --option encoding=cp1252 (or latin-1, cp437)'
        ) from None
    except LookupError:
        raise SourceError(f'option encoding={encoding!r} is not an encoding Python knows') from None


def add_latest(
    parsed: Parsed, index: dict[str, int], key: str, event: Event, where: str, *, latest: str = 'change'
) -> None:
    """Add `event` to the page's events; a record that appears twice in one page is reported, and the state with
    the latest time is the one kept."""
    if key not in index:
        index[key] = len(parsed.events)
        parsed.events.append(event)
        return
    parsed.rejected.append(Rejected(where, f'appears more than once in this page; the latest {latest} is used'))
    if event.occurred_at >= parsed.events[index[key]].occurred_at:
        parsed.events[index[key]] = event


def canonical_uprn(raw: str) -> str:
    """'000125011723' → '125011723'; Bolton's 'UPRN|ADDRESS' form keeps the number only."""
    digits = raw.split('|', 1)[0].strip()
    if not re.fullmatch(r'[0-9]+', digits) or not 0 < int(digits) < 10**12:
        raise SourceError('the UPRN is not one: a UPRN is a number of up to 12 digits')
    return str(int(digits))


def decode_json(page: Page, options: Mapping[str, str], what: str) -> Any:
    """The page's JSON, or a SourceError that says what the page was instead (HTML, truncated, wrong encoding)."""
    stripped = decode_text(page, options, 'page').lstrip()
    if not stripped:
        raise SourceError(f'page is empty, expected {what}')
    if stripped.startswith('<'):
        raise SourceError(f'page is HTML or XML, not {what} (an error or login page?)')
    try:
        return json.loads(stripped)
    except json.JSONDecodeError as error:
        at_end = error.pos >= len(stripped.rstrip()) - 1 or error.msg.startswith('Unterminated string')
        truncated = ' (truncated?)' if at_end else ''
        raise SourceError(
            f'page is not valid JSON{truncated}: {error.msg} at line {error.lineno} column {error.colno}'
        ) from None


def int_option(options: Mapping[str, str], key: str, default: int, *, low: int = 1, high: int = 100_000) -> int:
    """A whole-number option within [low, high], or a SourceError naming it."""
    raw = options.get(key)
    if raw is None:
        return default
    if not raw.strip().isdigit() or not low <= int(raw) <= high:
        raise SourceError(f'option {key}={raw!r}: give a whole number from {low} to {high}')
    return int(raw)


def validation_reason(error: ValueError) -> str:
    """One readable sentence from a RecordError or a pydantic ValidationError, never quoting the record."""
    return reason_for(error)


def json_type(value: Any) -> str:
    """'a string', 'a number', 'a list' …: what a JSON value is, not what it says."""
    if isinstance(value, bool):
        return 'true or false'
    if isinstance(value, int | float):
        return 'a number'
    return {str: 'a string', list: 'a list', dict: 'an object', type(None): 'null'}.get(type(value), 'something else')
