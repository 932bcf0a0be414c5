"""GET /metrics on the web app: who may read it, what its labels may hold, how Notify's answers are counted, and the
alert rules and dashboard in deploy/ that read it. (A worker's own port: tests/workers/test_metrics.py; a message
moving the counters on both: tests/pipeline/test_metrics.py.)"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient
from prometheus_client import REGISTRY
from pydantic import ValidationError

from notifier import metrics
from notifier.sending import errors
from notifier.sending.notify_client import NotifyClient
from notifier.settings import Settings
from tests.support import ROOT
from tests.support.metrics import Scraped
from tests.support.notify import EMAIL_TEMPLATE, PERSONALISATION, RunningSim

TOKEN = 'prometheus-reads-this-' + 'm' * 24
DEPLOY = ROOT / 'deploy'
PROMTOOL = shutil.which('promtool')


async def test_metrics_answer_a_request_from_this_host_without_a_token(client: TestClient) -> None:
    answer = await client.get('/metrics')
    assert answer.status == 200
    assert answer.headers['Content-Type'].startswith('text/plain')
    assert 'tellme_http_requests_total' in await answer.text()


async def test_a_request_a_proxy_forwarded_is_not_local(client: TestClient) -> None:
    for header in ('X-Forwarded-For', 'Forwarded', 'X-Real-IP'):
        answer = await client.get('/metrics', headers={header: '127.0.0.1'})
        assert answer.status == 403, header
        assert 'TELLME_METRICS_TOKEN' in await answer.text()
        assert 'tellme_' not in await answer.text()


@pytest.mark.settings(proxy_hops=1)
async def test_behind_a_proxy_nothing_is_local_without_the_token(client: TestClient) -> None:
    """With a proxy in front, every visitor may arrive from loopback: only the token reads the metrics."""
    assert (await client.get('/metrics')).status == 403


@pytest.mark.settings(metrics_token=TOKEN, proxy_hops=1)
async def test_the_bearer_token_reads_them_from_anywhere(client: TestClient) -> None:
    forwarded = {'X-Forwarded-For': '203.0.113.9'}
    missing = await client.get('/metrics', headers=forwarded)
    assert missing.status == 401 and missing.headers['WWW-Authenticate'] == 'Bearer'
    wrong = await client.get('/metrics', headers=forwarded | {'Authorization': f'Bearer {TOKEN}x'})
    assert wrong.status == 401
    assert (await client.get('/metrics', headers=forwarded | {'Authorization': f'Basic {TOKEN}'})).status == 401
    right = await client.get('/metrics', headers=forwarded | {'Authorization': f'Bearer {TOKEN}'})
    assert right.status == 200
    assert 'tellme_outbox_messages' in await right.text()


@pytest.mark.parametrize(
    ('peer', 'forwarded', 'token', 'trusted', 'given', 'expected'),
    [
        ('127.0.0.1', False, '', True, '', None),
        ('::1', False, '', True, '', None),
        ('::ffff:127.0.0.1', False, '', True, '', None),
        ('10.0.0.5', False, '', True, '', 403),
        ('127.0.0.1', True, '', True, '', 403),
        ('127.0.0.1', False, '', False, '', 403),
        (None, False, '', True, '', 403),
        ('10.0.0.5', False, TOKEN, True, f'Bearer {TOKEN}', None),
        ('10.0.0.5', False, TOKEN, True, f'bearer  {TOKEN} ', None),
        ('10.0.0.5', False, TOKEN, True, 'Bearer ', 401),
        ('127.0.0.1', False, TOKEN, True, '', None),  # this host reads them whether or not a token is set
    ],
)
def test_who_may_read_the_metrics(
    peer: str | None, forwarded: bool, token: str, trusted: bool, given: str, expected: int | None
) -> None:
    refused = metrics.refusal(authorization=given, peer=peer, forwarded=forwarded, token=token, local_trusted=trusted)
    assert refused == expected


async def test_requests_are_labelled_by_their_route_never_by_what_the_path_held(client: TestClient) -> None:
    secret = '4242.Zx9-secret-link-token-' + 'q' * 10  # `<id>.<mac>`, as the links in messages are
    await client.get(f'/confirm/{secret}')
    await client.get(f'/unsubscribe/{secret}')
    await client.get(f'/no-such-page-{secret}')
    await client.get('/static/tellme.css')
    await client.request('PROPFIND', '/')  # a method we do not serve (the label keeps to a known few)
    scraped = Scraped(await (await client.get('/metrics')).text())
    routes = scraped.label_values('tellme_http_requests_total', 'route')
    assert {'/confirm/{token}', '/unsubscribe/{token}', 'unmatched', '/static'} <= routes
    assert 'other' in scraped.label_values('tellme_http_requests_total', 'method')
    assert secret not in scraped.text and 'PROPFIND' not in scraped.text
    assert scraped.value('tellme_http_request_duration_seconds_count', route='/confirm/{token}', method='GET') >= 1


def _sent(operation: str, outcome: str, kind: str = '') -> float:
    labels = {'operation': operation, 'outcome': outcome, 'kind': kind}
    return REGISTRY.get_sample_value('tellme_notify_requests_total', labels) or 0.0


@pytest.mark.parametrize(
    ('fault', 'outcome', 'kind'),
    [
        (None, 'accepted', ''),
        ({'action': '429-rate'}, 'rate_limited', 'RateLimitError'),
        ({'action': '429-daily'}, 'daily_limit', 'TooManyRequestsError'),
        ({'action': '400'}, 'rejected_4xx', 'ValidationError'),
        ({'action': '403'}, 'rejected_4xx', 'AuthError'),
        ({'action': '500'}, 'error_5xx', ''),
        ({'action': 'slow', 'delay': 1}, 'timeout', ''),
        ({'action': 'drop', 'delay': 0.05}, 'unknown', ''),
    ],
)
async def test_each_answer_from_notify_is_counted_by_its_outcome(
    notify: RunningSim, fault: dict[str, Any] | None, outcome: str, kind: str
) -> None:
    if fault is not None:
        await notify.fault(fault)
    before = _sent('send_email', outcome, kind)
    latency = REGISTRY.get_sample_value('tellme_notify_request_duration_seconds_count', {'operation': 'send_email'})
    try:
        await notify.client(timeout=0.5).send_email(
            email_address='resident@example.com', template_id=EMAIL_TEMPLATE, personalisation=PERSONALISATION
        )
    except errors.NotifyError:
        assert fault is not None
    assert _sent('send_email', outcome, kind) == before + 1
    after = REGISTRY.get_sample_value('tellme_notify_request_duration_seconds_count', {'operation': 'send_email'})
    assert after == (latency or 0) + 1


async def test_a_notify_that_cannot_be_reached_is_a_connection_error(notify: RunningSim) -> None:
    before = _sent('send_sms', 'connection_error')
    with pytest.raises(errors.NotifyUnavailable):
        nowhere = NotifyClient(notify.http, notify.key, 'http://127.0.0.1:9')  # nothing listens on the discard port
        await nowhere.send_sms(phone_number='+447700900123', template_id=EMAIL_TEMPLATE)
    assert _sent('send_sms', 'connection_error') == before + 1


def test_an_error_kind_notify_does_not_have_is_counted_as_other() -> None:
    before = _sent('lookup', 'rejected_4xx', 'other')
    metrics.notify_answered('lookup', 'rejected_4xx', 0.1, kind='<script>made-up</script>')
    assert _sent('lookup', 'rejected_4xx', 'other') == before + 1


@pytest.mark.parametrize(
    ('given', 'ports'),
    [
        ('9101', range(9101, 9102)),
        ('9101-9104', range(9101, 9105)),
        (' 0 ', range(0)),
        ('9101-9101', range(9101, 9102)),
    ],
)
def test_the_worker_metrics_port_is_a_port_a_range_or_off(given: str, ports: range) -> None:
    assert Settings(worker_metrics_port=given).worker_metrics_ports == ports


@pytest.mark.parametrize('given', ['metrics', '9104-9101', '0-9101', '70000', '9101-'])
def test_a_bad_worker_metrics_port_is_refused(given: str) -> None:
    with pytest.raises(ValidationError, match='a port'):
        Settings(worker_metrics_port=given)


# --- deploy/: the alert rules and the dashboard ---------------------------------------------------------------
def scraped_families() -> set[str]:
    """The gauges read at scrape time, every one of them (as when everything could be read)."""
    every = metrics.Scraped()
    every.set(outbox=[], oldest_ready={}, workers_alive=0, daily={})
    return {family.name for family in every.collect()}


def exported_names() -> set[str]:
    """Every sample name our families can have (counters' _total, histograms' _bucket, _sum and _count)."""
    names = scraped_families()
    for family in REGISTRY.collect():
        suffixes = {'counter': ('_total',), 'histogram': ('_bucket', '_sum', '_count')}.get(family.type, ('',))
        names |= {family.name + suffix for suffix in suffixes}
    return names


def _used(expression: str) -> set[str]:
    return set(re.findall(r'\btellme_[a-z_]+', expression))


def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load((DEPLOY / 'prometheus' / 'alerts.yml').read_text())
    return [rule for group in document['groups'] for rule in group['rules']]


def dashboard_expressions() -> list[str]:
    dashboard = json.loads((DEPLOY / 'grafana' / 'tellme.json').read_text())
    return [target['expr'] for panel in dashboard['panels'] for target in panel.get('targets', [])]


def test_the_alert_rules_are_well_formed_and_read_only_what_we_export() -> None:
    document = yaml.safe_load((DEPLOY / 'prometheus' / 'alerts.yml').read_text())
    assert {group['name'] for group in document['groups']} >= {'tellme-outbox', 'tellme-notify', 'tellme-processes'}
    rules = alert_rules()
    names = [rule['alert'] for rule in rules]
    assert len(names) == len(set(names))
    for rule in rules:
        assert set(rule) <= {'alert', 'expr', 'for', 'labels', 'annotations', 'keep_firing_for'}, rule['alert']
        assert rule['labels']['severity'] in ('page', 'warn'), rule['alert']
        assert rule['annotations']['summary'] and rule['annotations']['description'], rule['alert']
        assert rule['annotations']['runbook'] == f'docs/operations.md#{rule["alert"].lower()}', rule['alert']
        assert _used(rule['expr']) <= exported_names(), rule['alert']
    wanted = {
        'TellMeOutboxBacklogGrowing', 'TellMeOldestReadyMessageStuck', 'TellMeNotifyRefusingOurKey',
        'TellMeNotifyRejectingMessages', 'TellMeNoReceipts', 'TellMeFeedFailing', 'TellMeFeedAlert',
        'TellMeWorkerDown', 'TellMeNoWorkers', 'TellMeNotifyDailyLimitNear',
    }  # fmt: skip
    assert wanted <= set(names)


def test_every_alert_has_its_runbook_and_every_runbook_its_alert() -> None:
    """Whoever is paged finds what to do under the alert's own name in docs/operations.md, and no runbook is left
    for an alert that no longer exists."""
    operations = (DEPLOY.parent / 'docs' / 'operations.md').read_text()
    runbooks = operations.split('\n## Runbooks\n', 1)[1].split('\n## ', 1)[0]
    headings = re.findall(r'^### (\S+)$', runbooks, re.MULTILINE)
    assert headings == [rule['alert'] for rule in alert_rules()]
    for heading, text in zip(headings, re.split(r'^### \S+$', runbooks, flags=re.MULTILINE)[1:], strict=True):
        assert len(text.split()) >= 40, f'the runbook for {heading} says too little to act on'


def test_the_dashboard_is_json_with_a_panel_for_each_family() -> None:
    dashboard = json.loads((DEPLOY / 'grafana' / 'tellme.json').read_text())
    assert dashboard['title'] == 'Tell Me' and dashboard['uid']
    ids = [panel['id'] for panel in dashboard['panels']]
    assert len(ids) == len(set(ids))
    used = set().union(*(_used(expression) for expression in dashboard_expressions()))
    assert used <= exported_names()
    # every family we count is on the dashboard (by any of its sample names)
    families = {family.name for family in REGISTRY.collect() if family.name.startswith('tellme_')}
    families |= scraped_families()
    families -= {'tellme_metrics_scrape_errors'}
    shown = {name for name in families if any(use.startswith(name) for use in used)}
    assert shown == families, sorted(families - shown)


@pytest.mark.skipif(PROMTOOL is None, reason='promtool is not installed (Debian: apt-get install prometheus)')
def test_promtool_checks_the_rules_their_tests_and_the_dashboard(tmp_path: Path) -> None:
    def promtool(*args: str, cwd: Path = DEPLOY / 'prometheus') -> None:
        done = subprocess.run([str(PROMTOOL), *args], cwd=cwd, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr

    promtool('check', 'rules', 'alerts.yml')
    promtool('test', 'rules', 'alerts_test.yml')
    promtool('check', 'config', '--syntax-only', 'prometheus.yml')
    # the dashboard's queries, as recording rules (Grafana's $__rate_interval made a plain range)
    rules = [
        {'record': f'tellme:dashboard:{n}', 'expr': expression.replace('$__rate_interval', '5m')}
        for n, expression in enumerate(dashboard_expressions())
    ]
    (tmp_path / 'dashboard.yml').write_text(yaml.safe_dump({'groups': [{'name': 'dashboard', 'rules': rules}]}))
    promtool('check', 'rules', 'dashboard.yml', cwd=tmp_path)
