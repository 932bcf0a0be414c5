"""`/d/{token}`: every item of one digest, for the "see all" link (a digest message shows only the first few).

The token, not the digest id, is in the URL: the list says roughly where someone lives, so the page is never
cached. A link that is not ours, or whose list has gone, gets the kind "this link does not work" page (404).
"""

from __future__ import annotations

import asyncpg
from aiohttp import web

from notifier.app_keys import PG, SETTINGS
from notifier.outbox import links
from notifier.outbox.tokens import read_token
from notifier.web.rendering import language, render
from subscriptions.matching.digests import DIGEST_TOKEN_PURPOSE
from subscriptions.pages.links import broken
from templates.personalisation import LONDON, format_date

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
        return broken(request, 'links.digest.gone_title', 'links.digest.gone_body')
    lang = language(request)
    entries = [
        {'href': _url(item, settings.link_secrets[0]), 'title': item['title'], 'summary': item['summary'],
         'when': format_date(item['occurred_at'].astimezone(LONDON), lang)}
        for item in items
    ]  # fmt: skip
    return render(request, 'links/digest.html', {'items': entries, 'count': len(entries)})
