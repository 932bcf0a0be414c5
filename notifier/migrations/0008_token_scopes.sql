-- What an API token may do beyond its role, and a fuller record of the consent a case system passes.
--
-- api_tokens.sources: the sources (a feed's name, or a case system's name in POST /api/cases/{reference}/updates)
-- the token may push case updates and events for. Empty: any source, as every token made before 0008 could.
-- api_tokens.may_verify: the case system behind the token checks reporters' addresses itself, so a case push
-- that says `verified` subscribes the reporter at once, without a confirmation message. Only a system token
-- bound to sources may have it; every other token's `verified` is ignored (the reporter is asked to confirm).
alter table api_tokens
    add column sources text[] not null default '{}',
    add column may_verify boolean not null default false,
    add constraint api_tokens_sources_named check (
        cardinality(sources) <= 50
        and array_position(sources, null) is null
        and (cardinality(sources) = 0
             or array_to_string(sources, ' ') ~ '^[a-z0-9][a-z0-9_.-]{0,99}( [a-z0-9][a-z0-9_.-]{0,99})*$')
    ),
    add constraint api_tokens_admin_unbound check (role <> 'admin' or cardinality(sources) = 0),
    add constraint api_tokens_may_verify check (not may_verify or (role = 'system' and cardinality(sources) > 0));

-- consents.channels / addresses: the channels and the canonical addresses (as in contact_points.address) the
-- resident agreed to be contacted at, e.g. {"email": "a@example.com", "sms": "447700900123"}. This is the
-- council's record of consent, so the addresses are kept as given (while the consent is kept), never logged.
-- consents.recorded_by: who recorded it: the API token's name at the time (`via` has held the same since 0006).
-- Rows recorded before 0008 have no channels or addresses (not known for certain, so not guessed).
alter table consents
    add column channels text[] check (
        channels is null
        or (cardinality(channels) between 1 and 3 and channels <@ array['email', 'sms', 'letter']::text[])
    ),
    add column addresses jsonb check (addresses is null or jsonb_typeof(addresses) = 'object'),
    add column recorded_by text check (length(recorded_by) between 1 and 100),
    add constraint consents_addresses_match_channels check (
        (channels is null) = (addresses is null) and (addresses is null or addresses ?& channels)
    );
update consents set recorded_by = left(via, 100);
alter table consents alter column recorded_by set not null;
