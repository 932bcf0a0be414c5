"""Recipient rules of GOV.UK Notify's v2 API: phone numbers, email addresses, letter addresses, test recipients.

Pure functions, no I/O. Where the rules come from (read in alphagov/notifications-utils and notifications-api,
rewritten here in our own words):

- Phone numbers: ``recipient_validation/phone_number.py`` and ``errors.py``. Notify parses with Google's
  libphonenumber; we do not depend on it and instead apply the same *shape* rules the v2 API reports with its
  "legacy" messages (``Too many digits``, ``Not enough digits``, ``Not a UK mobile number``,
  ``Must not contain letters or symbols``, ``Not a valid country prefix``). Number-range validity inside
  foreign numbering plans is not checked.
- The canonical form is Notify's ``normalised_to``: E.164 digits without the plus, e.g. ``447700900123``.
  Notify stores the number exactly as the caller sent it in ``to`` and shows *that* in GET bodies
  (``phone_number``), so a server should keep the raw input for responses and use the canonical form only
  for matching (smoke tests, simulators, guest lists).
- Email: ``recipient_validation/email_address.py`` (strict local part, IDNA host, TLD shape).
- Letters: ``recipient_validation/postal_address.py`` and the API's ``validate_address`` (3 to 7 lines, a real
  UK postcode or a country on the last line, banned leading characters, no "no fixed abode").
- Test recipients: the API's ``config.py`` (``SIMULATED_*``) and ``celery/research_mode_tasks.py``.
"""

import re
from collections.abc import Mapping

__all__ = [
    'CANNOT_SEND_INTERNATIONAL',
    'InternationalNotAllowed',
    'InvalidRecipient',
    'SMOKE_TEST_EMAILS',
    'SMOKE_TEST_PHONES',
    'format_email_address',
    'is_smoke_test',
    'normalise_phone_number',
    'simulated_outcome',
    'validate_email_address',
    'validate_postal_address',
]


class InvalidRecipient(ValueError):
    """A recipient Notify would refuse; ``str(exc)`` is Notify's exact message."""


class InternationalNotAllowed(InvalidRecipient):
    """A well-formed non-UK number sent by a service without the international SMS permission.

    Notify reports this as a ``BadRequestError`` (not a ``ValidationError``) with :data:`CANNOT_SEND_INTERNATIONAL`.
    """

    def __init__(self) -> None:
        super().__init__(CANNOT_SEND_INTERNATIONAL)


CANNOT_SEND_INTERNATIONAL = 'Cannot send to international mobile numbers'

# Messages the v2 API returns for phone numbers (the "legacy v2" wording in notifications-utils' errors.py).
TOO_MANY_DIGITS = 'Too many digits'
NOT_ENOUGH_DIGITS = 'Not enough digits'
NOT_A_UK_MOBILE = 'Not a UK mobile number'
BAD_CHARACTERS = 'Must not contain letters or symbols'
BAD_COUNTRY_PREFIX = 'Not a valid country prefix'
INVALID_NUMBER = 'Number is not valid – double check the phone number you entered'
INVALID_EMAIL = 'Not a valid email address'

UK_PREFIX = '44'
# Zero-width and non-breaking characters Notify strips before looking at a recipient (formatters.py).
_OBSCURE_WHITESPACE = '\u180e\u200b\u200c\u200d\u2060\ufeff\u00a0\u202f'
_PHONE_PUNCTUATION = frozenset('()-+')

# Country calling codes assigned in ITU-T E.164 (our own list). Notify checks against the countries in its
# billing-rates file, which is a subset of these.
_COUNTRY_CODES = frozenset(
    '1 7 20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 60 61 62 63 64 65 66 '
    '81 82 84 86 90 91 92 93 94 95 98 211 212 213 216 218 260 261 262 263 264 265 266 267 268 269 290 291 297 '
    '298 299 350 351 352 353 354 355 356 357 358 359 370 371 372 373 374 375 376 377 378 380 381 382 383 385 '
    '386 387 389 420 421 423 670 672 673 674 675 676 677 678 679 680 681 682 683 685 686 687 688 689 690 691 '
    '692 850 852 853 855 856 880 886 960 961 962 963 964 965 966 967 968 970 971 972 973 974 975 976 977 992 '
    '993 994 995 996 998'.split()
    + [str(code) for code in range(220, 259)]
    + [str(code) for code in range(500, 510)]
    + [str(code) for code in range(590, 600)]
)

