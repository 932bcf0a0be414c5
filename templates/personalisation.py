"""Pure personalisation builders: what goes into each Notify template's ((placeholders)). No I/O.

The wording lives in templates/wording.json (rendered by Tell Me, sent through the generic Notify templates);
here we only make short, safe values: titles and summaries trimmed at a word, dates in English or Welsh, `has_*`
flags for Notify's ((flag??text)) conditionals, and fallback phrases for fields a source leaves out.

Text from outside (a feed, an officer, a resident) goes through `public_text.plain` where it enters, before it is
trimmed, so it cannot format the message, make a link or read as a placeholder; a feed's own web address goes through
`public_text.safe_url`. The links we build ourselves (event, unsubscribe, manage, confirm, sign-in) are used as given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from templates.public_text import plain, safe_url

LONDON = ZoneInfo('Europe/London')
LANGUAGES = ('en', 'cy')
YES, NO = 'yes', 'no'

# Event kinds with their own wording, then one fallback per topic, then '*' for anything else.
EVENT_KINDS = (
    'planning.new', 'planning.consultation', 'planning.amended', 'planning.decided', 'planning.appeal',
    'licensing.new', 'licensing.variation', 'licensing.hearing', 'licensing.decided',
    'bins.changed', 'bins.reminder', 'case.status', 'case.evidence_requested', 'bulletin.published',
)  # fmt: skip
TOPIC_FALLBACKS = {'planning': 'planning.*', 'licensing': 'licensing.*', 'bins': 'bins.*', 'cases': 'case.*',
                   'bulletins': 'bulletin.*'}  # fmt: skip
EVENT_KEYS = (*EVENT_KINDS, *TOPIC_FALLBACKS.values(), '*')

# What every event template uses, per channel, and what some kinds add.
EVENT_COMMON = {
    'email': frozenset(
        {'title', 'summary', 'where', 'has_where', 'changes', 'has_changes', 'council_url', 'has_council_url'}
        | {'event_url', 'has_unsubscribe', 'unsubscribe_url', 'manage_url'}
    ),
    'sms': frozenset({'title', 'summary', 'event_url', 'has_unsubscribe', 'unsubscribe_url'}),
}
EVENT_COMMON['letter'] = EVENT_COMMON['email']
EVENT_EXTRAS: dict[str, frozenset[str]] = {
    key: frozenset(names)
    for key, names in {
        'planning.consultation': {'comment_by'}, 'planning.amended': {'changes', 'has_changes'},
        'planning.decided': {'decision'}, 'licensing.new': {'comment_by'}, 'licensing.variation': {'comment_by'},
        'licensing.hearing': {'hearing_date'}, 'licensing.decided': {'decision'},
        'bins.changed': {'changes', 'has_changes'}, 'bins.reminder': {'bin', 'collection_date'},
        'case.status': {'case_reference', 'status'}, 'case.evidence_requested': {'case_reference', 'respond_by'},
        'case.*': {'case_reference'}, 'bulletin.published': {'bulletin'}, 'bulletin.*': {'bulletin'},
        '*': {'label'},
    }.items()
}  # fmt: skip
DIGEST_FIELDS = frozenset(
    {'items', 'has_more', 'more_count', 'see_all_url', 'has_unsubscribe', 'unsubscribe_url', 'manage_url'}
)
DIGEST_SMS_FIELDS = DIGEST_FIELDS - {'manage_url'}
NOTICE_FIELDS = {
    'confirmation': frozenset({'subscription', 'confirm_url'}),
    'sign-in': frozenset({'code', 'minutes'}),
    'sign-in-link': frozenset({'sign_in_url', 'minutes'}),
    'confirm-code': frozenset({'subscription', 'code', 'minutes'}),
    'contact-suppressed': frozenset({'masked_address', 'manage_url'}),
    'texts-stopped': frozenset(),  # the one reply to a STOP text
    'texts-started': frozenset(),  # the one reply to a START text
    # answers to a resident's text (notifier/receipts/text_answers.py), by text only
    'text-bins': frozenset({'collections'}),
    'text-bins-unknown': frozenset(),
    'text-case': frozenset({'case_reference', 'stage', 'updated'}),
    'text-help': frozenset(),
    'text-not-followed': frozenset({'signup_url'}),
    'text-received': frozenset({'reply_within'}),
    # to staff, by email only (sources/bulletins/notices.py): a bulletin waiting for an approver, one sent back
    'bulletin-approval': frozenset({'title', 'author', 'people', 'is_urgent', 'bulletin_url'}),
    'bulletin-sent-back': frozenset({'title', 'approver', 'reason', 'bulletin_url'}),
}
# the channels a notice has wording for (the others: email and text); staff have only an email address, and an
# answer to a text goes back by text
NOTICE_CHANNELS = {
    'bulletin-approval': ('email',), 'bulletin-sent-back': ('email',),
    **{answer: ('sms',) for answer in ('text-bins', 'text-bins-unknown', 'text-case', 'text-help', 'text-not-followed',
                                       'text-received')},
}  # fmt: skip

# Longest value, in characters, per channel. Text messages are then fitted to Notify's 918 characters.
CAPS = {
    'email': {'title': 500, 'summary': 5000, 'where': 300, 'changes': 2000, 'short': 200, 'item_title': 150},
    'letter': {'title': 300, 'summary': 2000, 'where': 300, 'changes': 1000, 'short': 200, 'item_title': 150},
    'sms': {'title': 100, 'summary': 160, 'where': 0, 'changes': 160, 'short': 60, 'item_title': 50},
}
DIGEST_ITEM_CAP = {'email': 10, 'sms': 3}

FALLBACK = {
    'en': {'date': 'the date on the council’s page', 'decision': 'see the council’s page', 'status': 'updated',
           'hearing_date': 'a date to be confirmed', 'bin': 'bin', 'bulletin': 'Council news', 'removed': 'removed'},
    'cy': {'date': 'y dyddiad ar dudalen y cyngor', 'decision': 'gweler tudalen y cyngor',
           'hearing_date': 'ddyddiad i’w gadarnhau',  # follows "ar", hence the soft mutation
           'status': 'wedi’i ddiweddaru', 'bin': 'bin', 'bulletin': 'Newyddion y cyngor', 'removed': 'wedi’i dynnu'},
}  # fmt: skip
MONTHS = {
    'en': ('January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October',
           'November', 'December'),
    'cy': ('Ionawr', 'Chwefror', 'Mawrth', 'Ebrill', 'Mai', 'Mehefin', 'Gorffennaf', 'Awst', 'Medi', 'Hydref',
           'Tachwedd', 'Rhagfyr'),
}  # fmt: skip
LABELS = {
    'planning.new': ('New planning application', 'Cais cynllunio newydd'),
    'planning.consultation': ('Planning consultation', 'Ymgynghoriad cynllunio'),
    'planning.amended': ('Planning application changed', 'Cais cynllunio wedi newid'),
    'planning.decided': ('Planning decision', 'Penderfyniad cynllunio'),
    'planning.appeal': ('Planning appeal', 'Apêl gynllunio'),
    'planning.*': ('Planning update', 'Diweddariad cynllunio'),
    'licensing.new': ('New licence application', 'Cais newydd am drwydded'),
    'licensing.variation': ('Application to change a licence', 'Cais i newid trwydded'),
    'licensing.hearing': ('Licensing hearing', 'Gwrandawiad trwyddedu'),
    'licensing.decided': ('Licensing decision', 'Penderfyniad trwyddedu'),
    'licensing.*': ('Licensing update', 'Diweddariad trwyddedu'),
    'bins.changed': ('Bin collection changed', 'Casgliad biniau wedi newid'),
    'bins.reminder': ('Bin reminder', 'Nodyn atgoffa biniau'),
    'bins.*': ('Bin collection update', 'Diweddariad casglu biniau'),
    'case.status': ('Case update', 'Diweddariad achos'),
    'case.evidence_requested': ('More information needed', 'Angen rhagor o wybodaeth'),
    'case.*': ('Case update', 'Diweddariad achos'),
    'bulletin.published': ('Bulletin', 'Bwletin'),
    'bulletin.*': ('Bulletin', 'Bwletin'),
    '*': ('News', 'Newyddion'),
}
# key → (English name, Welsh name or ''): the council's topic catalogue (subscriptions/topics/catalogue.py)
TopicNames = Mapping[str, tuple[str, str]]
# what a message about any other news calls it when the council's catalogue does not name its topic
NEWS_FROM_THE_COUNCIL = ('News from the council', 'Newyddion gan y cyngor')


@dataclass(frozen=True)
class EventInput:
    """What a message needs to know about one event (built from an `events` row by the sender)."""

    kind: str
    topic: str
    title: str
    summary: str
    changes: list[dict[str, Any]]
    attributes: dict[str, Any]
    url: str | None
    occurred_at: datetime
    urgency: str = 'normal'
    case_reference: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> EventInput:
        """From an `events` row (or any row carrying its columns; the pool decodes jsonb to lists and dicts)."""
        return cls(
            kind=row['kind'], topic=row['topic'], title=row['title'], summary=row['summary'],
            changes=list(row['changes'] or []), attributes=dict(row['attributes'] or {}), url=row['url'],
            occurred_at=row['occurred_at'], urgency=row['urgency'], case_reference=row['case_reference'],
        )  # fmt: skip


def event_key(kind: str, topic: str) -> str:
    """The registry key for an event: its own kind, else its topic's fallback, else '*'."""
    if kind in EVENT_KINDS:
        return kind
    return TOPIC_FALLBACKS.get(topic.split('/', 1)[0], '*')


