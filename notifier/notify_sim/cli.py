"""`tellme notify-sim`: run the Notify simulator from the command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from templates.notify_templates import NOTIFY_TEMPLATES

from .rules.keys import ConfigError, load_keys, load_templates
from .rules.limits import DEFAULT_RATE_LIMIT
from .server import serve
from .simulator import Simulator

logger = logging.getLogger('notifier.notify_sim.cli')


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='tellme notify-sim', description='A local GOV.UK Notify simulator.')
    parser.add_argument('--port', type=int, default=6011, help='port to listen on (0 picks a free one)')
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--keys', required=True, help='JSON list of {"api_key", "type", "revoked"}')
    parser.add_argument('--templates', help='JSON list of templates with their ids (an existing service); default none')
    parser.add_argument('--tellme-templates', action='store_true',
                        help="create Tell Me's generic templates as Notify's admin would (new ids)")  # fmt: skip
    parser.add_argument('--rate-limit', type=int, default=DEFAULT_RATE_LIMIT, help='requests per minute per key type')
    parser.add_argument('--status-delay', type=float, default=1.0, help='seconds between status changes')
    parser.add_argument('--callback-url', help='delivery-status callback URL')
    parser.add_argument('--inbound-callback-url', help='received-text callback URL (default: --callback-url)')
    parser.add_argument('--callback-token', help='bearer token sent with callbacks')
    parser.add_argument('--callback-retry-interval', type=float, default=300.0, help='seconds between retries')
    return parser


async def _run(sim: Simulator, host: str, port: int) -> None:
    runner, url = await serve(sim, host, port)
    sys.stdout.write(f'Notify simulator on {url} (outbox: {url}/_sim/outbox)\n')
    sys.stdout.flush()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        services = load_keys(args.keys)
        templates = load_templates(args.templates) if args.templates else {}
    except ConfigError as exc:
        sys.stderr.write(f'tellme notify-sim: {exc}\n')
        return 2
    if args.rate_limit < 1:
        sys.stderr.write('tellme notify-sim: --rate-limit must be at least 1\n')
        return 2
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(levelname)s %(name)s %(message)s')
    sim = Simulator(
        services,
        templates,
        rate_limit_per_minute=args.rate_limit,
        status_delay=args.status_delay,
        callback_url=args.callback_url,
        callback_token=args.callback_token,
        inbound_callback_url=args.inbound_callback_url,
        callback_retry_interval=args.callback_retry_interval,
    )
    if args.tellme_templates:
        for template in NOTIFY_TEMPLATES:
            created = sim.create_template(**template.as_json())
            sys.stdout.write(f'created {created.type} template “{created.name}”: {created.id}\n')
    try:
        asyncio.run(_run(sim, args.host, args.port))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        sys.stderr.write(f'tellme notify-sim: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}\n')
        return 1
    return 0
