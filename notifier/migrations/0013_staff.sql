-- Staff: the council's officers and comms people who use Tell Me's staff pages, their sessions, and the audit log
-- of everything staff and systems do. (API tokens for case systems are in 0004/0008.)

-- One person. Several roles each: case_officer, comms, approver, admin. Passwords are argon2id hashes; an account
-- signed in through the council's OpenID Connect provider may have none.
create table staff (
    id bigint generated always as identity primary key,
    email text not null unique check (email = lower(email) and email like '%_@_%'),
    name text not null default '' check (length(name) <= 200),
    roles text[] not null check (
        roles <@ array['case_officer', 'comms', 'approver', 'admin'] and cardinality(roles) > 0
    ),
    password_hash text,
    -- after LOCK_AFTER failed sign-ins in a row the account is locked for a while; a success resets the count
    failed_attempts integer not null default 0,
    locked_until timestamptz,
    disabled_at timestamptz,
    oidc_subject text unique,
    last_sign_in_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create trigger staff_touch before update on staff for each row execute function touch_updated_at();

-- A signed-in browser: the cookie holds 256 random bits, we keep their SHA-256.
create table staff_sessions (
    id_hash bytea primary key check (length(id_hash) = 32),
    staff_id bigint not null references staff (id) on delete cascade,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null
);
create index staff_sessions_staff on staff_sessions (staff_id);
create index staff_sessions_expiry on staff_sessions (expires_at);

-- "Set your password" links made by `tellme staff add` and `tellme staff reset-password` (SHA-256 of 128 bits).
create table staff_password_links (
    token_hash bytea primary key check (length(token_hash) = 32),
    staff_id bigint not null references staff (id) on delete cascade,
    expires_at timestamptz not null,
    used_at timestamptz
);

-- Who did what, when, to whom. Written in the same transaction as the action, never updated or deleted by the
-- service. `actor` is a staff member, an API token or the system; `target` what it was done to (a case
-- reference, a bulletin id, a staff account, a subscription).
create table audit_log (
    id bigint generated always as identity primary key,
    at timestamptz not null default now(),
    actor_kind text not null check (actor_kind in ('staff', 'token', 'system')),
    actor_id bigint,
    actor_name text not null,
    action text not null check (action ~ '^[a-z_]+(\.[a-z_]+)+$'),
    target_kind text,
    target_id text,
    details jsonb not null default '{}'
);
create index audit_log_at on audit_log (at desc);
create index audit_log_target on audit_log (target_kind, target_id, at desc);
create index audit_log_actor on audit_log (actor_kind, actor_id, at desc);
