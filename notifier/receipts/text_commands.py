"""What a resident's text asks for, and the words of the answer: pure functions, no I/O.

`parse` reads a received text the way a person would: case, spacing, punctuation, accents and emoji do not matter,
nor do a few polite or question words around the command ("bins please", "When is my bin day?", "Cymorth os
gwelwch yn dda"), and a keyword one letter out (a typo or two letters swapped: "BNIS", "HLEP") still counts.
A text with any other word in it is a message for staff, not a command: "My bin was missed" is never answered with
bin days. The commands (English and Welsh):

- `bins`: BINS, BIN, NEXT, BINIAU (BINNAU; mutated: MINIAU, FINIAU), alone or with the words above;
- `case`: one case reference (a word with a digit in it, e.g. FMS-20417 or 113447/HHA/26), alone or with CASE,
  REF, STATUS, ACHOS, CYFEIRNOD …;
- `help`: HELP, CYMORTH (mutated: GYMORTH, NGHYMORTH, CHYMORTH), HELPU, INFO;
- `thanks`: only thanks or OK (THANKS, TA, DIOLCH, OK, 👍): kept for staff, never acknowledged;
- `empty`: nothing but spaces, punctuation or symbols;
- `other`: everything else (kept for staff, acknowledged once a day).

STOP and START keep their own stricter reading (`text_replies.intent`), which is checked first. `language_of` says
which language a text was written in (Welsh when it clearly is: a Welsh command word or several Welsh words), so
Welsh correspondence is answered in Welsh, whatever the resident's language, as the Welsh Language Standards expect.

The rest builds the values of the answers (`collections_text`, `stage_text`, `short_date`, `working_days`) in the
resident's language. Nothing here ever repeats the resident's own words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from templates.personalisation import one_line, truncate
from templates.public_text import plain

BINS, CASE, HELP, THANKS, EMPTY, OTHER = 'bins', 'case', 'help', 'thanks', 'empty', 'other'

# Welsh words change their first letter after some words (mutation): "fy miniau" (my bins), "ei finiau" (his bins),
# "angen gymorth" (need help), "fy nghymorth", "a chymorth"; each form is the same command
BIN_WORDS = frozenset({'BIN', 'BINS', 'NEXT', 'NXT', 'BINIAU', 'BINNAU', 'BINAU', 'MINIAU', 'FINIAU'})
HELP_WORDS = frozenset({'HELP', 'CYMORTH', 'GYMORTH', 'NGHYMORTH', 'CHYMORTH', 'HELPU', 'INFO', 'COMMANDS'})
THANKS_WORDS = frozenset({'THANKS', 'THANK', 'THANX', 'THX', 'TA', 'CHEERS', 'DIOLCH', 'OK', 'OKAY', 'YOU', 'YN',
                          'FAWR', 'MAWR', 'IAWN', 'GREAT', 'LOVELY'})  # fmt: skip
# words that may stand around a command without making it a message for staff
POLITE_WORDS = frozenset({
    'PLEASE', 'PLS', 'PLZ', 'HI', 'HELLO', 'HIYA', 'HEY', 'WHEN', 'WHAT', 'WHICH', 'IS', 'ARE', 'MY', 'THE',
    'A', 'DAY', 'DAYS', 'DATE', 'DATES', 'COLLECTION', 'COLLECTIONS', 'COLLECTED', 'WEEK', 'ME', 'TELL', 'SEND',
    'PLIS', 'OS', 'GWELWCH', 'DDA', 'HELO', 'SHWMAE', 'SUT', 'PRYD', 'MAE', 'FY', 'Y', 'YR', 'NESAF', 'CASGLIAD',
    'CASGLIADAU', 'DIWRNOD', 'DYDDIAD', 'DYDDIADAU', 'ANFONWCH', 'ATAF',
}) | THANKS_WORDS  # fmt: skip
CASE_WORDS = frozenset({'CASE', 'REF', 'REFERENCE', 'STATUS', 'UPDATE', 'NUMBER', 'NO', 'ON', 'FOR', 'OF', 'REPORT',
                        'ACHOS', 'CYFEIRNOD', 'STATWS', 'DIWEDDARIAD', 'AR', 'RHIF', 'ADRODDIAD'})  # fmt: skip
# keywords a typo may reach (one letter wrong, missing, extra, or two swapped); short or common words must be exact
# The Welsh commands: one of them (or a typo of BINIAU or CYMORTH) makes a text Welsh (`language_of`)
WELSH_COMMAND_WORDS = frozenset({
    'BINIAU', 'BINNAU', 'BINAU', 'MINIAU', 'FINIAU', 'CYMORTH', 'GYMORTH', 'NGHYMORTH', 'CHYMORTH', 'HELPU',
    'ACHOS', 'CYFEIRNOD', 'STATWS', 'DIWEDDARIAD', 'RHIF', 'ADRODDIAD',
})  # fmt: skip
# other Welsh words: two different ones make a text Welsh, one alone does not ("yr" is English text-speak for your,
# "mae" and "sut" are English names and typos, and "diolch" is said in English in Wales too)
WELSH_WORDS = WELSH_COMMAND_WORDS | frozenset({
    'DIOLCH', 'FAWR', 'IAWN', 'PLIS', 'GWELWCH', 'DDA', 'HELO', 'SHWMAE', 'SUT', 'PRYD', 'MAE', 'FY', 'YR', 'YN',
    'NESAF', 'CASGLIAD', 'CASGLIADAU', 'DIWRNOD', 'DYDDIAD', 'DYDDIADAU', 'ANFONWCH', 'ATAF', 'GEN', 'GYDA', 'EICH',
    'DDIM', 'WEDI', 'NEGES', 'CWESTIWN', 'GWESTIWN', 'HEDDIW', 'YFORY',
})  # fmt: skip
FUZZY = {'BINS': BINS, 'BINIAU': BINS, 'HELP': HELP, 'CYMORTH': HELP, 'PLEASE': 'polite'}
MAX_REFERENCE = 40
MAX_COMMAND = 160  # a command is short: a longer text is a message, whatever words it has
_TOKEN = re.compile(r'[A-Z0-9][A-Z0-9/._-]*')
_EDGES = '/._-'


@dataclass(frozen=True)
class Command:
    kind: str  # bins | case | help | thanks | empty | other
    reference: str | None = None  # for `case`: the reference as typed, in capitals


def _ascii_upper(message: str) -> str:
    """Accents off (plîs → PLIS, ŵ → W), compatibility forms folded (full-width letters), capitals."""
    folded = unicodedata.normalize('NFKD', message)
    return ''.join(char for char in folded if not unicodedata.combining(char)).upper()


def tokens(message: str) -> list[str]:
    """The words and references of a text, capitals, punctuation at their edges dropped."""
    found = (token.strip(_EDGES) for token in _TOKEN.findall(_ascii_upper(message)))
    return [token for token in found if token]


def _one_edit_apart(word: str, target: str) -> bool:
    """Damerau-Levenshtein distance of at most 1 (a typo: one letter wrong, missing or extra, or two swapped)."""
    if word == target:
        return True
    if abs(len(word) - len(target)) > 1:
        return False
    if len(word) == len(target):
        diffs = [i for i, (a, b) in enumerate(zip(word, target, strict=True)) if a != b]
        if len(diffs) == 1:
            return True
        first, second = diffs[0], diffs[-1]
        return (
            len(diffs) == 2 and second == first + 1 and word[first] == target[second] and word[second] == target[first]
        )
    shorter, longer = sorted((word, target), key=len)
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))


def _meaning(word: str) -> str | None:
    if word in BIN_WORDS:
        return BINS
    if word in HELP_WORDS:
        return HELP
    if word in THANKS_WORDS:
        return THANKS
    if word in POLITE_WORDS:
        return 'polite'
    if word in CASE_WORDS:
        return 'case-word'
    if len(word) >= 4:
        for target, meaning in FUZZY.items():
            if _one_edit_apart(word, target):
                return meaning
    return None


def _is_reference(token: str) -> bool:
    return any(char.isdigit() for char in token) and 3 <= len(token) <= MAX_REFERENCE


def _spelt_out(found: list[str]) -> str | None:
    """BINS or HELP with its letters apart ("B-I-N-S", "h e l p")."""
    joined = ''.join(found)
    if any(char.isdigit() for char in joined):
        return None
    letters = ''.join(char for char in joined if char.isalpha())
    return next((kind for kind, words in ((BINS, BIN_WORDS), (HELP, HELP_WORDS)) if letters in words), None)


def _meanings(words: list[str]) -> set[str] | None:
    """What the words around a command mean; None if one of them is not a command's or a polite word."""
    meanings = {_meaning(word) if word.isalpha() else None for word in words}
    return None if None in meanings else {meaning for meaning in meanings if meaning}


