"""`tellme notify templates` prints exactly what a council pastes into Notify; `link` and `check` say what is missing
before anything is configured, without a traceback."""

from __future__ import annotations

import json

import pytest

from notifier.sending import notify_cli
from notifier.settings import Settings
from notifier.shell.cli import main
from templates.notify_templates import NOTIFY_TEMPLATES


def test_the_templates_to_create_are_printed_for_people_and_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings()
    assert notify_cli.main(['templates'], settings) == 0
    text = capsys.readouterr().out
    for template in NOTIFY_TEMPLATES:
        assert f'  Name:    {template.name}\n' in text and f'\n{template.channel} template\n' in text
    assert (
        '  Subject: ((subject))' in text and '  Heading: ((subject))' in text and text.count('Body:    ((body))') == 3
    )
    assert notify_cli.main(['templates', '--json'], settings) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == [t.as_json() for t in NOTIFY_TEMPLATES]
    assert [t['name'] for t in printed] == ['Tell Me email', 'Tell Me text message', 'Tell Me letter']


def test_a_council_without_letters_creates_two(capsys: pytest.CaptureFixture[str]) -> None:
    assert notify_cli.main(['templates', '--json'], Settings(notify_channels='email,sms')) == 0
    assert [t['type'] for t in json.loads(capsys.readouterr().out)] == ['email', 'sms']


def test_link_without_a_database_or_a_key_says_what_to_set(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ('TELLME_DATABASE_URL', 'TELLME_NOTIFY_API_KEY', 'TELLME_DATA_DIR'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('TELLME_DATA_DIR', '/nonexistent-tellme-data')  # no dev service to borrow settings from
    assert main(['notify', 'link']) == 2
    err = capsys.readouterr().err
    assert 'set TELLME_DATABASE_URL and TELLME_NOTIFY_API_KEY' in err and 'Traceback' not in err
