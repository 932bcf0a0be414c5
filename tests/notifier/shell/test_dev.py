"""`tellme dev` as a newcomer runs it: everything comes up, /healthz is green, Ctrl-C leaves nothing behind,
and a second start finds its data again."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from notifier.shell.embedded import free_port

pytestmark = pytest.mark.timeout(180)


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


class DevProcess:
    def __init__(self, data_dir: Path) -> None:
        self.port, self.sim_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith('TELLME_')}
        env |= {
            'TELLME_DATA_DIR': str(data_dir),
            'TELLME_PORT': str(self.port),
            'TELLME_NOTIFY_SIM_PORT': str(self.sim_port),
        }
        self.log = data_dir.parent / f'dev-{self.port}.log'
        self._out = self.log.open('w')
        self.process = subprocess.Popen(
            [sys.executable, '-m', 'notifier', 'dev'], env=env, stdout=self._out, stderr=subprocess.STDOUT
        )

    @property
    def output(self) -> str:
        return self.log.read_text()

    def wait_healthy(self, timeout: float = 90) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        body = ''
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f'tellme dev exited early:\n{self.output}'
            try:
                status, body = _get(f'http://127.0.0.1:{self.port}/healthz')
                if status == 200:
                    return json.loads(body)
            except OSError:
                pass
            time.sleep(0.3)
        raise AssertionError(f'/healthz never became healthy; last body {body}\n{self.output}')

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(60)
        finally:
            self._out.close()


def _wait_for_demo_messages(sim_port: int, *wanted: str, timeout: float = 60) -> list[dict[str, str]]:
    """The messages in the simulator once there are some, and one whose subject says each of `wanted`."""
    deadline = time.monotonic() + timeout
    messages: list[dict[str, str]] = []
    while time.monotonic() < deadline:
        status, body = _get(f'http://127.0.0.1:{sim_port}/_sim/notifications')
        messages = json.loads(body)['notifications'] if status == 200 else []
        subjects = [message['subject'] or '' for message in messages]
        if messages and all(any(part in subject for subject in subjects) for part in wanted):
            return messages
        time.sleep(0.5)
    raise AssertionError(f'no demo message (saying {", ".join(wanted)}) reached the simulator: {messages}')


def _wait_for_line(process: DevProcess, text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in process.output:
            return
        time.sleep(0.3)
    raise AssertionError(f'{text!r} never appeared:\n{process.output}')


def _wait_for_delivered(sim_port: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = _get(f'http://127.0.0.1:{sim_port}/_sim/callbacks')
        entries = json.loads(body)['callbacks'] if status == 200 else []
        if any(e['payload'].get('status') == 'delivered' and e['outcome'] == '200' for e in entries):
            return True
        time.sleep(0.5)
    return False


def _servers_using(data_dir: Path) -> list[str]:
    found = []
    for proc in psutil.process_iter(['name', 'cmdline']):
        cmdline = ' '.join(proc.info['cmdline'] or [])
        if str(data_dir) in cmdline and proc.info['name'] in ('postgres', 'redis-server'):
            found.append(f'{proc.pid} {proc.info["name"]}')
    return found


def _tellme(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`.venv/bin/tellme ARGS` typed in another terminal of the same checkout, with nothing exported."""
    env = {k: v for k, v in os.environ.items() if not k.startswith('TELLME_')}
    return subprocess.run([sys.executable, '-m', 'notifier', *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60)  # fmt: skip


def test_dev_runs_everything_stops_cleanly_and_keeps_its_data(server_dir: Path) -> None:
    data_dir = server_dir / '.tellme'  # the checkout's own data directory: server_dir plays the checkout
    first = DevProcess(data_dir)
    try:
        health = first.wait_healthy()
        checks = health['checks']
        assert isinstance(checks, dict)
        assert all(check['ok'] for check in checks.values()), health
        assert health['workers_alive'] == 1
        status, outbox = _get(f'http://127.0.0.1:{first.sim_port}/_sim/outbox')
        assert status == 200 and '<html' in outbox.lower()
        assert _servers_using(data_dir), 'expected embedded postgres and redis-server to be running'
        assert re.search(r'loaded \d+ sample postcodes', first.output), first.output
        # the demo: residents signed up, a made-up event published, its messages in the simulator's outbox; the demo
        # round's schedule and a bin reminder, and the demo case's first update, within seconds of the first start
        demo = _wait_for_demo_messages(first.sim_port, 'Bin collection update', 'Reminder:', 'DEMO-1001', 'Demo:')
        assert any('Demo:' in message['body'] for message in demo), demo
        assert re.search(r'demo: 5 subscriptions, 3 addresses, 2 sources \(.*\) and 2 files added', first.output)
        # links in messages point at the port actually served (no TELLME_PUBLIC_URL given)
        assert any(f'http://localhost:{first.port}/' in message['body'] for message in demo), demo
        # another terminal in the same checkout, nothing exported: the CLI finds the running service
        added = _tellme(server_dir, 'staff', 'add', 'me@example.org', '--role', 'admin')
        assert added.returncode == 0, added.stderr
        assert 'using the running tellme dev service' in added.stderr
        listed = _tellme(server_dir, 'staff', 'list')
        assert listed.returncode == 0 and 'me@example.org' in listed.stdout, listed.stderr
        sources = _tellme(server_dir, 'sources', 'list')
        assert re.search(r'demo-bins\s+ical\s+1h\s+ok', sources.stdout), sources.stdout
        assert re.search(r'demo-cases\s+open311\s+1m\s+ok', sources.stdout), sources.stdout
        # and the simulator's delivery receipts come back to the service
        assert _wait_for_delivered(first.sim_port), 'no delivered receipt reached the service'
        redis_url = re.search(r'Redis \(embedded\)\s+(\S+)', first.output)
        assert redis_url, first.output
        _redis_set(redis_url.group(1), 'tellme:test:marker', 'kept')
    finally:
        code = first.interrupt()
    assert code == 0, first.output
    assert 'Tell Me stopped.' in first.output
    assert not (data_dir / 'dev.env').exists()  # nothing points at servers that have stopped
    assert _servers_using(data_dir) == []
    assert 'Traceback' not in first.output

    second = DevProcess(data_dir)
    try:
        second.wait_healthy()
        assert 'migrations applied now: none (up to date)' in second.output
        _wait_for_line(second, 'demo: published event')  # the demo put in place (nothing added) and running
        assert not re.search(r'demo: .* added', second.output), second.output
        redis_url = re.search(r'Redis \(embedded\)\s+(\S+)', second.output)
        assert redis_url
        assert _redis_get(redis_url.group(1), 'tellme:test:marker') == 'kept'
    finally:
        assert second.interrupt() == 0, second.output
    assert _servers_using(data_dir) == []


def test_a_second_dev_on_the_same_data_is_refused(server_dir: Path) -> None:
    data_dir = server_dir / 'data'
    first = DevProcess(data_dir)
    try:
        first.wait_healthy()
        second = DevProcess(data_dir)
        assert second.process.wait(30) != 0
        assert 'another tellme dev' in second.output
    finally:
        first.interrupt()
    assert _servers_using(data_dir) == []


def _redis_set(url: str, key: str, value: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    client.set(key, value)
    client.close()


def _redis_get(url: str, key: str) -> str | None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        raw = client.get(key)
        return raw.decode() if raw else None
    finally:
        client.close()
