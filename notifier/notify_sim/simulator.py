"""The Simulator: configuration plus in-memory state, and the status timer that moves notifications along."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from . import shapes
from .callbacks import CallbackSender
from .faults import Fault, FaultTable
from .rules.keys import ApiKey, Service, Template, check_template_fields
from .rules.limits import DEFAULT_RATE_LIMIT, Clock, DailyLimits, TokenBuckets
from .store import FINAL_CALLBACK_STATUSES, Notification, ReceivedText, Store

logger = logging.getLogger('notifier.notify_sim')

DEFAULT_NOTIFY_NUMBER = '07700900000'


class Simulator:
    def __init__(
        self,
        services: Mapping[str, Service],
        templates: Mapping[str, Template],
        *,
        rate_limit_per_minute: int = DEFAULT_RATE_LIMIT,
        daily_limits: Mapping[str, int] | None = None,
        clock: Clock | None = None,
        status_delay: float = 1.0,
        callback_url: str | None = None,
        callback_token: str | None = None,
        inbound_callback_url: str | None = None,
        callback_retry_interval: float = 300.0,
        callback_timeout: float = 5.0,
    ) -> None:
        self.services = dict(services)
        self.templates = dict(templates)
        self.clock: Clock = clock or time.time
        self.rate_limit = rate_limit_per_minute
        self.buckets = TokenBuckets(rate_limit_per_minute, self.clock)
        self.daily = DailyLimits(dict(daily_limits or {}), self.clock)
        self.status_delay = status_delay
        self.callback_url = callback_url
        self.inbound_callback_url = inbound_callback_url or callback_url
        self.callbacks = CallbackSender(callback_token, callback_retry_interval, callback_timeout)
        self.store = Store()
        self.faults = FaultTable()
        self.started_at = self.now()
        self._timers: set[asyncio.Task[None]] = set()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def make_app(self) -> web.Application:
        from .server import create_app

        return create_app(self)

    # templates -----------------------------------------------------------------------------------------------
    def template_for(self, service: Service, template_id: str) -> Template | None:
        try:
            key = str(uuid.UUID(str(template_id)))
        except ValueError:
            return None
        found = self.templates.get(key)
        if found is None or found.service_id not in (None, service.id):
            return None
        return found

    def create_template(
        self, *, name: str, type: str, body: str, subject: str | None = None, service_id: str | None = None
    ) -> Template:
        """What a person does in Notify's admin: a new template gets an id Notify makes up (uuid4), version 1.
        With one service configured it belongs to that service."""
        check_template_fields(name=name, type=type, body=body, subject=subject)
        if service_id is None and len(self.services) == 1:
            service_id = next(iter(self.services))
        if service_id is not None and service_id not in self.services:
            raise ValueError('service_id must name a configured service')
        template = Template(
            id=str(uuid.uuid4()), type=type, name=name, body=body, subject=subject if type != 'sms' else None,
            service_id=service_id, postage='second' if type == 'letter' else None,
        )  # fmt: skip
        self.templates[template.id] = template
        logger.info('created %s template %s', type, template.id)
        return template

    def edit_template(self, template_id: str, **changes: Any) -> Template:
        """An edit in Notify's admin (name, subject, body, archived): the same id, the next version."""
        current = self.templates[str(uuid.UUID(template_id))]
        unknown = set(changes) - {'name', 'subject', 'body', 'archived'}
        if unknown:
            raise ValueError(f'cannot change {", ".join(sorted(unknown))}')
        edited = dataclasses.replace(current, **changes, version=current.version + 1)
        check_template_fields(name=edited.name, type=edited.type, body=edited.body, subject=edited.subject)
        self.templates[edited.id] = edited
        return edited

    def templates_for(self, service: Service) -> list[Template]:
        visible = [t for t in self.templates.values() if t.service_id in (None, service.id) and not t.archived]
        return sorted(visible, key=lambda t: t.name)

    # notifications -------------------------------------------------------------------------------------------
    def accept(self, notification: Notification) -> None:
        """Store a new notification and start its status timer."""
        notification.history.append((notification.status, notification.created_at))
        self.store.add(notification)
        logger.info('stored %s notification %s (%s key)', notification.type, notification.id, notification.key_type)
        task = asyncio.get_running_loop().create_task(self._progress(notification))
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)

    async def _progress(self, n: Notification) -> None:
        await asyncio.sleep(self.status_delay)
        if n.status in ('created', 'pending-virus-check') and self.store.get(n.id):
            self.set_status(n, 'sending')
        await asyncio.sleep(self.status_delay)
        if n.status == 'sending' and self.store.get(n.id):
            self.set_status(n, n.final_status)

    def set_status(self, n: Notification, status: str) -> None:
        now = self.now()
        n.status = status
        n.history.append((status, now))
        if status == 'sending':
            n.sent_at = n.sent_at or now
        else:
            n.updated_at = now
        logger.info('notification %s is now %s', n.id, status)
        if status in FINAL_CALLBACK_STATUSES and n.type != 'letter' and self.callback_url:
            self.callbacks.send('delivery-status', self.callback_url, shapes.delivery_callback(n))

    # inbound SMS ---------------------------------------------------------------------------------------------
    def receive_text(self, service_id: str, user_number: str, content: str, notify_number: str | None = None) -> Any:
        text = ReceivedText(
            id=str(uuid.uuid4()),
            service_id=service_id,
            user_number=user_number,
            notify_number=notify_number or DEFAULT_NOTIFY_NUMBER,
            content=content,
            created_at=self.now(),
        )
        self.store.add_received(text)
        logger.info('received text %s for service %s', text.id, service_id)
        if self.inbound_callback_url:
            self.callbacks.send('inbound-sms', self.inbound_callback_url, shapes.inbound_callback(text))
        return text

    # lifecycle -----------------------------------------------------------------------------------------------
    def reset(self) -> None:
        for task in list(self._timers):
            task.cancel()
        self.store.clear()
        self.buckets.reset()
        self.daily.reset()
        self.faults.clear()
        self.callbacks.clear()

    async def close(self) -> None:
        for task in list(self._timers):
            task.cancel()
        await asyncio.gather(*self._timers, return_exceptions=True)
        await self.callbacks.close()


SIM = web.AppKey('notify_sim', Simulator)
SERVICE = web.RequestKey('notify_sim_service', Service)
API_KEY = web.RequestKey('notify_sim_api_key', ApiKey)
FAULT = web.RequestKey('notify_sim_fault', Fault)
