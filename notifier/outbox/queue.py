"""The only door to arq outside `workers/`: connecting to the queue, naming its jobs, waking the senders.

Delivery does not keep one queued job per message (docs/decisions.md, "batch claims"): every worker process runs a
sender that claims ready rows from the outbox in small batches (`for update skip locked`). Redis carries only
wake-ups, so a flushed Redis loses nothing and a bulletin to 500,000 people costs Redis nothing per message.
"""

from __future__ import annotations

from uuid import UUID

from arq.connections import ArqRedis, create_pool

from notifier.settings import Settings

# what domain code names the queue connection by, so only this module knows it is arq's
Queue = ArqRedis

WAKE_CHANNEL = 'notifier:wake'
DELIVER_JOB = 'deliver_notification'


async def connect(settings: Settings) -> ArqRedis:
    # Fail fast when Redis is absent: the web app still serves, and /healthz says Redis is down.
    return await create_pool(settings.arq_redis, retry=0)


async def wake_senders(redis: ArqRedis) -> None:
    """Tell every worker's sender that rows are ready (they also look every second on their own)."""
    await redis.publish(WAKE_CHANNEL, b'1')


async def wake_for_event(redis: ArqRedis, event_id: int) -> None:
    """Call after the transaction that wrote an event's outbox rows has committed."""
    await wake_senders(redis)


async def enqueue_delivery(redis: ArqRedis, notification_id: UUID) -> None:
    """Send one message now, ahead of any backlog (a confirmation, a sign-in code): a job `deliver:{id}` that claims
    this row by id. Safe to call twice, and safe if a batch sender gets the row first (whoever claims it sends it)."""
    await redis.enqueue_job(DELIVER_JOB, str(notification_id), _job_id=f'deliver:{notification_id}')
