"""The manage link in every message (/manage/s/{token}): it opens THAT subscription for changes, without a sign-in.

The link is the proof, as the unsubscribe link is: an HMAC of the subscription's id under the secret key
(notifier/outbox/tokens.py), made for this purpose only, never stored and never expiring. Opening it gives this
browser a session of its own — a new id, so nothing planted in the browser beforehand can ride on it, lasting as long
as a sign-in does after its last use (notifier/web/sessions.py `renew`) — that holds the subscription's id and no
resident: a link-scoped session. With it, that subscription's page and its changes (topics, distance, how often,
channels among the addresses the resident already has, quiet hours, pause, unsubscribe) work for that subscription
only (subscriptions/manage/common.py `subscription_page`). Everything else the resident holds — the list of their
subscriptions, "unsubscribe from everything", downloading or deleting their data — still needs a sign-in, and the
page says so, with a way to sign in.

Once the subscription has ended the link no longer opens it (it says the updates have stopped); a forged, garbled
or mistyped token, or one for a subscription that is gone with its resident's data, is "page not found" and nothing
more. The resident signed in who owns the subscription goes straight to its page.
"""

from __future__ import annotations

from aiohttp import web

from notifier.app_keys import PG
from notifier.web import sessions
from notifier.web.rendering import render
from subscriptions.manage.common import LINKED, linked, read_manage_token, secrets_of, see_other
from subscriptions.residents import queries

routes = web.RouteTableDef()

KEEP = 5  # the manage links a browser holds at once (several emails opened in turn); the oldest is let go


@routes.get('/manage/s/{token}', name='manage-subscription-link')
async def manage_link(request: web.Request) -> web.Response:
    subscription_id = read_manage_token(secrets_of(request), request.match_info['token'])
    subscription = await queries.get_subscription(request.app[PG], subscription_id) if subscription_id else None
    if subscription is None or subscription.status == 'pending':  # no manage link is sent before confirming
        raise web.HTTPNotFound()
    if subscription.status == 'ended':
        return render(request, 'manage/link_ended.html', status=410)
    page = f'/manage/subscriptions/{subscription.id}'
    session = await sessions.get(request)
    if session.resident_id == subscription.resident_id:
        return see_other(page)
    session = await sessions.renew(request)
    session.set(LINKED, [*(i for i in linked(session) if i != subscription.id)][-(KEEP - 1) :] + [subscription.id])
    await sessions.save(request, session)
    return see_other(page)
