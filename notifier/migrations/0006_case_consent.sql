-- Consent a case system passed when it pushed a case update with the reporter's contact details
-- (POST /api/cases/{reference}/updates): who agreed, to what, when, through which system, and the exact words
-- they were shown. Kept so the council can show why a resident was subscribed to their case.
create table consents (
    id bigint generated always as identity primary key,
    resident_id bigint not null references residents (id) on delete cascade,
    -- the case subscription the consent led to (kept if the subscription row goes)
    subscription_id bigint references subscriptions (id) on delete set null,
    case_source text not null check (length(case_source) between 1 and 100),
    case_reference text not null check (length(case_reference) between 1 and 100),
    -- when the resident agreed, as the case system says
    given_at timestamptz not null,
    -- how it reached us: the API token (and its name at the time) the case system used
    api_token_id bigint references api_tokens (id) on delete set null,
    via text not null check (length(via) between 1 and 200),
    wording text not null check (length(wording) between 1 and 2000),
    recorded_at timestamptz not null default now()
);
create index consents_resident on consents (resident_id);
create index consents_subscription on consents (subscription_id);
