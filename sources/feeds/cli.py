"""`tellme sources …`: the feeds Tell Me polls, managed from the command line.

    tellme sources add iom-planning --kind planning-csv --url https://…/weekly.csv --every 1d \\
        --option 'map.key=PA Ref' --option map.summary=Details --header-from-env X-Api-Key=IOM_KEY
    tellme sources set NAME [--url URL] [--every 30m] [--option KEY=VALUE …] [--unset-option KEY …]
        [--header-from-env NAME=VARIABLE …] [--unset-header NAME …] [--silent-after 2d|learn]
        [--allow-internal|--no-allow-internal] [--allow-file|--no-allow-file]
    tellme sources reset-cursor NAME [--to 2026-11-01]   read the feed again (e.g. after fixing a mapping)
    tellme sources list                 health at a glance
    tellme sources check NAME           fetch and parse, write nothing, say what a poll would do
    tellme sources poll NAME            poll once now: new / changed / unchanged / rejected
    tellme sources show NAME            one source in detail, with its recent polls
    tellme sources pause|resume|remove NAME

Header values (API keys) are stored encrypted with TELLME_SECRET_KEY and never printed again;
`--header-from-env NAME=VARIABLE` reads one from the environment, so it appears in no shell history or `ps`.

A source reaches public web addresses only. `--allow-internal` lets it reach this network's own addresses
(loopback, private, link-local, cloud metadata …) and `--allow-file` read its file:// URL on the worker's machine:
whoever runs this command is the administrator making that choice, and each add and change is written to the
audit log.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta

import asyncpg

from notifier import audit, db
from notifier.settings import Settings
from sources.feeds import cli_report, edit, registry
from sources.feeds.adapters import ADAPTERS
from sources.feeds.cursors import cursor_from
from sources.feeds.fetch import shown
from sources.feeds.polling import poll_source

CLI = audit.Actor('system', None, 'tellme sources (command line)')
HISTORY_HINT = ('note: a header typed on the command line stays in your shell history and is visible in `ps`; '
                '--header-from-env NAME=VARIABLE avoids that\n')  # fmt: skip


ALLOW_INTERNAL_HELP = ('let it reach non-public addresses: loopback, private, link-local, CGNAT, cloud metadata '
                       '(a feed on this network; audited)')  # fmt: skip
ALLOW_FILE_HELP = "let it read its file:// URL on the worker's machine (audited)"


def _headers_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--option', action='append', default=[], metavar='KEY=VALUE', help="an adapter's option")
    parser.add_argument('--header-from-env', action='append', default=[], metavar='NAME=VARIABLE',
                        help='a secret header (an API key) read from the environment variable VARIABLE')  # fmt: skip
    parser.add_argument('--header', action='append', default=[], metavar="'NAME: VALUE'",
                        help='a secret header typed out (prefer --header-from-env)')  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='tellme sources', description='The feeds Tell Me polls.')
    sub = parser.add_subparsers(dest='action', required=True, metavar='ACTION')
    add = sub.add_parser('add', help='add a feed to poll')
    add.add_argument('name', help='a short name, e.g. trafford-planning (also the source of its events)')
    add.add_argument('--kind', required=True, help=f'the feed format: {", ".join(sorted(ADAPTERS))}')
    add.add_argument('--url', required=True, help='http://, https:// or file:// URL of the feed')
    add.add_argument('--every', default='15m', help='how often to poll: 15m, 1h, 1d (default 15m)')
    _headers_options(add)
    add.add_argument('--allow-internal', action='store_true', help=ALLOW_INTERNAL_HELP)
    add.add_argument('--allow-file', action='store_true', help=ALLOW_FILE_HELP)
    add.add_argument('--silent-after', default=None, help='alert when no news for this long (default: learnt)')
    change = sub.add_parser('set', help='change a source, keeping its cursor, health and history')
    change.add_argument('name')
    change.add_argument('--url', help='a new http://, https:// or file:// URL')
    change.add_argument('--every', help='how often to poll: 15m, 1h, 1d')
    _headers_options(change)
    change.add_argument('--unset-option', action='append', default=[], metavar='KEY', help='remove an option')
    change.add_argument('--unset-header', action='append', default=[], metavar='NAME', help='remove a header')
    change.add_argument('--silent-after', help="alert when no news for this long, or 'learn' to learn it again")
    change.add_argument('--allow-internal', action=argparse.BooleanOptionalAction, help=ALLOW_INTERNAL_HELP)
    change.add_argument('--allow-file', action=argparse.BooleanOptionalAction, help=ALLOW_FILE_HELP)
    reset = sub.add_parser('reset-cursor', help='read the feed again from a date (or as far back as it goes)')
    reset.add_argument('name')
    reset.add_argument('--to', metavar='ISO-DATE', help='e.g. 2026-11-01 (default: forget the cursor)')
    sub.add_parser('list', help='every source and its health')
    for action, text in (
        ('check', 'fetch and parse, write nothing, print what a poll would do'),
        ('poll', 'poll once now and print new / changed / unchanged / rejected counts'),
        ('pause', 'stop polling (news from this feed stops until resumed)'),
        ('resume', 'poll again, starting now'),
        ('remove', 'forget the source, its cursor and its poll log (its events stay)'),
        ('show', 'one source in detail, with its recent polls'),
    ):
        sub.add_parser(action, help=text).add_argument('name')
    return parser


def _pairs(values: list[str], separator: str, what: str, parser: argparse.ArgumentParser) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        key, found, rest = value.partition(separator)
        if not found or not key.strip():
            parser.error(f'{what} {value!r} must look like {"KEY=VALUE" if separator == "=" else "NAME: VALUE"}')
        pairs[key.strip()] = rest.strip()
    return pairs


def _headers(args: argparse.Namespace, parser: argparse.ArgumentParser) -> dict[str, str]:
    """--header 'NAME: VALUE' and --header-from-env NAME=VARIABLE (never echoing a value)."""
    headers = {}
    for typed in args.header:
        name, found, value = typed.partition(':')
        if not found or not name.strip():
            parser.error(f"--header must look like 'NAME: VALUE' (the header {name.strip()!r} has no ': ')")
        headers[name.strip()] = value.strip()
    for name, variable in _pairs(args.header_from_env, '=', '--header-from-env', parser).items():
        value = os.environ.get(variable, '').strip()
        if not variable or not value:
            parser.error(f'--header-from-env {name}={variable}: the environment variable {variable!r} is not set '
                         '(or is empty) in this shell')  # fmt: skip
        headers[name] = value
    if args.header:
        sys.stderr.write(HISTORY_HINT)
    return headers


def _interval(text: str | None, parser: argparse.ArgumentParser) -> timedelta | None:
    try:
        return registry.parse_interval(text) if text else None
    except registry.SourceConfigError as exc:
        parser.error(str(exc))


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.action in ('add', 'set'):
        args.options = _pairs(args.option, '=', '--option', parser)
        args.headers = _headers(args, parser)
        args.interval = _interval(args.every, parser)
        learn = args.action == 'set' and (args.silent_after or '').strip().lower() == 'learn'
        args.silent = 'learn' if learn else _interval(args.silent_after, parser)
    if args.action == 'add' and args.kind not in ADAPTERS:
        parser.error(f'unknown kind {args.kind!r}; known kinds: {", ".join(sorted(ADAPTERS))}')
    if args.action == 'reset-cursor' and args.to is not None:
        try:
            args.to = cursor_from(args.to, datetime.now(UTC))
        except registry.SourceConfigError as exc:
            parser.error(f'--to {exc}')
    return args


def main(argv: list[str], settings: Settings) -> int:
    args = _parse(argv)
    if not settings.database_url:
        sys.stderr.write('tellme sources: set TELLME_DATABASE_URL\n')
        return 2
    try:
        return asyncio.run(_run(args, settings))
    except registry.SourceConfigError as exc:
        sys.stderr.write(f'tellme sources: {exc}\n')
        return 1


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    pool = await db.create_pool(settings, min_size=1, max_size=3)
    try:
        if args.action == 'add':
            return await _add(pool, args, settings)
        if args.action == 'set':
            return await _set(pool, args, settings)
        if args.action == 'reset-cursor':
            return await _reset(pool, args)
        if args.action == 'list':
            cli_report.print_list(await registry.list_sources(pool))
            return 0
        if args.action in ('pause', 'resume'):
            change = registry.pause_source if args.action == 'pause' else registry.resume_source
            if await change(pool, args.name) is None:
                raise registry.SourceConfigError(f'there is no source called {args.name!r}')
            sys.stdout.write(f'{args.name} {"paused" if args.action == "pause" else "active; due now"}\n')
            return 0
        if args.action == 'remove':
            if not await registry.remove_source(pool, args.name):
                raise registry.SourceConfigError(f'there is no source called {args.name!r}')
            sys.stdout.write(f'{args.name} removed (the events it recorded are kept)\n')
            return 0
        if args.action == 'show':
            return await cli_report.show(pool, args.name)
        return await _poll(pool, settings, args.name, check=args.action == 'check')
    finally:
        await pool.close()


async def _add(pool: asyncpg.Pool, args: argparse.Namespace, settings: Settings) -> int:
    async with pool.acquire() as conn, conn.transaction():
        source = await registry.add_source(
            conn, name=args.name, kind=args.kind, url=args.url, interval=args.interval, options=args.options,
            headers=args.headers, silent_after=args.silent, secrets=settings.link_secrets,
            allow_internal=args.allow_internal, allow_file=args.allow_file,
        )  # fmt: skip
        details = {'kind': source.kind, 'url': shown(source.url), 'options': sorted(source.options),
                   'headers': source.header_names, 'allow_internal': source.allow_internal,
                   'allow_file': source.allow_file}  # fmt: skip
        await audit.record(conn, CLI, 'source.add', target_kind='source', target_id=source.name, details=details)
    secret = f', {len(source.header_names)} secret header(s)' if source.header_names else ''
    sys.stdout.write(
        f'added {source.name} ({source.kind}, every {registry.format_interval(source.interval)}{secret}); '
        f'try `tellme sources check {source.name}`\n'
    )
    return 0


async def _set(pool: asyncpg.Pool, args: argparse.Namespace, settings: Settings) -> int:
    change = edit.Change(
        url=args.url, interval=args.interval, options=args.options, unset_options=args.unset_option,
        headers=args.headers, unset_headers=args.unset_header, silent_after=args.silent,
        allow_internal=args.allow_internal, allow_file=args.allow_file,
    )  # fmt: skip
    done = await edit.change_source(pool, args.name, change, secrets=settings.link_secrets, actor=CLI)
    said = [f'url {shown(args.url)}'] if args.url else []
    said += [f'every {registry.format_interval(args.interval)}'] if args.interval else []
    said += [f'option {key}={value}' for key, value in args.options.items()]
    said += [f'option {key} removed' for key in args.unset_option]
    said += [f'header {name} (secret)' for name in args.headers]
    said += [f'header {name} removed' for name in args.unset_header]
    if args.silent == 'learn':
        said.append('silent after: learnt from the poll log')
    elif args.silent:
        said.append(f'silent after {registry.format_interval(args.silent)}')
    if args.allow_internal is not None:
        said.append('may reach internal addresses' if args.allow_internal else 'public addresses only')
    if args.allow_file is not None:
        said.append('may read its file' if args.allow_file else 'may not read a file')
    sys.stdout.write(f'{done.source.name} changed: {", ".join(said)}\n')
    if done.refetch:
        sys.stdout.write('  the next poll (due now) reads the whole feed again; its cursor and history are kept\n')
    for warning in done.warnings:
        sys.stderr.write(f'warning: {warning}\n')
    return 0


async def _reset(pool: asyncpg.Pool, args: argparse.Namespace) -> int:
    source, previous = await edit.reset_cursor(pool, args.name, args.to)
    was = f'was {previous}' if previous else 'was not set'
    now = f'now {args.to}' if args.to else 'now unset (the feed is read as far back as its adapter looks)'
    sys.stdout.write(f'{source.name}: cursor {was}, {now}; the next poll (due now) reads the feed again\n')
    return 0


async def _poll(pool: asyncpg.Pool, settings: Settings, name: str, *, check: bool) -> int:
    redis = None
    if not check and settings.redis_url:
        from notifier.outbox import queue

        try:
            redis = await queue.connect(settings)
        except Exception:  # noqa: BLE001 - the senders also poll the outbox every second
            redis = None
    try:
        result = await poll_source(pool, name, redis=redis, check=check, secrets=settings.link_secrets)
    finally:
        if redis is not None:
            await redis.aclose()
    cli_report.print_result(result)
    return 1 if result.outcome == 'failed' else 0