def topic_name(topic: str, language: str, names: TopicNames | None) -> str | None:
    """The council's name for the topic in its catalogue ('Roadworks and road closures'; a part of one nobody named,
    'Tree works: Felling'), as subscriptions/topics/catalogue.py names it; None when the catalogue has neither the
    topic nor its root."""
    root, _, part = topic.partition('/')
    exact = (names or {}).get(topic)
    found = exact or (names or {}).get(root)
    if not found:
        return None
    english, welsh = found
    name = plain(one_line(welsh if language == 'cy' and welsh else english))[:80]
    return name if exact or not part else f'{name}: {plain(_humanise(part))}'


def event_label(kind: str, topic: str, language: str, names: TopicNames | None = None) -> str:
    """What kind of news it is, as event pages and digests say it: its own wording ('New planning application'),
    else the council's name for its topic ('Roadworks and road closures'), else 'News'."""
    key = event_key(kind, topic)
    named = topic_name(topic, language, names) if key == '*' else None
    return named or LABELS[key][0 if language == 'en' else 1]


# --- text helpers --------------------------------------------------------------------------------------------

_SPACES = re.compile(r'[ \t\r\f\v\u00a0\u2028\u2029]+')
_CONTROL = re.compile(r'[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]')


def one_line(text: str) -> str:
    """All whitespace (newlines too) collapsed to single spaces; control characters removed."""
    return ' '.join(_CONTROL.sub('', text).split())


