"""The pages every message links to: the event (/e/{id}), confirm, and unsubscribe. Manage is subscriptions/manage*.

An event page never moves: /e/{id} shows that version of the news, with every version of the same thing (its
status history), who is responsible, the comment-by date with the council's comment link, and where it came from.
A private event (someone's case) answers only its token link, exactly as if it did not exist otherwise.

A link that is not ours, or whose subscription has gone, gets a kind page with status 404, never a traceback.
Unsubscribing follows RFC 8058: a POST to the same URL (which Notify's one-click header makes mail clients send,
with the body `List-Unsubscribe=One-Click` and no cookie) ends the subscription at once; doing it again changes
nothing. Confirming is a button too: mail scanners fetch links, and a GET that confirmed would let anyone sign up
someone else's address and have the scanner confirm it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg
from aiohttp import web

from notifier.app_keys import PG, SETTINGS
from notifier.outbox.links import EVENT_TOKEN_PURPOSE, event_path, is_private
from notifier.outbox.tokens import read_token, read_unsubscribe_token
from notifier.web import sessions
from notifier.web.csrf import csrf_exempt
from notifier.web.rendering import language, render
from subscriptions.manage.common import describe
from subscriptions.pages.how_far import how_far
from subscriptions.residents import queries
from subscriptions.residents.api import confirm_subscription, read_confirm_token
from subscriptions.topics import catalogue as topic_catalogue
from templates.personalisation import LONDON, event_label, format_date

routes = web.RouteTableDef()

TOKEN = r'{token:[0-9]{1,18}\.[A-Za-z0-9_-]{1,40}}'  # `<id>.<mac>` (so /confirm/code is someone else's page)
EVENT = """
select e.id, e.source, e.external_key, e.version, e.kind, e.topic, e.title, e.summary, e.changes, e.attributes,
       e.url, e.occurred_at, e.case_reference, s.options ->> 'council' as source_council,
       coalesce(s.options ->> 'label', e.source) as source_label
