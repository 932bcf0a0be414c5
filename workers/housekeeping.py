"""The hourly job that forgets unconfirmed sign-ups, expired sessions and spent one-time secrets."""

from __future__ import annotations

import logging
from typing import Any

from subscriptions import housekeeping

logger = logging.getLogger('workers.housekeeping')


async def forget(ctx: dict[str, Any]) -> dict[str, int]:
    async with ctx['pg'].acquire() as conn:
        forgotten = await housekeeping.forget(conn)
    if forgotten.subscriptions or forgotten.residents:
        logger.info('forgot %d unconfirmed sign-ups and %d residents', forgotten.subscriptions, forgotten.residents)
    return vars(forgotten)
