"""`python -m notifier` is the same as `tellme`."""

import sys

from notifier.cli import main

sys.exit(main())
