"""`tellme notify …`: the council's Notify templates, from creating them to checking them.

    tellme notify templates [--json]   what to create in Notify (Templates → New template), exactly
    tellme notify link                 find them in Notify by name, check them, store their ids (safe to run again)
    tellme notify check                check the stored links against Notify now

`link` and `check` print one line per template and exit 0 only when every one is linked and matches; otherwise 1,
naming each one missing or different and why. Messages on a channel whose template is not linked wait; linking
releases them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

import aiohttp

from notifier import db
from notifier.sending import errors, template_links
from notifier.sending.notify_client import NotifyClient
from notifier.settings import Settings

STATE_WORDS = {'linked': 'linked', 'missing': 'MISSING', 'different': 'DIFFERENT'}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='tellme notify', description="The council's GOV.UK Notify templates.")
    sub = parser.add_subparsers(dest='action', required=True, metavar='ACTION')
    shown = sub.add_parser('templates', help='print the templates to create in Notify')
    shown.add_argument('--json', action='store_true', help='a JSON list of {name, type, subject, body}')
    sub.add_parser('link', help='find the templates in Notify by name, check them and store their ids')
    sub.add_parser('check', help='check the stored links against Notify now')
    return parser


def main(argv: list[str], settings: Settings) -> int:
    args = build_parser().parse_args(argv)
    if args.action == 'templates':
        sys.stdout.write(templates_text(settings, as_json=args.json))
        return 0
    missing = [name for name, present in (('TELLME_DATABASE_URL', settings.database_url),
                                          ('TELLME_NOTIFY_API_KEY', settings.notify_api_key.get_secret_value()))
               if not present]  # fmt: skip
    if missing:
        sys.stderr.write(f'tellme notify {args.action}: set {" and ".join(missing)}\n')
        return 2
    try:
        links = asyncio.run(run(args.action, settings))
    except errors.NotifyError as exc:
        sys.stderr.write(f'tellme notify {args.action}: Notify did not answer as expected: {exc}\n')
        return 1
    sys.stdout.write(table(links))
    return 0 if all(link.ok for link in links) else 1


def templates_text(settings: Settings, *, as_json: bool) -> str:
    wanted = template_links.wanted(settings)
    if as_json:
        return json.dumps([t.as_json() for t in wanted], indent=2, ensure_ascii=False) + '\n'
    parts = ['Create these templates in GOV.UK Notify (Templates → New template), with exactly these names and\n'
             'contents; then run `tellme notify link`.\n']  # fmt: skip
    for t in wanted:
        parts.append(f'\n{t.channel} template\n  Name:    {t.name}\n')
        if t.subject is not None:
            parts.append(f'  {"Heading" if t.channel == "letter" else "Subject"}: {t.subject}\n')
        parts.append(f'  Body:    {t.body}\n')
    return ''.join(parts)


async def run(action: str, settings: Settings) -> list[template_links.Link]:
    pool = await db.create_pool(settings, max_size=2)
    try:
        async with aiohttp.ClientSession() as http:
            client = NotifyClient(http, settings.notify_api_key.get_secret_value(), settings.notify_base_url,
                                  timeout=settings.notify_timeout)  # fmt: skip
            if action == 'link':
                return await template_links.link(pool, client, settings)
            return await template_links.check(pool, client, settings)
    finally:
        await pool.close()


def table(links: list[template_links.Link]) -> str:
    rows = [('Channel', 'Name', 'State', 'Notify id', 'Problem')]
    rows += [(link.channel, link.name, STATE_WORDS[link.state], link.notify_id or '-', link.problem or '')
             for link in links]  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ['  '.join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)) + '  ' + row[4]
             for row in rows]  # fmt: skip
    return '\n'.join(line.rstrip() for line in lines) + '\n'
