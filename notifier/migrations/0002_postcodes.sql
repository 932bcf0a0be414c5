-- GB postcodes for offline geocoding (architecture decision 4), filled by `tellme postcodes import` from
-- OS Code-Point Open (OGL v3). One row per live postcode; the importer stages rows in a temporary table with
-- COPY and upserts them here in one transaction, so a failed import leaves the previous data in place.

create table postcodes (
    -- normalised: upper case, one space before the inward code ("SW1A 1AA")
    postcode text primary key check (postcode ~ '^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$'),
    -- WGS84, converted from British National Grid with pyproj; the ranges cover the UK and Crown Dependencies
    lat double precision not null check (lat between 49.0 and 61.0),
    lng double precision not null check (lng between -9.0 and 2.0),
    -- British National Grid (EPSG:27700) metres as published, kept so coordinates can be re-derived
    eastings integer not null check (eastings between 0 and 700000),
    northings integer not null check (northings between 0 and 1300000),
    -- Code-Point Open positional quality: 10 = within the building of a matched address … 60 = estimated,
    -- 90 = no coordinates (such rows are skipped by the importer)
    positional_quality smallint not null check (positional_quality in (10, 20, 30, 40, 50, 60, 90)),
    -- GSS codes: country (E92…, S92…, W92…), local authority district (LAD) and electoral ward; a handful of
    -- Code-Point Open rows have no district or ward, and a postcode + eastings/northings file has none at all
    country_code text check (country_code ~ '^[A-Z][0-9]{8}$'),
    district_code text check (district_code ~ '^[A-Z][0-9]{8}$'),
    ward_code text check (ward_code ~ '^[A-Z][0-9]{8}$'),
    -- when this row last changed (an unchanged row is not rewritten on re-import)
    updated_at timestamptz not null default now()
);

-- "which postcodes are in this district?" (area subscriptions, the demo seed) without a full scan
create index postcodes_district_code on postcodes (district_code);
