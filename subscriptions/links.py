"""The permanent links every message carries (architecture decision 10: links never expire)."""

from __future__ import annotations

from subscriptions.tokens import unsubscribe_token


def event_url(public_url: str, event_id: int) -> str:
    return f'{public_url}/e/{event_id}'


def unsubscribe_url(public_url: str, secret: bytes, subscription_id: int) -> str:
    """GET shows a confirm page; POST (RFC 8058 one-click, as Notify's header sends) unsubscribes at once."""
    return f'{public_url}/unsubscribe/{unsubscribe_token(secret, subscription_id)}'


def manage_url(public_url: str) -> str:
    return f'{public_url}/manage'
