"""Tell Me installed as a council installs it, from a wheel, not run from this checkout: `tellme assets` finds its
pinned versions inside the package and writes to TELLME_ASSETS_DIR, the installed web app serves GOV.UK Frontend
from there, and `web`/`worker` before `migrate` say so.

The wheel is built (`pip wheel --no-deps`, with pip's usual build isolation) from a copy of the package's sources
without the fetched assets, as a clean checkout has them, and installed into a fresh venv. Its dependencies are this
environment's (a `.pth` line points at them) rather than downloaded again: what is under test is what the wheel
itself carries, and a second download of some 200 MB from PyPI would make the test slow and flaky without testing
anything more (deploy/check-image installs everything from PyPI into the image). Fetching from the real npm
registry is one test, skipped with the reason when the registry cannot be reached (it is reachable wherever
`make setup` works); the same command against a local registry, which proves the package's pinned versions are read
and checked, runs everywhere.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import notifier
from notifier.shell import assets
from tests.conftest import Services

CHECKOUT = Path(notifier.__file__).resolve().parents[1]
SOURCES = ['pyproject.toml', 'README.md', 'package.json', 'package-lock.json']
PACKAGES = ['notifier', 'subscriptions', 'sources', 'templates', 'workers']
CSS = 'govuk-frontend/dist/govuk/govuk-frontend.min.css'
FRONTEND = assets.locked_packages()['govuk-frontend'].version

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope='module')
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The venv's bin/ folder, with `tellme` installed from a freshly built wheel."""
    root = tmp_path_factory.mktemp('installed')
    source = root / 'src'
    source.mkdir()
    for name in SOURCES:
        shutil.copy2(CHECKOUT / name, source / name)
    ignore = shutil.ignore_patterns('__pycache__', 'vendor')  # vendor: the assets, fetched later or never
    for name in PACKAGES:
        shutil.copytree(CHECKOUT / name, source / name, ignore=ignore)
    _run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--quiet', '--wheel-dir', str(root / 'dist'), str(source)])
    wheel = next((root / 'dist').glob('tellme-*.whl'))
    venv = root / 'venv'
    _run([sys.executable, '-m', 'venv', '--without-pip', str(venv)])
    python = venv / 'bin' / 'python'
    site = Path(_run([str(python), '-c', 'import sysconfig; print(sysconfig.get_path("purelib"))']).strip())
    (site / 'dependencies.pth').write_text(sysconfig.get_path('purelib') + '\n')
    _run([sys.executable, '-m', 'pip', '--python', str(python), 'install', '--no-deps', '--quiet', str(wheel)])
    yield venv / 'bin'


def _run(args: list[str], **kwargs: object) -> str:
    result = subprocess.run(args, capture_output=True, text=True, timeout=180, check=False, **kwargs)  # type: ignore[call-overload]
    assert result.returncode == 0, f'{args[:4]} failed:\n{result.stdout}\n{result.stderr}'
    return result.stdout


