"""Logging captured as a Tell Me process writes it (this module holds no tests): the real handler, formatter and
safety net of notifier/logs.py on the root logger, at DEBUG unless told otherwise, for the length of a block."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from notifier import logs


@dataclass
class Captured:
    stream: io.StringIO = field(default_factory=io.StringIO)

    @property
    def text(self) -> str:
        """Everything written, as the process's stderr would hold it."""
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        """Each line parsed as the JSON object it must be."""
        return [json.loads(line) for line in self.text.splitlines()]

    def of(self, logger: str) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line['logger'] == logger]


@contextlib.contextmanager
def captured_logs(log_format: str = 'json', level: int = logging.DEBUG) -> Iterator[Captured]:
    """What `tellme web` and `tellme worker` write (notifier.logs.configure), with the root logger at `level`:
    the handler is added beside pytest's own and taken away afterwards, and the levels put back."""
    captured = Captured()
    handler = logs.handler(log_format, captured.stream)
    root = logging.getLogger()
    quiet = {name: logging.getLogger(name) for name in logs.QUIET_LOGGERS}
    saved = root.level, {name: logger.level for name, logger in quiet.items()}
    root.addHandler(handler)
    root.setLevel(level)
    for name, logger in quiet.items():
        logger.setLevel(logs.QUIET_LOGGERS[name])
    try:
        yield captured
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        for name, logger in quiet.items():
            logger.setLevel(saved[1][name])