def language_of(message: str) -> str:
    """'cy' for a text that is clearly Welsh: a Welsh command word (or a typo of BINIAU or CYMORTH), or two
    different Welsh words; else 'en' ("when is yr bin day" is English)."""
    found = set()
    for word in tokens(message):
        if word in WELSH_COMMAND_WORDS:
            return 'cy'
        if len(word) >= 4 and word.isalpha() and any(_one_edit_apart(word, welsh) for welsh in ('BINIAU', 'CYMORTH')):
            return 'cy'
        if word in WELSH_WORDS:
            found.add(word)
    return 'cy' if len(found) >= 2 else 'en'


def parse(message: str) -> Command:
    """What a received text asks for (see the module's docstring)."""
    found = tokens(message)
    if not found:
        return Command(EMPTY)
    if len(message) > MAX_COMMAND:
        return Command(OTHER)
    spelt_out = _spelt_out(found)
    if spelt_out:
        return Command(spelt_out)
    references = [token for token in found if _is_reference(token)]
    meanings = _meanings([token for token in found if token not in references])
    if meanings is None:
        return Command(OTHER)
    if references:
        one_case = len(references) == 1 and not meanings & {BINS, HELP}
        return Command(CASE, references[0]) if one_case else Command(OTHER)
    if 'case-word' in meanings:
        return Command(OTHER)  # "case status" with no reference: a person should answer
    for kind in (BINS, HELP):
        if kind in meanings:
            return Command(kind)
    return Command(THANKS if meanings <= {THANKS, 'polite'} and THANKS in meanings else OTHER)


