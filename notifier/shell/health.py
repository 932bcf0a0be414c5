"""What the probes say.

- /livez: the process is serving; it checks nothing outside it.
- /readyz: this process can do its job: the database answers and has the code's newest migration, Redis answers.
  A Notify outage or an unlinked template never fails it (taking every web process out of a load balancer would not
  bring Notify back); they are /healthz's.
- /healthz: the detailed view for people: can this process reach the database, Redis and Notify, are the council's
  Notify templates linked, and how many workers are alive."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg
from arq.connections import ArqRedis

from notifier.sending import template_links
from notifier.sending.notify_client import NotifyClient
from notifier.settings import Settings
from workers import heartbeat

CHECK_TIMEOUT = 3.0
CACHE_SECONDS = 5.0
# /readyz answers well inside a load balancer's usual probe timeout, and one answer serves every caller for a second
READY_TIMEOUT = 2.0
READY_CACHE_SECONDS = 1.0


@dataclass
class Check:
    ok: bool
    detail: str
    ms: float

    def as_json(self) -> dict[str, Any]:
        return {'ok': self.ok, 'detail': self.detail, 'ms': round(self.ms, 1)}


async def _timed(probe: Any, timeout: float = CHECK_TIMEOUT) -> Check:
    start = time.perf_counter()
    try:
        detail = await asyncio.wait_for(probe, timeout)
        return Check(True, detail, (time.perf_counter() - start) * 1000)
    except TimeoutError:
        return Check(False, f'no answer within {timeout:.0f}s', (time.perf_counter() - start) * 1000)
    except Exception as exc:  # noqa: BLE001 - a health check reports every failure, it never raises
        return Check(False, _describe(exc), (time.perf_counter() - start) * 1000)


def _describe(exc: BaseException) -> str:
    return f'{type(exc).__name__}: {exc}'[:300]


async def database(pool: asyncpg.Pool) -> str:
    version = await pool.fetchval('select max(version) from schema_migrations')
    return f'schema {version}' if version else 'reachable, no migrations applied (run tellme migrate)'


async def migrated(pool: asyncpg.Pool, latest: str) -> str:
    """The database has this code's newest migration (a newer one, from a release being rolled out, is fine)."""
    applied, has_latest = await pool.fetchrow(
        'select max(version), coalesce(bool_or(version = $1), false) from schema_migrations', latest
    )
    if not has_latest:
        raise RuntimeError(f'schema {applied or "empty"}, behind this code ({latest}): run tellme migrate')
    return f'schema {applied}'


async def redis(queue: ArqRedis) -> str:
    await queue.ping()
    return 'reachable'


async def notify(http: aiohttp.ClientSession, settings: Settings) -> str:
    """An authenticated read (not rate-limited by Notify), so a wrong or revoked key shows up here too."""
    key = settings.notify_api_key.get_secret_value()
    if not key:
        raise RuntimeError('TELLME_NOTIFY_API_KEY is not set')
    client = NotifyClient(http, key, settings.notify_base_url, timeout=CHECK_TIMEOUT)
    templates = await client.get_templates()
    return f'reachable, {len(templates)} templates'


async def templates(pool: asyncpg.Pool, settings: Settings) -> str:
    """The council's Notify templates are linked: messages on a channel whose template is not, wait."""
    unusable = await template_links.problems(pool, settings)
    if unusable:
        raise RuntimeError('; '.join(f'{link.channel} template “{link.name}”: {link.problem}' for link in unusable))
    return f'{len(template_links.wanted(settings))} linked'


async def workers(pool: asyncpg.Pool, stale_after: float) -> str:
    return str(await heartbeat.alive(pool, stale_after))


async def report(
    settings: Settings, pool: asyncpg.Pool, queue: ArqRedis, http: aiohttp.ClientSession
) -> tuple[bool, dict[str, Any]]:
    """(healthy, body): healthy means this process can do its work; workers are reported, not required."""
    checks = await asyncio.gather(_timed(database(pool)), _timed(redis(queue)), _timed(notify(http, settings)))
    result = dict(zip(('database', 'redis', 'notify'), (c.as_json() for c in checks), strict=True))
    alive = await _timed(workers(pool, settings.worker_stale_after)) if checks[0].ok else Check(False, 'unknown', 0)
    linked = await _timed(templates(pool, settings)) if checks[0].ok else Check(False, 'unknown', 0)
    result['notify_templates'] = linked.as_json()
    healthy = all(c.ok for c in checks) and linked.ok
    body = {
        'status': 'ok' if healthy else 'unhealthy',
        'checks': result,
        'workers_alive': int(alive.detail) if alive.ok else None,
    }
    return healthy, body


async def readiness(pool: asyncpg.Pool, queue: ArqRedis, latest: str) -> tuple[bool, dict[str, Any]]:
    """(ready, body) for /readyz: the database migrated to `latest` and Redis, nothing else."""
    checks = await asyncio.gather(_timed(migrated(pool, latest), READY_TIMEOUT), _timed(redis(queue), READY_TIMEOUT))
    ready = all(check.ok for check in checks)
    result = dict(zip(('database', 'redis'), (c.as_json() for c in checks), strict=True))
    return ready, {'status': 'ready' if ready else 'unready', 'checks': result}
