"""Template placeholders, rendering and message-size rules of GOV.UK Notify. Pure functions, no I/O.

Where the rules come from (alphagov/notifications-utils and notifications-api, in our own words):

- Placeholders (``field.py``, ``insensitive_dict.py``): ``((name))`` and the conditional ``((name??text))``.
  Names are matched ignoring case, spaces, hyphens and underscores, so ``((First name))`` takes
  ``first_name``. A value of ``None`` counts as missing.
- Conditional text is shown when the value reads as "yes" the way Notify's ``str2bool`` reads it:
  ``yes``, ``y``, ``true``, ``t``, ``1``, ``include`` or ``show`` (any case). Anything else hides it.
- Lists: an email body gets a Markdown bullet list; elsewhere (text messages, subjects) Notify joins the
  items as ``a, b and c``.
- Text message length (``template.py`` and the API's ``check_is_message_too_long``): the limit is 918
  characters, counted on the rendered message without the service-name prefix. Fragments are counted on the
  sent text: GSM-7 gives 160 characters in one part or 153 per part, UCS-2 gives 70 or 67, and the GSM
  extension characters (``^ { } \\ [ ~ ] | €``) count twice. A few typographic characters are swapped for GSM
  ones before sending (curly quotes, dashes, ellipsis, odd spaces); any other character outside GSM-7 (an emoji,
  a Welsh ŵ) makes the whole message UCS-2.
- Emails may be up to 2,000,000 bytes of UTF-8 once personalised.
"""

import math
import re
from collections.abc import Mapping, Sequence

__all__ = [
    'EMAIL_MAX_BYTES',
    'SMS_CHAR_COUNT_LIMIT',
    'email_size_in_bytes',
    'email_too_long',
    'is_empty',
    'missing_personalisation',
    'missing_personalisation_message',
    'placeholders',
    'render',
    'sms_character_count',
    'sms_encode',
    'sms_fragment_count',
    'sms_too_long',
    'too_long_message',
]

SMS_CHAR_COUNT_LIMIT = 918
EMAIL_MAX_BYTES = 2_000_000
EMPTY_MESSAGE = 'Your message is empty.'

_PLACEHOLDER_RE = re.compile(r'\(\(([^()]+)\)\)')
_CONDITIONAL = '??'
_TRUTHY_WORDS = frozenset({'yes', 'y', 'true', 't', '1', 'include', 'show'})
_OBSCURE_WHITESPACE = '\u180e\u200b\u200c\u200d\u2060\ufeff\u00a0\u202f'

_GSM_EXTENDED = frozenset('^{}\\[~]|€')
_GSM_BASIC = frozenset(
    '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?'
    '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà'
)
_GSM = _GSM_BASIC | _GSM_EXTENDED
# Characters Notify replaces before sending a text message, so they never force UCS-2.
_SMS_REPLACEMENTS = {
    '\u2011': '-',  # non-breaking hyphen
    '\u2013': '-',  # en dash
    '\u2014': '-',  # em dash
    '\u2212': '-',  # minus sign
    '\u2026': '...',  # ellipsis
    '\u2018': "'",
    '\u2019': "'",
    '\u201a': "'",
    '\u201c': '"',
    '\u201d': '"',
    '\u201e': '"',
    '\u180e': '',
    '\u200b': '',
    '\u200c': '',
    '\u2060': '',
    '\ufeff': '',
    '\u2028': '',
    '\u2029': '',
    '\u00a0': ' ',
    '\u202f': ' ',
    '\t': ' ',
}


# --- placeholders --------------------------------------------------------------------------------------------


def _key(name: str) -> str:
    """Notify's case-, space-, hyphen- and underscore-insensitive form of a placeholder or personalisation key."""
    return name.translate({ord(' '): None, ord('_'): None, ord('-'): None}).lower()


def _name(body: str) -> str:
    return body.split(_CONDITIONAL, 1)[0] if _CONDITIONAL in body else body


def placeholders(text: str | None) -> list[str]:
    """Placeholder names in order of first appearance, spelt as first written; repeats (in any spelling) dropped."""
    seen: dict[str, str] = {}
    for body in _PLACEHOLDER_RE.findall(text or ''):
        seen.setdefault(_key(_name(body)), _name(body))
    return list(seen.values())


def _lookup(personalisation: Mapping[str, object]) -> dict[str, object]:
    # Later keys win when two spellings collide, as in Notify's InsensitiveDict.
    return {_key(str(key)): value for key, value in personalisation.items()}


