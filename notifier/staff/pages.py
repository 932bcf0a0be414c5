"""Staff sign-in, sign-out, set-password, the staff home page and the audit log (admins).

Sign-in answers "Enter a correct email address and password" whether the email is unknown, the password wrong or
this address locked out of this email after too many wrong guesses (notifier/staff/accounts.py); it is throttled
per IP, and every sign-in and every failure is in the audit log (never the password).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from aiohttp import web

from notifier import audit
from notifier.app_keys import PG, QUEUE, SETTINGS
from notifier.staff import auth as staff_auth
from notifier.staff.accounts import (
    SignIn,
    StaffError,
    authenticate,
    link_holder,
    link_state,
    password_problem,
    set_password,
)
from notifier.web import rendering, throttle
from notifier.web.client_ip import client_ip

routes = web.RouteTableDef()

# (path, label, roles that see it); pages added by other packages extend this list
STAFF_MENU: list[tuple[str, str, tuple[str, ...]]] = [
    ('/staff', 'Home', ()),
    ('/staff/audit', 'Audit log', ('admin',)),
]


def _safe_next(value: str) -> str:
    return value if value.startswith('/staff') and not value.startswith('//') else '/staff'


def render(request: web.Request, template: str, context: dict[str, Any] | None = None, **kw: Any) -> web.Response:
    base = {'staff': request.get(staff_auth.STAFF), 'staff_menu': STAFF_MENU, 'errors': {}}
    return rendering.render(request, template, {**base, **(context or {})}, **kw)


@routes.get('/staff/sign-in', name='staff-signin')
async def sign_in_page(request: web.Request) -> web.Response:
    if await staff_auth.current(request):
        raise web.HTTPSeeOther(_safe_next(request.query.get('next', '')))
    context = {'email': '', 'next': request.query.get('next', ''), 'oidc': request.app[SETTINGS].oidc_enabled,
               'password_set': request.query.get('password') == 'set'}  # fmt: skip
    return render(request, 'staff/sign_in.html', context)


@routes.post('/staff/sign-in')
async def sign_in(request: web.Request) -> web.Response:
    form = await request.post()
    email, password = str(form.get('email', '')).strip(), str(form.get('password', ''))
    next_path = _safe_next(str(form.get('next', '')))
    errors: OrderedDict[str, str] = OrderedDict()
    if not email:
        errors['email'] = 'Enter your email address'
    if not password:
        errors['password'] = 'Enter your password'
    settings, redis = request.app[SETTINGS], request.app[QUEUE]
    secret, ip = settings.link_secrets[0], client_ip(request)
    # per address only: a limit per email would let a stranger lock its owner out (staff_accounts.py)
    if not errors and not await throttle.allow(redis, secret, 'staff-sign-in-ip', ip, throttle.PER_IP):
        errors['email'] = 'Too many attempts. Wait 5 minutes, then try again'
    if not errors:
        attempt = await authenticate(request.app[PG], email, password, client_ip=ip, secret=secret)
        if attempt.outcome is SignIn.OK and attempt.staff is not None:
            staff = attempt.staff
            await audit.record(
                request.app[PG], staff_auth.actor(staff), 'staff.sign_in', target_kind='staff', target_id=staff.id
            )
            response = web.HTTPSeeOther(next_path)
            await staff_auth.start(request, response, staff)
            raise response
        # wrong password, unknown email, or this address locked out of this email: one answer for all three
        errors['email'] = 'Enter a correct email address and password'
    context = {'email': email, 'next': next_path, 'errors': errors, 'oidc': settings.oidc_enabled}
    return render(request, 'staff/sign_in.html', context)


@routes.post('/staff/sign-out', name='staff-sign-out')
async def sign_out(request: web.Request) -> web.Response:
    staff = await staff_auth.current(request)
    response = web.HTTPSeeOther('/staff/sign-in')
    if staff is not None:
        await audit.record(
            request.app[PG], staff_auth.actor(staff), 'staff.sign_out', target_kind='staff', target_id=staff.id
        )
    await staff_auth.end(request, response)
    raise response


@routes.get('/staff/set-password/{token}', name='staff-set-password')
async def set_password_page(request: web.Request) -> web.Response:
    async with request.app[PG].acquire() as conn:
        holder = await link_holder(conn, request.match_info['token'])
        state = 'usable' if holder else await link_state(conn, request.match_info['token'])
    return render(request, 'staff/set_password.html', {'holder': holder, 'state': state},
                  status=200 if holder else 404)  # fmt: skip


@routes.post('/staff/set-password/{token}')
async def set_password_submit(request: web.Request) -> web.Response:
    token = request.match_info['token']
    form = await request.post()
    password, confirm = str(form.get('password', '')), str(form.get('confirm', ''))
    async with request.app[PG].acquire() as conn:
        holder = await link_holder(conn, token)
        if holder is None:
            state = await link_state(conn, token)
            return render(request, 'staff/set_password.html', {'holder': None, 'state': state}, status=404)
        errors: OrderedDict[str, str] = OrderedDict()
        problem = password_problem(password, holder.email)
        if problem:
            errors['password'] = problem
        elif password != confirm:
            errors['confirm'] = 'The passwords do not match. Type the same password twice'
        if errors:
            return render(request, 'staff/set_password.html', {'holder': holder, 'errors': errors})
        try:
            staff = await set_password(conn, token, password)
        except StaffError as exc:
            return render(request, 'staff/set_password.html', {'holder': None, 'message': str(exc)}, status=404)
        await audit.record(conn, staff_auth.actor(staff), 'staff.set_password', target_kind='staff', target_id=staff.id)
    raise web.HTTPSeeOther('/staff/sign-in?password=set')


@routes.get('/staff', name='staff-home')
@staff_auth.staff_page()
async def home(request: web.Request) -> web.Response:
    return render(request, 'staff/home.html')


@routes.get('/staff/audit', name='staff-audit')
@staff_auth.staff_page('admin')
async def audit_log(request: web.Request) -> web.Response:
    before = request.query.get('before', '')
    page = 100
    # only 0-9 (str.isdigit also takes '²') and only what fits a bigint: anything else is the first page, not a 500
    newest = int(before) if before.isascii() and before.isdigit() and len(before) <= 18 else None
    entries = await audit.entries(request.app[PG], limit=page + 1, before=newest)
    return render(request, 'staff/audit.html', {'entries': entries[:page], 'more': len(entries) > page})