def paragraphs(text: str) -> str:
    """Spaces collapsed within lines, at most one blank line between paragraphs (for emails and letters)."""
    lines = [_SPACES.sub(' ', line).strip() for line in _CONTROL.sub('', text).replace('\r\n', '\n').split('\n')]
    return re.sub(r'\n{3,}', '\n\n', '\n'.join(lines)).strip()


def truncate(text: str, limit: int, ellipsis: str = '...') -> str:
    """At most `limit` characters, cut at a word boundary where one is near, ending in an ellipsis."""
    if len(text) <= limit:
        return text
    if limit <= len(ellipsis) + 3:
        return ''
    cut = text[: limit - len(ellipsis)]
    space = cut.rfind(' ')
    if space >= len(cut) * 0.7:
        cut = cut[:space]
    return cut.rstrip(' ,.;:-–—') + ellipsis


def flag(value: object) -> str:
    return YES if value else NO


def format_date(value: object, language: str) -> str | None:
    """'2026-03-03' → '3 March 2026' ('3 Mawrth 2026'); a time is kept (London time) when one is given."""
    if isinstance(value, datetime):
        moment: date = value
    elif isinstance(value, date):
        moment = value
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            moment = datetime.fromisoformat(text.replace('Z', '+00:00')) if len(text) > 10 else date.fromisoformat(text)
        except ValueError:
            return plain(one_line(text))[:60] or None  # a feed's own words for a date
    else:
        return None
    if isinstance(moment, datetime) and moment.tzinfo:
        moment = moment.astimezone(LONDON)
    written = f'{moment.day} {MONTHS[language][moment.month - 1]} {moment.year}'
    if isinstance(moment, datetime) and (moment.hour, moment.minute) != (0, 0):
        written += f', {moment:%H:%M}'
    return written


def mask_address(channel: str, address: str) -> str:
    """Enough of a contact point to recognise it, not enough to use it."""
    if channel == 'email':
        local, _, domain = address.partition('@')
        return f'{local[:1]}***@{domain}' if domain else '***'
    if channel == 'sms':
        return '*' * max(len(address) - 4, 3) + address[-4:]
    return '(postal address)'


# --- distances: one way of writing them for messages and pages -------------------------------------------------


