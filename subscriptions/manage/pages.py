"""Your subscriptions, one subscription, pause and resume, unsubscribe from one or from everything.

The list and "unsubscribe from everything" need a sign-in; one subscription's page, pausing, resuming and
unsubscribing from it are also open to the browser that opened its manage link (subscriptions/manage/common.py
`subscription_page`, subscriptions/manage/link_scope.py).

Changing what a subscription is about or how it reaches you is in subscriptions/manage/changes.py; your data
(download, delete) in subscriptions/manage/your_data.py. Every change is a POST with the CSRF token, answered with a
redirect to the page that shows the result and a success banner.
"""

from __future__ import annotations

from aiohttp import web

from notifier.app_keys import PG
from notifier.web.rendering import language, render
from subscriptions.manage.common import (
    Access,
    flash,
    see_other,
    signed_in_only,
    subscription_page,
    summary,
    take_flash,
)
from subscriptions.residents import queries
from subscriptions.residents.models import Subscription
from subscriptions.topics import catalogue as topic_catalogue

routes = web.RouteTableDef()

LIVE = ('active', 'paused', 'pending')


def _path(subscription: Subscription, tail: str = '') -> str:
    return f'/manage/subscriptions/{subscription.id}{tail}'


@routes.get('/manage/subscriptions', name='manage-subscriptions')
@signed_in_only
async def subscriptions_page(request: web.Request, resident_id: int) -> web.Response:
    lang = language(request)
    every = await queries.list_subscriptions(request.app[PG], resident_id)
    topics = await topic_catalogue.load(request.app[PG])
    live = [summary(sub, lang, topics) for sub in every if sub.status in LIVE]
    ended = sum(1 for sub in every if sub.status == 'ended')
    return render(
        request,
        'manage/subscriptions.html',
        {'subscriptions': live, 'ended': ended, 'flash': await take_flash(request)},
    )


@routes.get('/manage/subscriptions/{id}', name='manage-subscription')
@subscription_page
async def one_subscription(request: web.Request, access: Access) -> web.Response:
    subscription = access.subscription
    details = summary(subscription, language(request), await topic_catalogue.load(request.app[PG]))
    changeable = subscription.status in LIVE
    return render(
        request,
        'manage/subscription.html',
        {
            'sub': details,
            'by_link': access.by_link,
            'changeable': changeable,
            'radius': changeable and subscription.kind == 'near',
            'topics': changeable and subscription.kind in ('near', 'area'),
            'frequency': changeable and 'letter' not in subscription.channels,
            'flash': await take_flash(request),
        },
    )


@routes.post('/manage/subscriptions/{id}/pause', name='manage-pause')
@subscription_page
async def pause(request: web.Request, access: Access) -> web.Response:
    async with request.app[PG].acquire() as conn:
        if await queries.pause_subscription(conn, access.subscription.id):
            await flash(request, 'manage.flash.paused')
    return see_other(_path(access.subscription))


@routes.post('/manage/subscriptions/{id}/resume', name='manage-resume')
@subscription_page
async def resume(request: web.Request, access: Access) -> web.Response:
    async with request.app[PG].acquire() as conn:
        if await queries.resume_subscription(conn, access.subscription.id):
            await flash(request, 'manage.flash.resumed')
    return see_other(_path(access.subscription))


@routes.get('/manage/subscriptions/{id}/unsubscribe', name='manage-unsubscribe-one')
@subscription_page
async def unsubscribe_one_page(request: web.Request, access: Access) -> web.Response:
    subscription = access.subscription
    if subscription.status == 'ended':
        return see_other(_path(subscription))
    topics = await topic_catalogue.load(request.app[PG])
    return render(request, 'manage/unsubscribe_one.html', {'sub': summary(subscription, language(request), topics)})


@routes.post('/manage/subscriptions/{id}/unsubscribe', name='manage-unsubscribe-one-do')
@subscription_page
async def unsubscribe_one(request: web.Request, access: Access) -> web.Response:
    subscription = access.subscription
    async with request.app[PG].acquire() as conn, conn.transaction():
        await queries.end_subscription(conn, subscription.id, reason='unsubscribed', by='resident')
    topics = await topic_catalogue.load(request.app[PG])
    await flash(request, 'manage.flash.unsubscribed', what=summary(subscription, language(request), topics)['what'])
    # a manage link opens only its own subscription: it says so there, where the list would need a sign-in
    return see_other(_path(subscription) if access.by_link else '/manage/subscriptions')


@routes.get('/manage/unsubscribe-all', name='manage-unsubscribe-all')
@signed_in_only
async def unsubscribe_all_page(request: web.Request, resident_id: int) -> web.Response:
    return render(request, 'manage/unsubscribe_all.html')


@routes.post('/manage/unsubscribe-all', name='manage-unsubscribe-all-do')
@signed_in_only
async def unsubscribe_all(request: web.Request, resident_id: int) -> web.Response:
    async with request.app[PG].acquire() as conn, conn.transaction():
        await queries.end_all_subscriptions(conn, resident_id, reason='unsubscribed-all', by='resident')
    await flash(request, 'manage.flash.unsubscribed_all')
    return see_other('/manage/subscriptions')
