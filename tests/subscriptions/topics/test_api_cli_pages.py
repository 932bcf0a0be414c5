"""The three ways an administrator changes the catalogue — /api/topics, `tellme topics` and /staff/topics — each
checked by the same rules and audited as whoever did it; any token may read it, only admins change it."""

from __future__ import annotations

import asyncpg
from aiohttp.test_utils import TestClient

from subscriptions.topics import catalogue
from tests.conftest import Services
from tests.support.api import bearer, new_token
from tests.support.cli import tellme
from tests.support.pages import post_form, text_of
from tests.support.staff import sign_in_as


async def actions(pg: asyncpg.Pool, key: str) -> list[tuple[str, str, str]]:
    rows = await pg.fetch(
        "select action, actor_kind, actor_name from audit_log where target_kind = 'topic' and target_id = $1 "
        'order by id',
        key,
    )
    return [(row['action'], row['actor_kind'], row['actor_name']) for row in rows]


async def test_any_token_reads_the_catalogue_and_only_admins_change_it(client: TestClient, pg: asyncpg.Pool) -> None:
    system = bearer(await new_token(pg, 'system', name='Streetworks system'))
    listed = await (await client.get('/api/topics', headers=system)).json()
    roads = next(topic for topic in listed['topics'] if topic['key'] == 'roadworks')
    assert roads == {'key': 'roadworks', 'name_en': 'Roadworks and road closures',
                     'name_cy': 'Gwaith ffordd a ffyrdd ar gau',
                     'hint_en': 'Works on the road, closures and diversions',
                     'hint_cy': 'Gwaith ar y ffordd, ffyrdd ar gau a dargyfeiriadau', 'group': 'roads',
                     'offered': True, 'subscriptions': 0}  # fmt: skip
    assert {'key': 'roads', 'name': 'Roads and transport'} in listed['groups']
    parks = {'key': 'parks', 'name_en': 'Parks and green spaces', 'name_cy': 'Parciau a mannau gwyrdd',
             'group': 'other'}  # fmt: skip
    refused = await client.post('/api/topics', json=parks, headers=system)
    assert refused.status == 403

    admin = bearer(await new_token(pg, 'admin', name='Council admin tool'))
    made = await client.post('/api/topics', json=parks, headers=admin)
    assert made.status == 201, await made.text()
    assert (await made.json())['offered'] is True
    again = await client.post('/api/topics', json=parks, headers=admin)
    assert again.status == 409 and 'already a topic' in (await again.json())['errors']['key']
    bad = await client.post('/api/topics', json={'key': 'x', 'name_en': ' ', 'group': 'cases', 'offered': True},
                            headers=admin)  # fmt: skip
    assert bad.status == 400 and set((await bad.json())['errors']) == {'name_en', 'offered'}

    hidden = await client.patch('/api/topics/parks', json={'offered': False, 'hint_en': 'Events and works in parks'},
                                headers=admin)  # fmt: skip
    assert hidden.status == 200 and (await hidden.json())['offered'] is False
    assert (await client.patch('/api/topics/nothing', json={}, headers=admin)).status == 404
    assert (await client.patch('/api/topics/parks', json={'key': 'gardens'}, headers=admin)).status == 400
    assert await actions(pg, 'parks') == [('topic.add', 'token', 'Council admin tool'),
                                          ('topic.change', 'token', 'Council admin tool')]  # fmt: skip


async def test_the_command_lists_adds_sets_and_hides(services: Services, pg: asyncpg.Pool) -> None:
    code, out, err = await tellme(services, 'topics', 'list')
    assert code == 0, err
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert 'Roadworks and road closures' in lines['roadworks'] and 'offered' in lines['roadworks']
    assert lines['cases'].split()[-2:] == ['hidden', '0']

    code, out, err = await tellme(services, 'topics', 'add', 'parks', '--name', 'Parks', '--name-cy', 'Parciau',
                                  '--group', 'other', '--hidden')  # fmt: skip
    assert (code, err) == (0, '') and out == 'parks added: Parks, hidden from residents (those who chose it keep it)\n'
    code, out, _ = await tellme(services, 'topics', 'set', 'parks', '--offered', '--hint', 'Events in parks')
    assert code == 0 and 'offered to residents' in out
    code, out, _ = await tellme(services, 'topics', 'hide', 'roadworks')
    assert code == 0 and out.startswith('roadworks hidden:')
    assert not (await catalogue.load(pg)).get('roadworks').offered  # type: ignore[union-attr]

    code, _, err = await tellme(services, 'topics', 'set', 'cases', '--offered')
    assert code == 1 and 'offered: Case updates go only to the people following a case' in err
    code, _, err = await tellme(services, 'topics', 'hide', 'nothing')
    assert code == 1 and "no topic 'nothing'" in err
    code, _, err = await tellme(services, 'topics', 'add', 'Bad Key', '--name', 'Bad', '--group', 'other')
    assert code == 1 and 'key: The key must be' in err
    cli = ('system', 'tellme topics (command line)')
    assert await actions(pg, 'parks') == [('topic.add', *cli), ('topic.change', *cli)]
    assert await actions(pg, 'roadworks') == [('topic.hide', *cli)]


async def test_an_admin_adds_and_changes_topics_on_the_staff_pages(client: TestClient, pg: asyncpg.Pool) -> None:
    await sign_in_as(client, pg, 'comms@council.example', 'comms')
    assert (await client.get('/staff/topics', allow_redirects=False)).status == 403
    await sign_in_as(client, pg, 'admin@council.example', 'admin')
    page = text_of(await (await client.get('/staff/topics')).text())
    assert 'Roadworks and road closures' in page and 'Gwaith ffordd a ffyrdd ar gau' in page and 'Hidden' in page

    wrong = await post_form(client, '/staff/topics/new', {'key': 'Parks!', 'name_en': '', 'group': '',
                                                           'offered': 'yes'})  # fmt: skip
    html = await wrong.text()
    assert wrong.status == 200 and 'Enter the name residents read' in html and 'value="parks!"' in html
    assert html.index('href="#key"') < html.index('href="#name_en"') < html.index('href="#group"')
    made = await post_form(client, '/staff/topics/new', {'key': 'parks', 'name_en': 'Parks', 'name_cy': 'Parciau',
                                                          'group': 'other', 'offered': 'yes'})  # fmt: skip
    assert (made.status, made.headers['Location']) == (303, '/staff/topics?saved=parks&added=1')
    banner = text_of(await (await client.get(made.headers['Location'])).text())
    assert 'Parks added. Residents can choose it from now on.' in banner

    changed = await post_form(client, '/staff/topics/parks/change', {'name_en': 'Parks and open spaces',
                                                                      'name_cy': 'Parciau', 'group': 'other',
                                                                      'offered': 'no'})  # fmt: skip
    assert changed.status == 303
    parks = (await catalogue.load(pg)).get('parks')
    assert parks is not None and (parks.name_en, parks.offered) == ('Parks and open spaces', False)
    assert (await client.get('/staff/topics/nothing/change')).status == 404
    admin = ('staff', 'admin@council.example')
    assert await actions(pg, 'parks') == [('topic.add', *admin), ('topic.change', *admin)]
