"""Prometheus metrics: every family Tell Me exports, defined once, and who may read them.

A base module (like notifier.settings): it imports only prometheus_client, so every layer may count what it does
with one line at its seam. Counters and histograms live in prometheus_client's default registry, one per process:
the web app serves them at `GET /metrics` (notifier/shell/metrics.py) and each worker on a port of its own
(workers/metrics.py, TELLME_WORKER_METRICS_PORT). Prometheus adds the processes up.

The outbox, the workers' heartbeats and today's count against Notify's daily limits are not counted but read at
scrape time (`SCRAPED`, filled by workers/metrics.py from one query, cached a few seconds): every process reports
the same figures, so dashboards and alerts take `max` of them, never `sum`.

Labels never hold personal data, tokens or ids: routes are the router's path templates (`/confirm/{token}`, never
the token), Notify's error kinds are from a fixed list, sources are the names administrators gave them.
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections.abc import Iterable, Iterator, Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

disable_created_metrics()  # no `_created` twin of every counter: Prometheus does not need them

CHANNELS = ('email', 'sms', 'letter')
# the outbox states of messages not yet finished (each on a partial index: notifier/outbox/backlog.py)
OUTBOX_STATES = ('pending', 'retry', 'held', 'sending', 'unknown', 'sent')
HTTP_METHODS = frozenset({'GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'})
# Notify's error classes (its API docs); anything else is counted as 'other', so a label cannot grow without end
NOTIFY_ERROR_KINDS = frozenset({
    'BadRequestError', 'AuthError', 'ValidationError', 'RateLimitError', 'TooManyRequestsError', 'NoResultFound',
})  # fmt: skip
NOTIFY_STATUSES = frozenset({'delivered', 'permanent-failure', 'temporary-failure', 'technical-failure'})

_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_RECEIPT_LAG = (1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 24 * 3600, 3 * 86400, 7 * 86400)
_MESSAGES = (0, 1, 5, 10, 50, 100, 500, 1000, 5000, 10_000, 50_000, 100_000)

# --- the web app ------------------------------------------------------------------------------------------------
HTTP_REQUESTS = Counter(
    'tellme_http_requests',
    'HTTP requests answered, by route template, method and status',
    ['route', 'method', 'status'],
)
HTTP_DURATION = Histogram(
    'tellme_http_request_duration_seconds', 'Time to answer an HTTP request, by route template and method',
    ['route', 'method'], buckets=_SECONDS,
)  # fmt: skip

# --- sending ----------------------------------------------------------------------------------------------------
NOTIFY_REQUESTS = Counter(
    'tellme_notify_requests',
    'Requests to GOV.UK Notify by operation (send_email, send_sms, send_letter, lookup, templates) and outcome '
    '(accepted, ok, rate_limited, daily_limit, rejected_4xx, error_5xx, timeout, connection_error, unknown); kind is '
    "Notify's error class for a 4xx",
    ['operation', 'outcome', 'kind'],
)
NOTIFY_DURATION = Histogram(
    'tellme_notify_request_duration_seconds', 'Time GOV.UK Notify took to answer, by operation', ['operation'],
    buckets=_SECONDS,
)  # fmt: skip
LIMITER_WAIT = Histogram(
    'tellme_send_limiter_wait_seconds', 'Time a sender waited for its slot under the shared Notify rate limit',
    ['channel'], buckets=(0, *_SECONDS, 60),
)  # fmt: skip

# --- receipts ---------------------------------------------------------------------------------------------------
RECEIPTS = Counter(
    'tellme_notify_receipts',
    "Notify's final word on a message, applied to the outbox, by channel and status; via is callback (a delivery "
    'receipt) or lookup (asked for after no receipt came)',
    ['channel', 'status', 'via'],
)
RECEIPT_LAG = Histogram(
    'tellme_notify_receipt_lag_seconds', "Time from sending a message to Notify's final word on it, by channel",
    ['channel'], buckets=_RECEIPT_LAG,
)  # fmt: skip

# --- feeds, matching, digests and reminders ---------------------------------------------------------------------
FEED_POLLS = Counter(
    'tellme_feed_polls', 'Polls of a feed by source and outcome (ok, not-modified, failed)', ['source', 'outcome']
)
FEED_POLL_DURATION = Histogram(
    'tellme_feed_poll_duration_seconds', 'Time a poll of a feed took, all pages', ['source'],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 180),
)  # fmt: skip
FEED_RECORDS = Counter(
    'tellme_feed_records', 'Records read from feeds by source and outcome (new, changed, unchanged, rejected)',
    ['source', 'outcome'],
)  # fmt: skip
FEED_ALERTS = Counter(
    'tellme_feed_alerts',
    'Staff alerts raised about a feed failing or gone silent (sources/feeds/health.py)',
    ['source'],
)
MATCHING_DURATION = Histogram(
    'tellme_matching_duration_seconds', "Time to match one event (or bulletin) and write its outbox rows", ['kind'],
    buckets=_SECONDS,
)  # fmt: skip
MATCHING_MESSAGES = Histogram(
    'tellme_matching_messages_per_event', 'Outbox rows one event (or bulletin) wrote', ['kind'], buckets=_MESSAGES
)
DIGESTS_QUEUED = Counter('tellme_digests_queued', 'Daily and weekly digests closed and queued to send')
REMINDERS_QUEUED = Counter('tellme_bin_reminders_queued', 'Bin-day reminders queued to send')

# --- residents --------------------------------------------------------------------------------------------------
SIGNUPS = Counter(
    'tellme_signups',
    'Subscriptions made, by kind; status pending (waits for the resident to confirm) or active (made by staff or a '
    'trusted case system)',
    ['kind', 'status'],
)
CONFIRMATIONS = Counter('tellme_confirmations', 'Pending subscriptions confirmed by the resident, by kind', ['kind'])

SCRAPE_ERRORS = Counter('tellme_metrics_scrape_errors', 'Scrapes whose outbox figures could not be read', ['part'])


def since(started: float) -> float:
    """Seconds since `started` (a `time.perf_counter()`)."""
    return time.perf_counter() - started


def notify_answered(operation: str, outcome: str, seconds: float, kind: str = '') -> None:
    kind = kind if not kind or kind in NOTIFY_ERROR_KINDS else 'other'
    NOTIFY_REQUESTS.labels(operation, outcome, kind).inc()
    NOTIFY_DURATION.labels(operation).observe(seconds)


def receipt(channel: str, status: str, via: str, lag_seconds: float | None) -> None:
    RECEIPTS.labels(channel, status if status in NOTIFY_STATUSES else 'other', via).inc()
    if lag_seconds is not None:
        RECEIPT_LAG.labels(channel).observe(max(lag_seconds, 0.0))


def feed_polled(source: str, outcome: str, seconds: float, records: Mapping[str, int], alerts: int) -> None:
    FEED_POLLS.labels(source, outcome).inc()
    FEED_POLL_DURATION.labels(source).observe(seconds)
    for what, n in records.items():
        FEED_RECORDS.labels(source, what).inc(n)
    if alerts:
        FEED_ALERTS.labels(source).inc(alerts)


def matched(kind: str, seconds: float, messages: int) -> None:
    MATCHING_DURATION.labels(kind).observe(seconds)
    MATCHING_MESSAGES.labels(kind).observe(messages)


# --- read at scrape time ----------------------------------------------------------------------------------------
class Scraped(Collector):
    """Gauges read from the database and Redis when Prometheus asks (workers/metrics.py sets them)."""

    def __init__(self) -> None:
        self._families: list[Metric] = []

    def describe(self) -> list[Metric]:
        return []  # nothing to check at registration: the families come and go with what was read

    def collect(self) -> Iterator[Metric]:
        yield from self._families

    def set(
        self,
        *,
        outbox: Iterable[tuple[str, str, int]] | None,
        oldest_ready: Mapping[str, float] | None,
        workers_alive: int | None,
        daily: Mapping[str, tuple[int, int]] | None,
    ) -> None:
        """`outbox`: (state, channel, messages); `oldest_ready`: seconds by channel; `daily`: (sent today, limit)
        by channel. None leaves a family out (it could not be read)."""
        families: list[Metric] = []
        if outbox is not None:
            rows = GaugeMetricFamily(
                'tellme_outbox_messages', 'Outbox messages not yet finished, by state and channel (the same from '
                'every process: take max)', labels=['state', 'channel'],
            )  # fmt: skip
            counts = {(state, channel): 0 for state in OUTBOX_STATES for channel in CHANNELS}
            for state, channel, n in outbox:
                counts[(state, channel)] = counts.get((state, channel), 0) + n
            for (state, channel), n in sorted(counts.items()):
                rows.add_metric([state, channel], n)
            families.append(rows)
        if oldest_ready is not None:
            age = GaugeMetricFamily(
                'tellme_outbox_oldest_ready_age_seconds', 'How long the oldest message ready to send has been waiting, '
                'by channel (0: none waiting)', labels=['channel'],
            )  # fmt: skip
            for channel in CHANNELS:
                age.add_metric([channel], max(oldest_ready.get(channel, 0.0), 0.0))
            families.append(age)
        if workers_alive is not None:
            families.append(
                GaugeMetricFamily('tellme_workers_alive', 'Worker processes whose heartbeat is recent', workers_alive)
            )
        if daily is not None:
            used = GaugeMetricFamily(
                'tellme_notify_daily_messages', "Messages counted against today's (UTC) Notify daily limit",
                labels=['channel'],
            )  # fmt: skip
            limit = GaugeMetricFamily(
                'tellme_notify_daily_limit_messages', "The service's Notify daily limit (TELLME_NOTIFY_DAILY_LIMIT_*)",
                labels=['channel'],
            )  # fmt: skip
            for channel, (n, cap) in sorted(daily.items()):
                used.add_metric([channel], n)
                limit.add_metric([channel], cap)
            families += [used, limit]
        self._families = families


SCRAPED = Scraped()
REGISTRY.register(SCRAPED)


# --- who may read them ------------------------------------------------------------------------------------------
def refusal(*, authorization: str, peer: str | None, forwarded: bool, token: str, local_trusted: bool) -> int | None:
    """None when this request may read the metrics, else the HTTP status to refuse it with.

    With TELLME_METRICS_TOKEN set, `Authorization: Bearer <token>` reads them from anywhere. Without the token, only
    this host may: a TCP peer on the loopback network, on a request that no proxy forwarded (`forwarded`: it
    carries X-Forwarded-For, Forwarded or X-Real-IP) and only where no proxy sits in front (`local_trusted`: the
    web app with TELLME_PROXY_HOPS=0; always for a worker's port). Behind a proxy on the same host every visitor
    would come from loopback, so there the token is the only way in."""
    if token:
        scheme, _, given = authorization.partition(' ')
        if scheme.lower() == 'bearer' and hmac.compare_digest(given.strip().encode(), token.encode()):
            return None
    if local_trusted and not forwarded and _loopback(peer):
        return None
    return 401 if token else 403


FORWARDING_HEADERS = ('X-Forwarded-For', 'Forwarded', 'X-Real-IP')


def _loopback(address: str | None) -> bool:
    try:
        ip = ipaddress.ip_address((address or '').split('%')[0])
    except ValueError:
        return False
    mapped = getattr(ip, 'ipv4_mapped', None)  # ::ffff:127.0.0.1 from a dual-stack socket
    return (mapped or ip).is_loopback


def exposition() -> tuple[bytes, str]:
    """This process's metrics in Prometheus' text format, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
