"""Distances are written one way, in messages and on pages alike (issue 14 item 5): '500 m', '1 km', '1.5 km'; a place
is named by its postcode; how far something is reads "about 150 m from M32 0TH" ("tua 150 m o M32 0TH")."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from templates.personalisation import EventInput, about_from, describe_subscription, distance_words, event_values


@pytest.mark.parametrize(
    ('metres', 'words'),
    [(100, '100 m'), (250, '250 m'), (500, '500 m'), (999.6, '1 km'), (1000, '1 km'), (1500, '1.5 km'),
     (2000, '2 km'), (12_400, '12 km')],
)  # fmt: skip
def test_distances_are_written_as_the_pages_write_them(metres: float, words: str) -> None:
    assert distance_words(metres) == words


@pytest.mark.parametrize(
    ('metres', 'english', 'welsh'),
    [(0, 'about 10 m from M32 0TH', 'tua 10 m o M32 0TH'),
     (148.7, 'about 150 m from M32 0TH', 'tua 150 m o M32 0TH'),
     (1049, 'about 1 km from M32 0TH', 'tua 1 km o M32 0TH'),
     (1260, 'about 1.3 km from M32 0TH', 'tua 1.3 km o M32 0TH')],
)  # fmt: skip
def test_how_far_is_rounded_honestly_in_both_languages(metres: float, english: str, welsh: str) -> None:
    assert about_from('en', metres, 'M32 0TH') == english
    assert about_from('cy', metres, 'M32 0TH') == welsh


def test_a_place_subscription_is_named_by_its_postcode_with_the_distance_in_km() -> None:
    english = describe_subscription('en', kind='near', topics=['planning'], radius_m=2000, place='M32 0TH')
    assert english == 'planning applications within 2 km of M32 0TH'
    welsh = describe_subscription('cy', kind='near', topics=['planning'], radius_m=500, place='M32 0TH')
    assert welsh == 'geisiadau cynllunio o fewn 500 m i M32 0TH'
    # a place with no postcode (manage.your_place): "i" and "y" make "i’r", never "i y"
    welsh = describe_subscription('cy', kind='near', topics=['planning'], radius_m=500, place='y lle a ddewisoch chi')
    assert welsh == 'geisiadau cynllunio o fewn 500 m i’r lle a ddewisoch chi'


EVENT = EventInput(
    kind='planning.new', topic='planning', title='Rear extension', summary='A rear extension.', changes=[],
    attributes={'address': '12 Derbyshire Lane'}, url=None, occurred_at=datetime(2026, 11, 20, tzinfo=UTC),
)  # fmt: skip
LINKS = {'event_url': 'https://x.test/e/1', 'unsubscribe_url': None, 'manage_url': 'https://x.test/manage'}


def test_where_says_how_far_on_emails_and_letters_and_texts_stay_short() -> None:
    nearby = {'metres': 151, 'place': 'M32 0TH'}
    email = event_values(EVENT, channel='email', language='en', nearby=nearby, **LINKS)
    assert email['where'] == '12 Derbyshire Lane (about 150 m from M32 0TH)' and email['has_where'] == 'yes'
    letter = event_values(EVENT, channel='letter', language='cy', nearby=nearby, **LINKS)
    assert letter['where'] == '12 Derbyshire Lane (tua 150 m o M32 0TH)'
    assert event_values(EVENT, channel='sms', language='en', nearby=nearby, **LINKS)['where'] == ''
    assert event_values(EVENT, channel='email', language='en', **LINKS)['where'] == '12 Derbyshire Lane'


def test_a_place_typed_into_a_feed_cannot_format_the_distance() -> None:
    nearby = {'metres': 151, 'place': '((manage_url)) # M32 0TH'}
    where = event_values(EVENT, channel='email', language='en', nearby=nearby, **LINKS)['where']
    assert '((' not in where and '\n' not in where
