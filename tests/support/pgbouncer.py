"""PgBouncer in transaction mode in front of the suite's PostgreSQL (this module holds no tests): Debian's `pgbouncer`
binary run as a user process on a free port, logging to a directory of its own. Tests that need it are skipped, with
the reason, where the binary is absent."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from notifier.shell.embedded import free_port

# the embedded PostgreSQL runs as this user when the suite runs as root (pgserver), and PgBouncer will not run as root
UNPRIVILEGED = 'pgserver'


def binary() -> str | None:
    return shutil.which('pgbouncer') or next((p for p in ('/usr/sbin/pgbouncer',) if Path(p).exists()), None)


@dataclass(frozen=True)
class Bouncer:
    url: str  # the database through PgBouncer
    log: Path

    def logins(self) -> int:
        return self.log.read_text(errors='replace').count('login attempt')


def _server_line(database_url: str) -> tuple[str, str]:
    """(database name, PgBouncer's connection string for it) from a postgresql:// URL, socket or TCP."""
    parts = urlsplit(database_url)
    query = parse_qs(parts.query)
    host = query.get('host', [parts.hostname or '127.0.0.1'])[0]
    name = parts.path.lstrip('/')
    fields = {'host': host, 'port': str(parts.port or 5432), 'dbname': name, 'user': unquote(parts.username or '')}
    if parts.password:
        fields['password'] = unquote(parts.password)
    return name, ' '.join(f"{key}='{value}'" for key, value in fields.items() if value)


@contextlib.contextmanager
def pgbouncer(database_url: str, *, pool_size: int = 20) -> Iterator[Bouncer]:
    """PgBouncer (transaction mode) in front of `database_url`'s database, until the block ends."""
    found = binary()
    assert found, 'no pgbouncer binary'
    name, server = _server_line(database_url)
    port = free_port()
    with contextlib.ExitStack() as cleanup:
        directory = Path(tempfile.mkdtemp(prefix='tellme-pgbouncer-'))
        cleanup.callback(shutil.rmtree, directory, ignore_errors=True)
        directory.chmod(0o755)
        log = directory / 'pgbouncer.log'
        (directory / 'pgbouncer.ini').write_text(
            f'[databases]\n{name} = {server}\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\n'
            f'unix_socket_dir =\nauth_type = any\npool_mode = transaction\ndefault_pool_size = {pool_size}\n'
            f'max_client_conn = 500\nlogfile = {log}\n'
        )
        command = [found]
        if os.geteuid() == 0:
            user = pwd.getpwnam(UNPRIVILEGED)
            os.chown(directory, user.pw_uid, user.pw_gid)
            command += ['-u', UNPRIVILEGED]
        process = subprocess.Popen([*command, str(directory / 'pgbouncer.ini')], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.STDOUT)  # fmt: skip
        cleanup.callback(_stop, process)
        _wait_listening(port, process, log)
        yield Bouncer(f'postgresql://postgres@127.0.0.1:{port}/{name}', log)


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(200):
        if process.poll() is not None:
            raise RuntimeError(f'pgbouncer exited ({process.returncode}): {log.read_text(errors="replace")[-500:]}')
        with contextlib.suppress(OSError), socket.create_connection(('127.0.0.1', port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError('pgbouncer did not start listening within 10 s')


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
