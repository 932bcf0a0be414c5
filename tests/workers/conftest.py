"""The worker tests' own fixture: real worker processes (tests/support/worker.py), stopped after each test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Services
from tests.support.notify import RunningSim
from tests.support.worker import Workers


@pytest.fixture
def workers(services: Services, sim: RunningSim, tmp_path: Path) -> Iterator[Workers]:
    running = Workers(services, sim, tmp_path)
    yield running
    running.stop_all()
