"""The outbox page: every stored message rendered from its template, newest first, all content escaped."""

from __future__ import annotations

from html import escape
from pathlib import Path
from string import Template

from aiohttp import web

from . import shapes
from .simulator import SIM
from .store import Notification

routes = web.RouteTableDef()
PAGE = Template((Path(__file__).parent / 'outbox.html').read_text(encoding='utf-8'))


def render_message(n: Notification) -> str:
    subject = f'<p class="subject">{escape(n.subject)}</p>' if n.subject else ''
    reference = escape(n.reference) if n.reference else '–'
    return (
        f'<div class="message" id="n-{escape(n.id)}">'
        f'<p class="meta">{escape(n.type)} to <strong>{escape(n.to)}</strong> · '
        f'<span class="status">{escape(n.public_status)}</span> · {escape(n.key_type)} key · '
        f'reference {reference} · {escape(shapes.fmt(n.created_at) or "")}</p>'
        f'{subject}<pre class="body">{escape(n.body)}</pre></div>'
    )


def render_outbox(notifications: list[Notification]) -> str:
    messages = '\n  '.join(render_message(n) for n in notifications) or '<p>No messages yet.</p>'
    return PAGE.substitute(count=len(notifications), messages=messages)


@routes.get('/_sim/outbox')
async def outbox(request: web.Request) -> web.Response:
    return web.Response(text=render_outbox(request.app[SIM].store.all()), content_type='text/html')


@routes.get('/_sim/')
async def sim_index(request: web.Request) -> web.Response:
    raise web.HTTPFound('/_sim/outbox')
