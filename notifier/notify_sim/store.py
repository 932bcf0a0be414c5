"""In-memory notifications and received texts, with Notify's list filters and paging."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

PAGE_SIZE = 250
FAILED_STATUSES = (
    'technical-failure',
    'temporary-failure',
    'permanent-failure',
    'validation-failed',
    'virus-scan-failed',
    'returned-letter',
)
COMPLETED_STATUSES = frozenset(
    {'sent', 'delivered', 'failed', 'technical-failure', 'temporary-failure', 'permanent-failure', 'cancelled',
     'returned-letter', 'validation-failed', 'virus-scan-failed'}
)  # fmt: skip
FINAL_CALLBACK_STATUSES = frozenset({'delivered', 'permanent-failure', 'temporary-failure', 'technical-failure'})


@dataclass
class Notification:
    id: str
    service_id: str
    key_type: str
    api_key_name: str
    type: str  # email | sms | letter
    template_id: str
    template_version: int
    to: str
    body: str
    subject: str | None
    reference: str | None
    created_at: datetime
    status: str = 'created'
    personalisation: dict[str, Any] = field(default_factory=dict)
    sent_at: datetime | None = None
    updated_at: datetime | None = None
    one_click_unsubscribe_url: str | None = None
    postage: str | None = None
    precompiled_pdf: bytes | None = None
    final_status: str = 'delivered'  # where the status timer will end
    history: list[tuple[str, datetime]] = field(default_factory=list)
    seq: int = 0  # breaks created_at ties (a frozen test clock) so paging never skips or repeats

    @property
    def order(self) -> tuple[datetime, int]:
        return self.created_at, self.seq

    @property
    def public_status(self) -> str:
        if self.type != 'letter':
            return self.status
        if self.status in ('created', 'sending'):
            return 'accepted'
        if self.status in ('delivered', 'returned-letter'):
            return 'received'
        return self.status


@dataclass
class ReceivedText:
    id: str
    service_id: str
    user_number: str
    notify_number: str
    content: str
    created_at: datetime
    seq: int = 0

    @property
    def order(self) -> tuple[datetime, int]:
        return self.created_at, self.seq


def expand_statuses(statuses: list[str]) -> set[str]:
    """Notify's substitute_status: `failed` means every failure, `accepted`/`received` are letter names."""
    out: set[str] = set()
    for status in statuses:
        if status == 'failed':
            out.update(FAILED_STATUSES)
        elif status == 'accepted':
            out.update(('created', 'sending'))
        elif status == 'received':
            out.add('delivered')
        else:
            out.add(status)
    return out


class Store:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._notifications: dict[str, Notification] = {}
        self._received: list[ReceivedText] = []
        self._seq = 0

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def add(self, notification: Notification) -> None:
        with self._lock:
            notification.seq = self._next_seq()
            self._notifications[notification.id] = notification

    def get(self, notification_id: str, service_id: str | None = None) -> Notification | None:
        with self._lock:
            found = self._notifications.get(notification_id)
        if found is None or (service_id is not None and found.service_id != service_id):
            return None
        return found

    def all(self) -> list[Notification]:
        """Every stored notification, newest first."""
        with self._lock:
            items = list(self._notifications.values())
        return sorted(items, key=lambda n: n.order, reverse=True)

    def page(
        self,
        service_id: str,
        key_type: str,
        *,
        statuses: list[str] | None = None,
        template_types: list[str] | None = None,
        reference: str | None = None,
        older_than: str | None = None,
        page_size: int = PAGE_SIZE,
    ) -> list[Notification]:
        items = [n for n in self.all() if n.service_id == service_id and n.key_type == key_type]
        if older_than is not None:
            pivot = self.get(older_than, service_id)
            if pivot is None:
                return []  # the real query compares with a NULL created_at: nothing matches
            items = [n for n in items if n.order < pivot.order]
        if statuses:
            wanted = expand_statuses(statuses)
            items = [n for n in items if n.status in wanted]
        if template_types:
            items = [n for n in items if n.type in template_types]
        if reference is not None:
            items = [n for n in items if n.reference == reference]
        return items[:page_size]

    def add_received(self, text: ReceivedText) -> None:
        with self._lock:
            text.seq = self._next_seq()
            self._received.append(text)

    def received_page(self, service_id: str, older_than: str | None, page_size: int = PAGE_SIZE) -> list[ReceivedText]:
        with self._lock:
            items = sorted(
                (t for t in self._received if t.service_id == service_id), key=lambda t: t.order, reverse=True
            )
        if older_than is not None:
            pivot = next((t for t in items if t.id == older_than), None)
            if pivot is None:
                return []
            items = [t for t in items if t.order < pivot.order]
        return items[:page_size]

    def received_all(self) -> list[ReceivedText]:
        with self._lock:
            return sorted(self._received, key=lambda t: t.order, reverse=True)

    def clear(self) -> None:
        with self._lock:
            self._notifications.clear()
            self._received.clear()
