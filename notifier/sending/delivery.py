"""Claim → send → record, for notifications rows (style.md §1.5).

A row is claimed (`pending`/`retry` → `sending`, attempts + 1, only once `not_before` has passed) in its own
short transaction before Notify is called, so two workers, a re-run job or a batch claim and a job racing for
the same row send it once. No database connection is held while Notify is called. Every send carries
`reference` = our notification id (`<id>.2`, `<id>.3` when Notify's technical-failure has it sent again:
notifier/outbox/references.py); an ambiguous failure leaves the row `unknown` and `reconcile` asks Notify
(`GET /v2/notifications?reference=`) before anything is sent again. Nothing Notify holds is ever resent, unless
Notify says technical-failure about an email or a text, which means "send it again".

| outcome                                  | row becomes                                                   |
|------------------------------------------|---------------------------------------------------------------|
| 201                                      | `sent` + notify_id                                            |
| contact suppressed / subscription ended  | `cancelled` (no token spent)                                  |
| invalid recipient or message             | `failed` with the reason (no token spent)                     |
| 400/403                                  | `failed` with Notify's reason                                 |
| connection failed (never reached Notify) | `retry`, not_before = now + BACKOFF[attempt]; `failed` after  |
| 5xx with an answer                       | looked up by reference at once: `sent` if there, else `retry` |
| timeout / dropped / no answer            | `unknown`: reconciled by the sweeper after UNKNOWN_SETTLE     |
| RateLimitError                           | `retry` after the shared pause (attempt not counted)          |
| our share of the daily limit is used     | `retry` at the next 00:00 UTC (uncounted), before any POST     |
| TooManyRequestsError (daily limit)       | `retry`, not_before = next 00:00 UTC; channel parked          |
| 403 key / 400 service permission         | `retry` uncounted; channel(s) parked 5 min; logged as an error |
| 400 about the template (gone, placeholders) | `retry` uncounted; its link marked `different`: waits for a new link |
| 400 team-only key / trial mode           | `failed` with Notify's reason, for that recipient only         |

Messages are rendered from our own wording (templates/registry.py) and sent through the council's generic Notify
template for the channel (templates/notify_templates.py), whose id `tellme notify link` stored: claims skip a
channel whose template is not linked, so its messages wait rather than fail.
"""

from __future__ import annotations

import json
import logging
import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from notifier import metrics
from notifier.logs import log_context
from notifier.outbox import delivery_states as states
from notifier.outbox import links, references
from notifier.sending import errors, template_links
from notifier.sending.daily_budget import DailyBudget
from notifier.sending.notify_client import NotifyClient
from notifier.sending.rate_limit import CHANNELS, SendLimiter
from notifier.settings import Settings
from templates.notify_templates import notify_personalisation
from templates.registry import EventInput, event_message

logger = logging.getLogger('notifier.sending.delivery')