def distance_words(metres: float) -> str:
    """'100 m', '250 m', '1 km', '1.5 km', '12 km': what the sign-up and manage pages offer and messages say
    (the same in Welsh)."""
    whole = round(metres)
    if whole < 1000:
        return f'{whole} m'
    kilometres = whole / 1000
    if kilometres >= 10 or round(kilometres, 1) == round(kilometres):
        return f'{round(kilometres)} km'
    return f'{round(kilometres, 1):.1f} km'


def rounded_distance(metres: float) -> int:
    """How far, said honestly: to 10 m under a kilometre (a postcode is a point for a street, not a house), to
    100 m beyond; never less than 10 m."""
    step = 10 if metres < 1000 else 100
    return max(10, int(round(metres / step) * step))


def about_from(language: str, metres: float, place: str) -> str:
    """'about 150 m from M32 0TH' ('tua 150 m o M32 0TH'): how far something is from the resident's place."""
    where = plain(one_line(place))[:60]
    distance = distance_words(rounded_distance(metres))
    return f'about {distance} from {where}' if language == 'en' else f'tua {distance} o {where}'


# --- events --------------------------------------------------------------------------------------------------


def _humanise(name: str) -> str:
    words = name.replace('_', ' ').replace('-', ' ').strip()
    return words[:1].upper() + words[1:]


def changes_text(changes: Sequence[Mapping[str, Any]], channel: str, language: str, limit: int) -> str:
    arrow = ' -> ' if channel == 'sms' else ' → '
    short = CAPS[channel]['short']
    lines = []
    for change in changes[:20]:
        name = plain(_humanise(one_line(str(change.get('field') or ''))))
        before = plain(one_line(str(change.get('before') or '')))[:short]
        after = plain(one_line(str(change.get('after') or '')))[:short]
        if not name or (not before and not after):
            continue
        if before and after:
            lines.append(f'{name}: {before}{arrow}{after}')
        else:
            lines.append(f'{name}: {after}' if after else f'{name}: {before}{arrow}{FALLBACK[language]["removed"]}')
    if channel == 'sms':
        return truncate('; '.join(lines), limit)
    text = '\n'.join(f'* {line}' for line in lines)
    return text if len(text) <= limit else truncate(text, limit, '…')


def _attribute(event: EventInput, name: str, limit: int) -> str:
    value = event.attributes.get(name)
    return truncate(plain(one_line(str(value))), limit) if value not in (None, '') else ''


def _bulletin_name(event: EventInput, language: str, limit: int) -> str:
    named = _attribute(event, 'bulletin', limit)
    if named:
        return named
    _, _, slug = event.topic.partition('/')
    return truncate(plain(_humanise(slug)), limit) if slug else FALLBACK[language]['bulletin']


def _status(event: EventInput, language: str, limit: int) -> str:
    status = _attribute(event, 'status', limit)
    if not status:
        for change in event.changes:
            if str(change.get('field', '')).lower() == 'status' and change.get('after'):
                status = truncate(plain(one_line(str(change['after']))), limit)
    return status or FALLBACK[language]['status']


def _where(event: EventInput, language: str, limit: int, nearby: Mapping[str, Any] | None) -> str:
    address = _attribute(event, 'address', limit) or _attribute(event, 'location', limit)
    if not limit or not nearby or nearby.get('metres') is None or not nearby.get('place'):
        return address
    distance = about_from(language, float(nearby['metres']), str(nearby['place']))
    if not address:
        return truncate(distance[:1].upper() + distance[1:], limit)
    return f'{truncate(address, max(limit - len(distance) - 3, 0))} ({distance})'


def _date_attribute(event: EventInput, name: str, language: str, fallback: str) -> str:
    return format_date(event.attributes.get(name), language) or fallback


