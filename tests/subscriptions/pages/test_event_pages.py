"""Event pages /e/{id}: what, where, which council is responsible, the comment-by date with the council's comment
link, every version of the same thing, and where it came from — in English and Welsh."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import asyncpg
from aiohttp.test_utils import TestClient

from notifier.outbox.links import event_path
from tests.support.factories import make_event, record
from tests.support.manage import SECRET


async def test_an_application_open_for_comments_says_until_when_and_where_to_comment(
    client: TestClient, pg: asyncpg.Pool
) -> None:
    closes = date.today() + timedelta(days=20)
    event = make_event(
        kind='planning.consultation', title='Loft conversion at 4 Elm Road',
        attributes={'address': '4 Elm Road', 'status': 'consultation', 'comment_by': closes.isoformat(),
                    'comment_url': 'https://planning.example.gov.uk/comment/77'},
    )  # fmt: skip
    ingested = await record(pg, event)
    html = await (await client.get(f'/e/{ingested.event_id}')).text()
    assert 'Planning consultation' in html and 'Loft conversion at 4 Elm Road' in html and '4 Elm Road' in html
    day = f'{closes.day} {closes:%B} {closes.year}'
    assert f'You can comment until {day}.' in html
    assert (
        'href="https://planning.example.gov.uk/comment/77"' in html
        and 'Comment on the Testshire Council website' in html
    )
    assert 'Council responsible' in html and 'Testshire Council' in html  # the settings' council, by default
    assert 'Source: trafford-planning' in html
    welsh = await (await client.get(f'/e/{ingested.event_id}?lang=cy')).text()
    assert (
        'Ymgynghoriad cynllunio' in welsh and 'Gallwch roi sylwadau tan' in welsh and 'Y cyngor sy’n gyfrifol' in welsh
    )


async def test_a_closed_consultation_says_when_it_closed(client: TestClient, pg: asyncpg.Pool) -> None:
    ingested = await record(pg, make_event(attributes={'comment_by': '2020-01-31'}))
    html = await (await client.get(f'/e/{ingested.event_id}')).text()
    assert 'The time to comment ended on 31 January 2020.' in html and 'You can comment until' not in html


async def test_the_responsible_council_comes_from_the_record_or_the_source(
    client: TestClient, pg: asyncpg.Pool
) -> None:
    await pg.execute(
        "insert into sources (name, kind, url, options) values ('county-minerals', 'planit', 'https://example.org/', "
        '$1)',
        {'council': 'Testshire County Council', 'label': 'County planning register'},
    )
    by_source = await record(pg, make_event(source='county-minerals', title='Quarry extension'))
    html = await (await client.get(f'/e/{by_source.event_id}')).text()
    assert 'Testshire County Council' in html and 'Source: County planning register' in html
    by_record = await record(pg, make_event(attributes={'authority': 'Trafford'}))
    assert '>Trafford<' in await (await client.get(f'/e/{by_record.event_id}')).text()


async def test_every_version_is_listed_and_each_page_stays_where_it_is(client: TestClient, pg: asyncpg.Pool) -> None:
    event = make_event(attributes={'address': '1 King St', 'status': 'validated'})
    first = await record(pg, event)
    second = await record(pg, event.model_copy(update={
        'kind': 'planning.decided', 'attributes': {'address': '1 King St', 'status': 'decided'},
        'occurred_at': datetime(2026, 11, 21, 9, 30, tzinfo=UTC),
    }))  # fmt: skip
    old = await (await client.get(f'/e/{first.event_id}')).text()
    assert f'href="/e/{second.event_id}"' in old and 'There is a newer update about this' in old
    new = await (await client.get(f'/e/{second.event_id}')).text()
    assert 'History' in new and 'What has changed' in new and 'status: validated → decided' in new
    assert f'href="/e/{first.event_id}"' in new and '20 November 2026' in new and '21 November 2026' in new
    assert 'Planning decision' in new and 'There is a newer update' not in new


async def test_a_case_page_links_its_history_by_token_only(client: TestClient, pg: asyncpg.Pool) -> None:
    case = make_event(source='fixmystreet', kind='case.status', topic='cases', case_reference='FMS-9',
                      title='Pothole on Mill Lane', attributes={'status': 'open'}, external_key='FMS-9')  # fmt: skip
    first = await record(pg, case)
    second = await record(pg, case.model_copy(update={'attributes': {'status': 'fixed'}}))
    assert first.event_id and second.event_id
    assert (await client.get(f'/e/{second.event_id}')).status == 404
    answer = await client.get(event_path(second.event_id, private=True, secret=SECRET.encode()))
    html = await answer.text()
    assert answer.status == 200 and 'Pothole on Mill Lane' in html and 'FMS-9' in html
    assert answer.headers['Cache-Control'] == 'no-store' and '<meta name="robots" content="noindex">' in html
    assert event_path(first.event_id, private=True, secret=SECRET.encode()) in html
    assert f'href="/e/{first.event_id}"' not in html, 'never a bare number for a case'
