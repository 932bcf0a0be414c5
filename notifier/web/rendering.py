"""Pages in GOV.UK Frontend: the Jinja environment, the language a page is shown in, and error pages.

Templates live in `templates/pages/`, strings in `templates/page_strings.json` (English and Welsh side by side, so
a missing translation is caught by a test, not by a resident). A page's language comes from `?lang=` (GOV.UK's
language switch, remembered in a cookie), then that cookie, then the browser's Accept-Language.

Every page gets a fresh CSP nonce for the one inline script GOV.UK Frontend needs; nothing else runs inline. Every
page shows the council's name (in Welsh too, when it has one), logo and website (notifier/web/council.py).
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
import jinja2
from aiohttp import web

import templates
from notifier.app_keys import SETTINGS
from notifier.web import council, csrf, sessions
from templates.personalisation import soft_mutation

logger = logging.getLogger('notifier.web.rendering')

PAGES = Path(templates.__file__).parent / 'pages'
STRINGS = Path(templates.__file__).parent / 'page_strings.json'
LANGUAGES = ('en', 'cy')
LANG_COOKIE = 'tellme_lang'
NONCE = web.RequestKey('csp_nonce', str)
LANG = web.RequestKey('lang', str)
FORM_ERRORS = web.ResponseKey('form_errors', bool)  # a form answered with its errors (notifier/web/form_errors.py)
HTML_PREFIXES_EXCLUDED = ('/api/', '/notify/', '/healthz', '/static/', '/_sim/')

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@cache
def strings() -> dict[str, dict[str, str]]:
    return json.loads(STRINGS.read_text(encoding='utf-8'))


def translate(language: str, key: str, **values: Any) -> str:
    entry = strings().get(key)
    if entry is None:
        logger.warning('no page string %r', key)
        return key
    text = entry.get(language) or entry['en']
    if 'council' in values and '{council_soft}' in text:  # after "gan" or "i" in Welsh: "gan Gyngor Trafford"
        values = {**values, 'council_soft': soft_mutation(str(values['council']))}
    return text.format(**values) if values else text


def days(language: str, count: int) -> str:
    """'1 day', '7 days'; in Welsh the noun stays singular after a number, softened after two ('2 ddiwrnod')."""
    key = {1: 'days.one', 2: 'days.two'}.get(count, 'days.other')
    return translate(language, key, count=count)


def language(request: web.Request) -> str:
    if LANG in request:
        return request[LANG]
    asked = request.query.get('lang', '')
    chosen = asked if asked in LANGUAGES else request.cookies.get(LANG_COOKIE, '')
    if chosen not in LANGUAGES:
        chosen = 'cy' if request.headers.get('Accept-Language', '').lower().startswith('cy') else 'en'
    request[LANG] = chosen
    return chosen


def switch_url(request: web.Request, to: str) -> str:
    query = {key: value for key, value in request.query.items() if key != 'lang'}
    query['lang'] = to
    return f'{request.path}?{urlencode(query)}'


def _context(request: web.Request) -> dict[str, Any]:
    lang = language(request)
    settings = request.app[SETTINGS]
    return {
        'lang': lang,
        'other_lang': 'cy' if lang == 'en' else 'en',
        't': lambda key, **values: translate(lang, key, **values),
        'switch_url': lambda to: switch_url(request, to),
        'csrf_token': lambda: csrf.token(request),
        'csp_nonce': request.get(NONCE, ''),
        'council_name': settings.council_name_for(lang),
        'council_url': settings.council_url_for(lang),
        'council_logo': logo.url if (logo := request.app[council.COUNCIL].logo) else '',
        'path': request.path,
        'signed_in': sessions.signed_in(request),
    }


def setup(app: web.Application) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(PAGES),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals['LANGUAGES'] = LANGUAGES
    settings = app[SETTINGS]
    kept = {lang: days(lang, settings.notification_retention_days) for lang in LANGUAGES}
    app[council.COUNCIL] = council.load(settings, retention=kept)


def render(
    request: web.Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> web.Response:
    response = aiohttp_jinja2.render_template(
        template, request, {**_context(request), **(context or {})}, status=status
    )
    response.headers['Cache-Control'] = 'no-store'
    if request.method == 'POST' and (context or {}).get('errors'):
        response[FORM_ERRORS] = True
    return response


def wants_page(request: web.Request) -> bool:
    return not request.path.startswith(HTML_PREFIXES_EXCLUDED)


ERROR_PAGES = {400: 'bad_request', 403: 'forbidden', 404: 'not_found', 405: 'not_found', 413: 'bad_request'}


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Language, nonce and session cookies on the way out; GOV.UK error pages for the resident pages."""
    request[NONCE] = secrets.token_urlsafe(16)
    try:
        response = await handler(request)
    except csrf.CsrfRefused:
        response = render(request, 'errors/csrf.html', status=403)
    except web.HTTPException as exc:
        if exc.status not in ERROR_PAGES or not wants_page(request):
            raise
        response = render(request, f'errors/{ERROR_PAGES[exc.status]}.html', status=exc.status)
    if 'lang' in request.query and request.query['lang'] in LANGUAGES and not response.prepared:
        response.set_cookie(LANG_COOKIE, request.query['lang'], samesite='Lax', path='/', max_age=365 * 86400)
    if not response.prepared:
        sessions.set_cookie(request, response)
    return response


def server_error(request: web.Request) -> web.Response:
    return render(request, 'errors/server.html', status=500)