BACKOFF = (5, 30, 120, 600, 1800, 3600)  # seconds after attempts 1..6; attempt 7 is the last
UNKNOWN_SETTLE = timedelta(seconds=60)  # a timed-out request may still be finishing at Notify
# A row `sending` this long is taken back by the sweeper whoever holds it. A worker killed hard loses its rows sooner:
# as soon as its heartbeat lapses (Settings.worker_stale_after), the sweeper takes back those whose request to Notify
# had not begun, and those whose request began POSTED_SETTLE (or the Notify timeout, if longer) ago
# (delivery_states.FIND_STUCK).
STUCK_AFTER = timedelta(minutes=5)
# A request whose worker died while it was in flight: Notify has finished it, or dropped it, this long after it began
# (Notify's API servers give a request 30 s), so a look-up then tells whether it is there. Shorter than a live worker's
# timeout + UNKNOWN_SETTLE, which is for a request Notify was visibly slow to answer.
POSTED_SETTLE = timedelta(seconds=30)
# how long senders stop after Notify refuses our key or a template; /healthz shows the cause meanwhile
MISCONFIGURED_PAUSE = timedelta(minutes=5)
# a row claimed while its channel's template is unusable (a link broke since the claim) waits this long, then the
# claim query skips the channel until it is linked again
TEMPLATE_WAIT = timedelta(minutes=1)
NOTIFY_HOLDS_FINAL = frozenset({'delivered', 'permanent-failure', 'temporary-failure', 'technical-failure'})
EMAIL = re.compile(r'^[^@\s]+@[^@\s]+\.[^@\s]+$')
PHONE = re.compile(r'^[0-9]{10,15}$')
# with the council's names for its topic and the topic's root (the catalogue, subscriptions/topics/), which name news
# on a topic Tell Me has no wording of its own for
LOAD_EVENT = """
select e.kind, e.topic, e.title, e.summary, e.changes, e.attributes, e.url, e.occurred_at, e.urgency, e.case_reference,
       (select coalesce(jsonb_object_agg(t.key, jsonb_build_array(t.name_en, t.name_cy)), '{}'::jsonb)
        from topics t where t.key in (e.topic, split_part(e.topic, '/', 1))) as topic_names
from events e where e.id = $1
"""


@dataclass(frozen=True)
class Claimed:
    id: UUID
    event_id: int | None
    contact_point_id: int
    subscription_id: int | None
    channel: str
    purpose: str
    template_id: UUID | None
    personalisation: dict[str, Any] | None
    attempts: int
    address: str
    language: str
    suppressed: bool
    subscription_status: str | None
    quiet_until: datetime | None = None  # a text claimed inside its subscription's quiet hours waits until then
    resends: int = 0  # times Notify's technical-failure had this row sent again: its reference says which send
    priority: int = 1  # 0: a sign-in code, a confirmation, urgent news (may use the daily reserve)
    nearby: dict[str, Any] | None = None  # an event from a near subscription: {'metres', 'place'} (the claim's SQL)


@dataclass(frozen=True)
class Outgoing:
    template_id: str  # our wording's id (templates/wording.json), never sent to Notify
    personalisation: dict[str, str]  # once rendered: the generic template's values (subject, body)
    one_click_unsubscribe_url: str | None


class InvalidMessage(ValueError):
    """Caught before spending a token: Notify would refuse it with a 400 anyway."""


