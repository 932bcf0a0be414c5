"""Where the browser tests find Chromium, and what they say when it is not there (this module holds no tests)."""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = Path(os.environ.get('TELLME_CHROMIUM', '/usr/bin/chromium'))  # Debian's; elsewhere, say where
MISSING = (
    ''
    if CHROMIUM.exists()
    else f'browser tests skipped: no Chromium at {CHROMIUM}. Install it (`sudo apt-get install chromium`, or '
    '`make setup` as root) or set TELLME_CHROMIUM to its path'
)
ARGS = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
]  # fmt: skip
# Without Chromium, one module is collected and skips itself, so the suite says why once, not once per test.
SAYS_WHY = 'test_browser_accessibility.py'
