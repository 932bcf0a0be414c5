"""An async GOV.UK Notify client on aiohttp, with the official client's auth and our error classes.

The official `notifications-python-client` is synchronous and not thread-safe, so senders use this one:
one aiohttp session per process, a fresh JWT per request made by the official package's own
`create_jwt_token`, the same URLs and headers, and every failure classified once (see `notifier.sending.errors`).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import aiohttp
from notifications_python_client import __version__ as OFFICIAL_CLIENT_VERSION
from notifications_python_client.authentication import create_jwt_token

from notifier import metrics
from notifier.sending import errors

USER_AGENT = f'TELLME NOTIFY-API-PYTHON-CLIENT/{OFFICIAL_CLIENT_VERSION}'


class NotifyClient:
    def __init__(self, http: aiohttp.ClientSession, api_key: str, base_url: str, *, timeout: float = 10.0) -> None:
        if len(api_key) < 74:
            raise ValueError('a Notify API key looks like NAME-SERVICE_ID-SECRET')
        self._http = http
        self._base = base_url.rstrip('/')
        # the official client's own slicing of the key
        self.service_id, self._secret = api_key[-73:-37], api_key[-36:]
        self._timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=min(timeout, 5.0))

    def __repr__(self) -> str:  # never show the secret
        return f'NotifyClient(service_id={self.service_id!r}, base_url={self._base!r})'

    async def send_email(
        self,
        *,
        email_address: str,
        template_id: str,
        personalisation: dict[str, Any] | None = None,
        reference: str | None = None,
        one_click_unsubscribe_url: str | None = None,
        email_reply_to_id: str | None = None,
    ) -> dict[str, Any]:
        body = {'email_address': email_address, 'template_id': template_id} | _present(
            personalisation=personalisation,
            reference=reference,
            one_click_unsubscribe_url=one_click_unsubscribe_url,
            email_reply_to_id=email_reply_to_id,
        )
        return await self._request('POST', '/v2/notifications/email', body, sending=True)

    async def send_sms(
        self,
        *,
        phone_number: str,
        template_id: str,
        personalisation: dict[str, Any] | None = None,
        reference: str | None = None,
        sms_sender_id: str | None = None,
    ) -> dict[str, Any]:
        body = {'phone_number': phone_number, 'template_id': template_id} | _present(
            personalisation=personalisation,
            reference=reference,
            sms_sender_id=sms_sender_id,
        )
        return await self._request('POST', '/v2/notifications/sms', body, sending=True)

    async def send_letter(
        self, *, template_id: str, personalisation: dict[str, Any], reference: str | None = None
    ) -> dict[str, Any]:
        body = {'template_id': template_id, 'personalisation': personalisation} | _present(reference=reference)
        return await self._request('POST', '/v2/notifications/letter', body, sending=True)

    async def get_notification(self, notification_id: str) -> dict[str, Any]:
        return await self._request('GET', f'/v2/notifications/{notification_id}')

    async def find_by_reference(self, reference: str) -> list[dict[str, Any]]:
        """Notifications we sent with this reference (with this key type), newest first."""
        page = await self._request('GET', '/v2/notifications?' + urlencode({'reference': reference}))
        return list(page.get('notifications', []))

    async def get_template(self, template_id: str) -> dict[str, Any]:
        return await self._request('GET', f'/v2/template/{template_id}')

    async def get_templates(self, template_type: str | None = None) -> list[dict[str, Any]]:
        query = '?' + urlencode({'type': template_type}) if template_type else ''
        return list((await self._request('GET', '/v2/templates' + query)).get('templates', []))

    async def preview_template(self, template_id: str, personalisation: dict[str, Any]) -> dict[str, Any]:
        body = {'personalisation': personalisation}
        return await self._request('POST', f'/v2/template/{template_id}/preview', body)

    async def _request(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, sending: bool = False
    ) -> dict[str, Any]:
        started, operation = time.perf_counter(), _operation(path, sending)
        try:
            answer = await self._call(method, path, body, sending=sending)
        except errors.NotifyError as exc:
            kind = exc.kind if exc.status and exc.status < 500 else ''  # Notify's error class, for a 4xx
            metrics.notify_answered(operation, _outcome(exc), metrics.since(started), kind)
            raise
        metrics.notify_answered(operation, 'accepted' if sending else 'ok', metrics.since(started))
        return answer

    async def _call(self, method: str, path: str, body: dict[str, Any] | None, *, sending: bool) -> dict[str, Any]:
        headers = {
            'Content-type': 'application/json',
            'Authorization': f'Bearer {create_jwt_token(self._secret, self.service_id)}',
            'User-agent': USER_AGENT,
        }
        unknown = errors.NotifyOutcomeUnknown if sending else errors.NotifyUnavailable
        try:
            async with self._http.request(
                method, self._base + path, json=body, headers=headers, timeout=self._timeout
            ) as response:
                payload = await response.json(content_type=None)
                status = response.status
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            # never reached Notify: nothing can have been stored
            raise errors.NotifyUnavailable(f'could not connect to Notify: {type(exc).__name__}') from exc
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise unknown('no answer from Notify in time') from exc
        except (aiohttp.ClientError, ValueError) as exc:
            # dropped connection or a body that is not JSON: the request may have been processed
            raise unknown(f'broken answer from Notify: {type(exc).__name__}') from exc
        if status >= 400:
            raise errors.classify(status, payload, sending=sending)
        if not isinstance(payload, dict):
            raise unknown(f'unexpected answer from Notify (HTTP {status})')
        return payload


def _operation(path: str, sending: bool) -> str:
    """A request's name in tellme_notify_requests_total: send_email, send_sms, send_letter, lookup or templates."""
    if sending:
        return 'send_' + path.rsplit('/', 1)[-1]
    return 'lookup' if path.startswith('/v2/notifications') else 'templates'


def _outcome(exc: errors.NotifyError) -> str:
    """What became of a request that failed, for tellme_notify_requests_total."""
    if isinstance(exc, errors.RateLimited):
        return 'rate_limited'
    if isinstance(exc, errors.DailyLimitReached):
        return 'daily_limit'
    if exc.status is not None:
        return 'error_5xx' if exc.status >= 500 else 'rejected_4xx' if exc.status >= 400 else 'unknown'
    cause = exc.__cause__
    if isinstance(cause, (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)):
        return 'connection_error'  # never reached Notify
    if isinstance(cause, (TimeoutError, aiohttp.ServerTimeoutError)):
        return 'timeout'
    return 'unknown'  # a dropped connection or an answer that was not JSON


def _present(**fields: Any) -> dict[str, Any]:
    """Like the official client: optional fields are sent only when they have a value."""
    return {name: value for name, value in fields.items() if value}
