"""Bin day reminders: postcode → address (from the LLPG import or a bin source) → when, then how to be told —
ending in a pending address subscription with its reminder time and its confirmation in the outbox."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg

from subscriptions.places import addresses
from tests.conftest import Services
from tests.support.app import settings_for
from tests.support.factories import make_event, record
from tests.support.journey import Browser, choose_contact, outbox

LLPG = """UPRN,SAO_TEXT,PAO_TEXT,PAON,STREET_DESCRIPTION,TOWN_NAME,POSTCODE_LOCATOR
100012345678,,,12,Acacia Avenue,Stretford,M32 0AH
100012345679,Flat 1,,14,Acacia Avenue,Stretford,m320ah
100012345680,,,2,Acacia Avenue,Stretford,M32 0AH
,,,,No UPRN Road,Stretford,M32 0AH
100012345681,,,3,Nowhere Lane,Stretford,NOT A POSTCODE
"""


async def import_llpg(pg: asyncpg.Pool, tmp_path: Path) -> addresses.Imported:
    path = tmp_path / 'llpg.csv'
    path.write_text(LLPG, encoding='utf-8')
    async with pg.acquire() as conn:
        return await addresses.import_llpg(conn, path)


async def test_an_llpg_import_keeps_good_rows_and_counts_the_rest(pg: asyncpg.Pool, tmp_path: Path) -> None:
    result = await import_llpg(pg, tmp_path)
    assert (result.added_or_changed, result.skipped) == (3, 2)
    again = await import_llpg(pg, tmp_path)
    assert (again.added_or_changed, again.unchanged) == (0, 3), 'importing the same file again changes nothing'
    found = await addresses.for_postcode(pg, 'M32 0AH')
    assert [a.text for a in found] == [
        '2, Acacia Avenue, Stretford',
        '12, Acacia Avenue, Stretford',
        'Flat 1, 14, Acacia Avenue, Stretford',
    ]


async def test_bin_reminders_by_text_end_pending_with_the_reminder_time(
    browser: Browser, pg: asyncpg.Pool, tmp_path: Path
) -> None:
    await import_llpg(pg, tmp_path)
    page = await browser.submit('/bins', {'postcode': 'M32 0AH'})
    assert page.path == '/bins/address' and '12, Acacia Avenue, Stretford' in page.text
    page = await browser.submit('/bins/address', {'uprn': '100012345678'})
    assert page.path == '/bins/when', page.errors()
    page = await browser.submit('/bins/when', {'remind_at': 'evening-before', 'remind_time': '7.30pm'})
    assert page.path == '/bins/channel', page.errors()
    check = await choose_contact(browser, 'bins', mobile='07700 900 123')
    assert '12, Acacia Avenue, Stretford' in check.text and 'The evening before, at 19:30' in check.text
    code_page = await browser.submit('/bins/check', {})
    assert code_page.path == '/confirm/code' and '07700 900 123' in code_page.text

    subscription = await pg.fetchrow('select * from subscriptions')
    assert subscription['kind'] == 'address' and subscription['uprn'] == '100012345678'
    assert subscription['remind_at'] == 'evening-before' and str(subscription['remind_time']) == '19:30:00'
    assert subscription['status'] == 'pending' and subscription['channels'] == ['sms']
    [message] = await outbox(pg)
    assert message['purpose'] == 'confirmation' and message['channel'] == 'sms'
    assert message['personalisation']['subscription'] == 'bin collections at your address'


async def test_an_address_named_by_a_bin_source_can_be_picked(browser: Browser, pg: asyncpg.Pool) -> None:
    await record(pg, make_event(
        source='bins-ukbcd', kind='bins.schedule', topic='bins', uprn='200000000001', postcode=None,
        title='Bin collections at 7 Elm Road, Stretford, M32 0AH', external_key='uprn:200000000001',
    ))  # fmt: skip
    page = await browser.submit('/bins', {'postcode': 'M32 0AH'})
    assert page.path == '/bins/address' and '7 Elm Road, Stretford, M32 0AH' in page.text
    page = await browser.submit('/bins/address', {'uprn': '200000000001'})
    assert page.path == '/bins/when'


async def test_a_postcode_with_no_addresses_offers_things_near_me(browser: Browser) -> None:
    page = await browser.submit('/bins', {'postcode': 'GU3 1AH'})
    assert page.status == 200 and 'We do not have addresses for this postcode yet' in page.text
    assert 'href="/near"' in page.html
    near = await browser.get('/near')
    assert near.value('postcode') == 'GU3 1AH', 'the postcode is ready on "things near me"'


async def test_a_forged_address_and_a_morning_time_in_the_evening_are_refused(
    browser: Browser, pg: asyncpg.Pool, tmp_path: Path
) -> None:
    await import_llpg(pg, tmp_path)
    await browser.submit('/bins', {'postcode': 'M32 0AH'})
    page = await browser.submit('/bins/address', {'uprn': '999'})
    assert page.errors() == ['Select your address']
    await browser.submit('/bins/address', {'uprn': '100012345680'})
    page = await browser.submit('/bins/when', {'remind_at': 'evening-before', 'remind_time': '6am'})
    assert page.errors() == ['Enter a time in the afternoon or evening, like 19:30']
    assert page.value('remind_time') == '6am'


def test_tellme_addresses_import_reports_what_it_did(services: Services, tmp_path: Path, capsys: Any) -> None:
    from subscriptions.places.addresses_cli import main

    settings = settings_for(services)
    good, bad = tmp_path / 'llpg.csv', tmp_path / 'wrong.csv'
    good.write_text(LLPG, encoding='utf-8')
    bad.write_text('REF,STREET\n1,High Street\n', encoding='utf-8')
    try:
        assert main(['import', str(good)], settings) == 0
        assert '3 added or changed, 0 unchanged, 2 skipped' in capsys.readouterr().out
        assert main(['import', str(bad)], settings) == 1
        assert 'needs a header row with UPRN and POSTCODE' in capsys.readouterr().err
        assert main(['import', str(tmp_path / 'missing.csv')], settings) == 1
    finally:
        asyncio.run(_clear(services.database_url))


async def _clear(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute('delete from addresses')
    finally:
        await conn.close()
