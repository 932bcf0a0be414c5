"""The simulator's own tests drive it through the official synchronous client: `keys` (live, team, test and
revoked keys of one service) and `running`, a SimulatorThread serving them (tests/support/notify.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from notifier.notify_sim import SimulatorThread
from tests.support.notify import Keys, make_keys, running_sim


@pytest.fixture
def keys() -> Keys:
    return make_keys()


@pytest.fixture
def running(keys: Keys) -> Iterator[SimulatorThread]:
    yield from running_sim(keys)
