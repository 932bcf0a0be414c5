"""What every feed adapter is: pure functions from fetched pages to normalised events (no I/O here).

The polling framework (sources/feeds/polling.py) fetches pages over HTTP or file://, hands each to its adapter, and
records the events through the pipeline; an adapter only knows its format. One bad record never stops its
batch: it becomes a `Rejected` with where and why, and the good records go on.

What went wrong is said without quoting the feed: a `SourceError`, a `RecordError`, a rejection or a note names the
place (line 14, record 3, the column 'Date received'), the field and what was expected, never a value, a column
heading or key the feed sent, nor a parser library's own message (those often quote their input). A page may be
anything — an error page, another service's answer, a file nobody meant to publish — and these messages reach
the source's health, the staff overview, the API, the command line and the logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import ClassVar, Protocol

from pydantic import ValidationError

from sources.events.models import Event


@dataclass(frozen=True)
class Page:
    """One fetched document: where it came from, its bytes and its declared content type."""

    url: str
    body: bytes
    content_type: str | None = None


@dataclass(frozen=True)
class Rejected:
    """A record (or the whole page) that could not be used: `where` is 'line 14', 'record 113447/HHA', 'page'."""

    where: str
    reason: str


@dataclass
class Parsed:
    events: list[Event] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    # the newest change time seen, for feeds that can be asked for changes since (ISO 8601), else None
    cursor: str | None = None
    # things worth telling the council that are not rejections (an encoding guessed, a coordinate fixed)
    notes: list[str] = field(default_factory=list)
    # a schedule's last collection date (bins): one in the past means the feed lists nothing more to collect, and
    # the source's health raises an alert (sources.feeds.health); None for other feeds, or when not known
    last_collection: date | None = None


class SourceError(ValueError):
    """The page as a whole is unusable (an HTML error page served with 200, truncated JSON, wrong format); the
    message never quotes the page."""


class RecordError(ValueError):
    """One record is unusable; the message says where in it and what was expected, never what it held."""


def reason_for(error: Exception) -> str:
    """A rejected record's reason, safe to store and show: our own words from a RecordError or SourceError, the
    rule a pydantic field broke (its messages name the rule, not the input), else only the kind of error (a
    library's ValueError may quote the value it choked on)."""
    if isinstance(error, ValidationError):
        first = error.errors(include_url=False, include_input=False, include_context=False)[0]
        where = '.'.join(str(part) for part in first['loc'])
        message = first['msg'].removeprefix('Value error, ')
        return f'{where}: {message}' if where else message
    if isinstance(error, RecordError | SourceError):
        return str(error)
    return f'a value could not be read ({type(error).__name__})'


class Adapter(Protocol):
    kind: ClassVar[str]  # the name in `tellme sources add NAME --kind KIND`

    def first_url(self, url: str, options: Mapping[str, str], cursor: str | None, now: datetime) -> str:
        """The URL of the first page to fetch, e.g. with `changed_start=<cursor>` for feeds that support it."""
        ...

    def parse(self, page: Page, options: Mapping[str, str], *, source: str, now: datetime) -> Parsed:
        """Events from one page; raise SourceError when the page as a whole is unusable."""
        ...

    def next_url(self, page: Page, parsed: Parsed, options: Mapping[str, str]) -> str | None:
        """The next page of the same poll, or None."""
        ...
