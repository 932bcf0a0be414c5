"""The permanent links every message carries (architecture decision 10: links never expire)."""

from __future__ import annotations

import secrets

from notifier.outbox.tokens import make_token, unsubscribe_token

EVENT_TOKEN_PURPOSE = 'event'
MANAGE_TOKEN_PURPOSE = 'manage'


def is_private(topic: str, case_reference: str | None) -> bool:
    """A resident's own case (what they reported, where, what the council said) is nobody else's business:
    its page is reached only through an unguessable link; so are staff alerts. Planning, licensing and bins news
    is public."""
    return topic.split('/', 1)[0] in ('cases', 'staff') or case_reference is not None


def event_path(event_id: int, *, private: bool = False, secret: bytes | None = None) -> str:
    if not private:
        return f'/e/{event_id}'
    if not secret:
        raise ValueError('a private event link needs the secret key')
    return f'/e/{make_token(secret, EVENT_TOKEN_PURPOSE, event_id)}'


def event_url(public_url: str, event_id: int, *, private: bool = False, secret: bytes | None = None) -> str:
    return public_url + event_path(event_id, private=private, secret=secret)


def unsubscribe_url(public_url: str, secret: bytes, subscription_id: int) -> str:
    """GET shows a confirm page; POST (RFC 8058 one-click, as Notify's header sends) unsubscribes at once."""
    return f'{public_url}/unsubscribe/{unsubscribe_token(secret, subscription_id)}'


def manage_url(public_url: str, secret: bytes | None = None, subscription_id: int | None = None) -> str:
    """A message's manage link: its subscription's page (after signing in), or /manage without one."""
    if secret and subscription_id:
        return f'{public_url}/manage/s/{make_token(secret, MANAGE_TOKEN_PURPOSE, subscription_id)}'
    return f'{public_url}/manage'


def in_language(url: str | None, language: str) -> str | None:
    """A link for a Welsh reader opens its page in Welsh (`?lang=cy`, GOV.UK's switch, which the page remembers);
    English is the pages' default, so English links stay as they are."""
    if not url or language == 'en':
        return url
    return f'{url}{"&" if "?" in url else "?"}lang={language}'


def dummy_secret() -> bytes:
    """A key nobody keeps: links made with it for a preview are as long as real ones and open nothing."""
    return secrets.token_bytes(32)
