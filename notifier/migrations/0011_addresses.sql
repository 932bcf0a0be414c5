-- The addresses a resident picks from for bin day reminders (/bins): a property's UPRN, its postcode and the
-- address as people write it. Filled from a council's LLPG export (`tellme addresses import FILE.csv`); bin
-- schedule sources that name a property's address (with its postcode) are offered too, without being copied here.
create table addresses (
    uprn text primary key check (uprn ~ '^[0-9]{1,12}$'),
    postcode text not null check (postcode ~ '^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$'),
    address text not null check (length(address) between 1 and 500),
    -- where the row came from: 'llpg' (an import), 'staff' (added by hand)
    origin text not null default 'llpg' check (origin in ('llpg', 'staff')),
    updated_at timestamptz not null default now()
);
create index addresses_postcode on addresses (postcode);

-- "Track my case" looks a reference up as typed, whatever its letter case
create index events_case_reference on events (upper(case_reference)) where case_reference is not null;