# Smoke-test recipients (Notify's SIMULATED_SMS_NUMBERS / SIMULATED_EMAIL_ADDRESSES). Any key type may send to
# them; the request is validated and answered 201 but nothing is stored. Phones are held in canonical form.
SMOKE_TEST_PHONES: frozenset[str] = frozenset({'447700900000', '447700900111', '447700900222'})
SMOKE_TEST_EMAILS: frozenset[str] = frozenset(
    {
        'simulate-delivered@notifications.service.gov.uk',
        'simulate-delivered-2@notifications.service.gov.uk',
        'simulate-delivered-3@notifications.service.gov.uk',
    }
)

# Test-key failure simulators (research_mode_tasks.py): phones match on the end of the number.
_PHONE_OUTCOMES = (('7700900002', 'permanent-failure'), ('7700900003', 'temporary-failure'))
_EMAIL_OUTCOMES = {'perm-fail@simulator.notify': 'permanent-failure', 'temp-fail@simulator.notify': 'temporary-failure'}


# --- phone numbers -------------------------------------------------------------------------------------------


def normalise_phone_number(number: str, *, allow_international: bool = False, allow_uk_landline: bool = False) -> str:
    """Validate a phone number the way Notify's v2 API does and return it as E.164 digits without ``+``.

    ``'07700 900 123'``, ``'+44 7700 900123'``, ``'0044 7700 900123'`` and ``'(07700) 900-123'`` all give
    ``'447700900123'``. The schema's ``phone_number`` format check allows international numbers and UK
    landlines; the later recipient check uses the service's permissions (international SMS, SMS to landlines),
    which is what the keyword arguments model. Stray prefixes Notify forgives (``'0+447700900100'``,
    ``'+07700900100'``, ``'000007700900100'``) are retried after dropping pluses and leading zeros, as Notify does.

    Raises :class:`InvalidRecipient` (or :class:`InternationalNotAllowed`) carrying Notify's message.
    """
    if not isinstance(number, str):
        raise InvalidRecipient(NOT_ENOUGH_DIGITS)
    compact = ''.join(char for char in number if not char.isspace() and char not in _OBSCURE_WHITESPACE)
    if any(not char.isdigit() and char not in _PHONE_PUNCTUATION for char in compact):
        raise InvalidRecipient(BAD_CHARACTERS)
    if not any(char.isdigit() for char in compact):
        raise InvalidRecipient(NOT_ENOUGH_DIGITS)
    try:
        return _validate(compact, allow_international, allow_uk_landline)
    except InvalidRecipient:
        if not _has_stray_prefix(compact):
            raise
    return _validate(compact.replace('+', '').lstrip('0') or '0', allow_international, allow_uk_landline)


def _has_stray_prefix(compact: str) -> bool:
    """Notify's 'thorough' normalisation only helps numbers with a misplaced plus or a run of leading zeros."""
    return '+' in compact[1:] or compact.startswith(('+0', '000'))


def _validate(compact: str, allow_international: bool, allow_uk_landline: bool) -> str:
    digits = ''.join(char for char in compact if char.isdigit())
    if compact.startswith('+'):
        international = digits
    elif digits.startswith('00'):
        international = digits[2:]
    elif digits.startswith('0'):
        return _validate_uk(digits[1:], allow_uk_landline)
    elif len(digits) in (9, 10) and not digits.startswith(UK_PREFIX):
        # No prefix at all: Notify parses it as a UK number with its leading zero lost (often Excel's doing).
        return _validate_uk(digits, allow_uk_landline)
    else:
        international = digits
    if international.startswith(UK_PREFIX):
        national = international[len(UK_PREFIX) :]
        # '+44 (0)7700 900123' keeps the trunk zero; it is dropped when dialling from abroad.
        return _validate_uk(national[1:] if national.startswith('0') else national, allow_uk_landline)
    return _validate_international(international, allow_international)


def _validate_uk(national: str, allow_uk_landline: bool) -> str:
    """A UK number given without its trunk zero: mobiles are 7 followed by 9 digits."""
    if national.startswith('7'):
        _check_length(national, shortest=10, longest=10)
    elif not allow_uk_landline:
        raise InvalidRecipient(NOT_A_UK_MOBILE)
    elif national[:1] in ('1', '2', '3', '8'):
        _check_length(national, shortest=9, longest=10)
    else:
        raise InvalidRecipient(INVALID_NUMBER)
    return UK_PREFIX + national


