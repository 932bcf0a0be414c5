"""The demo case system: one made-up street report, DEMO-1001, that moves on a stage every few minutes.

The case system publishes its reports as Open311 GeoReport v2 (`requests.json`), as FixMyStreet does; here that is
`<data dir>/demo/cases.json`, which the `open311` source `demo-cases` reads every minute like any feed. The
report starts "open" (received) when the file is first written; `advance` moves it on — investigating, in
progress, fixed — and then opens it again, so a newcomer who follows it at /case always has another update
coming. Its updates reach only the people following the case: the demo resident who reported it, and anyone who
signs up at /case with the reference.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from notifier.shell.demo.sources import DemoSource
from sources.feeds.adapters.open311_paging import w3c

SOURCE = 'demo-cases'
REFERENCE = 'DEMO-1001'
EXPORT = Path('demo') / 'cases.json'
EVERY = timedelta(minutes=1)
# it has news every few minutes while tellme dev runs, and none while it is stopped: no "gone quiet" alert for that
SILENT_AFTER = timedelta(days=7)
WHY = "the demo case system's Open311 export, written by tellme dev into its data directory"
STEPS = [
    ('open', 'Demo: thank you for reporting this. This case is made up by tellme dev.'),
    ('investigating', 'Demo: a highways inspector will look at it this week.'),
    ('in_progress', 'Demo: a repair is booked for the next two weeks.'),
    ('fixed', 'Demo: the pothole has been filled. This made-up case opens again in a few minutes, to show more.'),
]
REPORT = {
    'service_request_id': REFERENCE,
    'service_code': 'demo-potholes',
    'service_name': 'Demo: pothole',
    'description': 'Demo: a made-up pothole outside 2 Demo Street.',
    'address': 'Demo Street, Stretford',
    'zipcode': 'M32 0AH',
}


def source(export: Path) -> DemoSource:
    return DemoSource(
        name=SOURCE, kind='open311', url=export.resolve().as_uri(), interval=EVERY, why=WHY,
        options={'service_name': 'Demo street reports'}, silent_after=SILENT_AFTER,
    )  # fmt: skip


def _write(path: Path, step: int, reported: str, now: datetime) -> None:
    status, note = STEPS[step % len(STEPS)]
    record = {**REPORT, 'status': status, 'status_notes': note, 'requested_datetime': reported,
              'updated_datetime': w3c(now)}  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_suffix('.tmp')
    scratch.write_text(json.dumps({'service_requests': [record]}, indent=2), encoding='utf-8')
    scratch.replace(path)  # a poll never reads half a file


def write_export(data_dir: Path, now: datetime) -> tuple[Path, bool]:
    """The export's path, written with the report just made if it is not there (True)."""
    path = data_dir / EXPORT
    if path.exists():
        return path, False
    _write(path, 0, w3c(now), now)
    return path, True


def advance(data_dir: Path, now: datetime | None = None) -> str:
    """Move DEMO-1001 on to its next stage (after the last, open again); the status written."""
    now = now or datetime.now(UTC)
    path = data_dir / EXPORT
    try:
        [record] = json.loads(path.read_text(encoding='utf-8'))['service_requests']
        step = [status for status, _ in STEPS].index(record['status']) + 1
        reported = str(record['requested_datetime'])
    except (OSError, ValueError, KeyError, TypeError):  # gone or garbled: the report starts again
        step, reported = 0, w3c(now)
    _write(path, step, reported, now)
    return STEPS[step % len(STEPS)][0]
