"""`tellme staff …`: API tokens for case systems, staff tools and integrations (accounts: staff_accounts_cli.py).

    tellme staff create-token "FixMyStreet" --role system --source fixmystreet --may-verify --expires 365d
    tellme staff create-token --role comms --name "Press office" --days 90
    tellme staff list-tokens
    tellme staff revoke-token 3

A new token is printed once, on its own line, and never again: only its hash is stored. `--source` (repeatable)
binds the token to those sources: it may then push case updates and events for them only. `--may-verify` (system
tokens bound to sources) lets the case system say it has verified a reporter's addresses itself, so they are
subscribed without a confirmation message. `--expires 90d` (or 12w, 1y; `--days 90` is the same) sets an expiry.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys

import asyncpg

from notifier import db
from notifier.api import auth as api_auth
from notifier.settings import Settings
from notifier.staff import accounts_cli as staff_accounts_cli

MAX_DAYS = 3650
EXPIRES = re.compile(r'(\d{1,5})\s*([dwy])')
UNIT_DAYS = {'d': 1, 'w': 7, 'y': 365}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='tellme staff',
        description=(
            'API tokens for staff and systems. Accounts: tellme staff add|list|roles|reset-password|allow-oidc|disable.'
        ),
    )
    sub = parser.add_subparsers(dest='action', required=True, metavar='ACTION')
    create = sub.add_parser('create-token', help='make a token and print it once')
    create.add_argument('name_arg', nargs='?', metavar='NAME', help='who or what uses it (default: the role)')
    create.add_argument('--role', required=True, choices=api_auth.ROLES)
    create.add_argument('--name', default='', help='the same as NAME')
    create.add_argument(
        '--source', action='append', default=[], metavar='SOURCE', dest='sources',
        help='bind the token to this source (repeat for several): it may push case updates and events for '
        'these sources only (default: any source)',
    )  # fmt: skip
    create.add_argument(
        '--may-verify', action='store_true',
        help='(system tokens bound to sources) the case system verifies reporters\' addresses itself: its '
        '"verified" subscribes them without a confirmation message',
    )  # fmt: skip
    expiry = create.add_mutually_exclusive_group()
    expiry.add_argument('--expires', metavar='AGE', help='expire after 90d, 12w or 1y (default: never)')
    expiry.add_argument('--days', type=int, default=None, help='expire after this many days (default: never)')
    sub.add_parser('list-tokens', help='list tokens with their sources and expiry (never the tokens themselves)')
    revoke = sub.add_parser('revoke-token', help='revoke a token by its id, at once')
    revoke.add_argument('id', type=int)
    return parser


def expiry_days(text: str) -> int:
    """'90d' → 90, '12w' → 84, '1y' → 365; ValueError otherwise."""
    match = EXPIRES.fullmatch(text.strip().lower())
    if not match:
        raise ValueError(f'--expires {text!r}: give a number of days, weeks or years, such as 90d, 12w or 1y')
    return int(match.group(1)) * UNIT_DAYS[match.group(2)]


def _checked(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.Namespace:
    if args.name_arg and args.name and args.name_arg != args.name:
        parser.error('give the name once: as NAME or as --name')
    args.name = (args.name_arg or args.name).strip()
    if len(args.name) > 100:
        parser.error('--name must be at most 100 characters')
    if args.expires is not None:
        try:
            args.days = expiry_days(args.expires)
        except ValueError as exc:
            parser.error(str(exc))
    if args.days is not None and not 1 <= args.days <= MAX_DAYS:
        parser.error(f'the expiry must be between 1 day and {MAX_DAYS} days (10 years)')
    try:
        args.sources = api_auth.checked_sources(args.sources)
    except ValueError as exc:
        parser.error(f'--source: {exc}')
    if args.role == 'admin' and args.sources:
        parser.error('an admin token may do everything, so it cannot be bound to sources: use --role system')
    if args.may_verify and (args.role != 'system' or not args.sources):
        parser.error('--may-verify is for a system token bound to its case system: add --role system --source NAME')
    return args


def main(rest: list[str], settings: Settings) -> int:
    if rest and rest[0] in staff_accounts_cli.ACTIONS:
        return staff_accounts_cli.main(rest, settings)
    parser = build_parser()
    args = parser.parse_args(rest)
    if args.action == 'create-token':
        args = _checked(parser, args)
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    conn = await db.connect(settings, codecs=False)
    try:
        if args.action == 'create-token':
            return await _create(conn, args)
        if args.action == 'list-tokens':
            _list(await api_auth.list_tokens(conn))
            return 0
        if await api_auth.revoke_token(conn, args.id):
            sys.stdout.write(f'token {args.id} revoked\n')
            return 0
        sys.stderr.write(f'tellme staff: no live token with id {args.id}\n')
        return 1
    finally:
        await conn.close()


async def _create(conn: asyncpg.Connection, args: argparse.Namespace) -> int:
    token_id, token = await api_auth.create_token(
        conn, name=args.name or args.role, role=args.role, days=args.days, sources=args.sources,
        may_verify=args.may_verify,
    )  # fmt: skip
    row = await conn.fetchrow('select expires_at from api_tokens where id = $1', token_id)
    details = [args.role, f'sources: {", ".join(args.sources)}' if args.sources else 'any source']
    if args.may_verify:
        details.append("may vouch for reporters' addresses")
    details.append(f'expires {row["expires_at"]:%Y-%m-%d %H:%M} UTC' if row['expires_at'] else 'never expires')
    sys.stderr.write(f'token {token_id} ({"; ".join(details)}) created; it is shown once, keep it secret:\n')
    sys.stdout.write(token + '\n')
    unknown = set(args.sources) - {
        r['name'] for r in await conn.fetch('select name from sources where name = any($1::text[])', args.sources)
    }
    for name in sorted(unknown):
        sys.stderr.write(f'note: {name} is not a source Tell Me polls (fine for a case system that only pushes)\n')
    return 0


def _list(rows: list[asyncpg.Record]) -> None:
    sys.stdout.write(
        f'{"id":>4}  {"role":<12}  {"state":<8}  {"expires (UTC)":<16}  {"last used (UTC)":<16}  {"verify":<6}  '
        f'{"sources":<24}  name\n'
    )
    for row in rows:
        state = 'revoked' if row['revoked_at'] else 'expired' if row['expired'] else 'live'
        expires = f'{row["expires_at"]:%Y-%m-%d %H:%M}' if row['expires_at'] else 'never'
        used = f'{row["last_used_at"]:%Y-%m-%d %H:%M}' if row['last_used_at'] else 'never'
        verify = 'yes' if row['may_verify'] else 'no'
        sources = ','.join(row['sources']) or 'any'
        sys.stdout.write(
            f'{row["id"]:>4}  {row["role"]:<12}  {state:<8}  {expires:<16}  {used:<16}  {verify:<6}  '
            f'{sources:<24}  {row["name"]}\n'
        )
