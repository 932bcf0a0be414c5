"""Checking the email address and mobile number a resident types, with errors they can fix.

Pure: no I/O. Each check returns the canonical address (as stored in `contact_points.address`) or a `Problem`:
a page-string key and its values, so the page says what to do in the resident's language. Beyond Notify's own
rules (subscriptions.residents.models.canonical_address):

- an email whose domain looks like a slip on a common one (gmial.com, hotmial.co.uk, outlok.com) is offered
  the likely address ("Did you mean jo@gmail.com?") — never silently changed, since some odd domains are real;
- a UK landline given as a mobile gets its own message, naming the number back in the usual spaced form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import time

from subscriptions.residents.models import InvalidContactPoint, canonical_address

# Domains most UK residents use; a typed domain one or two slips from one of these (and not itself one of
# these or another real domain below) gets a suggestion.
COMMON_DOMAINS = (
    'gmail.com', 'googlemail.com', 'hotmail.com', 'hotmail.co.uk', 'outlook.com', 'outlook.co.uk', 'live.com',
    'live.co.uk', 'yahoo.com', 'yahoo.co.uk', 'icloud.com', 'me.com', 'btinternet.com', 'aol.com', 'aol.co.uk',
    'sky.com', 'virginmedia.com', 'talktalk.net', 'ntlworld.com', 'protonmail.com', 'proton.me', 'msn.com',
)  # fmt: skip
# Real domains that sit close to a common one: never "corrected".
REAL_DOMAINS = frozenset({'mail.com', 'gmx.com', 'gmx.co.uk', 'ymail.com', 'me.uk', 'mac.com', 'live.ie', 'mail.co.uk'})
EXAMPLE_MOBILE = '07700 900 982'
_UK_LANDLINE = re.compile(r'^44[123][0-9]{8,9}$')


@dataclass(frozen=True)
class Problem:
    """What is wrong, as a page-string key (`signup.error.*`) and the values it names."""

    key: str
    values: dict[str, str] = field(default_factory=dict)


def _distance(a: str, b: str) -> int:
    """Damerau-Levenshtein (optimal string alignment) distance: a swapped pair of letters counts once."""
    rows = [list(range(len(b) + 1))]
    for i, char_a in enumerate(a, start=1):
        row = [i] + [0] * len(b)
        for j, char_b in enumerate(b, start=1):
            cost = 0 if char_a == char_b else 1
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def suggest_email(address: str) -> str | None:
    """The address with a likely slip in its domain put right, or None when the domain looks fine."""
    local, at, domain = address.strip().rpartition('@')
    domain = domain.lower()
    if not at or not local or domain in COMMON_DOMAINS or domain in REAL_DOMAINS:
        return None
    best, best_distance = None, 3
    for common in COMMON_DOMAINS:
        allowed = 1 if len(common) <= 8 else 2
        distance = _distance(domain, common)
        if distance <= allowed and distance < best_distance:
            best, best_distance = common, distance
    return f'{local}@{best}' if best else None


def check_email(typed: str) -> str | Problem:
    text = typed.strip()
    if not text:
        return Problem('signup.error.email_missing')
    if '@' not in text:
        return Problem('signup.error.email_at')
    try:
        return canonical_address('email', text)
    except InvalidContactPoint:
        return Problem('signup.error.email_format')


def spaced_uk_number(digits: str) -> str:
    """'441632960001' → '01632 960 001', '442079460000' → '020 7946 0000', '441614960000' → '0161 496 0000',
    '447700900123' → '07700 900 123' (as a resident would write it)."""
    national = '0' + digits[2:] if digits.startswith('44') else digits
    if len(national) != 11:
        return national
    if national.startswith('02'):
        return f'{national[:3]} {national[3:7]} {national[7:]}'
    if national.startswith(('011', '03', '08')) or (national.startswith('01') and national[3] == '1'):
        return f'{national[:4]} {national[4:7]} {national[7:]}'  # 0161 496 0000, 0300 123 4567
    return f'{national[:5]} {national[5:8]} {national[8:]}'  # 01632 960 001, 07700 900 123


def _uk_digits(typed: str) -> str | None:
    """The number as 44… digits if it is shaped like any UK number (mobile or not), else None."""
    digits = re.sub(r'[\s()\-.]', '', typed)
    if digits.startswith('+'):
        digits = digits[1:]
    if digits.startswith('0044'):
        digits = digits[2:]
    if not digits.isdigit():
        return None
    if digits.startswith('0') and len(digits) in (10, 11):
        return '44' + digits[1:]
    return digits if digits.startswith('44') else None


def check_mobile(typed: str) -> str | Problem:
    text = typed.strip()
    if not text:
        return Problem('signup.error.mobile_missing', {'example': EXAMPLE_MOBILE})
    try:
        return canonical_address('sms', text)
    except InvalidContactPoint:
        pass
    digits = _uk_digits(text)
    if digits and _UK_LANDLINE.match(digits):
        return Problem('signup.error.mobile_landline', {'number': spaced_uk_number(digits), 'example': EXAMPLE_MOBILE})
    if re.search(r'[^0-9\s()+\-.]', text):
        return Problem('signup.error.mobile_characters', {'example': EXAMPLE_MOBILE})
    if digits and not digits.startswith('447'):
        return Problem('signup.error.mobile_not_uk', {'example': EXAMPLE_MOBILE})
    return Problem('signup.error.mobile_format', {'example': EXAMPLE_MOBILE})


def _compact_time(text: str) -> str:
    return text.strip().lower().replace(' ', '').replace('.', ':')


def parse_time(text: str) -> time | None:
    """'21:00', '9pm', '9.30pm', '0930', '7am' → a time; None if it is not one."""
    compact = _compact_time(text)
    match = re.fullmatch(r'(\d{1,2})(?::?(\d{2}))?(am|pm)?', compact)
    if not match:
        return None
    hour, minute, half = int(match[1]), int(match[2] or 0), match[3]
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == 'pm' else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def check_time(typed: str, field: str) -> time | Problem:
    """A time typed for `field` ('quiet_start', 'quiet_end'), or what is wrong, each with its own message: nothing
    typed (`signup.error.<field>`), words and no numbers ('teatime': `…_words`), numbers that are not a time of day
    ('25:00', '9.75pm': `…_range`)."""
    found = parse_time(typed)
    if found is not None:
        return found
    compact = _compact_time(typed)
    if not compact:
        return Problem(f'signup.error.{field}')
    if not re.search(r'[0-9]', compact):
        return Problem(f'signup.error.{field}_words')
    return Problem(f'signup.error.{field}_range')
