"""The service overview for the people who own Tell Me: /staff/overview (a page) and GET /api/overview (JSON).

Who sees it: admin, approver and comms. Approvers are the managers who sign off large bulletins, the people who
answer for the service's cost and reach; comms teams use the reach and the saving to plan and justify bulletins.
Case officers work one case at a time and do not need it (they see their case's messages on the case page).
A feed's health and last error are shown only to admins (and, on the API, to a token bound to that source), as on
GET /api/sources (sources/feeds/views.py); everyone else sees which feeds there are.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from datetime import datetime
from typing import Any

from aiohttp import web

from notifier.api.auth import CALLER, requires
from notifier.app_keys import PG, SETTINGS
from notifier.overview import charts as svg_charts
from notifier.overview import figures as overview
from notifier.overview.charts import Series
from notifier.sending import template_links
from notifier.staff import auth as staff_auth
from notifier.staff import pages as staff_pages
from sources.feeds.views import shows_health

ROLES = ('comms', 'approver')  # and admin, who may do everything
# delivered green, on the way blue, failed red, cancelled grey (GOV.UK colours); the legend names each
STATUS_COLOURS = {'Delivered': '#00703c', 'On the way': '#1d70b8', 'Failed': '#d4351c', 'Cancelled': '#505a5f'}
routes = web.RouteTableDef()
staff_pages.STAFF_MENU.append(('/staff/overview', 'Service overview', ROLES))


def pounds(pence: int) -> str:
    return f'£{pence / 100:,.2f}'


def charts(view: overview.Overview) -> dict[str, object]:
    """The page's SVG charts (each has the same numbers in a table below it on the page)."""
    days = [f'{day:%d %b}' for day in view.days]
    first, last = days[0], days[-1]
    return {
        'topic': svg_charts.bar_chart(
            'chart-topic', 'People subscribed, by topic',
            f'Bar chart of the number of people with an active subscription to each topic. '
            f'{len(view.by_topic)} topics; the table below has the figures.',
            [(c.label, c.residents) for c in view.by_topic],
        ),
        'area': svg_charts.bar_chart(
            'chart-area', 'People subscribed, by area',
            'Bar chart of the number of people with an active subscription in each ward or district, or by the '
            'kind of subscription where no area is known. The table below has the figures.',
            [(c.label, c.residents) for c in view.by_area[:15]],
        ),
        'channel': svg_charts.bar_chart(
            'chart-channel', 'People subscribed, by channel',
            'Bar chart of the number of people getting messages by email, text message and letter.',
            [(c.label, c.residents) for c in view.by_channel],
        ),
        'per_day_channel': svg_charts.line_chart(
            'chart-per-day-channel', 'Messages per day, by channel',
            f'Line chart of messages sent each day from {first} to {last}, one line each for email, text message '
            'and letter. The table below has the figures.',
            days, [Series(overview.CHANNEL_NAMES[c], v) for c, v in view.per_day_channel.items()],
        ),
        'per_day_status': svg_charts.stacked_columns(
            'chart-per-day-status', 'Messages per day, by status',
            f'Stacked column chart of messages each day from {first} to {last}, split into delivered, on the way, '
            'failed and cancelled. The table below has the figures.',
            days, [Series(group, v, STATUS_COLOURS[group]) for group, v in view.per_day_status.items()],
        ),
    }  # fmt: skip


def for_viewer(view: overview.Overview, *, admin: bool, bound: Collection[str] = ()) -> overview.Overview:
    """The overview as this viewer may see it: a source's health and last error only for admins and tokens bound
    to that source; its name, kind and status for everyone."""
    sources = [
        s if shows_health(admin=admin, bound=bound, source=s['name']) else {k: s[k] for k in ('name', 'kind', 'status')}
        for s in view.sources
    ]
    return dataclasses.replace(view, sources=sources)


def as_json(view: overview.Overview) -> dict[str, Any]:
    """The overview as GET /api/overview answers it."""

    def counts(items: list[overview.Count]) -> list[dict[str, Any]]:
        return [{'label': c.label, 'key': c.key, 'subscriptions': c.subscriptions, 'residents': c.residents}
                for c in items]  # fmt: skip

    def moment(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        'since': view.since.isoformat(),
        'days': [day.isoformat() for day in view.days],
        'subscribers': {
            'subscriptions': view.subscriptions, 'residents': view.residents,
            'by_topic': counts(view.by_topic), 'by_area': counts(view.by_area),
            'by_channel': counts(view.by_channel),
        },
        'messages': {
            'per_day_by_channel': view.per_day_channel,
            'per_day_by_status': {key.lower().replace(' ', '_'): v for key, v in view.per_day_status.items()},
            **view.totals,
        },
        'failures': view.failures,
        'suppressed': view.suppressed,
        'sources': [
            {**s, **{key: moment(s[key]) for key in ('last_success_at', 'last_news_at') if key in s}}
            for s in view.sources
        ],
        'avoided_contacts': {
            'case_updates': view.saving.case_updates, 'bulletins': view.saving.bulletins,
            'text_answers': view.saving.text_answers,
            'contacts': view.saving.contacts, 'other_news_not_counted': view.saving.other_news,
            'saving_per_contact_pence': view.saving.pence_each, 'saving_pence': view.saving.pence,
            'method': overview.SAVING_RULE,
        },
    }  # fmt: skip


@routes.get('/staff/overview', name='staff-overview')
@staff_auth.staff_page(*ROLES)
async def overview_page(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    async with request.app[PG].acquire() as conn:
        view = await overview.gather(conn, saving_pence=settings.saving_per_contact_pence)
        unlinked = await template_links.problems(conn, settings)
    view = for_viewer(view, admin='admin' in request[staff_auth.STAFF].roles)
    context = {
        'view': view, 'charts': charts(view), 'pounds': pounds, 'rule': overview.SAVING_RULE,
        'channel_names': overview.CHANNEL_NAMES, 'unlinked': unlinked,
    }  # fmt: skip
    return staff_pages.render(request, 'staff/overview/overview.html', context)


@routes.get('/api/overview', name='api-overview')
@requires(*ROLES)
async def overview_api(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    async with request.app[PG].acquire() as conn:
        view = await overview.gather(conn, saving_pence=settings.saving_per_contact_pence)
        unlinked = await template_links.problems(conn, settings)
    caller = request[CALLER]
    body = as_json(for_viewer(view, admin=caller.role == 'admin', bound=caller.sources))
    body['notify_templates_unusable'] = [link.as_json() for link in unlinked]
    return web.json_response(body)
