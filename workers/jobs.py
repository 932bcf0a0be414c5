"""Thin arq jobs and crons: each takes ids only and calls into the domain packages."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from workers.heartbeat import forget_dead_workers


async def forget_dead_workers_job(ctx: dict[str, Any]) -> int:
    return await forget_dead_workers(ctx['pg'])


async def deliver_notification(ctx: dict[str, Any], notification_id: str) -> str:
    """One message ahead of any backlog (notifier.queue.enqueue_delivery). A no-op when the row is not ready:
    sent already, claimed by a sender, or not yet due (then the senders send it when it is)."""
    return await ctx['sender'].deliver(UUID(notification_id))
