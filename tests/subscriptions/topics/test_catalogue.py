"""The topic catalogue's rules: a fresh install offers the shipped topics by name (in Welsh to Welsh readers), a hidden
topic is offered nowhere but the subscriptions that have it keep it and still hear of it, renaming changes only
names (matching is by key), case updates are never offered, and every change is audited."""

from __future__ import annotations

import re

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from notifier import audit
from subscriptions.topics import catalogue
from subscriptions.topics.catalogue import TopicProblem
from templates.personalisation import describe_subscription
from tests.support.factories import make_event, make_resident, make_subscription, record
from tests.support.journey import Browser, choose_contact, outbox
from tests.support.manage import sign_in
from tests.support.pages import post_form

OFFERED = ['planning', 'licensing', 'roadworks', 'consultations', 'bulletins']
ADMIN = audit.Actor('staff', None, 'admin@council.example')


def offered_on(page: str) -> list[str]:
    return re.findall(r'name="topics" type="checkbox" value="([^"]+)"', page)


async def test_a_fresh_install_offers_the_shipped_topics_by_name(browser: Browser, pg: asyncpg.Pool) -> None:
    topics = await catalogue.load(pg)
    assert [t.key for t in topics.offered()] == OFFERED  # in the order of their groups
    assert {t.key: t.offered for t in topics.topics if not t.offered} == {'bins': False, 'cases': False}
    await browser.submit('/near', {'postcode': 'M32 0AH'})
    await browser.submit('/near/radius', {'radius': '500'})
    page = await browser.get('/near/topics')
    assert offered_on(page.html) == OFFERED
    for words in ('Planning applications', 'Roadworks and road closures', 'Works on the road, closures and diversions',
                  'Consultations', 'Council news'):  # fmt: skip
        assert words in page.text
    assert 'roadworks' not in page.text.lower().replace('roadworks and road', '')  # by name, never by key

    welsh = await browser.get('/near/topics?lang=cy')
    for words in ('Ceisiadau cynllunio', 'Gwaith ffordd a ffyrdd ar gau', 'Ymgynghoriadau', 'Newyddion y cyngor'):
        assert words in welsh.text
    assert 'Roadworks and road closures' not in welsh.text


async def test_signing_up_for_roadworks_names_it_on_the_check_page_and_in_the_message(
    browser: Browser, pg: asyncpg.Pool
) -> None:
    await browser.submit('/near', {'postcode': 'M32 0AH'})
    await browser.submit('/near/radius', {'radius': '500'})
    page = await browser.submit('/near/topics', [('topics', 'roadworks'), ('topics', 'planning')])
    assert page.path == '/near/frequency', page.errors()
    await browser.submit('/near/frequency', {'frequency': 'immediate'})
    check = await choose_contact(browser, 'near', email='rhys@example.com')
    assert 'Planning applications, Roadworks and road closures' in check.text
    welsh = await browser.get('/near/check?lang=cy')
    assert 'Ceisiadau cynllunio, Gwaith ffordd a ffyrdd ar gau' in welsh.text
    await browser.submit('/near/check', {})
    assert await pg.fetchval('select topics from subscriptions') == ['planning', 'roadworks']
    [message] = await outbox(pg)
    assert message['personalisation']['subscription'] == (
        'geisiadau cynllunio a gwaith ffordd a ffyrdd ar gau o fewn 500 m i M32 0AH'  # the page was left in Welsh
    )


def test_the_words_of_a_subscription_use_the_council_names_and_keep_the_welsh_mutations() -> None:
    names = {'planning': ('Planning applications', 'Ceisiadau cynllunio'),
             'roadworks': ('Roadworks and road closures', 'Gwaith ffordd a ffyrdd ar gau'),
             'parks': ('CCTV in parks', '')}  # fmt: skip
    topics = ['planning', 'roadworks']
    assert describe_subscription('en', kind='topic', topics=topics, names=names) == (
        'planning applications and roadworks and road closures'
    )
    # "am" softens the shipped Welsh name (geisiadau); a council's own name is used as given
    assert describe_subscription('cy', kind='topic', topics=['planning', 'parks'], names=names) == (
        'geisiadau cynllunio a CCTV in parks'
    )
    assert describe_subscription('en', kind='topic', topics=['roadworks']) == 'council news'  # no catalogue: as before


async def test_a_hidden_topic_is_offered_nowhere_but_its_subscribers_keep_it_and_hear_of_it(
    browser: Browser, client: TestClient, pg: asyncpg.Pool
) -> None:
    ann = await make_resident(pg, email='ann@example.com')
    sub_id = await make_subscription(pg, ann, near='M32 0AH', radius_m=500, topics=['roadworks'])
    async with pg.acquire() as conn:
        hidden = await catalogue.change(conn, 'roadworks', {'offered': False}, ADMIN)
    assert not hidden.offered

    await browser.submit('/near', {'postcode': 'M32 0AH'})
    await browser.submit('/near/radius', {'radius': '500'})
    page = await browser.get('/near/topics')
    assert 'roadworks' not in offered_on(page.html)
    tampered = await browser.submit('/near/topics', [('topics', 'roadworks')])
    assert tampered.path == '/near/topics' and tampered.errors() == ['Select at least one thing to hear about']

    news = make_event(kind='roadworks.closure', topic='roadworks', title='Chester Road closed at night')
    assert (await record(pg, news)).matched == 1, 'matching is by key: the subscription still hears of it'
    assert await pg.fetchval('select topics from subscriptions where id = $1', sub_id) == ['roadworks']

    await sign_in(client, pg, 'ann@example.com')
    shown = await (await client.get(f'/manage/subscriptions/{sub_id}')).text()
    assert 'Roadworks and road closures' in shown
    change = await (await client.get(f'/manage/subscriptions/{sub_id}/change/topics')).text()
    assert offered_on(change) == [*OFFERED[:2], *OFFERED[3:], 'roadworks'], 'kept, ticked, at the end'
    assert 'value="roadworks" checked' in change
    kept = await post_form(
        client, f'/manage/subscriptions/{sub_id}/change/topics', {'topics': ['roadworks', 'planning']}
    )
    assert kept.status == 303
    assert await pg.fetchval('select topics from subscriptions where id = $1', sub_id) == ['planning', 'roadworks']


