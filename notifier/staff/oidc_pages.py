"""Staff sign-in through the council's OpenID Connect provider: the two pages (notifier/staff/oidc.py has the rules).

GET /staff/sign-in/oidc           sets the signed flow cookie and sends the browser to the provider
GET /staff/sign-in/oidc/callback  checks what came back, starts a staff session, and shows "You are signed in"
                                  (throttled per IP address, as the password sign-in is)

The flow cookie is SameSite=Lax (the provider's redirect back is a cross-site navigation, which a Strict cookie
would miss), HttpOnly, scoped to these paths, and deleted by the callback. The callback answers with a page and a
Continue button rather than a redirect: the staff session cookie is SameSite=Strict, and browsers hold it back from
a redirect chain that began on the provider's site, so a redirect would land on the sign-in page again.
"""

from __future__ import annotations

import logging

from aiohttp import web

from notifier.app_keys import HTTP, PG, QUEUE, SETTINGS
from notifier.staff import auth as staff_auth
from notifier.staff import oidc
from notifier.staff import pages as staff_pages
from notifier.web import throttle
from notifier.web.client_ip import client_ip

logger = logging.getLogger('notifier.staff.oidc')
routes = web.RouteTableDef()

COOKIE = 'tellme_oidc'
COOKIE_PATH = '/staff/sign-in/oidc'
DENIED = {
    'access_denied': 'You did not agree to sign in, or your council account may not use Tell Me.',
    'login_required': 'You need to sign in to your council account first.',
}


def _safe_next(value: str) -> str:
    return value if value.startswith('/staff') and not value.startswith('//') else '/staff'


def _refused(request: web.Request, message: str, status: int) -> web.Response:
    response = staff_pages.render(request, 'staff/oidc_refused.html', {'message': message}, status=status)
    response.del_cookie(COOKIE, path=COOKIE_PATH)
    return response


@routes.get('/staff/sign-in/oidc', name='staff-oidc-start')
async def start(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    if not settings.oidc_enabled or not settings.link_secrets:
        raise web.HTTPNotFound()
    try:
        provider = await oidc.provider(settings, request.app[HTTP])
    except oidc.OidcError as exc:
        logger.warning('OpenID Connect provider unavailable: %s', exc.reason)
        return _refused(request, exc.message, 503)
    flow = oidc.new_flow(_safe_next(request.query.get('next', '')))
    response = web.HTTPSeeOther(oidc.authorization_url(settings, provider, flow))
    response.set_cookie(
        COOKIE, oidc.seal(flow, settings.link_secrets[0]), max_age=oidc.FLOW_TTL, path=COOKIE_PATH, httponly=True,
        samesite='Lax', secure=settings.secure_cookies,
    )  # fmt: skip
    raise response


async def _claims(request: web.Request) -> tuple[dict[str, object], oidc.Flow]:
    settings, query = request.app[SETTINGS], request.query
    flow = oidc.unseal(request.cookies.get(COOKIE, ''), settings.link_secrets)
    if 'error' in query:
        raise oidc.OidcError('provider-error', DENIED.get(query['error'], oidc.START_AGAIN))
    if not oidc.same(query.get('state', ''), flow.state):
        raise oidc.OidcError('state', 'This sign-in does not match the one started in this browser. Start again.')
    if not query.get('code'):
        raise oidc.OidcError('code', oidc.START_AGAIN)
    provider = await oidc.provider(settings, request.app[HTTP])
    id_token = await oidc.redeem(settings, request.app[HTTP], provider, query['code'], flow)
    return await oidc.verify(settings, provider, id_token, flow), flow


@routes.get(oidc.CALLBACK, name='staff-oidc-callback')
async def callback(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    if not settings.oidc_enabled or not settings.link_secrets:
        raise web.HTTPNotFound()
    scope, remote = 'staff-oidc-ip', client_ip(request)
    if not await throttle.allow(request.app[QUEUE], settings.link_secrets[0], scope, remote, throttle.PER_IP):
        return _refused(request, 'Too many sign-in attempts from here. Wait a few minutes, then try again.', 429)
    try:
        claims, flow = await _claims(request)
        async with request.app[PG].acquire() as conn:
            staff = await oidc.sign_in(conn, settings, claims)
    except oidc.OidcError as exc:
        logger.info('OpenID Connect sign-in refused: %s', exc.reason)
        return _refused(request, exc.message, 503 if exc.reason == 'provider' else 403 if exc.audited else 400)
    response = staff_pages.render(request, 'staff/oidc_signed_in.html', {'next': flow.next, 'who': staff})
    response.del_cookie(COOKIE, path=COOKIE_PATH)
    await staff_auth.start(request, response, staff)
    return response
