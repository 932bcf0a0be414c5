"""`tellme staff add|list|roles|reset-password|allow-oidc|disable`: staff accounts for the staff pages.

    tellme staff add jo.bloggs@council.gov.uk --role case_officer --role approver --name "Jo Bloggs"
    tellme staff add jo.bloggs@council.gov.uk --role comms --oidc   # may also sign in with the council account
    tellme staff allow-oidc jo.bloggs@council.gov.uk         # let the next council sign-in link to this account
    tellme staff list
    tellme staff roles jo.bloggs@council.gov.uk --role comms
    tellme staff reset-password jo.bloggs@council.gov.uk     # a new set-password link; also unlocks
    tellme staff disable jo.bloggs@council.gov.uk            # signs them out everywhere

`add` and `reset-password` print a one-time link (24 hours) for the person to set their own password: no password
is ever typed on a command line or seen by whoever runs it. Each change is written to the audit log.

Council sign-in (OpenID Connect, notifier/staff/oidc.py) links to an account that exists only where an administrator
allowed it: `add --oidc`, or `allow-oidc` (which also undoes any earlier link, e.g. after the council account was
remade); the next sign-in with that verified email is linked to the account, and from then on its subject decides.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import asyncpg

from notifier import audit, db
from notifier.settings import Settings
from notifier.staff import accounts as staff_accounts
from notifier.staff.accounts import STAFF_ROLES, StaffError

ACTIONS = ('add', 'list', 'roles', 'reset-password', 'allow-oidc', 'disable')
CLI = audit.Actor('system', None, 'tellme staff (command line)')


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='tellme staff', description='Staff accounts for the staff pages.')
    sub = parser.add_subparsers(dest='action', required=True, metavar='ACTION')
    add = sub.add_parser('add', help='make an account and print a link to set its password')
    add.add_argument('email')
    add.add_argument('--role', action='append', required=True, choices=STAFF_ROLES, dest='roles')
    add.add_argument('--name', default='')
    add.add_argument(
        '--oidc', action='store_true',
        help="the person's first sign-in with their council account (OpenID Connect) links it to this account",
    )  # fmt: skip
    sub.add_parser('list', help='list accounts and their roles')
    roles = sub.add_parser('roles', help="replace an account's roles")
    roles.add_argument('email')
    roles.add_argument('--role', action='append', required=True, choices=STAFF_ROLES, dest='roles')
    reset = sub.add_parser('reset-password', help='print a new set-password link (and unlock the account)')
    reset.add_argument('email')
    allow = sub.add_parser(
        'allow-oidc', help='let the next council sign-in with this (verified) email link to this account'
    )
    allow.add_argument('email')
    disable = sub.add_parser('disable', help='stop an account signing in, and end its sessions')
    disable.add_argument('email')
    return parser


def main(rest: list[str], settings: Settings) -> int:
    args = build_parser().parse_args(rest)
    try:
        return asyncio.run(_run(args, settings))
    except StaffError as exc:
        sys.stderr.write(f'tellme staff: {exc}\n')
        return 1


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    conn = await db.connect(settings)
    try:
        async with conn.transaction():
            return await ACTION_HANDLERS[args.action](conn, args, settings)
    finally:
        await conn.close()


def _link(settings: Settings, token: str) -> str:
    return f'{settings.public_url}/staff/set-password/{token}'


async def _add(conn: asyncpg.Connection, args: argparse.Namespace, settings: Settings) -> int:
    staff_id = await staff_accounts.add_staff(conn, args.email, args.roles, args.name, allow_oidc=args.oidc)
    token = await staff_accounts.password_link(conn, staff_id)
    details = {'roles': args.roles, **({'oidc': 'allowed'} if args.oidc else {})}
    await audit.record(conn, CLI, 'staff.add', target_kind='staff', target_id=staff_id, details=details)
    sys.stderr.write(
        f'account {staff_id} made; send this link to {args.email.strip().lower()} (works once, 24 hours):\n'
    )
    sys.stdout.write(_link(settings, token) + '\n')
    return 0


async def _list(conn: asyncpg.Connection, args: argparse.Namespace, settings: Settings) -> int:
    rows = await conn.fetch('select * from staff order by email')
    locked = await staff_accounts.locked_out(conn, settings.link_secrets[0], [r['email'] for r in rows]) \
        if settings.link_secrets else {}  # fmt: skip
    sys.stdout.write(f'{"id":>4}  {"state":<9}  {"last sign-in (UTC)":<18}  {"roles":<36}  email\n')
    for row in rows:
        state = 'disabled' if row['disabled_at'] else 'active' if row['password_hash'] else 'invited'
        last = f'{row["last_sign_in_at"]:%Y-%m-%d %H:%M}' if row['last_sign_in_at'] else 'never'
        note = ''
        if row['email'] in locked:
            addresses, until = locked[row['email']]
            where = 'one address' if addresses == 1 else f'{addresses} addresses'
            note = f'  (locked out from {where} until {until:%H:%M} UTC after wrong passwords; reset-password unlocks)'
        sys.stdout.write(
            f'{row["id"]:>4}  {state:<9}  {last:<18}  {",".join(row["roles"]):<36}  {row["email"]}{note}\n'
        )
    return 0


async def _roles(conn: asyncpg.Connection, args: argparse.Namespace, settings: Settings) -> int:
    if not await staff_accounts.set_roles(conn, args.email, args.roles):
        raise StaffError(f'no account for {args.email}')
    await audit.record(conn, CLI, 'staff.roles', target_kind='staff', target_id=args.email.lower(),
                       details={'roles': args.roles})  # fmt: skip
    sys.stdout.write(f'{args.email.lower()}: {", ".join(args.roles)}\n')
    return 0


async def _reset(conn: asyncpg.Connection, args: argparse.Namespace, settings: Settings) -> int:
    row = await staff_accounts.find_staff(conn, args.email)
    if row is None or row['disabled_at'] is not None:
        raise StaffError(f'no active account for {args.email}')
    await staff_accounts.forget_failures(conn, settings.link_secrets[0], row['email'])
    token = await staff_accounts.password_link(conn, row['id'])
    await audit.record(conn, CLI, 'staff.reset_password', target_kind='staff', target_id=row['id'])
    sys.stderr.write(f'send this link to {row["email"]} (works once, 24 hours):\n')
    sys.stdout.write(_link(settings, token) + '\n')
    return 0


async def _allow_oidc(conn: asyncpg.Connection, args: argparse.Namespace, settings: Settings) -> int:
    before = await staff_accounts.allow_oidc(conn, args.email)
    if before is None:
        raise StaffError(f'no active account for {args.email}')
    details = {'unlinked': 'an earlier council account'} if before['oidc_subject'] else {}
    await audit.record(conn, CLI, 'staff.allow_oidc', target_kind='staff', target_id=before['id'], details=details)
    sys.stdout.write(
        f'{before["email"]}: the next council sign-in with this email address will be linked to this account\n'
    )
    return 0


async def _disable(conn: asyncpg.Connection, args: argparse.Namespace, settings: Settings) -> int:
    if not await staff_accounts.disable(conn, args.email):
        raise StaffError(f'no active account for {args.email}')
    await audit.record(conn, CLI, 'staff.disable', target_kind='staff', target_id=args.email.lower())
    sys.stdout.write(f'{args.email.lower()} disabled and signed out\n')
    return 0


ACTION_HANDLERS = {
    'add': _add, 'list': _list, 'roles': _roles, 'reset-password': _reset, 'allow-oidc': _allow_oidc,
    'disable': _disable,
}  # fmt: skip
