"""`tellme assets` and TELLME_ASSETS_DIR: the pinned versions travel inside the package, the web app serves GOV.UK
Frontend from wherever `tellme assets` put it. An installed wheel doing both: tests/notifier/shell/test_installed.py."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

import notifier
from notifier.settings import Settings
from notifier.shell import assets
from notifier.shell.app import create_app
from tests.support.app import settings_for

CHECKOUT = Path(notifier.__file__).resolve().parents[1]


def test_the_package_carries_the_checkouts_pinned_versions() -> None:
    """npm (and `make setup`) read the checkout's package-lock.json; an installed Tell Me has only the packaged
    copy. They must be the same bytes: after `npm install`, copy it (cp package-lock.json notifier/shell/)."""
    assert assets.LOCK.read_bytes() == (CHECKOUT / 'package-lock.json').read_bytes()
    locked = assets.locked_packages()
    assert not locked['govuk-frontend'].dev and locked['axe-core'].dev
    assert set(assets.KEEP) <= set(locked)


def test_assets_dir_defaults_to_the_packages_own_vendor_folder(tmp_path: Path) -> None:
    assert Settings().vendor_dir == Path(notifier.__file__).resolve().parent / 'static' / 'vendor'
    assert Settings(assets_dir=str(tmp_path)).vendor_dir == tmp_path


def _tarball(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode='w:gz') as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(f'package/{name}')
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return out.getvalue()


class Registry:
    """An npm registry on 127.0.0.1 serving the tarballs a test gives it, and remembering what was asked for."""

    def __init__(self) -> None:
        self.tarballs: dict[str, bytes] = {}
        self.asked: list[str] = []
        self.url = ''

    async def handle(self, request: web.Request) -> web.Response:
        self.asked.append(request.path)
        if request.path not in self.tarballs:
            raise web.HTTPNotFound()
        return web.Response(body=self.tarballs[request.path], content_type='application/octet-stream')


@pytest.fixture
async def registry() -> AsyncIterator[Registry]:
    served = Registry()
    app = web.Application()
    app.router.add_get('/{tail:.*}', served.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, '127.0.0.1', 0)
    await site.start()
    served.url = f'http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}'  # type: ignore[union-attr]
    try:
        yield served
    finally:
        await runner.cleanup()


def _lock_for(tmp_path: Path, tarballs: dict[str, bytes], dev: set[str] = frozenset()) -> Path:  # type: ignore[assignment]
    packages: dict[str, Any] = {'': {'name': 'test'}}
    for name, data in tarballs.items():
        digest = base64.b64encode(hashlib.sha512(data).digest()).decode()
        packages[f'node_modules/{name}'] = {'version': '1.2.3', 'integrity': f'sha512-{digest}', 'dev': name in dev}
    path = tmp_path / 'package-lock.json'
    path.write_text(json.dumps({'lockfileVersion': 3, 'packages': packages}))
    return path


async def test_install_fetches_the_pinned_tarball_and_keeps_only_what_is_served(
    tmp_path: Path, registry: Registry
) -> None:
    css = b'@font-face{font-family:"GDS Transport";src:url(x.woff2)}.govuk-body{color:#0b0c0c}'
    frontend = _tarball({'dist/govuk/govuk-frontend.min.css': css, 'package.json': b'{}', 'LICENSE.txt': b'MIT'})
    axe = _tarball({'axe.min.js': b'axe', 'LICENSE': b'MPL'})
    registry.tarballs = {
        '/govuk-frontend/-/govuk-frontend-1.2.3.tgz': frontend,
        '/axe-core/-/axe-core-1.2.3.tgz': axe,
    }
    lock = _lock_for(tmp_path, {'govuk-frontend': frontend, 'axe-core': axe}, dev={'axe-core'})
    target = tmp_path / 'vendor'

    installed = await asyncio.to_thread(
        assets.install, target, registry=registry.url, lock_path=lock, include_dev=False
    )
    assert installed == ['govuk-frontend@1.2.3']
    assert (target / 'govuk-frontend/dist/govuk/govuk-frontend.min.css').read_bytes() == b'.govuk-body{color:#0b0c0c}'
    assert (target / 'govuk-frontend/LICENSE.txt').exists() and not (target / 'govuk-frontend/package.json').exists()
    assert not (target / 'axe-core').exists()  # a test tool: left out of a production install
    # a second run finds them in place and downloads nothing
    asked = len(registry.asked)
    assert await asyncio.to_thread(assets.install, target, registry=registry.url, lock_path=lock) == ['axe-core@1.2.3']
    assert await asyncio.to_thread(assets.install, target, registry=registry.url, lock_path=lock) == []
    assert len(registry.asked) == asked + 1


async def test_a_tarball_that_is_not_the_pinned_one_is_refused(tmp_path: Path, registry: Registry) -> None:
    frontend = _tarball({'dist/govuk/govuk-frontend.min.css': b'.a{}'})
    lock = _lock_for(tmp_path, {'govuk-frontend': frontend})
    registry.tarballs = {'/govuk-frontend/-/govuk-frontend-1.2.3.tgz': _tarball({'evil.js': b'alert(1)'})}
    with pytest.raises(assets.AssetError, match='integrity check failed'):
        await asyncio.to_thread(assets.install, tmp_path / 'vendor', registry=registry.url, lock_path=lock)
    assert not (tmp_path / 'vendor').exists()


async def test_the_web_app_serves_gov_uk_frontend_from_tellme_assets_dir(
    aiohttp_client: Any, services: Any, tmp_path: Path
) -> None:
    css = tmp_path / 'govuk-frontend' / 'dist' / 'govuk' / 'govuk-frontend.min.css'
    css.parent.mkdir(parents=True)
    css.write_text('.from-the-assets-dir{}')
    client = await aiohttp_client(create_app(settings_for(services, assets_dir=str(tmp_path))))
    response = await client.get('/static/vendor/govuk-frontend/dist/govuk/govuk-frontend.min.css')
    assert response.status == 200
    assert await response.text() == '.from-the-assets-dir{}'
    assert (await client.get('/static/tellme.css')).status == 200  # our own files still come from the package


async def test_without_its_assets_dir_the_web_app_still_starts_and_says_why_pages_are_plain(
    aiohttp_client: Any, services: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = await aiohttp_client(create_app(settings_for(services, assets_dir=str(tmp_path / 'not-fetched-yet'))))
    assert 'GOV.UK Frontend is not in' in caplog.text and 'tellme assets' in caplog.text
    assert (await client.get('/static/vendor/govuk-frontend/dist/govuk/govuk-frontend.min.css')).status == 404
