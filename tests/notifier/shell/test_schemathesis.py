"""schemathesis against /api/openapi.json, served by the real app on a local port, with an admin token: for every
/api operation (the probes it also describes take no input) it generates requests from the document's own schemas and
finds no 5xx and no answer that breaks the document (status codes, content types, response schemas). Half the
generated requests name things that exist (a case with a subscribed reporter, bulletins, a message), so the answers
checked are not only 404s."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from typing import Any

import asyncpg
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from redis.asyncio import Redis
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from notifier.shell.app import create_app
from tests.conftest import Services
from tests.support.app import settings_for
from tests.support.bulletins import Desk, bulletin_in, sale_ward

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = int(os.environ.get('TELLME_FUZZ_EXAMPLES', '20'))  # more: a longer hunt
REFERENCE = 'FMS-FUZZ-1'
CONSENT = {'given': True, 'wording': 'Tell me by email when my report changes', 'at': '2026-03-01T09:00:00Z'}


def fuzz(document: dict[str, Any], base_url: str, token: str, known: dict[str, str]) -> tuple[list[str], Counter]:
    """Every operation, EXAMPLES valid requests each (every check) and EXAMPLES invalid ones (no 5xx): the failures
    as 'operation: what', and the answers by (operation, status)."""
    schema = schemathesis.openapi.from_dict(document)
    failures: list[str] = []
    answers: Counter = Counter()
    with requests.Session() as session:
        for result in schema.get_all_operations():
            operation = result.ok()
            if not operation.path.startswith('/api/'):  # the probes: no input to generate (test_probes.py)
                continue
            for mode, checks in ((GenerationMode.POSITIVE, CHECKS), (GenerationMode.NEGATIVE, [not_a_server_error])):
                try:
                    attempt(operation, mode, checks, session, base_url, token, known, answers)
                except Unsatisfiable:
                    assert mode is GenerationMode.NEGATIVE, operation.label  # nothing in it can be made wrong
                except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected, reported together below
                    failures.append(f'{operation.label} ({mode.value}): {str(exc)[:2000]}')
    return failures, answers


def attempt(operation: Any, mode: GenerationMode, checks: list[Any], session: requests.Session, base_url: str,
            token: str, known: dict[str, str], answers: Counter) -> None:  # fmt: skip
    """Hypothesis runs `run` EXAMPLES times; half of them name things that exist in the path."""

    @given(case=operation.as_strategy(generation_mode=mode), real=st.booleans())
    @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))  # fmt: skip
    def run(case: Any, real: bool) -> None:
        if real and case.path_parameters and mode is GenerationMode.POSITIVE:
            case.path_parameters = {
                name: known.get(f'{operation.path} {name}', known.get(name, value))
                for name, value in case.path_parameters.items()
            }
        response = case.call(base_url=base_url, session=session, headers={'Authorization': f'Bearer {token}'})
        answers[(operation.label, response.status_code)] += 1
        case.validate_response(response, checks=checks)

    run()


async def things_that_exist(desk: Desk, pg: asyncpg.Pool) -> dict[str, str]:
    """A case with a subscribed reporter and a message about it, and a bulletin: path values that find something."""
    system = {'Authorization': f'Bearer {await desk.token("system", name="case system")}'}
    reporter = {'email': 'reporter@example.com', 'consent': CONSENT}
    update = {'source': 'fixmystreet', 'stage': 'assessing', 'note': 'We are looking at it', 'title': 'Pothole',
              'occurred_at': '2026-03-01T09:05:00Z', 'reporter': reporter}  # fmt: skip
    answer = await desk.client.post(f'/api/cases/{REFERENCE}/updates', json=update, headers=system)
    assert answer.status == 201, await answer.text()
    notification = await pg.fetchval('select id from notifications order by created_at desc limit 1')
    subscription = await pg.fetchval('select max(id) from subscriptions')
    return {
        'reference': REFERENCE,
        'bulletin_id': str(await bulletin_in(pg, 'draft')),
        '/api/notifications/{id} id': str(notification),
        '/api/subscriptions/{id}/confirm id': str(subscription),
        'stage': 'assessing',
    }


@pytest.mark.timeout(300)
async def test_no_server_errors_or_schema_violations(
    aiohttp_client: Any, services: Services, pg: asyncpg.Pool, redis: Redis
) -> None:
    client = await aiohttp_client(create_app(settings_for(services)))
    desk = Desk(client, pg)
    await sale_ward(pg)
    known = await things_that_exist(desk, pg)
    token = await desk.token('admin')
    document = await (await client.get('/api/openapi.json')).json()
    base_url = str(client.make_url('')).rstrip('/')
    failures, answers = await asyncio.to_thread(fuzz, document, base_url, token, known)
    assert not failures, '\n\n'.join(failures)
    operations = {label for label, _ in answers}
    api = [item for path, item in document['paths'].items() if path.startswith('/api/')]
    assert len(operations) == sum(len(item) for item in api)  # every API operation was tried
    succeeded = {label for (label, status), _ in answers.items() if status < 300}
    for label in ('GET /api/cases/{reference}', 'GET /api/bulletins/{bulletin_id}', 'GET /api/overview'):
        assert label in succeeded, (label, sorted(answers.items()))


# --- what the fuzzing found, kept fixed ----------------------------------------------------------------------

EVENT = {'source': 'roadworks-feed', 'external_key': 'RW-1', 'kind': 'roadworks.new', 'topic': 'roadworks',
         'title': 'Lane closed on King Street', 'occurred_at': '2026-03-01T09:00:00Z'}  # fmt: skip


async def test_text_the_database_cannot_store_is_a_clear_400_not_a_server_error(
    aiohttp_client: Any, services: Services, pg: asyncpg.Pool, redis: Redis
) -> None:
    desk = Desk(await aiohttp_client(create_app(settings_for(services))), pg)
    comms = {'Authorization': f'Bearer {await desk.token("comms")}'}
    draft = {'title': 'Road\u0000 closed', 'message': 'Closed today', 'area': 'council', 'channels': ['email']}
    answer = await desk.client.post('/api/bulletins', json=draft, headers=comms)
    assert answer.status == 400
    assert (await answer.json())['errors'] == {'body': 'the text has \\u0000 or an unpaired surrogate in it'}
    system = {'Authorization': f'Bearer {await desk.token("system")}'}
    lone_surrogate = '{"source": "roadworks-feed", "title": "\\ud800", "summary": "x"}'
    answer = await desk.client.post('/api/events', data=lone_surrogate, headers=system)
    assert answer.status == 400 and 'body' in (await answer.json())['errors']
    nested = await desk.client.post('/api/events', data='[' * 200_000, headers=system)
    assert nested.status == 400 and (await nested.json())['errors'] == {'body': 'the body is not valid JSON'}
    assert await pg.fetchval('select count(*) from bulletins') == 0
    assert await pg.fetchval('select count(*) from events') == 0


async def test_an_event_attribute_needs_a_name_a_change_can_carry(
    aiohttp_client: Any, services: Services, pg: asyncpg.Pool, redis: Redis
) -> None:
    desk = Desk(await aiohttp_client(create_app(settings_for(services))), pg)
    system = {'Authorization': f'Bearer {await desk.token("system")}'}
    for name in ('', 'x' * 101):
        for value in ('one', 'two'):  # the second version is where the change would be described
            answer = await desk.client.post('/api/events', json={**EVENT, 'attributes': {name: value}}, headers=system)
            assert answer.status == 400, await answer.text()
            assert (await answer.json())['errors'] == {'attributes': 'each attribute name must be 1 to 100 characters'}
    first = await desk.client.post('/api/events', json={**EVENT, 'attributes': {'lanes': 'one'}}, headers=system)
    second = await desk.client.post('/api/events', json={**EVENT, 'attributes': {'lanes': 'two'}}, headers=system)
    assert (first.status, second.status) == (201, 201)
    assert (await second.json())['version'] == 2
