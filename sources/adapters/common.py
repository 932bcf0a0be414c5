"""Small pieces several adapters share (pure, like the adapters)."""

from __future__ import annotations

from collections.abc import Mapping

from sources.base import Page, Parsed, Rejected, SourceError
from sources.models import Event


def decode_text(page: Page, options: Mapping[str, str], what: str) -> str:
    """The page as text in the source's encoding (`--option encoding=`, default UTF-8), or a SourceError naming the
    first byte that does not fit and the option that fixes it."""
    encoding = options.get('encoding', 'utf-8-sig')
    try:
        return page.body.decode(encoding)
    except UnicodeDecodeError as error:
        raise SourceError(
            f'{what} is not {encoding} (byte 0x{page.body[error.start]:02x} at offset {error.start}); '
            'if the feed uses another encoding, set --option encoding=cp1252 (or latin-1, cp437)'
        ) from None
    except LookupError:
        raise SourceError(f'option encoding={encoding!r} is not an encoding Python knows') from None


def add_latest(
    parsed: Parsed, index: dict[str, int], key: str, event: Event, where: str, *, latest: str = 'change'
) -> None:
    """Add `event` to the page's events; a record that appears twice in one page is reported, and the state with
    the latest time is the one kept."""
    if key not in index:
        index[key] = len(parsed.events)
        parsed.events.append(event)
        return
    parsed.rejected.append(Rejected(where, f'appears more than once in this page; the latest {latest} is used'))
    if event.occurred_at >= parsed.events[index[key]].occurred_at:
        parsed.events[index[key]] = event
