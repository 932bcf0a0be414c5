"""`tellme topics list|add|set|hide`: the topic catalogue from the command line (subscriptions/topics/catalogue.py).

    tellme topics list
    tellme topics add KEY --name NAME --group GROUP [--name-cy …] [--hint …] [--hint-cy …] [--hidden]
    tellme topics set KEY [--name …] [--name-cy …] [--hint …] [--hint-cy …] [--group …] [--offered | --hidden]
    tellme topics hide KEY

`hide` stops offering a topic to residents; the people who chose it keep it. `set KEY --offered` offers it again.
Every change is in the audit log as the command line's, with the same rules as the staff pages.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from notifier import audit, db
from notifier.settings import Settings
from subscriptions.topics import catalogue
from subscriptions.topics.catalogue import GROUPS, TopicNotFound, TopicProblem

CLI = audit.Actor('system', None, 'tellme topics (command line)')


def _texts(command: argparse.ArgumentParser) -> None:
    command.add_argument('--name', dest='name_en', help='the name residents read')
    command.add_argument('--name-cy', dest='name_cy', help="the Welsh name ('' shows Welsh readers the English one)")
    command.add_argument('--hint', dest='hint_en', help='a few words under the name at sign-up')
    command.add_argument('--hint-cy', dest='hint_cy', help='the Welsh hint')


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='tellme topics', description=__doc__.split('\n\n')[0])
    sub = parser.add_subparsers(dest='action', required=True, metavar='ACTION')
    sub.add_parser('list', help='every topic: key, names, group, offered or hidden, subscriptions')
    add = sub.add_parser('add', help='add a topic (offered to residents unless --hidden)')
    add.add_argument('key', help='lower-case letters, like roadworks; it never changes')
    _texts(add)
    add.add_argument('--group', required=True, choices=list(GROUPS))
    add.add_argument('--hidden', action='store_true', help='do not offer it to residents yet')
    change = sub.add_parser('set', help="change a topic's names, hints, group, or whether residents may choose it")
    change.add_argument('key')
    _texts(change)
    change.add_argument('--group', choices=list(GROUPS))
    shown = change.add_mutually_exclusive_group()
    shown.add_argument('--offered', dest='offered', action='store_const', const=True, help='offer it to residents')
    shown.add_argument('--hidden', dest='offered', action='store_const', const=False, help='stop offering it')
    hide = sub.add_parser('hide', help='stop offering a topic to residents (those who chose it keep it)')
    hide.add_argument('key')
    return parser


def _values(args: argparse.Namespace) -> dict[str, Any]:
    values = {name: getattr(args, name, None) for name in catalogue.FIELDS}
    return {name: value for name, value in values.items() if value is not None}


def _table(topics: catalogue.Catalogue, counts: dict[str, int]) -> str:
    rows = [('KEY', 'NAME', 'WELSH NAME', 'GROUP', 'RESIDENTS', 'SUBSCRIPTIONS')]
    rows += [(t.key, t.name_en, t.name_cy or '-', t.group, 'offered' if t.offered else 'hidden',
              str(counts.get(t.key, 0))) for t in topics.topics]  # fmt: skip
    widths = [max(len(row[n]) for row in rows) for n in range(len(rows[0]))]
    return ''.join('  '.join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + '\n'
                   for row in rows)  # fmt: skip


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    conn = await db.connect(settings)
    try:
        if args.action == 'list':
            sys.stdout.write(_table(await catalogue.load(conn), await catalogue.subscribers(conn)))
            return 0
        if args.action == 'add':
            values = {**_values(args), 'offered': not args.hidden}
            topic = await catalogue.add(conn, args.key, values, CLI)
            verb = 'added'
        else:
            values = {'offered': False} if args.action == 'hide' else _values(args)
            topic = await catalogue.change(conn, args.key, values, CLI)
            verb = 'hidden' if args.action == 'hide' else 'saved'
    except TopicNotFound:
        sys.stderr.write(f'tellme topics {args.action}: no topic {args.key!r} (tellme topics list shows them)\n')
        return 1
    except TopicProblem as exc:
        for field, message in exc.errors.items():
            sys.stderr.write(f'tellme topics {args.action}: {field}: {message}\n')
        return 1
    finally:
        await conn.close()
    shown = 'offered to residents' if topic.offered else 'hidden from residents (those who chose it keep it)'
    sys.stdout.write(f'{topic.key} {verb}: {topic.name_en}, {shown}\n')
    return 0


def main(argv: list[str], settings: Settings) -> int:
    """`tellme topics …`; returns the exit status."""
    args = build_parser().parse_args(argv)
    if not settings.database_url:
        sys.stderr.write(f'tellme topics {args.action}: set TELLME_DATABASE_URL\n')
        return 2
    return asyncio.run(_run(args, settings))
