"""Text from outside (feeds, officers, residents) cannot format a message, make a link or add a placeholder.

Every body is rendered by the registry's own `render` against the wording in the templates file, and read the way
Notify reads an email: a line starting with #, *, -, •, +, ^, >, a rule or an underline is markup, `[x](y)` is a
link, and http(s)://… is auto-linked (and an email client or a phone links www. and bare hosts as well).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from templates import registry
from templates.personalisation import EVENT_KEYS, EventInput, describe_subscription, event_values

LINKS = {
    'event_url': 'https://tellme.example.gov.uk/e/123456',
    'unsubscribe_url': 'https://tellme.example.gov.uk/unsubscribe/123456.AAAAAAAAAAAAAAAAAAAAAA',
    'manage_url': 'https://tellme.example.gov.uk/manage',
}
COUNCIL_URL = 'https://planning.example.gov.uk/app/24-01234-FUL?tab=documents'
TOPIC_OF = {'planning': 'planning', 'licensing': 'licensing', 'bins': 'bins', 'case': 'cases',
            'bulletin': 'bulletins/roads'}  # fmt: skip

HOSTILE_TITLE = '# Win a prize [click](https://evil.example/t) ((unsubscribe_url))'
HOSTILE_SUMMARY = '\n'.join(
    [
        'Erection of a shed.',
        '# Heading',
        '## Second heading',
        '* item',
        '- dash item',
        '+ plus item',
        '• bullet',
        '^ inset',
        '> quote',
        '---',
        '***',
        '___',
        '===',
        '```',
        '| a | b |',
        '[ref]: https://evil.example/ref',
        '1. # numbered heading',
        '3.5 m high at the start of a line',
        '[click](https://evil.example)',
        '![image](https://evil.example/i.png)',
        'Visit https://evil.example/x or HTTP://evil.example/y or www.evil.example or evil.example/login today.',
        'Reply to ((unsubscribe_url)) or (((manage_url)))',
    ]
)
HOSTILE_ATTRIBUTES = {
    'address': '* 12 High Street https://evil.example/a',
    'decision': '# Granted [yes](https://evil.example)',
    'bin': '- green ((manage_url))',
    'status': '> closed www.evil.example',
    'bulletin': '^ Roads [news](https://evil.example/n)',
    'case_reference': '[ENQ-1]: https://evil.example',
    'comment_by': '# not a date https://evil.example/date',
    'hearing_date': '---',
    'respond_by': '* soon',
}
HOSTILE_CHANGES = [
    {'field': '# status', 'before': '* Validated', 'after': '[Decided](https://evil.example/d)'},
    {'field': 'conditions', 'before': '', 'after': '--- www.evil.example'},
]

# Notify's auto-link rule (notifications-utils markdown.py): the links a resident could follow in an email
NOTIFY_URL = re.compile(r'https?://[^\s<]+[^<.,:"\')\]\s]')
# what Notify's markdown (mistune, as Notify patches it) reads as a block at the start of a line
MARKUP_START = re.compile(r'[ \t]*(?:[#*+\-•^>=_`~|\[]|\d+\.\S)')


def event(kind: str = 'planning.amended', **overrides: object) -> EventInput:
    root = kind.split('.')[0]
    values: dict[str, object] = {
        'kind': kind if '*' not in kind else f'{root}.something_else',
        'topic': TOPIC_OF.get(root, 'parks'),
        'title': HOSTILE_TITLE,
        'summary': HOSTILE_SUMMARY,
        'changes': HOSTILE_CHANGES,
        'attributes': HOSTILE_ATTRIBUTES,
        'url': COUNCIL_URL,
        'occurred_at': datetime(2026, 2, 20, 9, 0, tzinfo=UTC),
        'case_reference': '* ENQ-9 https://evil.example/c',
    }
    values.update(overrides)
    return EventInput(**values)  # type: ignore[arg-type]


def body_of(message: registry.Message) -> str:
    return registry.preview(message).body


def wording(message: registry.Message) -> str:
    return registry.template(message.template_id)['body']


def assert_nothing_public_is_markup(body: str, *, own_prefixes: tuple[str, ...] = ()) -> None:
    """No line starts markup, once our own prefix ('# ' for the title, '* ' / '- ' for our lists) is taken off."""
    for line in body.split('\n'):
        if line == '---':
            continue  # the footer rule, counted by the caller
        rest = next((line[len(prefix) :] for prefix in own_prefixes if line.startswith(prefix)), line)
        assert not MARKUP_START.match(rest), f'markup from public text: {line!r}'


def assert_no_public_links(body: str, allowed: set[str]) -> None:
    assert '](' not in body
    assert '((' not in body
    assert set(NOTIFY_URL.findall(body)) <= allowed
    assert 'evil.' not in body.lower()  # no host an email client or a phone would link
    assert not re.search(r'(?i)(https?:|www\.)\S*evil', body)


@pytest.mark.parametrize('language', ['en', 'cy'])
@pytest.mark.parametrize('channel', ['email', 'sms', 'letter'])
@pytest.mark.parametrize('key', EVENT_KEYS)
def test_public_text_in_an_event_cannot_format_the_message_or_link_anywhere(
    key: str, channel: str, language: str
) -> None:
    message = registry.event_message(event(key), channel=channel, language=language, **LINKS)
    body, template = body_of(message), wording(message)
    assert_no_public_links(body, {*LINKS.values(), COUNCIL_URL})
    if channel == 'sms':
        assert body.count('\n') == template.count('\n')  # no line of its own for public text
        return
    assert_nothing_public_is_markup(body, own_prefixes=('# ', '* '))
    lines = body.split('\n')
    # our own heading, change list and footer are still there, once each, and nothing else looks like them
    assert sum(line.startswith('#') for line in lines) == template.count('# ((title))') == (channel == 'email')
    if key.startswith('case.'):  # a case update lists no field changes: the officer's words say what happened
        assert message.personalisation.get('changes', '') == '' and not any(line.startswith('*') for line in lines)
    else:
        changes = message.personalisation['changes'].split('\n')
        assert [line for line in lines if line.startswith('*')] == changes and len(changes) == 2
    assert lines.count('---') == template.count('\n---\n') == (channel == 'email')
    assert NOTIFY_URL.findall(body).count(COUNCIL_URL) == 1
    assert body.count(COUNCIL_URL) == 1
    # still readable: the words are all there, only the markup and the links are gone
    for words in ('Heading', 'dash item', 'inset', 'numbered heading', 'click', '12 High Street'):
        assert words in body
    assert 'Win a prize' in (body if channel == 'email' else registry.preview(message).subject or '')
    assert 'evil\u2024example/x' in body and 'www\u2024evil\u2024example' in body


@pytest.mark.parametrize('channel', ['email', 'sms'])
def test_public_text_in_a_subject_and_a_text_message_makes_no_link_or_placeholder(channel: str) -> None:
    message = registry.event_message(event('planning.decided'), channel=channel, language='en', **LINKS)
    subject = registry.preview(message).subject or ''
    for text in (subject, body_of(message)):
        assert_no_public_links(text, {*LINKS.values(), COUNCIL_URL})
    assert ('Win a prize' in subject) == (channel == 'email')


@pytest.mark.parametrize('channel', ['email', 'sms'])
def test_digest_item_titles_cannot_format_the_digest_or_link_anywhere(channel: str) -> None:
    items = [
        (event(title=title), f'https://tellme.example.gov.uk/e/{n}')
        for n, title in enumerate(
            [
                '# Heading https://evil.example/1',
                '* [click](https://evil.example)',
                '--- ((see_all_url)) www.evil.example',
            ]
        )
    ]
    see_all = 'https://tellme.example.gov.uk/d/9'
    message = registry.digest_message(
        items, channel=channel, language='en', frequency='daily', see_all_url=see_all,
        unsubscribe_url=LINKS['unsubscribe_url'], manage_url=LINKS['manage_url'],
    )  # fmt: skip
    body = body_of(message)
    assert_no_public_links(body, {*LINKS.values(), see_all, *(url for _, url in items)})
    own = '* ' if channel == 'email' else '- '
    assert_nothing_public_is_markup(body, own_prefixes=(own,))
    item_lines = [line for line in body.split('\n') if line.startswith(own)]
    assert len(item_lines) == 3 and all(url in line for (_, url), line in zip(items, item_lines, strict=True))
    assert body.split('\n').count('---') == (channel == 'email')


@pytest.mark.parametrize('channel', ['email', 'sms'])
@pytest.mark.parametrize('language', ['en', 'cy'])
def test_the_place_a_resident_typed_cannot_format_or_link_their_confirmation(channel: str, language: str) -> None:
    confirm = 'https://tellme.example.gov.uk/confirm/1.x'
    place = '# [CF10](https://evil.example) www.evil.example ((confirm_url))'
    for kind, extra in (('near', {'radius_m': 500}), ('area', {}), ('case', {'case_reference': place})):
        what = describe_subscription(language, kind=kind, topics=['planning'], place=place, **extra)
        message = registry.notice_message(
            'confirmation', channel=channel, language=language, subscription=what, confirm_url=confirm
        )
        body = body_of(message)
        assert_no_public_links(body, {confirm})
        assert_nothing_public_is_markup(body)
        assert NOTIFY_URL.findall(body) == [confirm]
        assert 'CF10' in body


def test_a_feed_url_that_is_not_http_or_https_is_dropped() -> None:
    for url in ('javascript:alert(1)', 'data:text/html,<b>x</b>', 'ftp://x.example/f', '//x.example/a',
                'https:evil.example', 'https:///nohost', 'mailto:a@b.example', 'x.example/a',
                'https://planning.example.gov.uk@x.example/a', 'https://[::1]/a'):  # fmt: skip
        message = registry.event_message(event(url=url), channel='email', language='en', **LINKS)
        assert message.personalisation['council_url'] == '', url
        assert message.personalisation['has_council_url'] == 'no', url
        body = body_of(message)
        assert 'council’s website' not in body and 'javascript' not in body and 'x.example' not in body


def test_a_feed_url_cannot_break_out_of_its_line_or_make_markdown() -> None:
    message = registry.event_message(
        event(url='https://x.example/a b)[c](d)<e>"f"\'g\'\\h`i`\nj'), channel='email', language='en', **LINKS
    )
    safe = 'https://x.example/a%20b%29%5Bc%5D%28d%29%3Ce%3E%22f%22%27g%27%5Ch%60i%60%0Aj'
    assert message.personalisation['council_url'] == safe
    body = body_of(message)
    assert '](' not in body and body.count(safe) == 1
    assert f'Read more on the council’s website: {safe}\n' in body
    assert NOTIFY_URL.findall(body).count(safe) == 1


def test_a_genuine_council_url_is_kept_as_it_is() -> None:
    for url in (COUNCIL_URL, 'http://licensing.example.gov.uk/l?id=24/0001&view=full#top'):
        values = event_values(event(url=url), channel='email', language='en', **LINKS)
        assert values['council_url'] == url and values['has_council_url'] == 'yes'
    values = event_values(event(url=' HTTPS://Planning.example.gov.uk/x '), channel='email', language='en', **LINKS)
    assert values['council_url'] == 'https://Planning.example.gov.uk/x'  # Notify links only a lower-case scheme


NORMAL = (
    'Codi estyniad i’r tŷ yn Heol y Bont, Caerdydd — ŵyl; it’s the owner’s "plan" (see note 2) [sic]: '
    'Flat 1-2, a 3.5 m high fence, 10% of £2.50 & more! Ask planning@cardiff.gov.uk or 029 2087 1234 🎉'
)


def test_ordinary_text_comes_through_unchanged() -> None:
    summary = f'{NORMAL}\n\n1. First point.\n2. Second point, 3.5 m high.\nFlat 1-2 is next door.'
    source = event(
        'planning.amended', title=NORMAL, summary=summary, case_reference='ENQ-4471',
        attributes={'address': 'Flat 1-2, 12 Heol y Bont, Caerdydd CF10 1AA', 'decision': 'Granted (with conditions)'},
        changes=[{'field': 'proposal', 'before': 'A 3.5 m high fence', 'after': 'Fence: 2 m high (was 3.5 m)'}],
    )  # fmt: skip
    values = event_values(source, channel='email', language='cy', **LINKS)
    assert values['title'] == NORMAL
    assert values['summary'] == summary
    assert values['where'] == 'Flat 1-2, 12 Heol y Bont, Caerdydd CF10 1AA'
    assert values['decision'] == 'Granted (with conditions)'
    assert values['case_reference'] == 'ENQ-4471'
    assert values['changes'] == '* Proposal: A 3.5 m high fence → Fence: 2 m high (was 3.5 m)'
    short = 'Flat 1-2: a 3.5 m high fence at Tŷ’r Bont — it’s for the ŵyl (see planning@cardiff.gov.uk) 🎉'
    sms = event_values(event(title=short, summary=summary), channel='sms', language='en', **LINKS)
    assert sms['title'] == short and sms['summary'].startswith(NORMAL[:100])
    place = 'Y Rhath, Caerdydd CF24 3AA'
    assert (
        describe_subscription('cy', kind='area', topics=['bins'], place=place) == f'gasgliadau biniau yn ardal {place}'
    )