def event_values(
    event: EventInput,
    *,
    channel: str,
    language: str,
    event_url: str,
    unsubscribe_url: str | None,
    manage_url: str,
    nearby: Mapping[str, Any] | None = None,
    names: TopicNames | None = None,
) -> dict[str, str]:
    """Every value any event template may use; the registry keeps only those its template needs.

    `nearby` ({'metres': …, 'place': 'M32 0TH'}) is how far the event is from the place of the resident's near
    subscription that brought it; where the message says where, it says that too ("6 King Street (about 150 m from
    M32 0TH)"). `names`, the council's topic catalogue (at least the event's topic and its root), names news on a
    topic Tell Me has no wording of its own for ("Tree works: …" rather than "News from the council: …")."""
    caps = CAPS[channel]
    fallback = FALLBACK[language]
    ellipsis = '...' if channel == 'sms' else '…'
    text = one_line if channel == 'sms' else paragraphs
    where = _where(event, language, caps['where'], nearby)
    # a case update is the officer's own sentence and note (the summary) and its stage by name (status): a list of
    # its field changes would repeat the note and show internal stage keys
    case = event_key(event.kind, event.topic).startswith('case.')
    changes = '' if case else changes_text(event.changes, channel, language, caps['changes'])
    council_url = safe_url(event.url)
    short = caps['short']
    reference = _attribute(event, 'case_reference', short) or plain(one_line(event.case_reference or ''))[:short]
    values = {
        'title': truncate(plain(one_line(event.title)), caps['title'], ellipsis),
        'summary': truncate(plain(text(event.summary)), caps['summary'], ellipsis),
        'where': where,
        'has_where': flag(where),
        'changes': changes,
        'has_changes': flag(changes),
        'council_url': council_url,
        'has_council_url': flag(council_url),
        'event_url': event_url,
        'has_unsubscribe': flag(unsubscribe_url),
        'unsubscribe_url': unsubscribe_url or '',
        'manage_url': manage_url,
        'comment_by': _date_attribute(event, 'comment_by', language, fallback['date']),
        'respond_by': _date_attribute(event, 'respond_by', language, fallback['date']),
        'hearing_date': _date_attribute(event, 'hearing_date', language, fallback['hearing_date']),
        'decision': _attribute(event, 'decision', short) or fallback['decision'],
        'bin': _attribute(event, 'bin', short) or fallback['bin'],
        'collection_date': _date_attribute(
            event, 'collection_date', language, format_date(event.occurred_at, language) or ''
        ),
        'case_reference': reference,
        'status': _status(event, language, short),
        'bulletin': _bulletin_name(event, language, short),
        'label': truncate(
            topic_name(event.topic, language, names) or NEWS_FROM_THE_COUNCIL[0 if language == 'en' else 1], short
        ),
    }
    return values


def event_placeholders(key: str, channel: str) -> frozenset[str]:
    return EVENT_COMMON[channel] | EVENT_EXTRAS.get(key, frozenset())


# --- digests -------------------------------------------------------------------------------------------------


def digest_values(
    items: Sequence[tuple[EventInput, str]],
    *,
    channel: str,
    language: str,
    see_all_url: str,
    unsubscribe_url: str | None,
    manage_url: str,
    cap: int | None = None,
    names: TopicNames | None = None,
) -> dict[str, str]:
    """At most `cap` items (newest first as given), then 'and N more' and the see-all link; each item labelled as
    its event page labels it (`names`: the council's topic catalogue)."""
    limit = DIGEST_ITEM_CAP[channel] if cap is None else cap
    shown, more = list(items[:limit]), max(len(items) - limit, 0)
    lines = []
    for event, url in shown:
        title = truncate(plain(one_line(event.title)), CAPS[channel]['item_title'], '...' if channel == 'sms' else '…')
        if channel == 'sms':
            lines.append(f'- {title} {url}')
        else:
            lines.append(f'* {event_label(event.kind, event.topic, language, names)}: {title} — {url}')
    values = {
        'items': '\n'.join(lines),
        'has_more': flag(more),
        'more_count': str(more) if more else '',
        'see_all_url': see_all_url,
        'has_unsubscribe': flag(unsubscribe_url),
        'unsubscribe_url': unsubscribe_url or '',
        'manage_url': manage_url,
    }
    return {name: values[name] for name in (DIGEST_SMS_FIELDS if channel == 'sms' else DIGEST_FIELDS)}


# --- what a subscription is about, in words (for the confirmation message) ------------------------------------

# Welsh forms: (radical, soft mutation after "am", aspirate mutation after "a")
TOPIC_WORDS = {
    'planning': ('planning applications', ('ceisiadau cynllunio', 'geisiadau cynllunio', 'cheisiadau cynllunio')),
    'licensing': (
        'licence applications',
        ('ceisiadau am drwyddedau', 'geisiadau am drwyddedau', 'cheisiadau am drwyddedau'),
    ),
    'bins': ('bin collections', ('casgliadau biniau', 'gasgliadau biniau', 'chasgliadau biniau')),
    'cases': ('case updates', ('diweddariadau achosion', 'ddiweddariadau achosion', 'diweddariadau achosion')),
    'bulletins': ('council bulletins', ('bwletinau’r cyngor', 'fwletinau’r cyngor', 'bwletinau’r cyngor')),
}
EVERYTHING = ('council news', ('newyddion y cyngor', 'newyddion y cyngor', 'newyddion y cyngor'))


