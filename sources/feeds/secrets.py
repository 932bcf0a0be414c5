"""Secret request headers (a feed's API key), encrypted at rest.

Each header value is sealed on its own with AES-256-GCM under a key derived from TELLME_SECRET_KEY (HKDF-SHA256,
purpose 'source-headers'), bound to the source's name and the header's name (so a sealed value copied to another
source or header does not open). TELLME_SECRET_KEY may list several secrets, newest first: the first seals, any
of them opens, so the secret can be rotated; values opened with an older one are sealed again with the newest.

Stored form, in `sources.secret_headers`: `{"X-Api-Key": {"aesgcm": "<base64 of nonce + ciphertext>"}}`. A plain
string value is a header stored before encryption: it still works, and is sealed at the next write.
Values never appear in a message: errors name the header, never its value.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PURPOSE = b'source-headers'
SEALED = 'aesgcm'
NONCE = 12
# RFC 9110 field names are tokens; values must not carry line breaks or other control characters
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")
_BAD_VALUE = re.compile(r'[\x00-\x08\x0a-\x1f\x7f]')
MAX_VALUE = 4000


class HeaderSecretError(Exception):
    """A secret header cannot be sealed or opened; the message names the header, never its value."""


def _cipher(secret: bytes) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PURPOSE).derive(secret)
    return AESGCM(key)


def _context(source: str, header: str) -> bytes:
    return f'{source}\n{header.lower()}'.encode()


def check_header(name: str, value: str) -> None:
    """ValueError (naming the header, not the value) if this cannot be sent as an HTTP header."""
    if not _HEADER_NAME.match(name):
        raise ValueError(f'{name!r} is not a header name (letters, digits and - only, e.g. X-Api-Key)')
    if not value:
        raise ValueError(f'the header {name} has an empty value')
    if len(value) > MAX_VALUE or _BAD_VALUE.search(value):
        raise ValueError(f'the value of the header {name} is too long or contains a line break or control character')


def seal(value: str, *, source: str, header: str, secrets: Sequence[bytes]) -> dict[str, str]:
    if not secrets:
        raise HeaderSecretError(
            f'the header {header} cannot be stored: secret headers are encrypted with TELLME_SECRET_KEY, which is '
            'not set'
        )
    nonce = os.urandom(NONCE)
    sealed = _cipher(secrets[0]).encrypt(nonce, value.encode(), _context(source, header))
    return {SEALED: base64.b64encode(nonce + sealed).decode('ascii')}


@dataclass(frozen=True)
class Opened:
    headers: dict[str, str]
    stale: bool  # some value was stored in plain text or sealed with an older secret: seal it again


def _open_one(stored: Any, *, source: str, header: str, secrets: Sequence[bytes]) -> tuple[str, bool]:
    if isinstance(stored, str):
        return stored, True  # stored before headers were encrypted
    try:
        blob = base64.b64decode(stored[SEALED], validate=True)
    except (TypeError, KeyError, binascii.Error):
        raise HeaderSecretError(
            f'the stored secret header {header} is damaged: set it again with '
            f'`tellme sources set {source} --header-from-env {header}=VARIABLE`'
        ) from None
    if not secrets:
        raise HeaderSecretError(
            f'the secret header {header} cannot be decrypted: TELLME_SECRET_KEY is not set (set it to the key it '
            'was stored with)'
        )
    for number, secret in enumerate(secrets):
        try:
            value = _cipher(secret).decrypt(blob[:NONCE], blob[NONCE:], _context(source, header))
        except (InvalidTag, ValueError):
            continue
        return value.decode(), number > 0
    raise HeaderSecretError(
        f'the secret header {header} cannot be decrypted with TELLME_SECRET_KEY (the key was changed or removed?): '
        f'put the old key back after the new one in TELLME_SECRET_KEY, or set the header again with '
        f'`tellme sources set {source} --header-from-env {header}=VARIABLE`'
    )


def open_headers(stored: Mapping[str, Any] | None, *, source: str, secrets: Sequence[bytes]) -> Opened:
    """The headers to send; HeaderSecretError if one cannot be opened."""
    headers: dict[str, str] = {}
    stale = False
    for header, value in (stored or {}).items():
        headers[header], old = _open_one(value, source=source, header=header, secrets=secrets)
        stale = stale or old
    return Opened(headers, stale)


def seal_headers(headers: Mapping[str, str], *, source: str, secrets: Sequence[bytes]) -> dict[str, dict[str, str]]:
    return {name: seal(value, source=source, header=name, secrets=secrets) for name, value in headers.items()}


def is_sealed(stored: Any) -> bool:
    return isinstance(stored, dict) and isinstance(stored.get(SEALED), str)
