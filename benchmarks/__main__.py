"""`python -m benchmarks [NAME ...]`: run the named benchmarks (all by default) and print their reports."""

from __future__ import annotations

import argparse
import platform
import sys
from datetime import UTC, datetime

from benchmarks import delivery, fanout, matching, notify_send, outbox_history, scale

BENCHMARKS = {
    'notify-send': notify_send.main,
    'matching': matching.main,
    'fanout': fanout.main,
    'fanout-history': outbox_history.main,
    'delivery': delivery.main,
    'scale': scale.main,
}


def main() -> int:
    parser = argparse.ArgumentParser(prog='python -m benchmarks')
    parser.add_argument('names', nargs='*', default=list(BENCHMARKS))
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f'unknown benchmark {", ".join(unknown)}; choose from {", ".join(BENCHMARKS)}')
    cpu = platform.processor() or platform.machine()
    sys.stdout.write(
        f'# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {cpu}, Python {platform.python_version()}\n'
    )
    for name in args.names:
        sys.stdout.write(f'\n## {name}\n')
        BENCHMARKS[name]()
    return 0


if __name__ == '__main__':
    sys.exit(main())
