"""Signing out of managing your updates: a POST with the form's CSRF token, from the button in the menu.

A GET only shows that button (or sends someone not signed in to /manage): a link, an <img> on another site, a mail
scanner or a browser's prefetch must never sign anyone out.
"""

from __future__ import annotations

from aiohttp import web

from notifier.web import sessions
from notifier.web.rendering import render
from subscriptions.manage.common import see_other

routes = web.RouteTableDef()

PATH = '/manage/sign-out'


@routes.get(PATH, name='manage-sign-out-page')
async def sign_out_page(request: web.Request) -> web.Response:
    if (await sessions.get(request)).resident_id is None:
        return see_other('/manage')
    return render(request, 'manage/sign_out.html')


@routes.post(PATH, name='manage-sign-out-button')
async def sign_out(request: web.Request) -> web.Response:
    await sessions.end(request)
    return render(request, 'manage/signed_out.html')