# --- the answers' values ------------------------------------------------------------------------------------------
DAYS = {'en': ('Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'),
        'cy': ('Llun', 'Maw', 'Mer', 'Iau', 'Gwe', 'Sad', 'Sul')}  # fmt: skip
MONTHS = {
    'en': ('Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'),
    'cy': ('Ion', 'Chwef', 'Maw', 'Ebr', 'Mai', 'Meh', 'Gorff', 'Awst', 'Medi', 'Hyd', 'Tach', 'Rhag'),
}
MOVED = {'en': 'moved', 'cy': 'wedi symud'}
NONE_LISTED = {'en': 'no dates listed', 'cy': 'dim dyddiadau'}
STAGES = {
    'received': ('Received', 'Wedi dod i law'),
    'assessing': ('Being assessed', 'Yn cael ei asesu'),
    'action_scheduled': ('Action scheduled', 'Camau wedi eu trefnu'),
    'need_info': ('We need something from you', 'Mae angen rhywbeth gennych chi'),
    'resolved': ('Resolved', 'Wedi ei ddatrys'),
    'closed': ('Closed', 'Wedi cau'),
}
UPDATED = {'en': 'updated', 'cy': 'wedi ei ddiweddaru'}
# a text answer stays within two fragments (306 GSM characters) with its wording around it
COLLECTIONS_LIMIT = 240
BIN_NAME_LIMIT = 30
PLACE_LIMIT = 40


def short_date(day: date, language: str) -> str:
    """'Tue 9 Dec' ('Maw 9 Rhag')."""
    return f'{DAYS[language][day.weekday()]} {day.day} {MONTHS[language][day.month - 1]}'


def _moved_days(moved: Any) -> set[tuple[str, str]]:
    """(bin type, ISO date) of each collection the schedule says moved (`attributes.moved`)."""
    found = set()
    for move in moved if isinstance(moved, list) else []:
        if isinstance(move, Mapping) and move.get('type') and move.get('date'):
            found.add((str(move['type']), str(move['date'])))
    return found


def next_collections(dates: Any, moved: Any, today: date, language: str) -> str:
    """'Refuse: Tue 9 Dec. Recycling: Tue 16 Dec (moved).' — each bin's next collection from today on, soonest
    first, from a schedule's `collection_dates` ({bin type: [ISO dates]}) and `moved`."""
    moves = _moved_days(moved)
    upcoming: list[tuple[date, str, bool]] = []
    for name, days in (dates if isinstance(dates, Mapping) else {}).items():
        parsed = []
        for text in days if isinstance(days, list) else []:
            try:
                parsed.append(date.fromisoformat(str(text)))
            except ValueError:
                continue
        coming = [day for day in parsed if day >= today]
        if coming:
            first = min(coming)
            upcoming.append((first, str(name), (str(name), first.isoformat()) in moves))
    parts = []
    for day, name, was_moved in sorted(upcoming):
        shown = truncate(plain(one_line(name)), BIN_NAME_LIMIT) or 'Bin'
        parts.append(f'{shown}: {short_date(day, language)}' + (f' ({MOVED[language]})' if was_moved else '') + '.')
    return ' '.join(parts)


def collections_text(places: Sequence[tuple[str, str]], language: str) -> str:
    """One place's collections as they are; several, each after its address ('1 High St: Refuse: …'); kept short
    enough for a two-fragment text (the places that do not fit are left out)."""
    if len(places) == 1:
        return places[0][1] or NONE_LISTED[language] + '.'
    lines: list[str] = []
    for label, collections in places:
        line = f'{truncate(plain(one_line(label)), PLACE_LIMIT)}: {collections or NONE_LISTED[language] + "."}'
        if lines and len(' '.join([*lines, line])) > COLLECTIONS_LIMIT:
            break
        lines.append(line)
    return truncate(' '.join(lines), COLLECTIONS_LIMIT)


def stage_text(stage: Any, status: Any, language: str) -> str:
    """A case's stage in the resident's language; a stage of the case system's own, as it wrote it (trimmed)."""
    words = STAGES.get(str(stage or ''))
    if words is not None:
        return words[0 if language == 'en' else 1]
    return truncate(plain(one_line(str(status or ''))), 60) or UPDATED[language]


def working_days(days: int, language: str) -> str:
    """'2 working days', '1 working day' ('2 diwrnod gwaith')."""
    if language == 'cy':
        return f'{days} diwrnod gwaith'
    return f'{days} working day' + ('' if days == 1 else 's')


def place_label(address: str | None) -> str:
    """An address as short as recognisable: its first line ('1 High Street, Stretford' → '1 High Street')."""
    return (address or '').split(',')[0].strip()
