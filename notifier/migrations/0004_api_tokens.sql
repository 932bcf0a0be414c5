-- API tokens for staff and systems (case management systems, the comms team's tools, integrations).
-- Only the SHA-256 of a token is stored: the token itself (256 random bits) is shown once by
-- `tellme staff create-token` and cannot be recovered from the database. Lookup is by hash, so comparing a
-- presented token never walks a secret character by character.
create table api_tokens (
    id bigint generated always as identity primary key,
    name text not null check (length(name) between 1 and 100),
    role text not null check (role in ('case_officer', 'comms', 'approver', 'admin', 'system')),
    token_hash text not null unique check (token_hash ~ '^[0-9a-f]{64}$'),
    created_at timestamptz not null default now(),
    expires_at timestamptz,
    revoked_at timestamptz,
    last_used_at timestamptz,
    check (expires_at is null or expires_at > created_at)
);
