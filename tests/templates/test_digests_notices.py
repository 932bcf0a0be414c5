"""Digests, confirmation and other notices, SMS fragment counting, and a send through the simulator."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from notifier.notify_sim.rules import rendering
from templates import registry
from templates.notify_templates import notify_personalisation
from templates.personalisation import EventInput, describe_subscription, mask_address
from templates.registry import WORDING_FILE
from tests.support.notify import RunningSim

FILE = {entry['id']: entry for entry in json.loads(WORDING_FILE.read_text(encoding='utf-8'))}


def event(n: int, title: str | None = None) -> tuple[EventInput, str]:
    item = EventInput(
        kind='planning.new',
        topic='planning',
        title=title or f'Application {n}: new shopfront',
        summary='',
        changes=[],
        attributes={},
        url=None,
        occurred_at=datetime(2026, 2, 20, tzinfo=UTC),
    )
    return item, f'https://tellme.example.gov.uk/e/{n}'


def body_of(message: registry.Message) -> str:
    entry = FILE[message.template_id]
    return rendering.render(entry['body'], message.personalisation, markdown_lists=entry['type'] == 'email')


DIGEST = {'see_all_url': 'https://tellme.example.gov.uk/d/9', 'manage_url': 'https://tellme.example.gov.uk/manage'}


def test_a_daily_email_digest_shows_ten_items_then_and_n_more_with_a_see_all_link() -> None:
    message = registry.digest_message(
        [event(n) for n in range(13)], channel='email', language='en', frequency='daily', unsubscribe_url=None, **DIGEST
    )
    body = body_of(message)
    assert body.count('* New planning application: Application') == 10
    assert 'Application 9: new shopfront — https://tellme.example.gov.uk/e/9' in body
    assert 'Application 10' not in body
    assert 'And 3 more. See them all: https://tellme.example.gov.uk/d/9' in body
    assert FILE[message.template_id]['subject'] == 'Your daily update from Tell Me'
    assert message.one_click_unsubscribe_url is None and '((' not in body


def test_a_short_digest_has_no_and_more_line() -> None:
    message = registry.digest_message(
        [event(1)], channel='email', language='cy', frequency='weekly', unsubscribe_url='https://u.example/x', **DIGEST
    )
    body = body_of(message)
    assert 'See all' not in body and 'arall' not in body
    assert 'Gweld y cyfan: https://tellme.example.gov.uk/d/9' in body
    assert message.one_click_unsubscribe_url == 'https://u.example/x'
    assert FILE[message.template_id]['subject'] == 'Eich diweddariad wythnosol gan Tell Me'


def test_a_text_digest_keeps_three_short_items_and_stays_within_918_characters() -> None:
    items = [event(n, title='A remarkably long application title ' * 20) for n in range(40)]
    message = registry.digest_message(
        items, channel='sms', language='en', frequency='weekly', unsubscribe_url='https://u.example/x', **DIGEST
    )
    body = body_of(message)
    assert body.count('\n- ') == 3
    assert 'And 37 more. See all: https://tellme.example.gov.uk/d/9' in body
    assert rendering.sms_character_count(body) <= 918
    assert message.fragments == rendering.sms_fragment_count(body)


def test_digest_frequency_and_channel_are_checked() -> None:
    with pytest.raises(ValueError, match='monthly'):
        registry.digest_message([], channel='email', language='en', frequency='monthly', unsubscribe_url=None, **DIGEST)


def test_confirmation_says_what_was_asked_for_and_carries_the_link() -> None:
    what = describe_subscription('en', kind='near', topics=['planning', 'licensing'], radius_m=500, place='CF10 1AA')
    message = registry.notice_message(
        'confirmation', channel='email', language='en', subscription=what, confirm_url='https://t.example/confirm/1.x'
    )
    body = body_of(message)
    assert 'You asked to hear about planning applications and licence applications within 500 m of CF10 1AA.' in body
    assert 'https://t.example/confirm/1.x' in body
    assert message.one_click_unsubscribe_url is None
    assert registry.outbox_purpose('confirmation') == 'confirmation'
    assert registry.outbox_purpose('contact-suppressed') == 'notice'


def test_welsh_subscription_descriptions_mutate_after_am_and_a() -> None:
    what = describe_subscription('cy', kind='near', topics=['planning', 'bins'], radius_m=250, place='CF10 1AA')
    assert what == 'geisiadau cynllunio a chasgliadau biniau o fewn 250 m i CF10 1AA'
    assert describe_subscription('cy', kind='case', topics=[], case_reference='ENQ-1') == 'eich achos ENQ-1'
    message = registry.notice_message(
        'confirmation', channel='sms', language='cy', subscription=what, confirm_url='https://t.example/confirm/1.x'
    )
    assert body_of(message).startswith('Tell Me: cadarnhewch eich bod am gael negeseuon testun am geisiadau cynllunio')


def test_notices_refuse_missing_or_unknown_values() -> None:
    with pytest.raises(ValueError, match='code, minutes'):
        registry.notice_message('sign-in', channel='sms', language='en', code='123456')
    with pytest.raises(ValueError, match='no letter template'):
        registry.notice_message('sign-in', channel='letter', language='en', code='1', minutes='5')
    message = registry.notice_message(
        'contact-suppressed',
        channel='sms',
        language='en',
        masked_address=mask_address('email', 'resident@example.com'),
        manage_url='https://t.example/manage',
    )
    assert 'we could not deliver emails to r***@example.com' in body_of(message)
    assert mask_address('sms', '447700900123') == '********0123'


@pytest.mark.parametrize(
    'text',
    [
        'a' * 160,
        'a' * 161,
        'a' * 918,
        'Price: €5 [see ^notes]' * 8,
        'Rhowch eich bin allan — ‘diolch’…' * 3,
        'Mae’r cyngor yn ŵyl' * 4,
        'Emoji 🎉 here' * 10,
    ],
)
def test_fragment_counting_matches_notifys_rules(text: str) -> None:
    assert registry.sms_fragments(text) == rendering.sms_fragment_count(text)


async def test_built_messages_are_accepted_by_notify_through_the_councils_generic_templates(
    app_notify: RunningSim,
) -> None:
    big, link = event(1, title='Very long title ' * 40)
    big = EventInput(**{**big.__dict__, 'summary': 'Long summary text. ' * 300})
    links = {
        'event_url': link,
        'unsubscribe_url': 'https://t.example/unsubscribe/1.x',
        'manage_url': 'https://t.example/m',
    }
    client = app_notify.client(timeout=10.0)
    sms = registry.event_message(big, channel='sms', language='cy', **links)
    sent = await client.send_sms(
        phone_number='07700 900123',
        template_id=app_notify.council_template('sms').id,
        personalisation=notify_personalisation(sms.template_id, 'sms', sms.personalisation),
    )
    # Notify's own count of the rendered text: within its 918 characters, and the link to stop is whole
    assert sent['content']['body'].endswith('https://t.example/unsubscribe/1.x')
    assert registry.preview(sms).body == sent['content']['body']
    email = registry.event_message(big, channel='email', language='en', **links)
    sent = await client.send_email(
        email_address='resident@example.com',
        template_id=app_notify.council_template('email').id,
        personalisation=notify_personalisation(email.template_id, 'email', email.personalisation),
        one_click_unsubscribe_url=email.one_click_unsubscribe_url,
    )
    assert sent['content']['one_click_unsubscribe_url'] == 'https://t.example/unsubscribe/1.x'
    assert sent['content']['subject'].startswith('New planning application: Very long title')
