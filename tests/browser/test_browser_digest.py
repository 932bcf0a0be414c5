"""A daily digest in Chromium: two applications near a resident who asked for one message a day arrive together
the next morning, and the digest's "see all" link opens a page listing them, accessible in English and Welsh."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from subscriptions.matching.digests import Closed, close_due_digests
from tests.browser.support.browse import Browse
from tests.browser.support.journeys import STRETFORD, planning_event
from tests.browser.support.live import LiveServer
from tests.support.factories import make_resident, make_subscription

EMAIL = 'daily@example.com'


def next_morning(live: LiveServer) -> Closed:
    """The digest cron runs after the digests fall due (tomorrow), and wakes the senders."""

    async def run() -> Closed:
        async with live.pg.acquire() as conn, conn.transaction():
            return await close_due_digests(
                conn, now=datetime.now(UTC) + timedelta(days=2), public_url=live.base_url,
                secret=live.settings.link_secrets[0],
            )  # fmt: skip

    closed = live.run(run())
    live.wake_senders()
    return closed


@pytest.mark.parametrize('lang', ['en', 'cy'])
def test_a_daily_digest_links_to_a_page_of_its_updates(resident: Browse, live: LiveServer, lang: str) -> None:
    person = live.run(make_resident(live.pg, email=EMAIL, language=lang))
    live.run(make_subscription(live.pg, person, near=STRETFORD, radius_m=1000, frequency='daily'))
    titles = ['Two-storey side extension at 4 King Street', 'New shop front at 2 King Street']
    for title in titles:
        assert live.publish(planning_event(STRETFORD, title=title))['matched'] == 1
    live.wait_until_idle()
    assert live.messages(to=EMAIL) == [], 'nothing before the digest is due'

    assert len(next_morning(live).messages) == 1
    (digest,) = live.wait_for_messages(1, where=lambda m: m.recipient == EMAIL)
    assert all(title in digest.body for title in titles)
    resident.follow(digest.link('/d/'))
    # a Welsh reader's link opens the page in Welsh, though this browser asks for English
    assert resident.page.evaluate('document.documentElement.lang') == lang
    page_text = resident.page.locator('main').inner_text()
    assert all(title in page_text for title in titles)
    resident.accessible('the digest page')
    resident.follow(digest.link('/unsubscribe/'))
    resident.accessible('unsubscribe from the digest')
