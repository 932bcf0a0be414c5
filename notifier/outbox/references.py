"""The `reference` each send carries to Notify, and the row (and send) a reference leads back to.

A row is usually sent once, as `<row id>`. Notify's technical-failure on an email or a text means "send it again"
(design notify.md §2), so the same row may go out again as a new Notify notification: `<row id>.2`, then
`<row id>.3`. Each send has its own reference, so looking one up (`GET /v2/notifications?reference=`) finds only that
send, and a receipt names both the row and which of its sends it is about (`notifications.resends` counts the sends
after the first). No personal data: a uuid and a number.
"""

from __future__ import annotations

from uuid import UUID


def for_send(notification_id: UUID, resends: int) -> str:
    """The reference of the row's send after `resends` resends: `<id>` for the first, `<id>.2`, `<id>.3`, …"""
    return str(notification_id) if resends == 0 else f'{notification_id}.{resends + 1}'


def parse(reference: str | None) -> tuple[UUID, int] | None:
    """(row id, resends before that send) for a reference `for_send` made; None for anything else."""
    if not reference:
        return None
    head, dot, tail = reference.partition('.')
    try:
        notification_id = UUID(head)
    except ValueError:
        return None
    if not dot:
        return notification_id, 0
    if not (0 < len(tail) <= 4 and tail.isascii() and tail.isdigit()) or int(tail) < 2 or tail != str(int(tail)):
        return None
    return notification_id, int(tail) - 1