class Sender:
    """Everything one worker process needs to deliver rows: the pool, the Notify client and the shared limiter.
    `worker_id` (the worker's heartbeat id, workers/heartbeat.py) is written on every row it claims, so the sweeper can
    take them back as soon as that heartbeat lapses; None outside a worker (such claims wait STUCK_AFTER)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        notify: NotifyClient,
        limiter: SendLimiter,
        settings: Settings,
        *,
        backoff: tuple[int, ...] = BACKOFF,
        worker_id: str | None = None,
    ) -> None:
        self.pool, self.notify, self.limiter, self.settings = pool, notify, limiter, settings
        self.worker_id = worker_id
        self.backoff = backoff
        self.links = template_links.LinkCache(pool)
        self.budget = DailyBudget(limiter.redis, pool, settings, notify.service_id)
        self._events: OrderedDict[int, asyncpg.Record] = OrderedDict()  # event versions never change

    # claiming ------------------------------------------------------------------------------------------------
    async def claim_one(self, notification_id: UUID, *, now: datetime | None = None) -> Claimed | None:
        """This row if it is ready; `now` (default: the database's clock) is the moment it is judged ready at and
        its quiet hours are reckoned from."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await states.claim_one(conn, notification_id, now, self.worker_id)
        return _claimed(row) if row else None

    async def claim_ready(self, limit: int, *, skip_channels: list[str] | None = None) -> list[Claimed]:
        """Up to `limit` ready rows, oldest first, `for update skip locked` so any number of senders share them."""
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await states.claim_ready(conn, limit, skip_channels or [], self.worker_id)
        return [_claimed(row) for row in rows]

    async def release(self, ids: list[UUID]) -> int:
        """Give back rows claimed but not sent (a worker stopping): ready again at once, the attempt uncounted."""
        if not ids:
            return 0
        return await states.release(self.pool, ids)

    # one row -------------------------------------------------------------------------------------------------
    async def deliver(self, notification_id: UUID, *, now: datetime | None = None) -> str:
        """Claim this row and send it; 'skipped' when it is not ready (sent already, in flight, or not yet due).
        `now` as for `claim_one`."""
        claimed = await self.claim_one(notification_id, now=now)
        return await self.send(claimed) if claimed else 'skipped'

    async def send(self, row: Claimed) -> str:
        """Send one claimed row; what became of it ('sent', 'failed', 'retry', …). Every line logged meanwhile, by us
        or a library, names the row (and its event)."""
        with log_context(notification_id=row.id, event_id=row.event_id):
            return await self._send(row)

    async def _send(self, row: Claimed) -> str:
        # a 'reply' confirms a STOP to the number it has just suppressed (notifier/receipts/text_replies.py)
        suppressed = row.suppressed and row.purpose != 'reply'
        if suppressed or row.subscription_status in ('ended', 'paused'):
            reason = 'contact point suppressed' if suppressed else f'subscription {row.subscription_status}'
            await states.cancel_claimed(self.pool, row.id, reason)
            return 'cancelled'
        if row.quiet_until is not None:  # a backlog or a retry drained into the night: wait for the morning
            await states.mark_later(self.pool, row.id, row.quiet_until, 'quiet hours')
            return 'quiet-hours'
        try:
            message = await self._message(row)
        except InvalidMessage as exc:
            await states.fail_claimed(self.pool, row.id, f'not sent: {exc}')
            logger.warning('notification not sent: %s', exc, extra={'notification_id': str(row.id)})
            return 'failed'
        link = await self.links.get(row.channel)
        if link is None or not link.ok or link.notify_id is None:
            return await self._wait_for_template(row, link)
        parked = await self.limiter.parked_until(row.channel)
        if parked is not None:
            await states.mark_later(self.pool, row.id, parked, f'{row.channel} sending paused (daily limit or set-up)')
            return 'daily-limit'
        tomorrow = await self.budget.take(row.channel, row.priority)
        if tomorrow is not None:
            return await self._wait_for_tomorrow(row, tomorrow)
        with metrics.LIMITER_WAIT.labels(row.channel).time():
            await self.limiter.acquire(row.channel)
        if not await states.still_ours(self.pool, row.id, row.attempts):
            await self.budget.give_back(row.channel)
            logger.warning('claim lost while waiting to send; not sending', extra={'notification_id': str(row.id)})
            return 'skipped'
        try:
            answer = await self._post(row, message, link.notify_id)
        except errors.TemplateRefused as exc:
            await self.budget.give_back(row.channel)
            await template_links.mark_refused(self.pool, row.channel, link.notify_id, str(exc))
            self.links.forget()
            return await self._wait_for_template(row, None, str(exc))
        except errors.NotifyError as exc:
            if not isinstance(exc, errors.NotifyOutcomeUnknown):  # Notify did not take it: the unit is free again
                await self.budget.give_back(row.channel)
            return await self._failed(row, exc)
        await states.record_sent(self.pool, row.id, UUID(answer['id']))
        logger.debug('sent %s %s to Notify: %s', row.channel, row.purpose, answer['id'])
        return 'sent'

    async def _wait_for_tomorrow(self, row: Claimed, tomorrow: datetime) -> str:
        """Today's share of Notify's daily limit is used: this message (and, for ordinary ones, every ordinary one
        on the channel) waits for the next UTC day; sign-in codes and confirmations still have the reserve."""
        share = 'all' if row.priority == 0 else 'the share for news and bulletins'
        await states.mark_later(self.pool, row.id, tomorrow,
                                f"today's {row.channel} allowance at Notify ({share}) is used; sending resumes "
                                f'{tomorrow:%d %b %H:%M} UTC')  # fmt: skip
        if row.priority > 0:
            await states.defer_ordinary(self.pool, row.channel, tomorrow)
        return 'daily-limit'

    async def _wait_for_template(self, row: Claimed, link: template_links.Link | None, why: str = '') -> str:
        reason = f'waiting for the Notify {row.channel} template to be linked (tellme notify link)'
        detail = why or (link.problem if link else '')
        await states.mark_later(self.pool, row.id, datetime.now(UTC) + TEMPLATE_WAIT,
                                f'{reason}: {detail}' if detail else reason)  # fmt: skip
        return 'waiting'

    async def _failed(self, row: Claimed, exc: errors.NotifyError) -> str:
        extra = {'notification_id': str(row.id)}
        if isinstance(exc, errors.RateLimited):
            await self.limiter.rate_limited()
            await states.mark_later_uncounted(self.pool, row.id, self.limiter.pause_ms / 1000, str(exc))
            return 'rate-limited'
        if isinstance(exc, errors.DailyLimitReached):
            until = await self.limiter.park(row.channel)
            await states.mark_later(self.pool, row.id, until, str(exc))
            await states.defer_channel(self.pool, row.channel, until)
            return 'daily-limit'
        if isinstance(exc, errors.NotifyMisconfigured):
            return await self._misconfigured(row, exc)
        if isinstance(exc, errors.NotifyRejected):
            await states.fail_claimed(self.pool, row.id, str(exc))
            logger.warning('Notify refused a notification: %s', exc, extra=extra)
            return 'failed'
        if isinstance(exc, errors.NotifyOutcomeUnknown):
            if exc.status is None:  # no answer: Notify may still be working on it
                await states.mark_unknown(self.pool, row.id, str(exc))
                logger.warning('outcome unknown, will reconcile: %s', exc, extra=extra)
                return 'unknown'
            # Notify answered (5xx), so it has finished with the request: look it up now
            await states.mark_unknown(self.pool, row.id, str(exc))
            return await self.reconcile(row.id, settle=timedelta(0))
        return await self._retry_or_fail(row.id, row.attempts, str(exc))

    async def _misconfigured(self, row: Claimed, exc: errors.NotifyMisconfigured) -> str:
        """Stop the affected channels for MISCONFIGURED_PAUSE and keep the message: failing it (and, one by one,
        the whole backlog behind it) for a revoked key or a missing template would lose news nobody can resend."""
        until = datetime.now(UTC) + MISCONFIGURED_PAUSE
        for channel in CHANNELS if exc.whole_service else (row.channel,):
            await self.limiter.park(channel, until)
            await states.defer_channel(self.pool, channel, until)
        await states.mark_later(self.pool, row.id, until, str(exc))
        logger.error('Notify refused our set-up, sending paused until %s: %s', until.isoformat(), exc,
                     extra={'notification_id': str(row.id)})  # fmt: skip
        return 'paused'

    async def _retry_or_fail(self, notification_id: UUID, attempts: int, reason: str) -> str:
        if attempts > len(self.backoff):
            await states.give_up(self.pool, notification_id, attempts, f'gave up after {attempts} attempts: {reason}')
            return 'failed'
        delay = self.backoff[attempts - 1]
        await states.mark_retry(self.pool, notification_id, attempts, float(delay), reason)
        return 'retry'

    # building the message ------------------------------------------------------------------------------------
    async def _message(self, row: Claimed) -> Outgoing:
        public, secrets = self.settings.public_url, self.settings.link_secrets
        unsubscribe = (
            links.unsubscribe_url(public, secrets[0], row.subscription_id) if row.subscription_id and secrets else None
        )
        if row.purpose == 'event':
            message = await self._event_message(row, unsubscribe)
        else:
            if row.template_id is None:
                raise InvalidMessage('no template for this message')
            wanted = row.channel == 'email' and row.purpose not in ('confirmation', 'sign-in')
            one_click = unsubscribe if wanted and (unsubscribe or '').startswith('https://') else None
            message = Outgoing(str(row.template_id), _strings(row.personalisation or {}), one_click)
        _check_recipient(row.channel, row.address)
        try:
            rendered = notify_personalisation(message.template_id, row.channel, message.personalisation)
        except (KeyError, ValueError) as exc:
            raise InvalidMessage(f'no wording for this message: {exc}') from exc
        return Outgoing(message.template_id, rendered, message.one_click_unsubscribe_url)

    async def _event_message(self, row: Claimed, unsubscribe: str | None) -> Outgoing:
        assert row.event_id is not None
        event = self._events.get(row.event_id)
        if event is None:
            event = await self.pool.fetchrow(LOAD_EVENT, row.event_id)
            if event is None:
                raise InvalidMessage('the event is gone')
            self._events[row.event_id] = event
            if len(self._events) > 256:
                self._events.popitem(last=False)
        public = self.settings.public_url
        data = EventInput.from_row(event)
        try:
            built = event_message(
                data,
                channel=row.channel,
                language=row.language,
                event_url=links.in_language(
                    links.event_url(
                        public,
                        row.event_id,
                        private=links.is_private(event['topic'], event['case_reference']),
                        secret=self.settings.link_secrets[0] if self.settings.link_secrets else None,
                    ),
                    row.language,
                ),  # fmt: skip
                unsubscribe_url=links.in_language(unsubscribe, row.language),
                manage_url=links.in_language(
                    links.manage_url(
                        public,
                        self.settings.link_secrets[0] if self.settings.link_secrets else None,
                        row.subscription_id,
                    ),
                    row.language,
                ),  # fmt: skip
                nearby=row.nearby,
                names={key: (english, welsh) for key, (english, welsh) in (event['topic_names'] or {}).items()},
            )
        except (KeyError, ValueError) as exc:
            raise InvalidMessage(f'no message for this event: {exc}') from exc
        one_click = built.one_click_unsubscribe_url if row.channel == 'email' else None
        return Outgoing(str(built.template_id), _strings(built.personalisation), one_click)

    async def _post(self, row: Claimed, message: Outgoing, notify_template_id: str) -> dict[str, Any]:
        """Send `message` (our wording, rendered) through the council's generic template for the channel."""
        reference = references.for_send(row.id, row.resends)
        values = message.personalisation
        if row.channel == 'email':
            return await self.notify.send_email(
                email_address=row.address,
                template_id=notify_template_id,
                personalisation=values,
                reference=reference,
                one_click_unsubscribe_url=message.one_click_unsubscribe_url,
                email_reply_to_id=self.settings.notify_email_reply_to_id or None,
            )
        if row.channel == 'sms':
            return await self.notify.send_sms(
                phone_number=f'+{row.address}',
                template_id=notify_template_id,
                personalisation=values,
                reference=reference,
                sms_sender_id=self.settings.notify_sms_sender_id or None,
            )
        lines = _address_lines(row.address)
        return await self.notify.send_letter(
            template_id=notify_template_id, personalisation={**values, **lines}, reference=reference
        )

    # reconciliation ------------------------------------------------------------------------------------------
    async def reconcile(self, notification_id: UUID, *, settle: timedelta = UNKNOWN_SETTLE) -> str:
        """For an `unknown` (or stuck `sending`) row: ask Notify by reference before anything is resent.
        Found → recorded with Notify's id and status (technical-failure on an email or text: `retry` as a new send,
        'resent'); not found → `retry` on the ladder; no answer → unchanged."""
        with log_context(notification_id=notification_id):
            return await self._reconcile(notification_id, settle)

    async def _reconcile(self, notification_id: UUID, settle: timedelta) -> str:
        row = await states.load_in_flight(self.pool, notification_id, settle.total_seconds())
        if row is None:
            return 'skipped'
        try:  # the send in flight is the row's latest: its own reference finds it and no earlier one
            found = await self.notify.find_by_reference(references.for_send(notification_id, row['resends']))
        except errors.NotifyError as exc:
            logger.warning('could not reconcile: %s', exc, extra={'notification_id': str(notification_id)})
            return 'unknown'
        if not found:
            return await self._retry_or_fail(notification_id, row['attempts'], row['last_error'] or 'not at Notify')
        if len(found) > 1:
            logger.error('Notify holds %d messages for one reference', len(found),
                         extra={'notification_id': str(notification_id)})  # fmt: skip
        oldest = min(found, key=lambda n: n.get('created_at') or '')
        status = oldest.get('status') if oldest.get('status') in NOTIFY_HOLDS_FINAL else 'sent'
        if status == 'technical-failure':  # Notify's "send it again" for an email or a text (delivery_states.resend)
            limit = self.settings.notify_technical_failure_resends
            if await states.resend(self.pool, notification_id, row['resends'], UUID(oldest['id']), limit) is not None:
                return 'resent'
        await states.record_found(self.pool, notification_id, UUID(oldest['id']), status)
        return 'found'

    async def reconcile_stuck(
        self,
        *,
        unknown_after: timedelta = UNKNOWN_SETTLE,
        sending_after: timedelta = STUCK_AFTER,
        dead_after: timedelta | None = None,
        limit: int = 500,
    ) -> dict[str, int]:
        """Look up at Notify the rows `unknown` for `unknown_after`, and take back and look up the `sending` rows
        whose claim is `sending_after` old or whose worker has had no heartbeat for `dead_after` (default:
        Settings.worker_stale_after); what became of them, counted by outcome ('taken back' counts the latter)."""
        dead = dead_after.total_seconds() if dead_after is not None else self.settings.worker_stale_after
        timing = {
            'sending_after': sending_after.total_seconds(),
            'dead_after': dead,
            'posted_after': max(self.settings.notify_timeout, POSTED_SETTLE.total_seconds()),
        }
        stuck = await states.find_stuck(self.pool, unknown_after.total_seconds(), limit=limit, **timing)
        outcomes: dict[str, int] = {}
        for record in stuck:
            settle = unknown_after
            if record['status'] == 'sending':
                if not await states.take_back(self.pool, record['id'], **timing):
                    continue  # its worker recorded an outcome, or began its request to Notify, meanwhile
                outcomes['taken back'] = outcomes.get('taken back', 0) + 1
                settle = timedelta(0)
            outcome = await self.reconcile(record['id'], settle=settle)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        return outcomes


def _claimed(row: asyncpg.Record) -> Claimed:
    return Claimed(**dict(row))


def _strings(values: dict[str, Any]) -> dict[str, str]:
    return {str(key): '' if value is None else str(value) for key, value in values.items()}


def _check_recipient(channel: str, address: str) -> None:
    if channel == 'email' and not EMAIL.match(address):
        raise InvalidMessage('not a valid email address')
    if channel == 'sms' and not PHONE.match(address):
        raise InvalidMessage('not a valid mobile number')
    if channel == 'letter':
        _address_lines(address)


def _address_lines(address: str) -> dict[str, str]:
    try:
        lines = json.loads(address)
    except ValueError as exc:
        raise InvalidMessage('postal address is not a list of lines') from exc
    if not isinstance(lines, list) or not 3 <= len(lines) <= 7 or not all(isinstance(x, str) for x in lines):
        raise InvalidMessage('a postal address needs 3 to 7 lines')
    return {f'address_line_{n}': line for n, line in enumerate(lines, start=1)}