def installed_tellme(
    bin_dir: Path, *args: str, cwd: Path, timeout: float = 120, **env_vars: str
) -> subprocess.CompletedProcess[str]:
    """The installed `tellme`, away from the checkout: no PYTHONPATH, no TELLME_* but what the test gives."""
    env = {k: v for k, v in os.environ.items() if not k.startswith('TELLME_') and k != 'PYTHONPATH'}
    return subprocess.run(
        [str(bin_dir / 'tellme'), *args], env={**env, **env_vars}, cwd=cwd,
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def test_the_installed_package_is_the_wheel_not_this_checkout(installed: Path, tmp_path: Path) -> None:
    where = installed_tellme(installed, '--version', cwd=tmp_path)
    assert where.returncode == 0 and where.stdout.startswith('tellme ')
    found = subprocess.run(
        [str(installed / 'python'), '-c', 'import notifier.shell.assets as a; print(a.__file__, a.LOCK)'],
        capture_output=True, text=True, cwd=tmp_path, env={k: v for k, v in os.environ.items() if k != 'PYTHONPATH'},
        check=True,
    ).stdout  # fmt: skip
    assert str(installed.parent) in found and str(CHECKOUT) not in found
    assert Path(found.split()[1]).read_bytes() == (CHECKOUT / 'package-lock.json').read_bytes()


def test_installed_assets_reads_the_packaged_pins_and_refuses_other_bytes(installed: Path, tmp_path: Path) -> None:
    """A local "registry" answering with the wrong tarball: the command asks for the pinned version, checks the
    pinned hash and refuses, writing nothing (before the fix it crashed: no package-lock.json in site-packages)."""
    import http.server
    import threading

    asked: list[str] = []

    class Wrong(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            asked.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'not the pinned tarball')

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Wrong)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        registry = f'http://127.0.0.1:{server.server_address[1]}'
        result = installed_tellme(
            installed, 'assets', '--no-dev', '--registry', registry, cwd=tmp_path, TELLME_ASSETS_DIR=str(tmp_path / 'a')
        )
    finally:
        server.shutdown()
    assert result.returncode == 1
    assert 'integrity check failed' in result.stderr and 'Traceback' not in result.stderr
    assert asked == [f'/govuk-frontend/-/govuk-frontend-{FRONTEND}.tgz']  # the pinned version, and no axe-core
    assert not (tmp_path / 'a' / 'govuk-frontend').exists()


def _npm_registry_answers() -> bool:
    try:
        with urllib.request.urlopen('https://registry.npmjs.org/govuk-frontend', timeout=10):
            return True
    except (urllib.error.URLError, OSError):
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def test_installed_assets_from_npm_are_served_by_the_installed_web_app(
    installed: Path, tmp_path: Path, services: Services
) -> None:
    if not _npm_registry_answers():
        pytest.skip('the npm registry (registry.npmjs.org) cannot be reached from here')
    assets_dir = tmp_path / 'assets'
    fetched = installed_tellme(installed, 'assets', '--no-dev', cwd=tmp_path, TELLME_ASSETS_DIR=str(assets_dir))
    assert fetched.returncode == 0, fetched.stderr
    assert f'installed govuk-frontend@{FRONTEND} in {assets_dir}' in fetched.stdout
    assert (assets_dir / CSS).stat().st_size > 10_000 and not (assets_dir / 'axe-core').exists()

    port = _free_port()
    env = {
        'TELLME_DATABASE_URL': services.database_url, 'TELLME_REDIS_URL': services.redis_url,
        'TELLME_SECRET_KEY': 'installed-test-secret', 'TELLME_PORT': str(port), 'TELLME_ASSETS_DIR': str(assets_dir),
    }  # fmt: skip
    clean = {k: v for k, v in os.environ.items() if not k.startswith('TELLME_') and k != 'PYTHONPATH'}
    web = subprocess.Popen(
        [str(installed / 'tellme'), 'web'], env={**clean, **env}, cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        body = _get_when_up(f'http://127.0.0.1:{port}/static/vendor/{CSS}', web)
        assert body == (assets_dir / CSS).read_bytes()
    finally:
        web.terminate()
        output, _ = web.communicate(timeout=30)
    assert 'GOV.UK Frontend is not in' not in output


def _get_when_up(url: str, process: subprocess.Popen[str]) -> bytes:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f'tellme web exited: {process.communicate()[0]}')
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read()
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.3)
    pytest.fail(f'tellme web did not answer {url}')


@pytest.mark.parametrize('command', ['web', 'worker'])
def test_installed_web_and_worker_before_migrate_say_to_migrate_first(
    installed: Path, tmp_path: Path, services: Services, scratch_database: str, command: str
) -> None:
    result = installed_tellme(
        installed, command, cwd=tmp_path, TELLME_DATABASE_URL=scratch_database,
        TELLME_REDIS_URL=services.redis_url, TELLME_SECRET_KEY='installed-test-secret',
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr == f'tellme {command}: the database has no Tell Me tables yet: run tellme migrate first\n'
