"""What a bulletin will say and cost, before it is sent.

The previews are the real Notify templates filled by the same builder the senders use (templates/registry.py):
the bulletin goes out as a 'bulletin.published' event, so the email and the text shown here are the ones residents
get, in English and in Welsh, with the SMS fragments Notify will bill. Links in the preview have the length of real
ones (an unsubscribe link is personal), so the fragment count is the one each resident's text will have.

Cost: texts × fragments × the configured price per fragment (GOV.UK Notify bills per fragment after a service's
free allowance; the estimate ignores the allowance, so it is the most it could cost). Letters are counted: Notify
prices them by sheets and postage, so their cost is not guessed here. Emails are free. What it may save: every
person reached is a call the council may not take, at the configured saving per contact (SOCITM 2012: a phone
call £2.83, a web visit £0.15).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from redis.asyncio import Redis

from notifier.outbox import links
from notifier.sending.daily_budget import DailyBudget, Spread, spread
from notifier.settings import Settings
from sources.bulletins import audience as bulletin_audience
from sources.bulletins.audience import Audience
from templates.registry import EventInput, Preview, event_message, preview

KIND = 'bulletin.published'
SOURCE = 'bulletins'
TOPIC = 'bulletins'
SAMPLE_SUBSCRIPTION = 10**7  # an unsubscribe link as long as a real one
SAMPLE_EVENT = 10**6


def event_input(title: str, message: str, urgency: str, *, occurred_at: datetime | None = None) -> EventInput:
    return EventInput(
        kind=KIND, topic=TOPIC, title=title, summary=message, changes=[], attributes={}, url=None,
        occurred_at=occurred_at or datetime.now(UTC), urgency=urgency,
    )  # fmt: skip


def previews(
    title: str, message: str, urgency: str, *, channels: list[str], public_url: str
) -> dict[tuple[str, str], Preview]:
    """(channel, language) → the message as Notify will render it."""
    data = event_input(title, message, urgency)
    dummy = links.dummy_secret()  # links as long as real ones that open nothing
    shown: dict[tuple[str, str], Preview] = {}
    for channel in channels:
        for language in ('en', 'cy'):
            built = event_message(
                data, channel=channel, language=language,
                event_url=links.event_url(public_url, SAMPLE_EVENT),
                unsubscribe_url=links.unsubscribe_url(public_url, dummy, SAMPLE_SUBSCRIPTION),
                manage_url=links.manage_url(public_url, dummy, SAMPLE_SUBSCRIPTION),
            )  # fmt: skip
            shown[(channel, language)] = preview(built)
    return shown


@dataclass(frozen=True)
class Cost:
    texts: int
    fragments: int  # in all, every text's fragments added up
    text_pence: float
    letters: int
    emails: int
    people: int
    saving_pence: int

    @property
    def text_pounds(self) -> str:
        return f'£{self.text_pence / 100:,.2f}'

    @property
    def saving_pounds(self) -> str:
        return f'£{self.saving_pence / 100:,.2f}'


def cost(
    audience: Audience, shown: dict[tuple[str, str], Preview], *, sms_price_pence: float, saving_per_contact_pence: int
) -> Cost:
    fragments = 0
    for (channel, language), people in audience.by_language.items():
        if channel == 'sms':
            sample = shown.get(('sms', language)) or shown.get(('sms', 'en'))
            fragments += people * (sample.fragments if sample else 1)
    return Cost(
        texts=audience.on('sms'),
        fragments=fragments,
        text_pence=round(fragments * sms_price_pence, 2),
        letters=audience.on('letter'),
        emails=audience.on('email'),
        people=audience.people,
        saving_pence=audience.people * saving_per_contact_pence,
    )


async def check(
    db: asyncpg.Pool | asyncpg.Connection, row: Mapping[str, Any], settings: Settings
) -> tuple[Audience, dict[tuple[str, str], Preview], Cost]:
    """What a bulletin would reach now, the messages as Notify will show them, and what it costs and saves: the
    check page and GET /api/bulletins/{id}/preview show the same."""
    audience = await bulletin_audience.count(db, row['id'])
    shown = previews(
        row['title'], row['message'], row['urgency'], channels=list(row['channels']), public_url=settings.public_url,
    )  # fmt: skip
    return audience, shown, cost(audience, shown, sms_price_pence=settings.sms_price_pence,
                                 saving_per_contact_pence=settings.saving_per_contact_pence)  # fmt: skip


async def spreads(
    redis: Redis, pool: asyncpg.Pool, settings: Settings, audience: Audience, channels: list[str], urgency: str
) -> list[Spread]:
    """How many days each channel's messages take at the service's Notify daily limits, from what is left today
    (an urgent bulletin may use the reserve kept for sign-in codes; any other keeps it free)."""
    budget = DailyBudget(redis, pool, settings, settings.notify_service_id)
    priority = 0 if urgency == 'urgent' else 1
    found = []
    for channel in channels:
        per_day = budget.cap(channel, priority)
        left = max(per_day - await budget.used(channel), 0)
        found.append(spread(channel, audience.on(channel), left_today=left, per_day=per_day))
    return found
