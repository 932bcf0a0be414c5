"""The address a request came from, for per-IP limits, behind however many proxies the council runs.

With TELLME_PROXY_HOPS=0 (the default) it is the TCP peer. Behind N trusted proxies it is the Nth address from the
right of X-Forwarded-For: each proxy appends the address it saw, so entries further left were written by the client
and cannot be trusted. A missing or short header falls back to the peer, never to something the client chose.
"""

from __future__ import annotations

from aiohttp import web

from notifier.app_keys import SETTINGS


def client_ip(request: web.Request) -> str:
    hops = request.app[SETTINGS].proxy_hops
    peer = request.remote or ''
    if hops <= 0:
        return peer
    seen = [part.strip() for part in ','.join(request.headers.getall('X-Forwarded-For', [])).split(',') if part.strip()]
    return seen[-hops] if len(seen) >= hops else peer
