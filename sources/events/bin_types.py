"""The same bin stays the same bin: bin type names as residents read them, and the identity they are compared by.

Scrapers and calendars decorate what they call a bin: a tick on collections already done ("✅ Black bin"), an
emoji ("♻️ Recycling"), a prefix ("Bin Collection: Food Waste & Recycling", "Next collection - Refuse"), a suffix
("Green Bin Collection", "Black Bin Day"), shouting ("BLACK BIN") or stray spaces. Each would otherwise be a
different bin type from one week to the next, and residents would hear "Black bin is no longer listed" and
"Black bin is a new collection" about the same bin.

`display_name` is the readable name kept in a schedule (decorations, prefixes and such suffixes gone, spaces
collapsed, the first letter a capital; a name all in capitals is put in sentence case, other case is the feed's).
`bin_key` is what two names are compared by (the display name, case-folded): schedules compare versions bin by
bin on it (sources/events/schedules.py), so versions stored before a name was cleaned still pair with the new one.
"""

from __future__ import annotations

import re
import unicodedata

# emoji, dingbats (✅ ✔ ✓ ☑ ♻ 🗑), their modifiers and joiners: symbols and format marks, never letters or digits
_DECORATION_CATEGORIES = frozenset({'So', 'Sk', 'Cf', 'Me', 'Mn', 'Co', 'Cs'})
# what is left at the ends once the symbols are gone: bullets, dashes, colons, stars
_EDGE = re.compile(r'^[\s\-–—:;,.*•·|>~_#]+|[\s\-–—:;,*•·|>~_#]+$')
# "Bin collection:", "Next collection -", "Waste collection day:", "Collection for" …: only before a separator
_PREFIX = re.compile(
    r'^(?:next\s+|your\s+)?(?:(?:bin|bins|waste|refuse|rubbish|recycling)\s+)?'
    r'(?:collection|collections|collection\s+day|day|pickup|pick-up)\s*(?:for\s*)?[:\-–—|]\s*',
    re.IGNORECASE,
)
_SUFFIX = re.compile(r'\s+(?:day|collection|collection\s+day)$', re.IGNORECASE)
_TOO_SHORT = frozenset({'', 'bin', 'bins'})
_MARKED_DONE = re.compile(r'\s*[(\[](?:done|collected|completed|complete)[)\]]$', re.IGNORECASE)


def _undecorated(text: str) -> str:
    kept = ''.join(' ' if unicodedata.category(char) in _DECORATION_CATEGORIES else char for char in text)
    return ' '.join(kept.split())


def display_name(raw: str) -> str:
    """'Black bin' from '✅ Black bin', 'BLACK BIN', 'Black  Bin Day'; 'Food Waste & Recycling' from
    'Bin Collection: Food Waste & Recycling'. Empty when nothing readable is left."""
    name = _undecorated(unicodedata.normalize('NFKC', raw))
    name = _EDGE.sub('', name)
    name = _MARKED_DONE.sub('', name)
    stripped = _PREFIX.sub('', name)
    name = _EDGE.sub('', stripped) or name  # "Bin collection:" and nothing after: keep what there was
    shorter = _SUFFIX.sub('', name).strip()
    if shorter.casefold() not in _TOO_SHORT:  # "Bin collection" alone stays as it is
        name = shorter
    if name.isupper() and len(name) > 4:  # "BLACK BIN", not "WEEE" or "AHP"
        name = name.lower()
    return name[:1].upper() + name[1:]


def bin_key(name: str) -> str:
    """What two bin type names are compared by: the same for '✅ Black bin', 'Black Bin' and 'BLACK BIN DAY'."""
    return display_name(name).casefold()
