"""The pages every message links to: the event (/e/{id}), confirm, unsubscribe and manage.

Minimal, real HTML with every value escaped (the GOV.UK design system comes later). A link that is not ours, or
whose subscription has gone, gets a kind page with status 404, never a traceback. Unsubscribing follows
RFC 8058: a POST to the same URL (which Notify's one-click header makes mail clients send, with the body
`List-Unsubscribe=One-Click`) ends the subscription at once, and doing it again changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from html import escape
from typing import Any

import asyncpg
from aiohttp import web

from notifier.app_keys import PG, SETTINGS
from notifier.csrf import csrf_exempt
from subscriptions import queries
from subscriptions.api import confirm_subscription, read_confirm_token
from subscriptions.links import EVENT_TOKEN_PURPOSE, event_path, is_private
from subscriptions.tokens import read_token, read_unsubscribe_token
from templates.personalisation import LONDON, describe_subscription, format_date

routes = web.RouteTableDef()

EVENT = """
select id, source, external_key, version, kind, topic, title, summary, changes, attributes, url, occurred_at,
       created_at, case_reference
from events where id = $1
"""
HISTORY = """
select id, version, kind, title, changes, occurred_at
from events where source = $1 and external_key = $2
order by version
"""
PRIVATE = {'Cache-Control': 'no-store'}  # pages reached with a token


def page(title: str, body: str, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{escape(title)} – Tell Me</title></head>'
        f'<body><main><h1>{escape(title)}</h1>{body}</main></body></html>'
    )
    return web.Response(text=html, content_type='text/html', charset='utf-8', status=status, headers=headers)


def not_found(title: str, explanation: str) -> web.Response:
    return page(title, f'<p>{escape(explanation)}</p>', status=404, headers=PRIVATE)


def _when(moment: datetime) -> str:
    local = moment.astimezone(LONDON)
    return f'{format_date(local.date(), "en")}, {local:%H:%M}'


def _decode(value: Any, empty: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else (value if value is not None else empty)


def _changes_html(changes: list[dict[str, Any]]) -> str:
    items = []
    for change in changes:
        name = str(change.get('field') or '').replace('_', ' ')
        before, after = change.get('before'), change.get('after')
        text = f'{name}: {before} → {after}' if before and after else f'{name}: {after or before or ""}'
        items.append(f'<li>{escape(text)}</li>')
    return f'<ul>{"".join(items)}</ul>' if items else ''


def _history_html(rows: list[asyncpg.Record], current: int, link: Callable[[int], str]) -> str:
    items = []
    for row in rows:
        label = f'{_when(row["occurred_at"])}: {row["title"]} ({row["kind"]})'
        changes = _decode(row['changes'], [])
        summary = '; '.join(
            f'{c.get("field")}: {c.get("before") or "–"} → {c.get("after") or "–"}' for c in changes if c.get('field')
        )
        text = escape(label) + (f' — {escape(summary)}' if summary and row['version'] > 1 else '')
        items.append(
            f'<li><strong>{text}</strong></li>'
            if row['id'] == current
            else f'<li><a href="{escape(link(row["id"]))}">{text}</a></li>'
        )
    return f'<h2>History</h2><ol>{"".join(items)}</ol>' if len(rows) > 1 else ''


@routes.get(r'/e/{ref:[0-9]{1,18}(\.[A-Za-z0-9_-]{1,40})?}', name='event-page')
async def event_page(request: web.Request) -> web.Response:
    ref, secrets = request.match_info['ref'], request.app[SETTINGS].link_secrets
    by_token = '.' in ref
    event_id = read_token(secrets, EVENT_TOKEN_PURPOSE, ref) if by_token else int(ref)
    async with request.app[PG].acquire() as conn:
        event = await conn.fetchrow(EVENT, event_id) if event_id is not None else None
        # a private event (someone's case) answers only its token link, exactly as if it did not exist otherwise
        if event is None or (not by_token and is_private(event['topic'], event['case_reference'])):
            return not_found('Page not found', 'We could not find this update. Check the link is complete.')
        history = await conn.fetch(HISTORY, event['source'], event['external_key'])

    def link(other_id: int) -> str:
        return event_path(other_id, private=by_token, secret=secrets[0] if secrets else None)

    attributes = _decode(event['attributes'], {})
    where = attributes.get('address') or attributes.get('location')
    parts = [f'<p>{escape(_when(event["occurred_at"]))}</p>']
    if event['summary']:
        parts += [f'<p>{escape(paragraph)}</p>' for paragraph in event['summary'].split('\n\n') if paragraph.strip()]
    changes = _changes_html(_decode(event['changes'], []))
    if changes:
        parts.append(f'<h2>What has changed</h2>{changes}')
    if where:
        parts.append(f'<h2>Where</h2><p>{escape(str(where))}</p>')
    if event['url']:
        url = escape(event['url'], quote=True)
        parts.append(f'<p><a href="{url}" rel="noopener noreferrer">Read more on the council’s website</a></p>')
    if len(history) > 1 and history[-1]['id'] != event['id']:
        newer = escape(link(history[-1]['id']))
        parts.append(f'<p><a href="{newer}">There is a newer update about this</a></p>')
    parts.append(_history_html(list(history), event['id'], link))
    return page(event['title'], ''.join(parts), headers=PRIVATE if by_token else None)


@routes.get('/confirm/{token}', name='confirm-page')
async def confirm_page(request: web.Request) -> web.Response:
    """A button, not an action: mail scanners fetch links in messages, and a GET that confirmed would let
    anyone sign up someone else's address and have the scanner confirm it."""
    subscription_id = read_confirm_token(request.app[SETTINGS], request.match_info['token'])
    if subscription_id is None:
        return not_found('This link does not work', 'Check you copied the whole link from your message.')
    return page(
        'Confirm your subscription',
        '<p>Press the button to start getting updates. If you did not sign up, ignore this page.</p>'
        '<form method="post"><button type="submit">Confirm</button></form>',
        headers=PRIVATE,
    )


