"""Limits on how often one address or one IP may ask for sign-ups, codes and sign-in links.

Fixed windows counted in Redis (SET NX EX + INCR in one round trip), keyed by an HMAC of what is limited so Redis never
holds an email address, number or IP. GOV.UK's own figures for one address: 4 a minute, 11 an hour.

If Redis is unreachable the request is allowed and a warning logged: these counters guard against abuse, they are
not data, and a council's sign-up page should not go down with its cache. Notify's own limits still apply.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger('notifier.web.throttle')

PER_ADDRESS = ((4, 60), (11, 3600))
PER_IP = ((30, 60), (300, 3600))


def _key(secret: bytes, scope: str, subject: str, seconds: int) -> str:
    digest = hmac.new(secret, f'{scope}:{subject.strip().lower()}'.encode(), hashlib.sha256).hexdigest()[:32]
    return f'tellme:throttle:{scope}:{seconds}:{digest}'


async def allow(
    redis: Redis, secret: bytes, scope: str, subject: str, limits: Sequence[tuple[int, int]] = PER_ADDRESS
) -> bool:
    """Count one attempt by `subject` in `scope`; False if any window's limit is already used up."""
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for _, seconds in limits:
                key = _key(secret, scope, subject, seconds)
                pipe.set(key, 0, ex=seconds, nx=True)  # starts the window (EXPIRE NX needs Redis 7)
                pipe.incr(key)
            results = await pipe.execute()
    except (RedisError, OSError):
        logger.warning('rate limits unavailable (Redis): allowing %s', scope)
        return True
    counts = results[1::2]
    return all(count <= limit for count, (limit, _) in zip(counts, limits, strict=True))
