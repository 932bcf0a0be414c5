"""`tellme`: one command for every process (a composition root: it builds Settings once and passes them on)."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import sys
from importlib import metadata
from pathlib import Path

from pydantic import ValidationError

from notifier import logs
from notifier.settings import Settings

logger = logging.getLogger('notifier.shell.cli')

COMMANDS = {
    'dev': 'run everything in one process, starting PostgreSQL, Redis and the Notify simulator if not configured',
    'web': 'serve the web app and API (needs TELLME_DATABASE_URL and TELLME_REDIS_URL)',
    'worker': 'run an arq worker: delivery, polling and sweeps',
    'migrate': 'apply pending database migrations (a release step; never run at start-up)',
    'check-worker': (
        'check-worker [--id ID | --pid PID]: exit 0 if any worker (or that one) reported healthy recently, else 1'
    ),
    'notify': "notify templates [--json]|link|check: the council's GOV.UK Notify templates (go-live)",
    'notify-sim': 'run the GOV.UK Notify simulator on its own',
    'postcodes': (
        'postcodes import [PATH] [--names FILE]: load OS Code-Point Open postcodes for offline geocoding (and ward '
        'and district names); postcodes names FILE: the names alone'
    ),
    'addresses': "addresses import FILE.csv: load a council's LLPG addresses for bin day reminders",
    'staff': (
        'staff add|list|roles|reset-password|allow-oidc|disable (accounts), create-token|list-tokens|revoke-token (API)'
    ),
    'sources': 'sources add|set|reset-cursor|list|show|check|poll|pause|resume|remove: the feeds Tell Me polls',
    'topics': 'topics list|add|set|hide: the topics residents may choose, by name in English and Welsh',
    'outbox': 'outbox after-restore [--dry-run]: after restoring the database from a backup, before the workers '
    'start: look up at Notify what was waiting, so nothing is sent twice',
    'assets': 'fetch GOV.UK Frontend (and the test tools) from the npm registry into TELLME_ASSETS_DIR, checked '
    'against the pinned hashes',
}
# commands whose own parser reads the rest of the line
PASS_THROUGH = {
    'notify',
    'notify-sim',
    'postcodes',
    'addresses',
    'staff',
    'sources',
    'topics',
    'outbox',
    'assets',
    'check-worker',
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='tellme', description='Tell Me: resident notifications for UK councils.')
    parser.add_argument('--version', action='version', version=f'tellme {package_version()}')
    sub = parser.add_subparsers(dest='command', required=True, metavar='COMMAND')
    for name, help_text in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text, add_help=name not in PASS_THROUGH)
        if name in PASS_THROUGH:
            command.add_argument('rest', nargs=argparse.REMAINDER)
    return parser


def package_version() -> str:
    """The installed distribution's version (pyproject.toml's), as `pip show tellme` gives it."""
    try:
        return metadata.version('tellme')
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return 'unknown (not installed)'


def setup_logging(level: str, log_format: str = 'text') -> None:
    """Every line to stderr, as JSON objects or readable text, with its request or job and nothing personal
    (notifier/logs.py)."""
    logs.configure(level, log_format)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in PASS_THROUGH:
        # these commands parse their own arguments (argparse's REMAINDER would swallow their --help)
        command, rest = argv[0], argv[1:]
    else:
        command, rest = build_parser().parse_args(argv).command, []
    if command == 'notify-sim':
        from notifier.notify_sim.cli import main as sim_main

        return sim_main(rest)
    if command != 'dev':
        _use_the_dev_service()
    try:
        settings = Settings()
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False):
            name = 'TELLME_' + '_'.join(str(part) for part in error['loc']).upper()
            sys.stderr.write(f'tellme: {name}: {error["msg"]}\n')
        return 2
    log_format = settings.log_format_for(command)
    setup_logging(settings.log_level, log_format)
    try:
        return _run(command, settings, rest)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one clear line, details in the log
        logger.debug('%s failed', command, exc_info=True)
        if log_format == 'json':  # stderr holds only JSON lines
            logger.error('tellme %s: %s: %s', command, type(exc).__name__, exc)
        else:
            sys.stderr.write(f'tellme {command}: {type(exc).__name__}: {exc}\n')
        return 1


def _use_the_dev_service() -> None:
    """In a checkout where `tellme dev` is running, with no TELLME_DATABASE_URL set, use its database, Redis and keys
    (it leaves them in its data directory's dev.env while it runs), and say so."""
    if os.environ.get('TELLME_DATABASE_URL'):
        return
    data_dir = Path(os.environ.get('TELLME_DATA_DIR') or '.tellme')
    env_file, pid_file = data_dir / 'dev.env', data_dir / 'dev.pid'
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
        lines = env_file.read_text(encoding='utf-8').splitlines()
    except (OSError, ValueError):
        return  # no dev service running here
    for line in lines:
        name, sep, value = line.partition('=')
        if sep and name.startswith('TELLME_'):
            os.environ.setdefault(name, value)
    sys.stderr.write(f'tellme: using the running tellme dev service (pid {pid}): settings from {env_file}\n')


def _require_production_settings(settings: Settings, command: str) -> None:
    missing = settings.missing_for(command)
    if missing:
        raise SystemExit(f'tellme {command}: set {" and ".join(missing)} (or use `tellme dev` to start local ones)')


def _require_schema(settings: Settings, command: str) -> None:
    """`web` and `worker` need a migrated database; `migrate` is a release step they never run themselves."""
    from notifier import db

    problem = asyncio.run(db.check_schema(settings))
    if problem:
        raise SystemExit(f'tellme {command}: {problem}')


# commands with their own parser and their own checks of the settings, after their own --help: module → `main`
SUBCOMMANDS = {
    'assets': 'notifier.shell.assets',
    'postcodes': 'subscriptions.places.postcode_import',
    'addresses': 'subscriptions.places.addresses_cli',
    'staff': 'notifier.staff.cli',
    'notify': 'notifier.sending.notify_cli',
    'sources': 'sources.feeds.cli',
    'topics': 'subscriptions.topics.cli',
    'check-worker': 'notifier.shell.check_worker',
    'outbox': 'notifier.shell.outbox_cli',
}


def _run(command: str, settings: Settings, rest: list[str]) -> int:
    if command in SUBCOMMANDS:
        run_subcommand = importlib.import_module(SUBCOMMANDS[command]).main
        return int(run_subcommand(rest, settings))
    if command == 'dev':
        from notifier.shell.dev import run_dev

        return asyncio.run(run_dev(settings))
    _require_production_settings(settings, command)
    if command in ('web', 'worker'):
        _require_schema(settings, command)
    if command == 'web':
        from notifier.shell.serve import serve

        logger.info('serving on http://%s:%d', settings.host, settings.port)
        return asyncio.run(serve(settings))
    if command == 'worker':
        from workers.settings import make_worker

        make_worker(settings).run()
        return 0
    if command == 'migrate':
        from notifier import db

        applied = asyncio.run(db.migrate_database(settings))
        sys.stdout.write(f'applied {len(applied)} migration(s): {", ".join(applied) or "none, up to date"}\n')
        return 0
    raise SystemExit(f'tellme: unknown command {command}')
