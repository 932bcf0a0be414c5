"""`GET /api/sources`: every feed and its health, for dashboards and monitoring (admin and system tokens).

Secret headers are never returned: only their names.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from notifier.api_auth import iso, requires
from notifier.app_keys import PG
from sources import registry
from sources.cli_report import state
from sources.fetch import shown

routes = web.RouteTableDef()


@routes.get('/api/sources', name='api-sources')
@requires('admin', 'system')
async def list_sources(request: web.Request) -> web.Response:
    now = datetime.now(UTC)
    sources = await registry.list_sources(request.app[PG])
    return web.json_response(
        {
            'sources': [
                {
                    'name': s.name,
                    'kind': s.kind,
                    'url': shown(s.url),
                    'interval_seconds': int(s.interval.total_seconds()),
                    'status': s.status,
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
                    'alerts': {'failing': iso(s.failing_alert_at), 'silent': iso(s.silent_alert_at)},
                    'secret_headers': s.header_names,
                }
                for s in sources
            ]
        }
    )
