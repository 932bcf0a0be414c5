"""Signed in: your subscriptions, one subscription, pause and resume, unsubscribe from one or from everything.

Changing what a subscription is about or how it reaches you is in subscriptions/manage/changes.py; your data
(download, delete) in subscriptions/manage/your_data.py. Every change is a POST with the CSRF token, answered with a
redirect to the page that shows the result and a success banner.
"""

from __future__ import annotations

from aiohttp import web

from notifier.app_keys import PG
from notifier.web.rendering import language, render
from subscriptions.manage.common import (
    flash,
    owned_or_404,
    see_other,
    signed_in_only,
    summary,
    take_flash,
)
from subscriptions.residents import queries
from subscriptions.residents.models import Subscription

routes = web.RouteTableDef()

LIVE = ('active', 'paused', 'pending')


def _path(subscription: Subscription, tail: str = '') -> str:
    return f'/manage/subscriptions/{subscription.id}{tail}'


@routes.get('/manage/subscriptions', name='manage-subscriptions')
@signed_in_only
async def subscriptions_page(request: web.Request, resident_id: int) -> web.Response:
    lang = language(request)
    every = await queries.list_subscriptions(request.app[PG], resident_id)
    live = [summary(sub, lang) for sub in every if sub.status in LIVE]
    ended = sum(1 for sub in every if sub.status == 'ended')
    return render(
        request,
        'manage/subscriptions.html',
        {'subscriptions': live, 'ended': ended, 'flash': await take_flash(request)},
    )


@routes.get('/manage/subscriptions/{id}', name='manage-subscription')
@signed_in_only
async def subscription_page(request: web.Request, resident_id: int) -> web.Response:
    subscription = await owned_or_404(request, resident_id)
    details = summary(subscription, language(request))
    changeable = subscription.status in LIVE
    return render(
        request,
        'manage/subscription.html',
        {
            'sub': details,
            'changeable': changeable,
            'radius': changeable and subscription.kind == 'near',
            'topics': changeable and subscription.kind in ('near', 'area'),
            'frequency': changeable and 'letter' not in subscription.channels,
            'flash': await take_flash(request),
        },
    )


@routes.post('/manage/subscriptions/{id}/pause', name='manage-pause')
@signed_in_only
async def pause(request: web.Request, resident_id: int) -> web.Response:
    subscription = await owned_or_404(request, resident_id)
    async with request.app[PG].acquire() as conn:
        if await queries.pause_subscription(conn, subscription.id):
            await flash(request, 'manage.flash.paused')
    return see_other(_path(subscription))


@routes.post('/manage/subscriptions/{id}/resume', name='manage-resume')
@signed_in_only
async def resume(request: web.Request, resident_id: int) -> web.Response:
    subscription = await owned_or_404(request, resident_id)
    async with request.app[PG].acquire() as conn:
        if await queries.resume_subscription(conn, subscription.id):
            await flash(request, 'manage.flash.resumed')
    return see_other(_path(subscription))


@routes.get('/manage/subscriptions/{id}/unsubscribe', name='manage-unsubscribe-one')
@signed_in_only
async def unsubscribe_one_page(request: web.Request, resident_id: int) -> web.Response:
    subscription = await owned_or_404(request, resident_id)
    if subscription.status == 'ended':
        return see_other(_path(subscription))
    return render(request, 'manage/unsubscribe_one.html', {'sub': summary(subscription, language(request))})


@routes.post('/manage/subscriptions/{id}/unsubscribe', name='manage-unsubscribe-one-do')
@signed_in_only
async def unsubscribe_one(request: web.Request, resident_id: int) -> web.Response:
    subscription = await owned_or_404(request, resident_id)
    async with request.app[PG].acquire() as conn, conn.transaction():
        await queries.end_subscription(conn, subscription.id, reason='unsubscribed', by='resident')
    await flash(request, 'manage.flash.unsubscribed', what=summary(subscription, language(request))['what'])
    return see_other('/manage/subscriptions')


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