from events e left join sources s on s.name = e.source
where e.id = $1
"""
HISTORY = """
select id, version, kind, topic, title, changes, attributes, occurred_at, case_reference
from events where source = $1 and external_key = $2
order by version
"""
PRIVATE = {'Cache-Control': 'no-store'}  # pages reached with a token


def _when(moment: datetime, lang: str) -> str:
    return format_date(moment.astimezone(LONDON), lang) or ''


def _label(kind: str, topic: str, lang: str, topics: topic_catalogue.Catalogue) -> str:
    """The kind of news, as its messages say it: its own wording ('New planning application'), else the council's
    name for its topic ('Roadworks and road closures'), else 'News'."""
    return event_label(kind, topic, lang, topics.names())


def _is_case(kind: str, topic: str) -> bool:
    return kind.startswith('case.') or topic == 'cases'


def _changes(changes: list[dict[str, Any]]) -> list[str]:
    lines = []
    for change in changes or []:
        name = str(change.get('field') or '').replace('_', ' ')
        before, after = change.get('before'), change.get('after')
        lines.append(f'{name}: {before} → {after}' if before and after else f'{name}: {after or before or ""}')
    return lines


def _comment(attributes: dict[str, Any], url: str | None, lang: str) -> dict[str, Any] | None:
    """The comment-by date and where to comment (the event's comment link, else the council's page for it)."""
    raw = attributes.get('comment_by')
    if not raw:
        return None
    try:
        closes = date.fromisoformat(str(raw)[:10])
    except ValueError:
        return None
    link = attributes.get('comment_url') or url
    open_ = closes >= datetime.now(LONDON).date()
    return {'by': format_date(closes, lang), 'open': open_, 'url': link if isinstance(link, str) else None}


def _history_note(row: asyncpg.Record) -> list[str]:
    if _is_case(row['kind'], row['topic']):
        stage = (row['attributes'] or {}).get('status')
        return [str(stage)] if stage else []
    return _changes(row['changes'])


def _event_context(
    event: asyncpg.Record, history: list[asyncpg.Record], lang: str, council: str, link: Any,
    topics: topic_catalogue.Catalogue,
) -> dict:  # fmt: skip
    attributes = dict(event['attributes'] or {})
    case = _is_case(event['kind'], event['topic'])
    newest = history[-1]['id'] if history else event['id']
    return {
        'event': event,
        'label': _label(event['kind'], event['topic'], lang, topics),
        'when': _when(event['occurred_at'], lang),
        'paragraphs': [part for part in (event['summary'] or '').split('\n\n') if part.strip()],
        # a case update says what happened in its own words (the summary) and its stage by name (status): its
        # field-by-field changes (the note, the stage's key) would only say the same again in internal terms
        'changes': [] if case else _changes(event['changes']),
        'where': attributes.get('address') or attributes.get('location'),
        'status': attributes.get('status'),
        'council': attributes.get('authority') or event['source_council'] or council,
        'comment': _comment(attributes, event['url'], lang),
        'newer': link(newest) if newest != event['id'] else None,
        'history': [
            {'current': row['id'] == event['id'], 'href': link(row['id']), 'when': _when(row['occurred_at'], lang),
             'title': row['title'], 'label': _label(row['kind'], row['topic'], lang, topics),
             'changes': _history_note(row) if row['version'] > 1 else []}
            for row in history
        ] if len(history) > 1 else [],
    }  # fmt: skip


@routes.get(r'/e/{ref:[0-9]{1,18}(\.[A-Za-z0-9_-]{1,40})?}', name='event-page')
async def event_page(request: web.Request) -> web.Response:
    ref, settings = request.match_info['ref'], request.app[SETTINGS]
    secrets = settings.link_secrets
    by_token = '.' in ref
    event_id = read_token(secrets, EVENT_TOKEN_PURPOSE, ref) if by_token else int(ref)
    async with request.app[PG].acquire() as conn:
        event = await conn.fetchrow(EVENT, event_id) if event_id is not None else None
        if event is None or (not by_token and is_private(event['topic'], event['case_reference'])):
            raise web.HTTPNotFound()
        history = list(await conn.fetch(HISTORY, event['source'], event['external_key']))
        # a record that was ever private (someone's case) has no public page at all, history included
        if not by_token and any(is_private(row['topic'], row['case_reference']) for row in history):
            raise web.HTTPNotFound()
        topics = await topic_catalogue.load(conn)

    def link(other_id: int) -> str:
        return event_path(other_id, private=by_token, secret=secrets[0] if secrets else None)

    lang = language(request)
    context = _event_context(event, history, lang, settings.council_name_for(lang), link, topics)
    context['private'] = by_token
    context['how_far'] = await how_far(request, event['id'], language(request))
    return render(request, 'event/event.html', context)


def broken(request: web.Request, title: str, body: str) -> web.Response:
    """A link of ours that does not (or no longer) work: a kind page, status 404, never cached."""
    return render(request, 'links/broken.html', {'title_key': title, 'body_key': body}, status=404)


@routes.get(f'/confirm/{TOKEN}', name='confirm-page')
async def confirm_page(request: web.Request) -> web.Response:
    subscription_id = read_confirm_token(request.app[SETTINGS], request.match_info['token'])
    if subscription_id is None:
        return broken(request, 'links.broken.title', 'links.broken.body')
    # a link already used says so, rather than asking again (and warning that the details will be deleted)
    subscription = await queries.get_subscription(request.app[PG], subscription_id)  # type: ignore[arg-type]
    if subscription is None:
        return broken(request, 'links.confirm.expired_title', 'links.confirm.expired_body')
    if subscription.status != 'pending':
        return render(request, 'links/confirmed.html', {'ended': subscription.status == 'ended', 'already': True})
    return render(request, 'links/confirm.html')


@routes.post(f'/confirm/{TOKEN}', name='confirm')
@csrf_exempt  # the unguessable token in the URL is the proof; a forged POST cannot know it
async def confirm(request: web.Request) -> web.Response:
    subscription_id = read_confirm_token(request.app[SETTINGS], request.match_info['token'])
    if subscription_id is None:
        return broken(request, 'links.broken.title', 'links.broken.body')
    signed_in = (await sessions.get(request)).resident_id  # only this browser's own sign-in proves anything
    async with request.app[PG].acquire() as conn, conn.transaction():
        status = await confirm_subscription(conn, subscription_id, signed_in=signed_in)
    if status is None:
        return broken(request, 'links.confirm.expired_title', 'links.confirm.expired_body')
    return render(request, 'links/confirmed.html', {'ended': status == 'ended', 'already': False})


async def _subscription_for(request: web.Request) -> tuple[int, Any] | web.Response:
    subscription_id = read_unsubscribe_token(request.app[SETTINGS].link_secrets, request.match_info['token'])
    if subscription_id is None:
        return broken(request, 'links.broken.title', 'links.broken.body')
    subscription = await queries.get_subscription(request.app[PG], subscription_id)  # type: ignore[arg-type]
    if subscription is None:
        return broken(request, 'links.unsubscribe.gone_title', 'links.unsubscribe.gone_body')
    return subscription_id, subscription


@routes.get(f'/unsubscribe/{TOKEN}', name='unsubscribe-page')
async def unsubscribe_page(request: web.Request) -> web.Response:
    found = await _subscription_for(request)
    if isinstance(found, web.Response):
        return found
    _, subscription = found
    if subscription.status == 'ended':
        return render(request, 'links/unsubscribed.html')
    names = await topic_catalogue.names(request.app[PG])
    what = describe(subscription, language(request), capital=False, names=names)
    return render(request, 'links/unsubscribe.html', {'what': what})


@routes.post(f'/unsubscribe/{TOKEN}', name='unsubscribe')
@csrf_exempt  # RFC 8058: mail clients POST here with no cookie; the token in the URL is the proof
async def unsubscribe(request: web.Request) -> web.Response:
    found = await _subscription_for(request)
    if isinstance(found, web.Response):
        return found
    subscription_id, _ = found
    async with request.app[PG].acquire() as conn, conn.transaction():
        await queries.end_subscription(conn, subscription_id, reason='unsubscribed', by='resident')
    return render(request, 'links/unsubscribed.html')
