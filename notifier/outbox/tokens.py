"""Link tokens that never expire (unsubscribe), derived rather than stored.

A token is `<subscription id>.<HMAC-SHA256(secret, purpose:id) truncated to 128 bits>`, base64url. Nothing
is stored, so a database leak gives nobody a working link, and a link in a five-year-old email still works.
Verification accepts any of the configured secrets (newest first), so the key can be rotated without
breaking old links; checks are constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

MAC_BYTES = 16  # 128 bits


def _mac(secret: bytes, purpose: str, subject_id: int) -> bytes:
    return hmac.new(secret, f'{purpose}:{subject_id}'.encode(), hashlib.sha256).digest()[:MAC_BYTES]


def make_token(secret: bytes, purpose: str, subject_id: int) -> str:
    mac = base64.urlsafe_b64encode(_mac(secret, purpose, subject_id)).rstrip(b'=').decode()
    return f'{subject_id}.{mac}'


def read_token(secrets: list[bytes], purpose: str, token: str) -> int | None:
    """The id the token was made for, or None if it is not one of ours (never raises on bad input)."""
    head, _, mac_text = token.partition('.')
    if not head.isdigit() or len(head) > 18 or not mac_text:
        return None
    try:
        given = base64.urlsafe_b64decode(mac_text + '=' * (-len(mac_text) % 4))
    except (ValueError, TypeError):
        return None
    subject_id = int(head)
    valid = False
    for secret in secrets:
        valid |= hmac.compare_digest(given, _mac(secret, purpose, subject_id))
    return subject_id if valid else None


def unsubscribe_token(secret: bytes, subscription_id: int) -> str:
    return make_token(secret, 'unsubscribe', subscription_id)


def read_unsubscribe_token(secrets: list[bytes], token: str) -> int | None:
    return read_token(secrets, 'unsubscribe', token)
