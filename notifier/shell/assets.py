"""The front-end packages the pages need (GOV.UK Frontend) and the tests use (axe-core), fetched from the npm registry.

`package.json` names the packages and `package-lock.json` pins each one's version and sha512 integrity hash, as
npm records them. We fetch the tarballs with Python and check the hash ourselves, so a machine with Python and
the registry but no Node.js can set up (and `npm ci` still works for anyone who prefers it). Only the files the
service serves are kept; GOV.UK's own typeface is left out because its licence covers GOV.UK only: a council's
service uses the fallback (Arial), as the Design System asks of services off GOV.UK.

The lock travels inside the package (`notifier/shell/package-lock.json`, a copy of the checkout's, kept equal by
tests/notifier/shell/test_assets.py), so a `pip install`ed Tell Me, which has no checkout around it, can fetch
them too. They go to `Settings.vendor_dir` (`TELLME_ASSETS_DIR`, by default the package's own `static/vendor/`),
where the web app serves them from.

`tellme assets` runs this; `make setup` calls it. Nothing here is needed at request time.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import re
import shutil
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from notifier.settings import Settings

# package data: the same bytes as the checkout's package-lock.json (which npm reads and `make setup` watches)
LOCK = Path(__file__).with_name('package-lock.json')
REGISTRY = 'https://registry.npmjs.org'

# package → the paths (inside the tarball's package/ folder) we keep; a folder keeps everything under it
KEEP = {
    'govuk-frontend': [
        'dist/govuk/govuk-frontend.min.css',
        'dist/govuk/govuk-frontend.min.js',
        'dist/govuk/assets/images/',
        'dist/govuk/assets/manifest.json',
        'LICENSE.txt',
    ],
    'axe-core': ['axe.min.js', 'LICENSE'],
}
FONT_FACE = re.compile(r'@font-face\{[^}]*\}')


class AssetError(Exception):
    pass


@dataclass(frozen=True)
class Locked:
    version: str
    integrity: str
    dev: bool  # only the tests use it (axe-core): a production install may leave it out


def locked_packages(lock_path: Path = LOCK) -> dict[str, Locked]:
    """name → its pinned version and integrity hash, from package-lock.json."""
    try:
        lock = json.loads(lock_path.read_text())
    except (OSError, ValueError) as exc:
        raise AssetError(f'cannot read the pinned versions in {lock_path}: {exc}') from exc
    found = {}
    for key, entry in lock.get('packages', {}).items():
        if key.startswith('node_modules/') and entry.get('integrity'):
            found[key.removeprefix('node_modules/')] = Locked(
                entry['version'], entry['integrity'], bool(entry.get('dev'))
            )
    return found


def _check_integrity(data: bytes, integrity: str, name: str) -> None:
    algorithm, _, expected = integrity.partition('-')
    if algorithm != 'sha512':
        raise AssetError(f'{name}: unsupported integrity algorithm {algorithm!r} in package-lock.json')
    actual = base64.b64encode(hashlib.sha512(data).digest()).decode()
    if actual != expected:
        raise AssetError(f'{name}: the download does not match package-lock.json (integrity check failed)')


def _download(name: str, version: str, registry: str) -> bytes:
    url = f'{registry.rstrip("/")}/{name}/-/{name.rsplit("/", 1)[-1]}-{version}.tgz'
    try:
        with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - a fixed https registry URL
            return response.read()
    except OSError as exc:
        raise AssetError(f'{name}: could not download {url}: {exc}') from exc


def _wanted(member: str, keep: list[str]) -> str | None:
    path = member.removeprefix('package/')
    for prefix in keep:
        if path == prefix or (prefix.endswith('/') and path.startswith(prefix)):
            return path
    return None


def _unpack(name: str, data: bytes, target: Path) -> int:
    if target.exists():
        shutil.rmtree(target)
    count = 0
    with tarfile.open(fileobj=io.BytesIO(data), mode='r:gz') as archive:
        for member in archive.getmembers():
            path = _wanted(member.name, KEEP[name]) if member.isfile() else None
            if path is None or '..' in Path(path).parts:
                continue
            content = archive.extractfile(member).read()  # type: ignore[union-attr]
            if path.endswith('.css'):
                content = FONT_FACE.sub('', content.decode()).encode()
            out = target / path
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(content)
            count += 1
    return count


def install(
    directory: Path, *, registry: str = REGISTRY, lock_path: Path = LOCK, include_dev: bool = True
) -> list[str]:
    """Fetch every locked package not already present at its version; returns what was installed."""
    installed = []
    for name, locked in sorted(locked_packages(lock_path).items()):
        if name not in KEEP or (locked.dev and not include_dev):
            continue
        target = directory / name
        stamp = target / '.version'
        if stamp.exists() and stamp.read_text() == locked.integrity:
            continue
        data = _download(name, locked.version, registry)
        _check_integrity(data, locked.integrity, name)
        try:
            _unpack(name, data, target)
            stamp.write_text(locked.integrity)
        except OSError as exc:
            raise AssetError(f'{name}: cannot write to {target}: {exc}') from exc
        installed.append(f'{name}@{locked.version}')
    return installed


def main(argv: list[str], settings: Settings) -> int:
    parser = argparse.ArgumentParser(prog='tellme assets', description=__doc__.split('\n\n')[0])
    parser.add_argument(
        '--dir', type=Path, default=None, help="where to put them (default: TELLME_ASSETS_DIR, else the package's own)"
    )
    parser.add_argument('--registry', default=os.environ.get('npm_config_registry') or REGISTRY)
    parser.add_argument(
        '--no-dev', action='store_true', help='leave out what only the tests use (axe-core), as npm ci --omit=dev does'
    )
    args = parser.parse_args(argv)
    directory = args.dir or settings.vendor_dir
    try:
        installed = install(directory, registry=args.registry, include_dev=not args.no_dev)
    except AssetError as exc:
        print(f'tellme assets: {exc}', file=sys.stderr)  # noqa: T201 - a command's answer
        return 1
    print(f'installed {", ".join(installed)} in {directory}' if installed else f'assets are up to date in {directory}')  # noqa: T201
    return 0
