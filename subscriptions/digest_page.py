"""`/d/{token}`: every item of one digest, for the "see all" link (a digest message shows only the first few).

The token, not the digest id, is in the URL: the list says roughly where someone lives.
"""

from __future__ import annotations

from html import escape

import asyncpg
from aiohttp import web

from notifier.app_keys import PG, SETTINGS
from subscriptions import links
from subscriptions.digests import DIGEST_TOKEN_PURPOSE
from subscriptions.pages import PRIVATE, not_found, page
from subscriptions.tokens import read_token

routes = web.RouteTableDef()

ITEMS = """
select e.id, e.title, e.summary, e.occurred_at, e.topic, e.case_reference
from notifications n join events e on e.id = n.event_id
where n.digest_id = $1 and n.status = 'digested'
order by e.occurred_at desc, e.id desc
"""


def _url(item: asyncpg.Record, secret: bytes) -> str:
    private = links.is_private(item['topic'], item['case_reference'])
    return links.event_path(item['id'], private=private, secret=secret)


@routes.get('/d/{token}', name='digest')
async def digest(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    digest_id = read_token(settings.link_secrets, DIGEST_TOKEN_PURPOSE, request.match_info['token'])
    items = await request.app[PG].fetch(ITEMS, digest_id) if digest_id is not None else []
    if not items:
        return not_found('Page not found', 'This link is not one of ours, or the list it showed has been removed.')
    entries = ''.join(
        f'<li><a href="{escape(_url(item, settings.link_secrets[0]))}">{escape(item["title"])}</a>'
        f'<p>{escape(item["summary"])}</p></li>'
        for item in items
    )
    return page(f'Your {len(items)} updates', f'<ul>{entries}</ul>', headers=PRIVATE)
