-- The resident pages: server-side sessions (journey answers, who is signed in) and one-time secrets
-- (sign-in links, confirmation and sign-in codes). Only hashes of the secrets are stored.

-- A browser's session. The cookie holds a random 256-bit id; we keep its SHA-256. `data` holds the answers of
-- a journey in progress (postcode, radius, …) so nothing is lost between pages; `resident_id` is set once the
-- person has signed in with a link or code.
create table web_sessions (
    id_hash bytea primary key check (length(id_hash) = 32),
    resident_id bigint references residents (id) on delete cascade,
    data jsonb not null default '{}',
    created_at timestamptz not null default now(),
    expires_at timestamptz not null
);
create index web_sessions_expiry on web_sessions (expires_at);
create index web_sessions_resident on web_sessions (resident_id) where resident_id is not null;

-- A secret we sent someone: a sign-in link (128-bit random token) or a 6-digit code (to confirm texts or to
-- sign in). `secret_hash` is HMAC-SHA256 under the service's secret key, so a database leak gives no codes.
-- Codes allow a few attempts; each secret works once and expires.
create table one_time_secrets (
    id bigint generated always as identity primary key,
    purpose text not null check (purpose in ('sign-in', 'confirm')),
    form text not null check (form in ('link', 'code')),
    secret_hash bytea not null check (length(secret_hash) = 32),
    contact_point_id bigint not null references contact_points (id) on delete cascade,
    subscription_id bigint references subscriptions (id) on delete cascade,
    attempts integer not null default 0,
    expires_at timestamptz not null,
    used_at timestamptz,
    created_at timestamptz not null default now()
);
create unique index one_time_secrets_links on one_time_secrets (secret_hash) where form = 'link';
create index one_time_secrets_codes on one_time_secrets (contact_point_id, purpose) where form = 'code';
create index one_time_secrets_expiry on one_time_secrets (expires_at);
