"""`tellme sources …`: the feeds Tell Me polls, managed from the command line.

    tellme sources add iom-planning --kind planning-csv --url https://…/weekly.csv --every 1d \\
        --option 'map.key=PA Ref' --option map.summary=Details --header 'X-Api-Key: …'
    tellme sources list                 health at a glance
    tellme sources check NAME           fetch and parse, write nothing, say what a poll would do
    tellme sources poll NAME            poll once now: new / changed / unchanged / rejected
    tellme sources pause|resume|remove NAME

Header values (API keys) are stored for the requests and never printed again.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime

import aiohttp
import asyncpg

from notifier import db
from notifier.settings import Settings
from sources import health, registry
from sources.adapters import ADAPTERS
from sources.fetch import shown
from sources.polling import PollResult, poll_source

SHOWN_PROBLEMS = 20


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='tellme sources', description='The feeds Tell Me polls.')
    sub = parser.add_subparsers(dest='action', required=True, metavar='ACTION')
    add = sub.add_parser('add', help='add a feed to poll')
    add.add_argument('name', help='a short name, e.g. trafford-planning (also the source of its events)')
    add.add_argument('--kind', required=True, help=f'the feed format: {", ".join(sorted(ADAPTERS))}')
    add.add_argument('--url', required=True, help='http://, https:// or file:// URL of the feed')
    add.add_argument('--every', default='15m', help='how often to poll: 15m, 1h, 1d (default 15m)')
    add.add_argument('--option', action='append', default=[], metavar='KEY=VALUE', help="the adapter's options")
    add.add_argument('--header', action='append', default=[], metavar="'NAME: VALUE'", help='a secret header')
    add.add_argument('--silent-after', default=None, help='alert when no news for this long (default: learnt)')
    sub.add_parser('list', help='every source and its health')
    for action, text in (
        ('check', 'fetch and parse, write nothing, print what a poll would do'),
        ('poll', 'poll once now and print new / changed / unchanged / rejected counts'),
        ('pause', 'stop polling (news from this feed stops until resumed)'),
        ('resume', 'poll again, starting now'),
        ('remove', 'forget the source and its poll log (its events stay)'),
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


def main(argv: list[str], settings: Settings) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not settings.database_url:
        sys.stderr.write('tellme sources: set TELLME_DATABASE_URL\n')
        return 2
    if args.action == 'add':
        if args.kind not in ADAPTERS:
            parser.error(f'unknown kind {args.kind!r}; known kinds: {", ".join(sorted(ADAPTERS))}')
        args.options = _pairs(args.option, '=', '--option', parser)
        args.headers = _pairs(args.header, ':', '--header', parser)
        try:
            args.interval = registry.parse_interval(args.every)
            args.silent = registry.parse_interval(args.silent_after) if args.silent_after else None
        except registry.SourceConfigError as exc:
            parser.error(str(exc))
    try:
        return asyncio.run(_run(args, settings))
    except registry.SourceConfigError as exc:
        sys.stderr.write(f'tellme sources: {exc}\n')
        return 1


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    pool = await db.create_pool(settings, min_size=1, max_size=3)
    try:
        if args.action == 'add':
            source = await registry.add_source(
                pool, name=args.name, kind=args.kind, url=args.url, interval=args.interval, options=args.options,
                headers=args.headers, silent_after=args.silent,
            )  # fmt: skip
            secret = f', {len(source.header_names)} secret header(s)' if source.header_names else ''
            sys.stdout.write(
                f'added {source.name} ({source.kind}, every {registry.format_interval(source.interval)}{secret}); '
                f'try `tellme sources check {source.name}`\n'
            )
            return 0
        if args.action == 'list':
            _print_list(await registry.list_sources(pool))
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
            return await _show(pool, args.name)
        return await _poll(pool, settings, args.name, check=args.action == 'check')
    finally:
        await pool.close()


async def _poll(pool: asyncpg.Pool, settings: Settings, name: str, *, check: bool) -> int:
    redis = None
    if not check and settings.redis_url:
        from notifier import queue

        try:
            redis = await queue.connect(settings)
        except Exception:  # noqa: BLE001 - the senders also poll the outbox every second
            redis = None
    try:
        async with aiohttp.ClientSession() as session:
            result = await poll_source(pool, session, name, redis=redis, check=check)
    finally:
        if redis is not None:
            await redis.aclose()
    _print_result(result)
    return 1 if result.outcome == 'failed' else 0


def _print_result(result: PollResult) -> None:
    out = sys.stdout.write
    if result.outcome == 'check':
        out('check only: nothing was written\n')
        for line in result.lines:
            out(f'  {line}\n')
    out(result.summary() + '\n')
    for problem in result.problems[:SHOWN_PROBLEMS]:
        out(f'  rejected {problem.where}: {problem.reason}\n')
    if len(result.problems) > SHOWN_PROBLEMS:
        out(f'  … and {len(result.problems) - SHOWN_PROBLEMS} more rejected\n')
    for note in result.notes[:SHOWN_PROBLEMS]:
        out(f'  note: {note}\n')
    if result.alerts:
        out(f'  raised {len(result.alerts)} staff alert(s) on {health.TOPIC}\n')


def state(source: registry.Source, now: datetime) -> str:
    if source.status == 'paused':
        return 'paused'
    if health.is_failing(source, now):
        return 'FAILING'
    if source.failing_since is not None:
        return 'erroring'
    if source.silent_alert_at is not None:
        return 'SILENT'
    return 'ok' if source.last_success_at else 'new'


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return 'never'
    seconds = max(0, int((now - moment).total_seconds()))
    for unit, size in (('d', 86400), ('h', 3600), ('m', 60)):
        if seconds >= size:
            return f'{seconds // size}{unit} ago'
    return f'{seconds}s ago'


def _print_list(sources: list[registry.Source]) -> None:
    now = datetime.now(UTC)
    out = sys.stdout.write
    out(f'{"name":<24} {"kind":<16} {"every":>5}  {"state":<8} {"last success":<13} {"fails":>5} {"seen":>6}  error\n')
    for s in sources:
        error = (s.last_error or '')[:70] if s.failing_since else ''
        seen = '' if s.last_records_seen is None else str(s.last_records_seen)
        out(
            f'{s.name:<24} {s.kind:<16} {registry.format_interval(s.interval):>5}  {state(s, now):<8} '
            f'{_ago(s.last_success_at, now):<13} {s.consecutive_failures:>5} {seen:>6}  {error}\n'
        )
    if not sources:
        out('no sources yet: add one with `tellme sources add NAME --kind KIND --url URL`\n')


async def _show(pool: asyncpg.Pool, name: str) -> int:
    source = await registry.get_source(pool, name)
    if source is None:
        raise registry.SourceConfigError(f'there is no source called {name!r}')
    now = datetime.now(UTC)
    out = sys.stdout.write
    out(f'{source.name}: {source.kind} {shown(source.url)}, every {registry.format_interval(source.interval)}, '
        f'{state(source, now)}\n')  # fmt: skip
    for key, value in sorted(source.options.items()):
        out(f'  option {key}={value}\n')
    for header in source.header_names:
        out(f'  header {header}: (secret)\n')
    out(f'  last success {_ago(source.last_success_at, now)}, last failure {_ago(source.last_failure_at, now)}'
        f'{": " + source.last_error if source.last_error else ""}\n')  # fmt: skip
    polls = await registry.recent_polls(pool, source.id)
    for poll in polls:
        error = f'; {poll["error"]}' if poll['error'] else ''
        out(
            f'  {poll["started_at"]:%Y-%m-%d %H:%M} {poll["outcome"]:<12} {poll["new"]} new, {poll["changed"]} '
            f'changed, {poll["unchanged"]} unchanged, {poll["rejected"]} rejected{error}\n'
        )
    if polls:
        for problem in polls[0]['problems'][:SHOWN_PROBLEMS]:
            out(f'  last poll rejected {problem["where"]}: {problem["reason"]}\n')
        for note in polls[0]['notes'][:SHOWN_PROBLEMS]:
            out(f'  last poll note: {note}\n')
    return 0
