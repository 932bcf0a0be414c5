"""The templates registry against the templates file, rendered by the simulator's own (Notify's) rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from notifier.notify_sim.rules import keys as sim_keys
from notifier.notify_sim.rules import rendering
from templates import registry
from templates.personalisation import EVENT_KEYS, EventInput
from templates.registry import REGISTRY, WORDING_FILE
from templates.registry import EventInput as RegistryEventInput

FILE = {entry['id']: entry for entry in json.loads(WORDING_FILE.read_text(encoding='utf-8'))}
LINKS = {
    'event_url': 'https://tellme.example.gov.uk/e/123456',
    'unsubscribe_url': 'https://tellme.example.gov.uk/unsubscribe/123456.AAAAAAAAAAAAAAAAAAAAAA',
    'manage_url': 'https://tellme.example.gov.uk/manage',
}
TOPIC_OF = {
    'planning': 'planning',
    'licensing': 'licensing',
    'bins': 'bins',
    'case': 'cases',
    'bulletin': 'bulletins/roads',
}


def sample_event(kind: str, **overrides: object) -> EventInput:
    root = kind.split('.')[0]
    values: dict[str, object] = {
        'kind': kind if '*' not in kind else f'{root}.something_else',
        'topic': TOPIC_OF.get(root, 'parks'),
        'title': '24/01234/FUL: Two-storey rear extension at 12 High Street',
        'summary': 'Erection of a two-storey rear extension and loft conversion with rear dormer.',
        'changes': [{'field': 'status', 'before': 'Validated', 'after': 'Decided'}],
        'attributes': {
            'address': '12 High Street, Cardiff CF10 1AA',
            'comment_by': '2026-03-03',
            'decision': 'Granted with conditions',
            'hearing_date': '2026-04-01T10:30:00+01:00',
            'bin': 'green garden waste bin',
            'collection_date': '2026-03-10',
            'case_reference': 'ENQ-4471',
            'respond_by': '2026-03-20',
        },
        'url': 'https://planning.example.gov.uk/app/24-01234-FUL',
        'occurred_at': datetime(2026, 2, 20, 9, 0, tzinfo=UTC),
    }
    values.update(overrides)
    return EventInput(**values)  # type: ignore[arg-type]


def render_all(message: registry.Message) -> tuple[str | None, str, str]:
    entry = FILE[message.template_id]
    lists = entry['type'] == 'email'
    subject = (
        rendering.render(entry['subject'], message.personalisation, markdown_lists=False) if entry['subject'] else None
    )
    body = rendering.render(entry['body'], message.personalisation, markdown_lists=lists)
    return subject, body, entry['type']


def test_the_simulator_loads_the_templates_file_and_every_registry_entry_is_in_it_with_its_type() -> None:
    loaded = sim_keys.load_templates(WORDING_FILE)
    assert len(loaded) == len(FILE) == len(REGISTRY)
    for (key, channel, language), spec in REGISTRY.items():
        assert spec.template_id == registry.template_id(key, channel, language)
        assert loaded[spec.template_id].type == channel, (key, channel, language)


@pytest.mark.parametrize('spec', list(REGISTRY.values()), ids=lambda s: f'{s.key}/{s.channel}/{s.language}')
def test_each_template_uses_exactly_the_placeholders_its_builder_produces(spec: registry.TemplateSpec) -> None:
    entry = FILE[spec.template_id]
    used = rendering.placeholders(entry['subject']) + rendering.placeholders(entry['body'])
    assert set(used) == set(spec.placeholders)


@pytest.mark.parametrize('language', ['en', 'cy'])
@pytest.mark.parametrize('channel', ['email', 'sms', 'letter'])
@pytest.mark.parametrize('key', EVENT_KEYS)
def test_every_event_message_renders_fully_with_its_links(key: str, channel: str, language: str) -> None:
    message = registry.event_message(sample_event(key), channel=channel, language=language, **LINKS)
    entry = FILE[message.template_id]
    used = set(rendering.placeholders(entry['subject']) + rendering.placeholders(entry['body']))
    assert set(message.personalisation) == used
    assert all(isinstance(value, str) for value in message.personalisation.values())
    subject, body, kind = render_all(message)
    assert kind == channel
    assert '((' not in body and '((' not in (subject or '')
    assert LINKS['event_url'] in body and LINKS['unsubscribe_url'] in body
    assert not rendering.missing_personalisation(entry['subject'], entry['body'], message.personalisation)
    assert message.one_click_unsubscribe_url == (LINKS['unsubscribe_url'] if channel == 'email' else None)
    if channel == 'sms':
        assert not rendering.sms_too_long(body)
        assert message.fragments == rendering.sms_fragment_count(body)


def test_welsh_residents_get_the_welsh_template() -> None:
    event = sample_event('planning.decided')
    english = registry.event_message(event, channel='email', language='en', **LINKS)
    welsh = registry.event_message(event, channel='email', language='cy', **LINKS)
    assert english.template_id != welsh.template_id
    assert FILE[welsh.template_id]['name'].endswith('(email, Welsh)')
    subject, body, _ = render_all(welsh)
    assert subject == 'Penderfyniad cynllunio: 24/01234/FUL: Two-storey rear extension at 12 High Street'
    assert 'Penderfyniad: Granted with conditions' in body
    assert 'Gweld y diweddariad hwn ar Tell Me: https://tellme.example.gov.uk/e/123456' in body
    assert 'Status: Validated → Decided' in body
    with pytest.raises(ValueError, match='language'):
        registry.event_message(event, channel='email', language='fr', **LINKS)


def test_a_huge_summary_and_title_still_make_a_text_within_918_characters() -> None:
    event = sample_event(
        'planning.amended',
        title='T' * 500,
        summary=('A very long description of the proposed development. ' * 100)[:5000],
        changes=[{'field': f'field_{n}', 'before': 'x' * 300, 'after': 'y' * 300} for n in range(20)],
    )
    for language in ('en', 'cy'):
        message = registry.event_message(event, channel='sms', language=language, **LINKS)
        _, body, _ = render_all(message)
        assert rendering.sms_character_count(body) <= 918
        assert body.endswith(LINKS['unsubscribe_url']) and LINKS['event_url'] in body
        assert message.fragments == rendering.sms_fragment_count(body)
        email = registry.event_message(event, channel='email', language=language, **LINKS)
        assert 'A very long description' in render_all(email)[1]


def test_long_urls_take_room_from_the_summary_not_the_links() -> None:
    long_links = {name: url + '/' + 'p' * 150 for name, url in LINKS.items()}
    event = sample_event('case.status', summary='word ' * 1000)
    message = registry.event_message(event, channel='sms', language='en', **long_links)
    _, body, _ = render_all(message)
    assert rendering.sms_character_count(body) <= 918
    assert long_links['event_url'] in body and long_links['unsubscribe_url'] in body


def test_a_message_without_a_subscription_has_no_unsubscribe_link_or_header() -> None:
    event = sample_event('bulletin.published')
    for channel in ('email', 'sms'):
        message = registry.event_message(event, channel=channel, language='en', **{**LINKS, 'unsubscribe_url': None})
        _, body, _ = render_all(message)
        assert message.one_click_unsubscribe_url is None
        assert 'unsubscribe' not in body.lower() and 'stop these texts' not in body.lower()
        assert LINKS['event_url'] in body


def test_kinds_without_their_own_wording_fall_back_by_topic_then_to_general_news() -> None:
    def key_of(kind: str, topic: str, channel: str = 'email') -> str:
        return registry.spec_for_event(kind, topic, channel, 'en').key

    assert key_of('planning.withdrawn', 'planning') == 'planning.*'
    assert key_of('case.closed', 'cases') == 'case.*'
    assert key_of('bulletin.corrected', 'bulletins/roads') == 'bulletin.*'
    assert key_of('parks.opened', 'parks') == '*'
    assert key_of('planning.new', 'planning', 'letter') == '*'
    subject, _, _ = render_all(
        registry.event_message(
            sample_event('bulletin.published', attributes={}), channel='email', language='en', **LINKS
        )
    )
    assert subject == 'Roads: 24/01234/FUL: Two-storey rear extension at 12 High Street'


def test_missing_attributes_read_naturally() -> None:
    event = sample_event('licensing.hearing', attributes={})
    _, body, _ = render_all(registry.event_message(event, channel='email', language='en', **LINKS))
    assert 'will hold a hearing about this application on a date to be confirmed.' in body
    _, body, _ = render_all(registry.event_message(event, channel='sms', language='cy', **LINKS))
    assert body.startswith('Gwrandawiad trwyddedu ar ddyddiad i’w gadarnhau: ')
    _, body, _ = render_all(registry.event_message(event, channel='email', language='en', **LINKS))
    assert 'Where:' not in body and 'Read more on the council’s website' in body


def test_dates_are_written_in_the_residents_language_in_london_time() -> None:
    event = sample_event('licensing.hearing')
    _, english, _ = render_all(registry.event_message(event, channel='sms', language='en', **LINKS))
    _, welsh, _ = render_all(registry.event_message(event, channel='sms', language='cy', **LINKS))
    assert english.startswith('Licensing hearing on 1 April 2026, 10:30: ')
    assert welsh.startswith('Gwrandawiad trwyddedu ar 1 Ebrill 2026, 10:30: ')


def test_the_event_input_is_the_one_the_registry_exports() -> None:
    assert RegistryEventInput is EventInput