def _validate_international(digits: str, allow_international: bool) -> str:
    """A non-UK number: a known country code and between 8 and 15 digits in all (E.164's maximum)."""
    if not any(digits[:size] in _COUNTRY_CODES for size in (1, 2, 3)):
        raise InvalidRecipient(BAD_COUNTRY_PREFIX)
    _check_length(digits, shortest=8, longest=15)
    if not allow_international:
        raise InternationalNotAllowed()
    return digits


def _check_length(digits: str, *, shortest: int, longest: int) -> None:
    if len(digits) > longest:
        raise InvalidRecipient(TOO_MANY_DIGITS)
    if len(digits) < shortest:
        raise InvalidRecipient(NOT_ENOUGH_DIGITS)


# --- email addresses -----------------------------------------------------------------------------------------

_LOCAL_CHARS = r"a-zA-Z0-9.!#$%&'*+/=?^_`{|}~\-"
_EMAIL_RE = re.compile(rf'^[{_LOCAL_CHARS}]+@([^.@][^@\s]+)$')
_HOST_LABEL_RE = re.compile(r'^(xn|[a-z0-9]+)(-?-[a-z0-9]+)*$', re.IGNORECASE)
_TLD_RE = re.compile(r'^([a-z]{2,63}|xn--([a-z0-9]+-)*[a-z0-9]+)$', re.IGNORECASE)


def _strip_obscure_whitespace(value: str) -> str:
    return ''.join(char for char in value if char not in _OBSCURE_WHITESPACE).strip()


def validate_email_address(address: str) -> str:
    """Return the address with surrounding (and zero-width) whitespace removed, or raise ``InvalidRecipient``.

    Notify's rules: a deliberately strict local part (no quotes or semicolons), at most 320 characters, no
    ``..`` anywhere, and a host that survives IDNA encoding with at least two labels of at most 63 characters,
    at most 253 in all, and a TLD of letters (or an ``xn--`` label). Case is kept; Notify lower-cases only when
    it stores the address (see :func:`format_email_address`).
    """
    if not isinstance(address, str):
        raise InvalidRecipient(INVALID_EMAIL)
    address = _strip_obscure_whitespace(address)
    match = _EMAIL_RE.match(address)
    if not match or len(address) > 320 or '..' in address:
        raise InvalidRecipient(INVALID_EMAIL)
    try:
        hostname = match.group(1).encode('idna').decode('ascii')
    except UnicodeError as exc:
        raise InvalidRecipient(INVALID_EMAIL) from exc
    labels = hostname.split('.')
    if len(hostname) > 253 or len(labels) < 2:
        raise InvalidRecipient(INVALID_EMAIL)
    if any(not label or len(label) > 63 or not _HOST_LABEL_RE.match(label) for label in labels):
        raise InvalidRecipient(INVALID_EMAIL)
    if not _TLD_RE.match(labels[-1]):
        raise InvalidRecipient(INVALID_EMAIL)
    return address


def format_email_address(address: str) -> str:
    """Validate, then lower-case: the form Notify stores and compares (guest lists, smoke tests)."""
    return validate_email_address(address).lower()


# --- test recipients -----------------------------------------------------------------------------------------


def _canonical(recipient: str) -> str:
    """Phone numbers to canonical digits, anything with an ``@`` lower-cased; invalid input returned stripped."""
    recipient = _strip_obscure_whitespace(recipient)
    if '@' in recipient:
        return recipient.lower()
    try:
        return normalise_phone_number(recipient, allow_international=True, allow_uk_landline=True)
    except InvalidRecipient:
        return recipient


def is_smoke_test(recipient: str) -> bool:
    """True for Notify's smoke-test recipients, written any way Notify would accept them."""
    canonical = _canonical(recipient)
    return canonical in SMOKE_TEST_PHONES or canonical in SMOKE_TEST_EMAILS


