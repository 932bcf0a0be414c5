"""Names for wards and districts: read from ONS's names-and-codes files (and lookups), ONSPD downloads and the names
shipped for the sample, stored in `areas` by `tellme postcodes names` (and `import`), and shown instead of codes."""

from __future__ import annotations

import zipfile
from pathlib import Path

import asyncpg

from subscriptions.places import areas
from tests.conftest import Services
from tests.support.cli import tellme

ONS_WARDS = (
    'WD25CD,WD25NM,WD25NMW,LAD25CD,LAD25NM,LAD25NMW\n'
    'E05015254,Sale Central,,E08000009,Trafford,\n'
    'W05001234,Cathays,Cathays,W06000015,Cardiff,Caerdydd\n'
    'E99999999,(pseudo) England,,E99999999,(pseudo) England,\n'
)


async def named(pg: asyncpg.Pool) -> dict[str, tuple[str, str]]:
    return {row['code']: (row['name'], row['name_cy']) for row in await pg.fetch('select * from areas')}


async def test_names_from_an_ons_file_by_the_command(services: Services, pg: asyncpg.Pool, tmp_path: Path) -> None:
    wards = tmp_path / 'WD25_LAD25_UK_LU.csv'
    wards.write_text(ONS_WARDS, encoding='utf-8-sig')
    code, out, err = await tellme(services, 'postcodes', 'names', str(wards))
    assert code == 0, err
    assert out == 'names: 4 areas named in 1 file(s): 4 added, 0 changed, 0 unchanged\n'
    assert await named(pg) == {'E05015254': ('Sale Central', ''), 'E08000009': ('Trafford', ''),
                               'W05001234': ('Cathays', 'Cathays'), 'W06000015': ('Cardiff', 'Caerdydd')}  # fmt: skip
    code, out, _ = await tellme(services, 'postcodes', 'names', str(wards))
    assert code == 0 and '0 added, 0 changed, 4 unchanged' in out

    codes_only = tmp_path / 'codes.csv'
    codes_only.write_text('PC,WC\nM33 7XF,E05015254\n')
    code, _, err = await tellme(services, 'postcodes', 'names', str(codes_only))
    assert code == 1 and 'no names here' in err and 'Nothing was changed' in err


async def test_names_inside_an_onspd_download_and_the_shipped_sample(pg: asyncpg.Pool, tmp_path: Path) -> None:
    download = tmp_path / 'ONSPD_MAY_2025.zip'
    with zipfile.ZipFile(download, 'w') as archive:
        archive.writestr('Data/ONSPD_MAY_2025_UK.csv', 'pcd,osward\n')
        archive.writestr('Documents/Ward names and codes UK as at 05_25.csv',
                         'WD25CD,WD25NM,WD25NMW\nE05015247,Gorse Hill & Cornbrook,\n')  # fmt: skip
        archive.writestr('Documents/LA_UA names and codes UK as at 04_25.csv', 'LAD25CD,LAD25NM\nE08000009,Trafford\n')
    async with pg.acquire() as conn, conn.transaction():
        report = await areas.load_names(conn, [download, areas.SAMPLE_NAMES])
    assert report.files == 3 and report.added >= 20
    names = await areas.names_for(pg, ['E05015247', 'E08000009', 'E05014834', 'E09000033'])
    assert names == {'E05015247': ('Gorse Hill & Cornbrook', ''), 'E08000009': ('Trafford', ''),
                     'E09000033': ('Westminster', '')}  # fmt: skip
    assert [areas.label(code, names) for code in ('E05015247', 'E08000009', 'E05014834')] == [
        'Gorse Hill & Cornbrook', 'Trafford (district)', 'Ward E05014834',
    ]  # fmt: skip
