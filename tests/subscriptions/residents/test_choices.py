"""Manage offers what sign-up offers (issue 14 item 5): the same distances, topics, frequencies and quiet hours on
both, from one module (subscriptions/residents/choices.py), so a resident who chose 2 km can get back to it, and
their own quiet hours (22:30 to 07:00) are shown as chosen."""

from __future__ import annotations

import re
from datetime import time

import asyncpg
import pytest

from subscriptions.manage.common import manage_path
from subscriptions.residents import choices
from subscriptions.residents.contact_checks import Problem, check_time
from tests.support.factories import make_resident, make_subscription
from tests.support.journey import SECRET, Browser


def values(html: str, name: str) -> list[str]:
    return re.findall(rf'name="{name}" type="(?:radio|checkbox)" value="([^"]+)"', html)


async def test_the_distances_quiet_hours_and_frequencies_are_the_same_on_both(
    browser: Browser, pg: asyncpg.Pool
) -> None:
    sign_up = await browser.submit('/near', {'postcode': 'M32 0AH'})
    assert values(sign_up.html, 'radius') == [str(r) for r in choices.RADII] == ['100', '250', '500', '1000', '2000']
    resident = await make_resident(pg, sms=True)
    sub_id = await make_subscription(pg, resident, near='M32 0AH', radius_m=2000, topics=['planning'])
    await browser.client.get(manage_path(SECRET.encode(), sub_id))
    manage = await browser.get(f'/manage/subscriptions/{sub_id}/change/radius')
    assert values(manage.html, 'radius') == values(sign_up.html, 'radius')
    assert 'value="2000" checked' in manage.html and 'Within 2 km' in manage.text

    await browser.submit('/near/radius', {'radius': '500'})
    topics = await browser.get('/near/topics')
    assert values((await browser.get(f'/manage/subscriptions/{sub_id}/change/topics')).html, 'topics') == values(
        topics.html, 'topics'
    )
    await browser.submit('/near/topics', {'topics': 'planning'})
    frequency = await browser.get('/near/frequency')
    manage_frequency = await browser.get(f'/manage/subscriptions/{sub_id}/change/frequency')
    assert values(manage_frequency.html, 'frequency') == values(frequency.html, 'frequency')
    await browser.submit('/near/frequency', {'frequency': 'immediate'})
    await browser.submit('/near/channel', {'channel': 'sms'})
    quiet = await browser.submit('/near/contact', {'mobile': '07700 900123'})
    manage_quiet = await browser.get(f'/manage/subscriptions/{sub_id}/change/quiet-hours')
    assert values(manage_quiet.html, 'quiet') == values(quiet.html, 'quiet') == ['default', 'none', 'choose']


def test_a_radius_made_elsewhere_stays_on_offer() -> None:
    assert choices.radii(400) == [100, 250, 400, 500, 1000, 2000]
    assert choices.radii(500) == list(choices.RADII) and choices.radii(None) == list(choices.RADII)


@pytest.mark.parametrize(
    ('hours', 'choice', 'typed'),
    [(None, 'none', {}), ((time(21), time(8)), 'default', {}),
     ((time(22, 30), time(7)), 'choose', {'quiet_start': '22:30', 'quiet_end': '07:00'}),
     ((time(22), time(7)), 'choose', {'quiet_start': '22:00', 'quiet_end': '07:00'})],
)  # fmt: skip
def test_quiet_hours_are_shown_as_the_choice_they_are(hours, choice: str, typed: dict[str, str]) -> None:  # noqa: ANN001
    start, end = hours or (None, None)
    assert choices.quiet_choice(start, end) == (choice, typed)
    assert choices.quiet_hours(choice, typed) == (hours if choice != 'default' else choices.DEFAULT_QUIET)


@pytest.mark.parametrize(
    ('typed', 'found'),
    [('21:00', time(21)), ('9pm', time(21)), ('', Problem('signup.error.quiet_start')),
     ('teatime', Problem('signup.error.quiet_start_words')), ('25:00', Problem('signup.error.quiet_start_range')),
     ('9.75pm', Problem('signup.error.quiet_start_range')), ('13pm', Problem('signup.error.quiet_start_range'))],
)  # fmt: skip
def test_a_time_that_is_not_one_and_one_that_cannot_be_each_say_so(typed: str, found: time | Problem) -> None:
    assert check_time(typed, 'quiet_start') == found


def test_the_same_start_and_end_is_refused_and_a_missing_choice_is_asked_for() -> None:
    assert choices.quiet_problems('choose', {'quiet_start': '9pm', 'quiet_end': '21:00'}) == {
        'quiet_end': Problem('signup.error.quiet_same')
    }
    assert choices.quiet_problems('', {}) == {'quiet': Problem('signup.error.quiet')}
    assert choices.quiet_problems('none', {}) == {}