def missing_personalisation(subject: str | None, body: str, personalisation: Mapping[str, object]) -> list[str]:
    """Placeholders (subject first, then body) with no value or a ``None`` value, in Notify's order."""
    values = _lookup(personalisation or {})
    names: dict[str, str] = {}
    for name in placeholders(subject) + placeholders(body):
        names.setdefault(_key(name), name)
    return [name for key, name in names.items() if values.get(key) is None]


def missing_personalisation_message(missing: Sequence[str]) -> str:
    """The ``BadRequestError`` text Notify sends, e.g. ``Missing personalisation: name, date``."""
    return f'Missing personalisation: {", ".join(missing)}'


# --- rendering -----------------------------------------------------------------------------------------------


def _shown(value: object) -> bool:
    return bool(value) and str(value).lower() in _TRUTHY_WORDS


def _list_text(items: Sequence[object], markdown_lists: bool) -> str:
    cleaned = [_strip_obscure(str(item)) for item in items if item is not None]
    cleaned = [item for item in cleaned if item]
    if not cleaned:
        return ''
    if markdown_lists:
        return '\n\n' + '\n'.join(f'* {item}' for item in cleaned)
    if len(cleaned) == 1:
        return cleaned[0]
    return f'{", ".join(cleaned[:-1])} and {cleaned[-1]}'


def _strip_obscure(value: str) -> str:
    return ''.join(char for char in value if char not in _OBSCURE_WHITESPACE).strip()


def render(text: str, personalisation: Mapping[str, object], *, markdown_lists: bool = True) -> str:
    """Fill in placeholders. Missing values leave the placeholder as written, as Notify's previews do.

    Strings and numbers are inserted with ``str``; lists become a Markdown bullet list when ``markdown_lists``
    (Notify's email bodies) and ``a, b and c`` otherwise (pass ``markdown_lists=False`` for text messages,
    subjects and letters). No HTML escaping or Markdown conversion is done here.
    """
    values = _lookup(personalisation or {})

    def substitute(match: re.Match[str]) -> str:
        body = match.group(1)
        value = values.get(_key(_name(body)))
        if value is None:
            return match.group(0)
        if _CONDITIONAL in body:
            return body.split(_CONDITIONAL, 1)[1] if _shown(value) else ''
        if isinstance(value, list | tuple):
            return _list_text(value, markdown_lists)
        return str(value)

    return _PLACEHOLDER_RE.sub(substitute, text)


def is_empty(body: str) -> bool:
    """True when the rendered message is only whitespace: Notify's ``Your message is empty.`` case."""
    return not _strip_obscure(body)


# --- text message size ---------------------------------------------------------------------------------------


def _sms_text(body: str) -> str:
    """The rendered message as Notify counts it: Windows newlines made plain, surrounding whitespace removed."""
    return body.replace('\r\n', '\n').strip()


def sms_encode(body: str) -> str:
    """Swap the typographic characters Notify replaces before sending (dashes, curly quotes, odd spaces)."""
    return ''.join(_SMS_REPLACEMENTS.get(char, char) for char in body)


def sms_character_count(body: str) -> int:
    """Characters counted against the 918 limit: the rendered text before replacements, without the prefix."""
    return len(_sms_text(body))


def sms_fragment_count(body: str) -> int:
    """How many parts Notify bills the message as (it adds the extension-character count in either encoding)."""
    sent = sms_encode(_sms_text(body))
    characters = sms_character_count(body) + sum(1 for char in sent if char in _GSM_EXTENDED)
    if any(char not in _GSM for char in sent):
        return 1 if characters <= 70 else math.ceil(characters / 67)
    return 1 if characters <= 160 else math.ceil(characters / 153)


def sms_too_long(body: str) -> bool:
    """True when Notify would refuse the text message for being over 918 characters."""
    return sms_character_count(body) > SMS_CHAR_COUNT_LIMIT


def email_size_in_bytes(body: str) -> int:
    return len(body.strip().encode('utf-8'))


def email_too_long(body: str) -> bool:
    """True when the personalised email body is over 2,000,000 bytes of UTF-8."""
    return email_size_in_bytes(body) > EMAIL_MAX_BYTES


def too_long_message(kind: str, body: str) -> str:
    """Notify's ``BadRequestError`` text for an over-long ``'sms'`` or ``'email'`` (wording from the API)."""
    if kind == 'sms':
        return (
            f'Your message is too long. Text messages cannot be longer than {SMS_CHAR_COUNT_LIMIT} characters. '
            f'Your message is {sms_character_count(body)} characters long.'
        )
    if kind == 'email':
        return (
            f'Your message is too long. Emails cannot be longer than {EMAIL_MAX_BYTES} bytes. '
            f'Your message is {email_size_in_bytes(body)} bytes.'
        )
    raise ValueError(f'no length limit for {kind!r} messages')
