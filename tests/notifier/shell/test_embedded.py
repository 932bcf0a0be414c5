"""The embedded servers clean up after a run that was killed."""

from __future__ import annotations

from pathlib import Path

import psutil

from notifier.shell.embedded import EmbeddedRedis


def test_a_redis_left_by_a_killed_run_is_stopped_before_a_new_one_starts(server_dir: Path) -> None:
    orphan = EmbeddedRedis(server_dir)
    orphan.start()
    assert orphan._process is not None
    orphan_pid = orphan._process.pid  # its parent "dies" here: nobody calls stop()

    fresh = EmbeddedRedis(server_dir)
    fresh.start()
    try:
        orphan._process.wait(15)  # reaped: it was terminated by the new run
        assert not psutil.pid_exists(orphan_pid) or psutil.Process(orphan_pid).status() == psutil.STATUS_ZOMBIE
        assert fresh._process is not None and fresh._process.poll() is None
    finally:
        fresh.stop()
