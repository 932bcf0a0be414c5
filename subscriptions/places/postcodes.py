"""UK postcodes: normalise what a resident typed, and say clearly what is wrong when it is not a postcode.

Pure functions, no I/O. `normalise_postcode` accepts any UK postcode format (including Northern Ireland and
the Crown Dependencies); `gb_postcode` also refuses the areas our data (OS Code-Point Open, Great Britain
only) cannot place, with a message of their own rather than a puzzling "not found".

Every `PostcodeError` message is written for a resident: it says what to do, and can be shown as it is.
"""

from __future__ import annotations

import re

EXAMPLE = 'SW1A 1AA'
FULL_POSTCODE = f'Enter a full UK postcode, like {EXAMPLE}'

# outward code (area letters, district digit(s), optional sub-district) + inward code (sector digit, unit letters)
_OUTWARD = r'(?P<area>[A-Z]{1,2})[0-9][A-Z0-9]?'
_INWARD = r'[0-9][A-Z]{2}'
_POSTCODE = re.compile(rf'^(?P<outward>{_OUTWARD})(?P<inward>{_INWARD})$')
_OUTWARD_ONLY = re.compile(rf'^{_OUTWARD}$')
_SEPARATORS = re.compile(r'[\s\-]+')

# Postcode areas that are real but outside Great Britain, so absent from Code-Point Open.
NOT_GB_AREAS = {
    'BT': 'Northern Ireland',
    'IM': 'the Isle of Man',
    'JE': 'Jersey',
    'GY': 'Guernsey',
    'GX': 'Gibraltar',
}
# British Overseas Territories use postcode-like codes that do not fit the UK pattern.
OVERSEAS_TERRITORIES = {
    'ASCN1ZZ': 'Ascension Island',
    'BBND1ZZ': 'the British Indian Ocean Territory',
    'BIQQ1ZZ': 'the British Antarctic Territory',
    'FIQQ1ZZ': 'the Falkland Islands',
    'PCRN1ZZ': 'the Pitcairn Islands',
    'SIQQ1ZZ': 'South Georgia and the South Sandwich Islands',
    'STHL1ZZ': 'Saint Helena',
    'TDCU1ZZ': 'Tristan da Cunha',
    'TKCA1ZZ': 'the Turks and Caicos Islands',
}


class PostcodeError(ValueError):
    """The text is not a postcode we can use; `str(error)` is a message for the resident."""


class PostcodeOutsideGB(PostcodeError):
    """A real postcode in a place our data does not cover (Northern Ireland, the Crown Dependencies, …)."""


class PostcodeNotFound(PostcodeError):
    """A well-formed GB postcode the geocoder does not know (mistyped, new, or retired)."""


def normalise_postcode(text: str) -> str:
    """Return the postcode in its standard form ('sw1a1aa' → 'SW1A 1AA'), or raise PostcodeError.

    Case, surrounding spaces, missing or doubled spaces and hyphens are forgiven; nothing else is guessed
    (an O typed for a 0 is an error, not silently corrected to someone else's street).
    """
    compact = _SEPARATORS.sub('', text or '').upper()
    if not compact:
        raise PostcodeError(f'Enter a postcode, like {EXAMPLE}')
    if compact in OVERSEAS_TERRITORIES:
        raise PostcodeOutsideGB(_outside_gb(OVERSEAS_TERRITORIES[compact]))
    if not compact.isascii() or not compact.isalnum():
        raise PostcodeError(f'A postcode has only letters and numbers. {FULL_POSTCODE}')
    match = _POSTCODE.match(compact)
    if match is None:
        if _OUTWARD_ONLY.match(compact):
            raise PostcodeError(f'Enter the whole postcode, not just the first part, like {EXAMPLE}')
        if len(compact) < 5:
            raise PostcodeError(f'That postcode is too short. {FULL_POSTCODE}')
        if len(compact) > 7:
            raise PostcodeError(f'That postcode is too long. {FULL_POSTCODE}')
        raise PostcodeError(f'That is not a UK postcode. {FULL_POSTCODE}')
    return f'{match["outward"]} {match["inward"]}'


def postcode_area(postcode: str) -> str:
    """The area letters of a normalised postcode ('SW1A 1AA' → 'SW')."""
    match = _POSTCODE.match(postcode.replace(' ', ''))
    if match is None:
        raise PostcodeError(FULL_POSTCODE)
    return match['area']


def gb_postcode(text: str) -> str:
    """Like `normalise_postcode`, but also refuse postcodes outside Great Britain with their own message."""
    postcode = normalise_postcode(text)
    place = NOT_GB_AREAS.get(postcode_area(postcode))
    if place is not None:
        raise PostcodeOutsideGB(_outside_gb(place))
    return postcode


def _outside_gb(place: str) -> str:
    return (
        f'That postcode is in {place}. We can only find postcodes in England, Scotland and Wales. '
        f'Enter a postcode in Great Britain, like {EXAMPLE}'
    )
