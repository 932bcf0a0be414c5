-- Wrong staff sign-ins, counted per (email typed, client address) instead of per account (docs/decisions.md): a
-- stranger who guesses at an officer's email locks out only their own address, never the officer. Kept for every
-- email typed, known or not, so a locked account and an unknown email answer alike; the email is an HMAC under
-- TELLME_SECRET_KEY, never the text (people type passwords into the email box). Rows older than a day are deleted.
create table staff_sign_in_failures (
    email_key bytea not null check (length(email_key) = 32),
    client_ip text not null check (length(client_ip) <= 100),
    failures integer not null check (failures > 0),
    last_failed_at timestamptz not null default now(),
    primary key (email_key, client_ip)
);
create index staff_sign_in_failures_age on staff_sign_in_failures (last_failed_at);

-- The lock on the whole account that a stranger could set is gone.
alter table staff drop column failed_attempts, drop column locked_until;
