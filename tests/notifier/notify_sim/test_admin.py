"""Admin endpoints, the outbox page, configuration files, the CLI and the thread runner."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from notifier.notify_sim import ConfigError, SimulatorThread, generate_api_key, load_keys, load_templates
from notifier.notify_sim.cli import main
from notifier.notify_sim.rules.keys import DEFAULT_TEMPLATES_PATH
from tests.support.notify import (
    EMAIL_PERSONALISATION,
    EMAIL_TEMPLATE,
    SMS_PERSONALISATION,
    SMS_TEMPLATE,
    admin,
    client,
    make_keys,
    make_sim,
    wait_for,
)


def test_outbox_lists_rendered_messages_newest_first_and_escapes_everything() -> None:
    keys = make_keys()
    with SimulatorThread(make_sim(keys)) as thread:
        api = client(thread, keys.live)
        api.send_sms_notification('07700900123', SMS_TEMPLATE, SMS_PERSONALISATION, reference='first')
        api.send_email_notification('a@example.com', EMAIL_TEMPLATE,
                                    {**EMAIL_PERSONALISATION, 'title': '<script>alert(1)</script>'},
                                    reference='<b>second</b>')  # fmt: skip
        with urllib.request.urlopen(thread.url + '/_sim/outbox', timeout=5) as response:
            page = response.read().decode()
            assert response.headers['Content-Type'].startswith('text/html')
    assert '<script>' not in page and '&lt;script&gt;alert(1)&lt;/script&gt;' in page
    assert '&lt;b&gt;second&lt;/b&gt;' in page
    assert page.index('New planning application: &lt;script&gt;') < page.index('Extension. Details')
    assert '2 stored message(s)' in page


def test_admin_list_reset_and_forced_status() -> None:
    keys = make_keys()
    with SimulatorThread(make_sim(keys, status_delay=60)) as thread:
        api = client(thread, keys.test)
        sent = api.send_email_notification('a@example.com', EMAIL_TEMPLATE, EMAIL_PERSONALISATION, reference='r')
        listed = admin(thread, 'GET', '/_sim/notifications?reference=r')['notifications']
        assert [(n['id'], n['recipient'], n['key_type'], n['status']) for n in listed] == [
            (sent['id'], 'a@example.com', 'test', 'created')
        ]
        assert listed[0]['subject'] == sent['content']['subject'] and listed[0]['body'] == sent['content']['body']
        forced = admin(thread, 'POST', f'/_sim/notifications/{sent["id"]}/status', {'status': 'temporary-failure'})
        assert forced['status'] == 'temporary-failure'
        assert api.get_notification_by_id(sent['id'])['status'] == 'temporary-failure'
        assert admin(thread, 'POST', '/_sim/reset') == {'reset': True}
        assert admin(thread, 'GET', '/_sim/notifications')['notifications'] == []
        assert api.get_all_notifications()['notifications'] == []


def test_status_timer_moves_through_created_sending_delivered() -> None:
    keys = make_keys()
    with SimulatorThread(make_sim(keys, status_delay=0.05)) as thread:
        sent = client(thread, keys.live).send_email_notification('a@example.com', EMAIL_TEMPLATE, EMAIL_PERSONALISATION)
        history = wait_for(lambda: len(h := admin(thread, 'GET', f'/_sim/notifications/{sent["id"]}')['history']) == 3
                           and h)  # fmt: skip
    assert [step['status'] for step in history] == ['created', 'sending', 'delivered']


def test_generate_api_key_works_with_the_official_client_split() -> None:
    key = generate_api_key('my-key-name', '00000000-0000-0000-0000-000000000001')
    assert key.startswith('my-key-name-') and key[-73:-37] == '00000000-0000-0000-0000-000000000001'
    assert len(key[-36:]) == 36


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content)
    return path


@pytest.mark.parametrize(
    ('content', 'message'),
    [
        ('{not json', 'not valid JSON'),
        ('{"a": 1}', 'must hold a JSON list'),
        ('[{"api_key": "short", "type": "live"}]', 'api_key must look like'),
        (json.dumps([{'api_key': generate_api_key('k'), 'type': 'admin'}]), 'key type must be one of'),
    ],
)
def test_bad_keys_files_give_clear_errors(tmp_path: Path, content: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_keys(write(tmp_path, 'keys.json', content))


def test_bad_templates_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match='cannot read keys file'):
        load_keys(tmp_path / 'missing.json')
    with pytest.raises(ConfigError, match='missing body'):
        load_templates(write(tmp_path, 't.json', '[{"id": "7f0b7c3e-5c8d-4b59-9a8e-0d1e3f4a5b60", "type": "sms", '
                                                  '"name": "n"}]'))  # fmt: skip
    assert len(load_templates(DEFAULT_TEMPLATES_PATH)) == 4


def test_cli_reports_config_errors_without_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(['--keys', str(tmp_path / 'nope.json')]) == 2
    err = capsys.readouterr().err
    assert err.startswith('tellme notify-sim: cannot read keys file') and 'Traceback' not in err


def test_cli_serves_the_api(tmp_path: Path) -> None:
    key = generate_api_key('dev')
    keys_file = write(tmp_path, 'keys.json', json.dumps([{'api_key': key, 'type': 'live', 'revoked': False}]))
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    code = 'import sys; from notifier.notify_sim.cli import main; sys.exit(main(sys.argv[1:]))'
    process = subprocess.Popen(
        [sys.executable, '-c', code, '--port', str(port), '--keys', str(keys_file), '--status-delay', '0',
         '--templates', str(DEFAULT_TEMPLATES_PATH)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith(f'Notify simulator on http://127.0.0.1:{port}')
        from notifications_python_client import NotificationsAPIClient

        api = NotificationsAPIClient(key, base_url=f'http://127.0.0.1:{port}')
        sent = api.send_email_notification('a@example.com', EMAIL_TEMPLATE, EMAIL_PERSONALISATION)
        deadline = time.monotonic() + 5
        while api.get_notification_by_id(sent['id'])['status'] != 'delivered':
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        process.terminate()
        process.communicate(timeout=5)  # also closes the pipes