def simulated_outcome(recipient: str) -> str | None:
    """The final status a test-key send to this recipient gets, or ``None`` for the usual ``delivered``.

    Phones match on their last ten digits like Notify's research-mode task (``endswith('7700900003')``);
    emails match exactly (after lower-casing).
    """
    canonical = _canonical(recipient)
    if '@' in canonical:
        return _EMAIL_OUTCOMES.get(canonical)
    digits = ''.join(char for char in canonical if char.isdigit())
    return next((outcome for suffix, outcome in _PHONE_OUTCOMES if digits.endswith(suffix)), None)


# --- letter addresses ----------------------------------------------------------------------------------------

ADDRESS_MIN_LINES = 3
ADDRESS_MAX_LINES = 7
ADDRESS_TOO_SHORT = f'Address must be at least {ADDRESS_MIN_LINES} lines'
ADDRESS_TOO_LONG = f'Address must be no more than {ADDRESS_MAX_LINES} lines'
ADDRESS_BAD_LAST_LINE_INTERNATIONAL = 'Last line of address must be a real UK postcode or another country'
ADDRESS_BAD_POSTCODE = 'Must be a real UK postcode'
ADDRESS_BAD_FIRST_CHARACTER = (
    'Address lines must not start with any of the following characters: @ ( ) = [ ] \u201d \\ / , < >'
)
ADDRESS_NO_FIXED_ABODE = 'Must be a real address'
_BANNED_FIRST_CHARACTERS = tuple('@()=[]"\\/,<>~\u201d')
_NO_FIXED_ABODE_RE = re.compile(r'no fixed (abode|address)', re.IGNORECASE)

# The postcode areas Royal Mail uses (public data), then the shape of the rest of a postcode.
_POSTCODE_AREAS = (
    'AB AL B BA BB BD BF BH BL BN BR BS BT BX CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN DT DY E EC EH '
    'EN EX FK FY G GIR GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY L LA LD LE LL LN LS LU M ME '
    'MK ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM S SA SE SG SK SL SM SN SO SP SR SS ST SW SY TA '
    'TD TF TN TQ TR TS TW UB W WA WC WD WF WN WR WS WV YO'
).split()
_POSTCODE_RE = re.compile(rf'({"|".join(_POSTCODE_AREAS)})[0-9][0-9A-Z]?[0-9][ABD-HJLNP-UW-Z]{{2}}')

_UK_NAMES = frozenset(
    {'uk', 'united kingdom', 'great britain', 'britain', 'gb', 'england', 'scotland', 'wales', 'cymru'}
    | {'northern ireland', 'united kingdom of great britain and northern ireland'}
)
# Countries outside the UK, in plain English (our own list; Notify's is longer and knows more spellings).
_COUNTRY_NAMES = frozenset(
    name.strip()
    for name in (
        'afghanistan, albania, algeria, andorra, angola, anguilla, antigua and barbuda, argentina, armenia, aruba, '
        'australia, austria, azerbaijan, bahamas, bahrain, bangladesh, barbados, belarus, belgium, belize, benin, '
        'bermuda, bhutan, bolivia, bosnia and herzegovina, botswana, brazil, british virgin islands, brunei, '
        'bulgaria, burkina faso, burundi, cambodia, cameroon, canada, cape verde, cayman islands, '
        'central african republic, chad, chile, china, colombia, comoros, congo, democratic republic of the congo, '
        'costa rica, croatia, cuba, cyprus, czechia, czech republic, denmark, djibouti, dominica, '
        'dominican republic, ecuador, egypt, el salvador, equatorial guinea, eritrea, estonia, eswatini, ethiopia, '
        'falkland islands, faroe islands, fiji, finland, france, french guiana, french polynesia, gabon, gambia, '
        'georgia, germany, ghana, gibraltar, greece, greenland, grenada, guadeloupe, guatemala, guinea, '
        'guinea bissau, guyana, haiti, honduras, hong kong, hungary, iceland, india, indonesia, iran, iraq, '
        'ireland, republic of ireland, israel, italy, ivory coast, jamaica, japan, jordan, kazakhstan, kenya, '
        'kiribati, kosovo, kuwait, kyrgyzstan, laos, latvia, lebanon, lesotho, liberia, libya, liechtenstein, '
        'lithuania, luxembourg, macao, madagascar, malawi, malaysia, maldives, mali, malta, marshall islands, '
        'martinique, mauritania, mauritius, mexico, micronesia, moldova, monaco, mongolia, montenegro, montserrat, '
        'morocco, mozambique, myanmar, namibia, nauru, nepal, netherlands, new caledonia, new zealand, nicaragua, '
        'niger, nigeria, north korea, north macedonia, norway, oman, pakistan, palau, panama, papua new guinea, '
        'paraguay, peru, philippines, pitcairn islands, poland, portugal, qatar, reunion, romania, russia, rwanda, '
        'saint helena, saint kitts and nevis, saint lucia, saint vincent and the grenadines, samoa, san marino, '
        'sao tome and principe, saudi arabia, senegal, serbia, seychelles, sierra leone, singapore, slovakia, '
        'slovenia, solomon islands, somalia, south africa, south korea, south sudan, spain, sri lanka, sudan, '
        'suriname, sweden, switzerland, syria, taiwan, tajikistan, tanzania, thailand, timor leste, togo, tonga, '
        'trinidad and tobago, tunisia, turkey, turkmenistan, turks and caicos islands, tuvalu, uganda, ukraine, '
        'united arab emirates, united states, united states of america, usa, uruguay, uzbekistan, vanuatu, '
        'vatican city, venezuela, vietnam, yemen, zambia, zimbabwe'
    ).split(',')
)


