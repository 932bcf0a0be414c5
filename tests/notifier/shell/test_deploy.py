"""deploy/ stays true to the code: the env file names every setting, compose and the systemd units run `migrate`
before `web` and `worker`, probe them, and run only commands `tellme` has. (The image itself is built and run by
deploy/check-image, which takes minutes and is not part of the suite: docs/operations.md.)"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import yaml
from pydantic import SecretStr

import notifier
from notifier.settings import Settings
from notifier.shell.cli import COMMANDS

DEPLOY = Path(notifier.__file__).resolve().parents[1] / 'deploy'
ENV_LINE = re.compile(r'^#?(TELLME_[A-Z0-9_]+)=(.*)$')


def _env_example() -> dict[str, tuple[str, bool, list[str]]]:
    """name → (value, set (not commented out), the comment lines above it and the settings beside it)."""
    found: dict[str, tuple[str, bool, list[str]]] = {}
    comments: list[str] = []
    after_setting = False
    for line in (DEPLOY / 'tellme.env.example').read_text().splitlines():
        match = ENV_LINE.match(line)
        if match:
            found[match.group(1)] = (match.group(2), not line.startswith('#'), comments)
            after_setting = True
        elif line.startswith('#'):
            comments = [line] if after_setting else [*comments, line]
            after_setting = False
        else:
            comments, after_setting = [], False
    return found


def test_the_env_example_names_every_setting_with_its_default() -> None:
    example = _env_example()
    names = {f'TELLME_{name.upper()}': field for name, field in Settings.model_fields.items()}
    assert sorted(example) == sorted(names)
    for name, field in names.items():
        value, is_set, comments = example[name]
        assert comments, f'{name} has no comment saying what it means'
        if not is_set and not isinstance(field.default, SecretStr) and field.default_factory is None:
            default = str(field.default).lower() if isinstance(field.default, bool) else str(field.default)
            default = '' if field.default is None else default  # unset: the comment says what it then means
            assert value == default.replace('.0', '') or value == default, f'{name}: {value!r} is not {default!r}'


def test_the_env_example_marks_every_secret_and_loads(monkeypatch: object) -> None:
    example = _env_example()
    for name, field in Settings.model_fields.items():
        if field.annotation is SecretStr:
            assert any('SECRET' in line for line in example[f'TELLME_{name.upper()}'][2]), name
    values = {name: value for name, (value, is_set, _) in example.items() if is_set}
    settings = Settings(**{name.removeprefix('TELLME_').lower(): value for name, value in values.items()})
    assert settings.missing_for('web') == ['TELLME_SECRET_KEY']  # the one thing an operator must make up


def test_compose_runs_migrate_once_before_web_and_worker_and_probes_them() -> None:
    compose = yaml.safe_load((DEPLOY / 'compose.yaml').read_text())
    services = compose['services']
    assert services['migrate']['command'] == ['migrate'] and services['migrate']['restart'] == 'no'
    for name in ('web', 'worker'):
        assert services[name]['command'] == [name]
        assert services[name]['depends_on']['migrate'] == {'condition': 'service_completed_successfully'}
        assert services[name]['env_file'] == ['tellme.env']
        assert services[name]['read_only'] is True and services[name]['cap_drop'] == ['ALL']
    assert '/livez' in ' '.join(services['web']['healthcheck']['test'])
    # each worker container checks its own worker (pid 1), not any worker anywhere
    assert services['worker']['healthcheck']['test'] == ['CMD', 'tellme', 'check-worker', '--pid', '1']


def _unit(name: str) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(DEPLOY / 'systemd' / name)
    return unit


def test_systemd_units_migrate_first_and_are_hardened() -> None:
    migrate = _unit('tellme-migrate.service')
    assert migrate['Service']['Type'] == 'oneshot'
    assert migrate['Service']['ExecStart'] == '/opt/tellme/bin/tellme migrate'
    for name, command in (('tellme-web@.service', 'web'), ('tellme-worker@.service', 'worker')):
        unit = _unit(name)
        for dependency in ('Requires', 'After'):
            assert 'tellme-migrate.service' in unit['Unit'][dependency].split()
        assert unit['Service']['ExecStart'].endswith(f'/opt/tellme/bin/tellme {command}')
        assert unit['Service']['Restart'] == 'always'
    assert 'TELLME_PORT=%i' in _unit('tellme-web@.service')['Service']['ExecStart']
    for name in ('tellme-migrate.service', 'tellme-web@.service', 'tellme-worker@.service'):
        service = _unit(name)['Service']
        assert service['User'] == 'tellme' and service['EnvironmentFile'] == '/etc/tellme/tellme.env'
        for setting in ('NoNewPrivileges', 'ProtectHome', 'PrivateTmp', 'PrivateDevices', 'RestrictSUIDSGID'):
            assert service[setting] == 'yes', (name, setting)
        assert service['ProtectSystem'] == 'strict' and service['CapabilityBoundingSet'] == ''


def test_the_image_runs_tellme_commands_that_exist() -> None:
    containerfile = (DEPLOY / 'Containerfile').read_text()
    assert 'ENTRYPOINT ["tellme"]' in containerfile and 'USER tellme' in containerfile
    assert "'.[dev]'" not in containerfile and '[dev]' not in containerfile.replace('no [dev] extras', '')
    for command in ('web', 'worker', 'migrate', 'check-worker', 'assets'):
        assert command in COMMANDS
