"""Open311 paging by time window: read [cursor, now] completely, whatever order the server returns records in.

Open311 servers answer `requests.json?start_date=&end_date=` with at most a server-chosen number of records
(the spec's default cap is 1000; set `page_size` to a server's own cap), and not every server sorts them the same
way: some send the oldest first, some the newest. A page holding exactly `page_size` records is therefore taken
as incomplete, whatever is in it: its records are not used, and the window is narrowed — to just below the
newest time seen when the page came oldest-first, else to the median time seen (or the middle of the window) —
until a window comes back with fewer records than the cap. The sweep then moves on from that window's end to
`now`. A window of one second that is still full cannot be narrowed (W3C times have no finer grain): its records
are used, with a note that some in that second may be missing.

At most `max_requests` requests (default 20) are made per poll; the cursor then stays at the start of the
unread part, so the next poll continues from there. The page number, and any cursor hold (an update refused
for an unknown status, which must be read again once the mapping is fixed), ride along in the follow-up URLs as
`tellme_request` and `tellme_hold`: the framework hands an adapter only the page URL, and servers ignore query
parameters they do not know.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

_LONDON = ZoneInfo('Europe/London')
REQUEST, HOLD = 'tellme_request', 'tellme_hold'
SECOND = timedelta(seconds=1)


def when(text: str | None) -> datetime | None:
    """A W3C date-time (one without a zone is UK time); ValueError when it is not one."""
    if not text:
        return None
    moment = datetime.fromisoformat(text.strip().replace('Z', '+00:00'))
    return moment if moment.tzinfo else moment.replace(tzinfo=_LONDON)


def w3c(moment: datetime) -> str:
    """In UTC, so that cursors from pages with different offsets compare as text in time order."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def with_params(url: str, **values: str | None) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in values]
    query.extend((k, v) for k, v in values.items() if v is not None)
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass(frozen=True)
class Window:
    """The time window one page was asked for, and where it stands in its poll."""

    start: datetime
    end: datetime
    request: int  # 1 for the poll's first page
    hold: datetime | None  # the cursor must not move past this (an update refused for an unknown status)

    @classmethod
    def of(cls, url: str) -> Window | None:
        """The window in a URL this adapter made; None for a URL without one (a fixed document)."""
        query = dict(parse_qsl(urlsplit(url).query))
        try:
            start, end, hold = when(query.get('start_date')), when(query.get('end_date')), when(query.get(HOLD))
            request = int(query.get(REQUEST, '1'))
        except ValueError:
            return None
        if start is None or end is None:
            return None
        return cls(start, end, request, hold)

    def url(self, page_url: str, start: datetime, end: datetime, hold: datetime | None) -> str:
        return with_params(
            page_url, start_date=w3c(start), end_date=w3c(end), **{REQUEST: str(self.request + 1)},
            **{HOLD: w3c(hold) if hold else None},
        )  # fmt: skip


def split_point(window: Window, times: list[datetime]) -> datetime | None:
    """Where to narrow a full page's window to: just below the newest time when the page came oldest-first (the
    narrower window then holds only what was seen), halfway to the oldest time when it came newest-first (what was
    left out is older), else the median time seen, else the middle of the window; None when the window is one
    second and cannot be narrowed."""
    inside = [moment for moment in times if window.start <= moment <= window.end]
    ordered = sorted(inside)
    point: datetime | None = None
    if inside and inside == ordered:
        below = [moment for moment in ordered if moment < ordered[-1]]
        point = below[-1] if below else None
    elif inside and inside == ordered[::-1]:
        point = _middle(window.start, ordered[0])  # newest-first: what was left out is older than all of these
    elif inside:
        point = ordered[len(ordered) // 2]
    if point is None or not window.start < point < window.end:
        point = _middle(window.start, window.end)
    if not window.start < point < window.end:
        return None
    return point


def _middle(start: datetime, end: datetime) -> datetime:
    return (start + (end - start) / 2).replace(microsecond=0)


def earlier(a: datetime | None, b: datetime | None) -> datetime | None:
    return min(filter(None, (a, b)), default=None)
