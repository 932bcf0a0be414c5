"""Text from outside made plain before it goes into a message. Pure, no I/O.

Notify reads a whole email body (and a letter's) as its own Markdown, values and wording alike: a line starting
with #, *, -, •, ^ or 1.5, a rule (---, ***, ___) or an underline (===) is formatting, `[text](url)` is a link and
http(s)://… is linked. Email clients and phones link www. and bare host names too. So text that came from outside —
feed titles, summaries, addresses and attributes, change fields and values, officers' notes, the place a resident
typed — goes through `plain` first, and a feed's own web address through `safe_url`. Our own wording and links
never do: they are meant to be formatting.

`plain` keeps the words, and what a resident reads looks the same:
- a line that would start markup gets a zero width space in front (Notify's own trick for "GOV.UK"; Notify drops
  it from text messages, where nothing is Markdown), so `# Heading` stays those characters;
- `](` becomes `] (` (no inline link or image can be written without it, and a link definition must start a line);
- web addresses lose their scheme and the dots of their host become U+2024 ONE DOT LEADER ("evil․example/x"):
  readable, but not a host any auto-linker knows;
- `((` becomes `( (`, so nothing in public text reads as one of our ((placeholders)).
Ordinary punctuation, apostrophes, hyphens, "1." numbering, email addresses, emoji and Welsh letters pass unchanged.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

__all__ = ['DOT', 'GUARD', 'plain', 'safe_url']

GUARD = '\u200b'  # zero width space: ends a would-be marker's place at the start of a line
DOT = '\u2024'  # one dot leader: looks like a full stop, is not one to any auto-linker

# Where a line starts markup for Notify's Markdown (mistune 0.8 as notifications-utils patches it: no space needed
# after a bullet or "1.", ^ for inset, tables, fences, link definitions) or for CommonMark (+, >). "1. " numbering
# stays a numbered list, but what follows it is checked as a line start of its own; "3.5 m" at the start of a line
# would read as item "5 m" of a numbered list, so it is guarded.
_LINE_START = re.compile(r'^([ \t]*(?:\d{1,9}\.[ \t]+)?)(?=[#*+\-•^>=_`~|\[]|:-|\d{1,9}\.(?![ \t]|$))', re.M)
# scheme://: dropped, and the dots of the host (with any user@ and :port) made not dots
_SCHEME = re.compile(r'(?i)\b[a-z][a-z0-9+\-]{0,30}:/{2,}([^\s/?#\\]*)')
# a host name: two or more labels, the last made of letters (a top-level domain); not part of an email address
_HOST = re.compile(
    r'(?<![\w@.\-])((?:[^\W_](?:[\w\-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63})(?![\w@\-]|\.[^\W_])',
)
_NOT_A_LINK = frozenset({'gov.uk'})  # GOV.UK on its own is a name (Notify unlinks it itself)
_URL_SCHEMES = frozenset({'http', 'https'})
_HOST_NAME = re.compile(r'[\w.\-]+')  # a name or an IPv4 address
_URL_ESCAPE = frozenset('[]()<>"\'\\`\u2424')


def _undot(host: str) -> str:
    return host.replace('.', DOT)


def _host(match: re.Match[str]) -> str:
    host, after = match.group(1), match.string[match.end() : match.end() + 1]
    return host if host.lower() in _NOT_A_LINK and after not in '/?#' else _undot(host)


def plain(text: str) -> str:
    """`text` as words only: no markup at any line start, no link, no web address, no placeholder."""
    text = text.replace('\r\n', '\n').replace('\r', '\n').replace('\u2424', ' ')  # mistune reads ␤ as a new line
    text = _SCHEME.sub(lambda match: _undot(match.group(1)), text)
    text = _HOST.sub(_host, text)
    text = text.replace('](', '] (')
    text = re.sub(r'\((?=\()', '( ', text)
    return _LINE_START.sub(lambda match: match.group(1) + GUARD, text)


def _escape(char: str) -> str:
    if char in _URL_ESCAPE or char.isspace() or unicodedata.category(char) in ('Cc', 'Cf'):
        return ''.join(f'%{byte:02X}' for byte in char.encode('utf-8'))
    return char


def safe_url(url: str | None) -> str:
    """A feed's web address as a link that stays on its line, or '' unless it is an absolute http(s) URL with a
    host name (or IPv4 address) and no user@ part.

    Whitespace, control and format characters (a right-to-left override) and [ ] ( ) < > " ' \\ ` are
    percent-encoded; the scheme is written in lower case, the only case Notify links."""
    text = ''.join(_escape(char) for char in (url or '').strip())
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        return ''
    if parts.scheme.lower() not in _URL_SCHEMES or not text[len(parts.scheme) :].startswith('://'):
        return ''
    if not host or not _HOST_NAME.fullmatch(host) or '@' in parts.netloc:
        return ''  # no host, an odd one, or a user@ in front of it (a council page needs no password)
    return parts.scheme.lower() + text[len(parts.scheme) :]
