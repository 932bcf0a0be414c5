"""`python -m notifier` is the same as `tellme`."""

import sys

from notifier.shell.cli import main

sys.exit(main())
