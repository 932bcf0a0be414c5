"""`tellme sources check` on every fixture format prints what a poll would do and writes nothing."""

from __future__ import annotations

import asyncpg
import pytest

from tests.conftest import Services
from tests.support import FIXTURES
from tests.support.cli import tellme

CASES = [
    ('bolton-bins', 'ukbcd', FIXTURES / 'bins' / 'ukbcd_outputs' / 'BoltonCouncil.json', ['uprn=100010936589']),
    ('calendar-bins', 'ical', FIXTURES / 'bins' / 'ics' / 'hacs_recurring_rrule.ics', ['uprn=100012345678']),
    ('sf-cases', 'open311', FIXTURES / 'cases' / 'open311_cfa_gem' / 'service_requests.xml', ['format=xml']),
]


@pytest.mark.parametrize(('name', 'kind', 'path', 'options'), CASES, ids=[case[1] for case in CASES])
async def test_check_prints_what_would_happen_and_writes_nothing(
    services: Services, pg: asyncpg.Pool, name: str, kind: str, path: object, options: list[str]
) -> None:
    option_args = [arg for option in options for arg in ('--option', option)]
    code, out, err = await tellme(services, 'sources', 'add', name, '--kind', kind, '--url', f'file://{path}',
                                  '--allow-file', *option_args)  # fmt: skip
    assert code == 0, err
    code, out, err = await tellme(services, 'sources', 'check', name)
    assert code == 0, err + out
    assert out.startswith('check only: nothing was written')
    assert f'{name}: ' in out and ' new, ' in out
    assert f'{name}: 0 new' not in out, out  # the fixture yields events
    assert await pg.fetchval('select count(*) from events') == 0
