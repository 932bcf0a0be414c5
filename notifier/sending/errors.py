"""What can go wrong talking to GOV.UK Notify, classified once so callers branch on a type, never on text."""

from __future__ import annotations

import re
from typing import Any


class NotifyError(Exception):
    """A Notify request failed. `status` is the HTTP status (None when no answer came back)."""

    def __init__(self, message: str, *, status: int | None = None, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.errors = errors or []

    @property
    def kind(self) -> str:
        """Notify's error class, e.g. 'ValidationError', 'RateLimitError'; '' when there was no body."""
        return str(self.errors[0].get('error', '')) if self.errors else ''


class NotifyRejected(NotifyError):
    """400/403/404: Notify refused this request and will refuse it again. Never retried; the reason is kept."""


class RateLimited(NotifyError):
    """429 RateLimitError: too fast for the per-minute bucket. Pause every sender on this key, then go slower."""


class DailyLimitReached(NotifyError):
    """429 TooManyRequestsError: this channel's daily allowance is spent; it resets at 00:00 UTC."""


class NotifyUnavailable(NotifyError):
    """Notify did not take the request (could not connect, or a read failed): safe to try again later."""


class NotifyOutcomeUnknown(NotifyError):
    """A send may have been accepted (timeout after sending, dropped connection, 5xx). Look it up by
    reference before sending again: resending blind could give the resident two messages."""


class NotifyMisconfigured(NotifyRejected):
    """Notify refused us for a reason about the whole service, not this message: a revoked or wrong key, a
    channel the service may not use, letters with a team key. Every message
    would fail the same way, so senders stop and wait for someone to fix it rather than fail the backlog."""

    @property
    def whole_service(self) -> bool:
        """True for an authentication problem (every channel); False for a per-channel set-up problem."""
        return self.status == 403 and self.kind == 'AuthError'


class TemplateRefused(NotifyRejected):
    """Notify refused the template itself (gone, the wrong type, a placeholder we do not send): every message on it
    would fail the same way, so its channel waits until the template is linked again (tellme notify link)."""


# Notify's messages (the real server's text) that are about the set-up, not the message. A team-only key or trial
# mode refuses one recipient (not on the team or guest list) and not the others: that message fails with the reason.
MISCONFIGURED_MESSAGES = (
    'Service is not allowed to send',
    'Cannot send letters with a team api key',
)
# a reply-to address or text sender id (TELLME_NOTIFY_EMAIL_REPLY_TO_ID / _SMS_SENDER_ID) the service does not have
UNKNOWN_SENDER = 'does not exist in database for service id'
TEMPLATE_MESSAGES = ('Template not found', 'Template has been deleted', 'Missing personalisation')
TEMPLATE_TYPE = re.compile(r'^(email|sms|letter) template is not suitable for (email|sms|letter) notification')


class ClockSkew(NotifyUnavailable):
    """403 'system clock must be accurate to within 30 seconds': our clock, not the request, is wrong."""


CLOCK_MESSAGE = 'Error: Your system clock must be accurate to within 30 seconds'


def classify(status: int, payload: Any, *, sending: bool) -> NotifyError:
    """Turn an error answer into one of the classes above. `sending` is True for POSTs that create messages."""
    errors = payload.get('errors') if isinstance(payload, dict) else None
    errors = errors if isinstance(errors, list) and errors else [{}]
    first = errors[0] if isinstance(errors[0], dict) else {}
    kind, message = str(first.get('error', '')), str(first.get('message', ''))
    text = f'{status} {kind}: {message}' if kind else f'{status} from Notify'
    if status == 429:
        cls: type[NotifyError] = DailyLimitReached if kind == 'TooManyRequestsError' else RateLimited
    elif status == 403 and message == CLOCK_MESSAGE:
        cls = ClockSkew
    elif status == 400 and (message.startswith(TEMPLATE_MESSAGES) or TEMPLATE_TYPE.match(message)):
        cls = TemplateRefused
    elif status == 403 or (status == 400 and (message.startswith(MISCONFIGURED_MESSAGES) or UNKNOWN_SENDER in message)):
        cls = NotifyMisconfigured
    elif status >= 500:
        # The request body reached Notify; for a send we cannot know whether it was stored.
        cls = NotifyOutcomeUnknown if sending else NotifyUnavailable
    elif 400 <= status < 500:
        cls = NotifyRejected
    else:
        cls = NotifyUnavailable
    return cls(text, status=status, errors=[e for e in errors if isinstance(e, dict)])