def _country_key(line: str) -> str:
    key = re.sub(r'[^a-z0-9 ]', ' ', line.lower().replace('&', ' and '))
    key = ' '.join(key.split())
    return key.removeprefix('the ')


def _normalise_address_lines(raw_lines: list[str]) -> list[str]:
    """Collapse whitespace, drop trailing commas and spaces and blank lines (Notify's PostalAddress does this)."""
    lines = []
    for raw in raw_lines:
        line = re.sub(r'\s+([,.:;!?])', r'\1', ' '.join(raw.split())).rstrip(' ,')
        if line:
            lines.append(line)
    return lines


def _format_postcode(line: str) -> str | None:
    compact = ''.join(line.split()).upper()
    if not _POSTCODE_RE.fullmatch(compact):
        return None
    return f'{compact[:-3]} {compact[-3:]}'


def validate_postal_address(
    personalisation: Mapping[str, object], *, allow_international_letters: bool = True
) -> list[str]:
    """Check a templated letter's address; return Notify's message for the first problem, or ``[]``.

    The address is ``address_line_1`` to ``address_line_6`` followed by ``address_line_7`` when it is given,
    else by ``postcode``; like Notify, the values are joined with newlines and split again, so a value holding a
    newline counts as two lines. Notify raises on the first failing rule, in this order: at least 3 lines, at most 7,
    a last line that is a real UK postcode (or, with international letters allowed, a country outside the UK;
    trailing "UK"/"England"-style lines are dropped first), no line starting with a character the printer
    rejects, and not "NFA"/"no fixed abode". BFPO addresses are not modelled.
    """
    last_key = 'address_line_7' if 'address_line_7' in personalisation else 'postcode'
    keys = [f'address_line_{index}' for index in range(1, 7)] + [last_key]
    raw = '\n'.join(str(personalisation.get(key) or '') for key in keys)
    lines = _normalise_address_lines(raw.splitlines())
    while lines and _country_key(lines[-1]) in _UK_NAMES:
        lines.pop()
    international = bool(lines) and _country_key(lines[-1]) in _COUNTRY_NAMES
    if not international and lines and (postcode := _format_postcode(lines[-1])):
        lines[-1] = postcode
    problem = _first_address_problem(lines, international, allow_international_letters)
    return [problem] if problem else []


def _first_address_problem(lines: list[str], international: bool, allow_international: bool) -> str | None:
    if len(lines) < ADDRESS_MIN_LINES:
        return ADDRESS_TOO_SHORT
    if len(lines) > ADDRESS_MAX_LINES:
        return ADDRESS_TOO_LONG
    valid_last_line = (international and allow_international) or (
        not international and _format_postcode(lines[-1]) is not None
    )
    if not valid_last_line:
        return ADDRESS_BAD_LAST_LINE_INTERNATIONAL if allow_international else ADDRESS_BAD_POSTCODE
    if any(line.startswith(_BANNED_FIRST_CHARACTERS) for line in lines):
        return ADDRESS_BAD_FIRST_CHARACTER
    if any(line.lower() == 'nfa' for line in lines) or _NO_FIXED_ABODE_RE.search('\n'.join(lines)):
        return ADDRESS_NO_FIXED_ABODE
    return None
