"""`tellme`: one command for every process (a composition root: it builds Settings once and passes them on)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from pydantic import ValidationError

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
    'postcodes': 'postcodes import [PATH]: load OS Code-Point Open postcodes for offline geocoding',
    'addresses': "addresses import FILE.csv: load a council's LLPG addresses for bin day reminders",
    'staff': (
        'staff add|list|roles|reset-password|allow-oidc|disable (accounts), create-token|list-tokens|revoke-token (API)'
    ),
    'sources': 'sources add|set|reset-cursor|list|show|check|poll|pause|resume|remove: the feeds Tell Me polls',
    'assets': 'fetch GOV.UK Frontend (and the test tools) from the npm registry, checking package-lock.json',
}
# commands whose own parser reads the rest of the line
PASS_THROUGH = {'notify', 'notify-sim', 'postcodes', 'addresses', 'staff', 'sources', 'assets', 'check-worker'}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='tellme', description='Tell Me: resident notifications for UK councils.')
    sub = parser.add_subparsers(dest='command', required=True, metavar='COMMAND')
    for name, help_text in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text, add_help=name not in PASS_THROUGH)
        if name in PASS_THROUGH:
            command.add_argument('rest', nargs=argparse.REMAINDER)
    return parser


def setup_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    logging.getLogger('aiohttp.access').setLevel(logging.WARNING)


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
    if command == 'assets':
        from notifier.shell.assets import main as assets_main

        return assets_main(rest)
    try:
        settings = Settings()
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False):
            name = 'TELLME_' + '_'.join(str(part) for part in error['loc']).upper()
            sys.stderr.write(f'tellme: {name}: {error["msg"]}\n')
        return 2
    setup_logging(settings.log_level)
    try:
        return _run(command, settings, rest)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one clear line, details in the log
        logger.debug('%s failed', command, exc_info=True)
        sys.stderr.write(f'tellme {command}: {type(exc).__name__}: {exc}\n')
        return 1


def _require_production_settings(settings: Settings, command: str) -> None:
    missing = settings.missing_for(command)
    if missing:
        raise SystemExit(f'tellme {command}: set {" and ".join(missing)} (or use `tellme dev` to start local ones)')


def _run(command: str, settings: Settings, rest: list[str]) -> int:
    if command == 'dev':
        from notifier.shell.dev import run_dev

        return asyncio.run(run_dev(settings))
    # these two check their own settings, after their own --help
    if command == 'postcodes':
        from subscriptions.places.postcode_import import main as postcodes_main

        return postcodes_main(rest, settings)
    if command == 'addresses':
        from subscriptions.places.addresses_cli import main as addresses_main

        return addresses_main(rest, settings)
    if command == 'staff':
        from notifier.staff.cli import main as staff_main

        return staff_main(rest, settings)
    if command == 'notify':
        from notifier.sending.notify_cli import main as notify_main

        return notify_main(rest, settings)
    if command == 'sources':
        from sources.feeds.cli import main as sources_main

        return sources_main(rest, settings)
    if command == 'check-worker':
        from notifier.shell.check_worker import main as check_worker_main

        return check_worker_main(rest, settings)
    _require_production_settings(settings, command)
    if command == 'web':
        from notifier.shell.serve import serve

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