def _in_a_sentence(name: str) -> str:
    """'Roadworks and road closures' → 'roadworks and road closures'; 'CCTV cameras' stays as it is."""
    name = plain(one_line(name))[:80]
    return name if name[1:2].isupper() else name[:1].lower() + name[1:]


def _named(topic: str, names: TopicNames) -> tuple[str, tuple[str, str, str]] | None:
    """The council's own name for the topic. Where it is the name Tell Me ships with, the shipped wording is kept (its
    Welsh mutates after "am" and "a"); a name the council chose is used as it is, unmutated."""
    root = topic.partition('/')[0]
    found = names.get(topic) or names.get(root)
    if not found:
        return None
    english = _in_a_sentence(found[0])
    welsh = _in_a_sentence(found[1]) if found[1] else english
    shipped = TOPIC_WORDS.get(root)
    forms = shipped[1] if shipped and shipped[1][0] == welsh else (welsh, welsh, welsh)
    return english, forms


def _topic_words(topic: str, names: TopicNames | None = None) -> tuple[str, tuple[str, str, str]]:
    root, _, name = topic.partition('/')
    if root == 'bulletins' and name:
        named = plain(_humanise(name))
        return f'the {named} bulletin', (f'bwletin {named}', f'fwletin {named}', f'bwletin {named}')
    return (names and _named(topic, names)) or TOPIC_WORDS.get(root, EVERYTHING)


# The first word of a Welsh council's name, softened (treiglad meddal) after "gan" and "i": "gan Gyngor Trafford".
# Only these Welsh words change; a name in English ("Trafford Council") is left as it is, as Welsh leaves names.
SOFTENED = {'Cyngor': 'Gyngor', 'Dinas': 'Ddinas', 'Bwrdeistref': 'Fwrdeistref', 'Prifddinas': 'Brifddinas'}


def soft_mutation(name: str) -> str:
    """'Cyngor Sir Caerdydd' → 'Gyngor Sir Caerdydd', as Welsh writes it after "gan" or "i"."""
    first, space, rest = name.partition(' ')
    return SOFTENED.get(first, first) + space + rest


def _join(words: list[str], language: str) -> str:
    if len(words) == 1:
        return words[0]
    if language == 'en':
        return f'{", ".join(words[:-1])} and {words[-1]}'
    last = words[-1]
    return f'{", ".join(words[:-1])} {"ac" if last[:1] in "aeiouwyâêîôûŵŷ" else "a"} {last}'


def describe_subscription(
    language: str,
    *,
    kind: str,
    topics: Sequence[str],
    radius_m: int | None = None,
    place: str | None = None,
    case_reference: str | None = None,
    standalone: bool = False,
    names: TopicNames | None = None,
) -> str:
    """Words that follow "about" / "am": 'planning applications within 500 m of SW1A 1AA' (a distance written as
    the pages write it: `distance_words`). `standalone`: words that stand on their own (a page's heading), so in
    Welsh the first is not softened as it is after "am" ('ceisiadau cynllunio …', not 'geisiadau cynllunio …').
    `names`, the council's topic catalogue, names the topics (without it: the shipped words, "council news" for the
    rest)."""
    if kind == 'case':
        reference = plain(one_line(case_reference or ''))[:60]
        return f'your case {reference}'.strip() if language == 'en' else f'eich achos {reference}'.strip()
    found = [_topic_words(topic, names) for topic in topics[:5]] or [EVERYTHING]
    if language == 'en':
        words = [english for english, _ in found]
    else:
        words = [found[0][1][0 if standalone else 1], *(welsh[0] for _, welsh in found[1:-1])]
        if len(found) > 1:
            words.append(found[-1][1][2])
    what = _join(words, language)
    where = plain(one_line(place or ''))[:60]  # as the resident typed it
    if kind == 'near' and radius_m:
        distance = distance_words(radius_m)
        if language == 'en':
            return f'{what} within {distance} of {where}'
        # "i" before the article "y" is "i’r" ("i’r lle a ddewisoch chi", never "i y lle")
        to = f'i’r {where[2:]}' if where.startswith('y ') else f'i {where}'
        return f'{what} o fewn {distance} {to}'
    if kind == 'area' and where:
        return f'{what} in {where}' if language == 'en' else f'{what} yn ardal {where}'
    if kind == 'address':
        return f'{what} at your address' if language == 'en' else f'{what} yn eich cyfeiriad'
    return what
