"""How far an event is from the viewer's own place, for its page: "About 150 m from M32 0TH".

Only a browser that proves it holds a subscription learns it: signed in (the resident's near subscriptions), or
holding manage links (the subscriptions those links opened: subscriptions/manage/link_scope.py). Everyone else sees
the page as the public does, so a page never says whose home is near what. The nearest of the viewer's places that
has a postcode is used, measured as matching measures (notifier/distance.py).
"""

from __future__ import annotations

from aiohttp import web

from notifier.app_keys import PG
from notifier.distance import great_circle_sql
from notifier.web import sessions
from subscriptions.manage.common import linked
from templates.personalisation import about_from

NEAREST = f"""
select s.postcode, {great_circle_sql('s.centre_lat', 's.centre_lng', 'e.lat', 'e.lng')} as metres
from events e
join subscriptions s on s.kind = 'near' and s.postcode is not null and s.status <> 'ended'
                    and (s.resident_id = $2 or s.id = any($3::bigint[]))
where e.id = $1 and e.lat is not null and e.lng is not null
order by metres, s.id
limit 1
"""


async def how_far(request: web.Request, event_id: int, language: str) -> str | None:
    """'About 150 m from M32 0TH' for a viewer with a near subscription, else None."""
    if not request.cookies.get(sessions.COOKIE):  # no session to prove anything: the public page
        return None
    session = await sessions.get(request)
    mine = linked(session)
    if session.resident_id is None and not mine:
        return None
    row = await request.app[PG].fetchrow(NEAREST, event_id, session.resident_id, mine)
    if row is None:
        return None
    words = about_from(language, row['metres'], row['postcode'])
    return words[:1].upper() + words[1:]
