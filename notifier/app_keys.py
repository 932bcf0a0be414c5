"""Typed keys for what the web app holds (declarations only, so any view can import them)."""

import aiohttp
import asyncpg
from aiohttp import web
from arq.connections import ArqRedis

from notifier.settings import Settings

SETTINGS = web.AppKey('settings', Settings)
PG = web.AppKey('pg', asyncpg.Pool)
QUEUE = web.AppKey('queue', ArqRedis)
HTTP = web.AppKey('http', aiohttp.ClientSession)
