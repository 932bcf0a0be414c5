"""The council's pages, linked from every page's footer: its privacy notice, accessibility statement and contact
details, in its own words when it gave them (notifier/web/council.py), and its logo."""

from __future__ import annotations

from aiohttp import web

from notifier.web import council, rendering

routes = web.RouteTableDef()

TITLES = {'privacy': 'privacy.title', 'accessibility': 'accessibility.title', 'contact': 'contact.title'}


def _page(request: web.Request, name: str) -> web.Response:
    lang = rendering.language(request)
    page = request.app[council.COUNCIL].page(name, lang)
    if page is None and name == 'contact':  # the council wrote none: made from its settings
        return rendering.render(request, 'contact.html', {'lines': request.app[council.COUNCIL].contact[lang]})
    if page is None:
        raise web.HTTPNotFound()
    return rendering.render(request, 'council_page.html', {'page': page, 'title_key': TITLES[name]})


@routes.get('/privacy', name='privacy')
async def privacy(request: web.Request) -> web.Response:
    return _page(request, 'privacy')


@routes.get('/accessibility', name='accessibility')
async def accessibility(request: web.Request) -> web.Response:
    return _page(request, 'accessibility')


@routes.get('/contact', name='contact')
async def contact(request: web.Request) -> web.Response:
    return _page(request, 'contact')


@routes.get('/council/logo.{suffix:svg|png}', name='council-logo')
async def logo(request: web.Request) -> web.Response:
    found = request.app[council.COUNCIL].logo
    if found is None or not found.url.startswith(f'/council/logo.{request.match_info["suffix"]}?'):
        raise web.HTTPNotFound()
    # the address changes with the file (?v=), so a browser may keep it; an SVG's scripts never run (checked at
    # start-up, and the page's Content-Security-Policy, which this answer carries too, allows no inline script)
    return web.Response(
        body=found.body, content_type=found.content_type, headers={'Cache-Control': 'public, max-age=86400'}
    )