@routes.post('/confirm/{token}', name='confirm')
@csrf_exempt  # the unguessable token in the URL is the proof; a forged POST cannot know it
async def confirm(request: web.Request) -> web.Response:
    subscription_id = read_confirm_token(request.app[SETTINGS], request.match_info['token'])
    if subscription_id is None:
        return not_found('This link does not work', 'Check you copied the whole link from your message.')
    async with request.app[PG].acquire() as conn, conn.transaction():
        status = await confirm_subscription(conn, subscription_id)
    if status is None:
        return not_found(
            'This sign-up has expired',
            'Sign-ups that are not confirmed within 7 days are deleted. Please sign up again.',
        )
    if status == 'ended':
        return page('This subscription has ended', '<p>Sign up again to hear about this.</p>', headers=PRIVATE)
    return page(
        'You’re signed up',
        '<p>Thank you for confirming. We will tell you when something you asked about happens.</p>'
        '<p>Every message has a link to stop it.</p>',
        headers=PRIVATE,
    )


async def _subscription_for(request: web.Request) -> tuple[int, Any] | web.Response:
    subscription_id = read_unsubscribe_token(request.app[SETTINGS].link_secrets, request.match_info['token'])
    if subscription_id is None:
        return not_found('This link does not work', 'Check you copied the whole link from your message.')
    subscription = await queries.get_subscription(request.app[PG], subscription_id)  # type: ignore[arg-type]
    if subscription is None:
        return not_found(
            'Nothing to unsubscribe from',
            'This subscription no longer exists, so we will not send you anything about it.',
        )
    return subscription_id, subscription


@routes.get('/unsubscribe/{token}', name='unsubscribe-page')
async def unsubscribe_page(request: web.Request) -> web.Response:
    found = await _subscription_for(request)
    if isinstance(found, web.Response):
        return found
    _, subscription = found
    if subscription.status == 'ended':
        return page(
            'You have unsubscribed', '<p>We will not send you any more messages about this.</p>', headers=PRIVATE
        )
    what = describe_subscription(
        'en', kind=subscription.kind, topics=subscription.topics, radius_m=subscription.radius_m,
        place='your chosen place' if subscription.kind == 'near' else None, case_reference=subscription.case_reference,
    )  # fmt: skip
    return page(
        'Unsubscribe',
        f'<p>Stop getting messages about {escape(what)}?</p>'
        '<form method="post"><button type="submit">Unsubscribe</button></form>',
        headers=PRIVATE,
    )


@routes.post('/unsubscribe/{token}', name='unsubscribe')
@csrf_exempt  # RFC 8058: mail clients POST here with no cookie; the token in the URL is the proof
async def unsubscribe(request: web.Request) -> web.Response:
    found = await _subscription_for(request)
    if isinstance(found, web.Response):
        return found
    subscription_id, _ = found
    async with request.app[PG].acquire() as conn, conn.transaction():
        await queries.end_subscription(conn, subscription_id, reason='unsubscribed', by='resident')
    return page('You have unsubscribed', '<p>We will not send you any more messages about this.</p>', headers=PRIVATE)


@routes.get('/manage', name='manage-page')
async def manage_page(request: web.Request) -> web.Response:
    return page(
        'Manage your updates',
        '<p>To stop a kind of message, use the unsubscribe link at the bottom of any message about it.</p>'
        '<p>To change what you hear about, or to have your details deleted, contact the council.</p>',
    )
