"""`tellme staff …`: API tokens for case systems, staff tools and integrations.

    tellme staff create-token --role system --name "Uniform planning feed" --days 365
    tellme staff list-tokens
    tellme staff revoke-token 3

A new token is printed once, on its own line, and never again: only its hash is stored.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import asyncpg

from notifier import api_auth
from notifier.settings import Settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='tellme staff', description='API tokens for staff and systems.')
    sub = parser.add_subparsers(dest='action', required=True, metavar='ACTION')
    create = sub.add_parser('create-token', help='make a token and print it once')
    create.add_argument('--role', required=True, choices=api_auth.ROLES)
    create.add_argument('--name', default='', help='who or what uses it (default: the role)')
    create.add_argument('--days', type=int, default=None, help='expire after this many days (default: never)')
    sub.add_parser('list-tokens', help='list tokens (never the tokens themselves)')
    revoke = sub.add_parser('revoke-token', help='revoke a token by its id, at once')
    revoke.add_argument('id', type=int)
    return parser


def main(rest: list[str], settings: Settings) -> int:
    parser = build_parser()
    args = parser.parse_args(rest)
    if args.action == 'create-token' and args.days is not None and not 1 <= args.days <= 3650:
        parser.error('--days must be between 1 and 3650')
    if args.action == 'create-token' and len(args.name) > 100:
        parser.error('--name must be at most 100 characters')
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    conn = await asyncpg.connect(settings.database_url)
    try:
        if args.action == 'create-token':
            token_id, token = await api_auth.create_token(
                conn, name=args.name.strip() or args.role, role=args.role, days=args.days
            )
            sys.stderr.write(f'token {token_id} ({args.role}) created; it is shown once, keep it secret:\n')
            sys.stdout.write(token + '\n')
            return 0
        if args.action == 'list-tokens':
            rows = await api_auth.list_tokens(conn)
            sys.stdout.write(f'{"id":>4}  {"role":<12}  {"state":<8}  {"expires":<10}  {"last used":<16}  name\n')
            for row in rows:
                state = 'revoked' if row['revoked_at'] else 'live'
                expires = f'{row["expires_at"]:%Y-%m-%d}' if row['expires_at'] else 'never'
                used = f'{row["last_used_at"]:%Y-%m-%d %H:%M}' if row['last_used_at'] else 'never'
                sys.stdout.write(
                    f'{row["id"]:>4}  {row["role"]:<12}  {state:<8}  {expires:<10}  {used:<16}  {row["name"]}\n'
                )
            return 0
        if await api_auth.revoke_token(conn, args.id):
            sys.stdout.write(f'token {args.id} revoked\n')
            return 0
        sys.stderr.write(f'tellme staff: no live token with id {args.id}\n')
        return 1
    finally:
        await conn.close()
