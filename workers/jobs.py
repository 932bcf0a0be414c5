"""Thin arq jobs and crons: each takes ids only and calls into the domain packages."""

from __future__ import annotations

from typing import Any

from workers.heartbeat import forget_dead_workers


async def forget_dead_workers_job(ctx: dict[str, Any]) -> int:
    return await forget_dead_workers(ctx['pg'])
