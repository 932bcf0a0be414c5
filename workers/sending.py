"""The job that sends one message ahead of any backlog (the senders' own loop is pump.py)."""

from __future__ import annotations

from typing import Any
from uuid import UUID


async def deliver_notification(ctx: dict[str, Any], notification_id: str) -> str:
    """One message ahead of any backlog (notifier.outbox.queue.enqueue_delivery). A no-op when the row is not ready:
    sent already, claimed by a sender, or not yet due (then the senders send it when it is)."""
    return await ctx['sender'].deliver(UUID(notification_id))
