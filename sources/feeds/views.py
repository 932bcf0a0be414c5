"""`GET /api/sources`: every feed and, for those who may see it, its health, for dashboards and monitoring (admin
and system tokens).

A source's health — its state, when it last worked and failed, its last error, its URL and what it may reach — is
shown only to admins and to tokens bound to that source (`tellme staff create-token --source NAME`); any other
caller sees the feed's name, kind and status. A failing feed's error describes the failure without quoting what
the feed sent, but where it was fetched from and how it is failing is still the administrators' business and
that source's own system's. The staff overview (notifier/overview/pages.py) follows the same rule. Secret headers
are never returned: only their names.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from notifier.api.auth import CALLER, iso, requires
from notifier.app_keys import PG
from sources.feeds import registry
from sources.feeds.cli_report import state
from sources.feeds.fetch import shown

routes = web.RouteTableDef()


def shows_health(*, admin: bool, bound: Collection[str], source: str) -> bool:
    """Whether a caller may see `source`'s health and last error: an admin, or a token bound to that source."""
    return admin or source in bound


def _health(s: registry.Source, now: datetime) -> dict[str, Any]:
    return {
        'url': shown(s.url),
        'health': state(s, now).lower(),
        'healthy': state(s, now) in ('ok', 'new', 'erroring', 'paused'),
        'last_polled_at': iso(s.last_polled_at),
        'last_success_at': iso(s.last_success_at),
        'last_failure_at': iso(s.last_failure_at),
        'last_error': s.last_error,
        'consecutive_failures': s.consecutive_failures,
        'failing_since': iso(s.failing_since),
        'last_records_seen': s.last_records_seen,
        'last_news_at': iso(s.last_news_at),
        'next_poll_at': iso(s.next_poll_at),
        'alerts': {
            'failing': iso(s.failing_alert_at),
            'silent': iso(s.silent_alert_at),
            'ended': iso(s.ended_alert_at),
        },
        'last_collection_on': s.last_collection_on.isoformat() if s.last_collection_on else None,
        'secret_headers': s.header_names,
        'allow_internal': s.allow_internal,
        'allow_file': s.allow_file,
    }


@routes.get('/api/sources', name='api-sources')
@requires('admin', 'system')
async def list_sources(request: web.Request) -> web.Response:
    caller = request[CALLER]
    now = datetime.now(UTC)
    listed = []
    for s in await registry.list_sources(request.app[PG]):
        entry: dict[str, Any] = {
            'name': s.name,
            'kind': s.kind,
            'status': s.status,
            'interval_seconds': int(s.interval.total_seconds()),
        }
        if shows_health(admin=caller.role == 'admin', bound=caller.sources, source=s.name):
            entry.update(_health(s, now))
        listed.append(entry)
    return web.json_response({'sources': listed})