async def test_welsh_readers_read_welsh_names_on_their_subscriptions(client: TestClient, pg: asyncpg.Pool) -> None:
    ann = await make_resident(pg, email='ann@example.com', language='cy')
    sub_id = await make_subscription(pg, ann, kind='area', area_codes=['E05015254'], topics=['consultations'])
    await sign_in(client, pg, 'ann@example.com')
    page = await (await client.get(f'/manage/subscriptions/{sub_id}?lang=cy')).text()
    assert 'Ymgynghoriadau' in page and 'Consultations' not in page
    english = await (await client.get(f'/manage/subscriptions/{sub_id}?lang=en')).text()
    assert 'Consultations' in english


async def test_renaming_changes_only_the_name(client: TestClient, pg: asyncpg.Pool) -> None:
    ann = await make_resident(pg, email='ann@example.com')
    sub_id = await make_subscription(pg, ann, near='M32 0AH', radius_m=500, topics=['planning'])
    async with pg.acquire() as conn:
        await catalogue.change(conn, 'planning', {'name_en': 'Planning and building control', 'name_cy': ''}, ADMIN)
    assert (await record(pg, make_event())).matched == 1
    await sign_in(client, pg, 'ann@example.com')
    page = await (await client.get(f'/manage/subscriptions/{sub_id}')).text()
    assert 'Planning and building control' in page
    welsh = await (await client.get(f'/manage/subscriptions/{sub_id}?lang=cy')).text()
    assert 'Planning and building control' in welsh, 'no Welsh name: the English one'


async def test_the_rules_every_way_in_shares(pg: asyncpg.Pool) -> None:
    async with pg.acquire() as conn:
        with pytest.raises(TopicProblem) as caught:
            await catalogue.add(conn, 'Road Works', {'name_en': '', 'group': 'nowhere'}, ADMIN)
        assert set(caught.value.errors) == {'key', 'name_en', 'group'}
        with pytest.raises(TopicProblem) as caught:
            await catalogue.add(conn, 'staff', {'name_en': 'Alerts', 'group': 'other'}, ADMIN)
        assert 'alerts to staff' in caught.value.errors['key']
        with pytest.raises(TopicProblem) as caught:
            await catalogue.add(conn, 'planning', {'name_en': 'Planning', 'group': 'planning'}, ADMIN)
        assert caught.value.status == 409
        with pytest.raises(TopicProblem) as caught:
            await catalogue.add(conn, 'news', {'name_en': 'council NEWS', 'group': 'news'}, ADMIN)
        assert caught.value.errors == {
            'name_en': 'Another topic (bulletins) is already called council NEWS: residents could not tell them apart'
        }
        with pytest.raises(TopicProblem) as caught:
            await catalogue.change(conn, 'cases', {'offered': True}, ADMIN)
        assert 'cannot be offered' in caught.value.errors['offered']
        with pytest.raises(TopicProblem):
            await catalogue.add(conn, 'parks', {'name_en': 'x' * 81, 'group': 'other'}, ADMIN)
        await catalogue.add(conn, 'parks', {'name_en': '  Parks   and  green spaces ', 'group': 'other'}, ADMIN)
        await catalogue.change(conn, 'parks', {'offered': False}, ADMIN)
        await catalogue.change(conn, 'parks', {'offered': False}, ADMIN)  # no change: nothing written
        await catalogue.change(conn, 'parks', {'name_cy': 'Parciau', 'offered': True}, ADMIN)
    assert (await catalogue.load(pg)).get('parks') == catalogue.Topic(
        'parks', 'Parks and green spaces', 'Parciau', '', '', 'other', True
    )
    entries = await pg.fetch("select action, actor_name, details from audit_log where target_id = 'parks' order by id")
    assert [e['action'] for e in entries] == ['topic.add', 'topic.hide', 'topic.change']
    assert {e['actor_name'] for e in entries} == {'admin@council.example'}
    assert entries[2]['details'] == {'changed': {'name_cy': ['', 'Parciau'], 'offered': [False, True]}}


async def test_keys_already_in_use_are_named_and_parts_of_topics_by_their_topic(pg: asyncpg.Pool) -> None:
    topics = await catalogue.load(pg)
    assert topics.name('bulletins/roads') == 'Council news: Roads'
    assert topics.name('bulletins/roads', 'cy') == 'Newyddion y cyngor: Roads'
    assert topics.name('parks') == 'Parks'
    assert topics.name('cases', 'cy') == 'Diweddariadau achosion'
