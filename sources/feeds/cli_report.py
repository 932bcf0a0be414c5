"""What `tellme sources list|show|check|poll` print: health at a glance, one source in detail, a poll's outcome.

Secret header values are never printed: only their names.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import asyncpg

from sources.feeds import health, registry
from sources.feeds.fetch import shown
from sources.feeds.polling import PollResult

SHOWN_PROBLEMS = 20


def print_result(result: PollResult) -> None:
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
    if health.has_run_out(source, now):
        return 'ENDED'  # a bin schedule whose collections have all passed
    return 'ok' if source.last_success_at else 'new'


def ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return 'never'
    seconds = max(0, int((now - moment).total_seconds()))
    for unit, size in (('d', 86400), ('h', 3600), ('m', 60)):
        if seconds >= size:
            return f'{seconds // size}{unit} ago'
    return f'{seconds}s ago'


def print_list(sources: list[registry.Source]) -> None:
    now = datetime.now(UTC)
    out = sys.stdout.write
    out(f'{"name":<24} {"kind":<16} {"every":>5}  {"state":<8} {"last success":<13} {"fails":>5} {"seen":>6}  error\n')
    for s in sources:
        error = (s.last_error or '')[:70] if s.failing_since else ''
        seen = '' if s.last_records_seen is None else str(s.last_records_seen)
        out(
            f'{s.name:<24} {s.kind:<16} {registry.format_interval(s.interval):>5}  {state(s, now):<8} '
            f'{ago(s.last_success_at, now):<13} {s.consecutive_failures:>5} {seen:>6}  {error}\n'
        )
    if not sources:
        out('no sources yet: add one with `tellme sources add NAME --kind KIND --url URL`\n')


async def show(pool: asyncpg.Pool, name: str) -> int:
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
    if source.allow_internal:
        out('  may reach internal addresses (--allow-internal)\n')
    if source.allow_file:
        out('  may read its file (--allow-file)\n')
    out(f'  cursor {source.cursor or "(none)"}\n')
    out(f'  last success {ago(source.last_success_at, now)}, last failure {ago(source.last_failure_at, now)}'
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
