-- Feeds Tell Me polls (planning, licensing, bins, case status): one row per source, managed with
-- `tellme sources add|pause|resume|remove`, polled by the worker's cron on each source's own interval.
-- The row also carries the source's health, so `tellme sources list` and GET /api/sources show at a glance
-- which feeds are working, and a feed that fails or falls silent raises one staff alert per incident.
create table sources (
    id bigint generated always as identity primary key,
    -- also the `source` of every event it produces (same pattern as events.source)
    name text not null unique check (name ~ '^[a-z0-9][a-z0-9_.-]*$' and length(name) <= 100),
    kind text not null check (kind ~ '^[a-z0-9-]+$'),
    url text not null check (url ~ '^(https?|file)://'),
    interval_seconds integer not null default 900 check (interval_seconds between 60 and 604800),
    -- the adapter's options (column mapping, date format, status mapping …), all strings
    options jsonb not null default '{}',
    -- request headers such as API keys: read only to make the request; never listed, printed or returned
    secret_headers jsonb not null default '{}',
    status text not null default 'active' check (status in ('active', 'paused')),
    -- the newest change time seen, for feeds that can be asked for changes since (ISO 8601)
    cursor text,
    -- conditional requests: validators of the last full answer to `validated_url`
    validated_url text,
    etag text,
    last_modified text,
    next_poll_at timestamptz not null default now(),
    -- health
    last_polled_at timestamptz,
    last_success_at timestamptz,
    last_failure_at timestamptz,
    last_error text,
    consecutive_failures integer not null default 0 check (consecutive_failures >= 0),
    failing_since timestamptz,
    last_records_seen integer,
    -- the last poll that brought news (a new or changed record)
    last_news_at timestamptz,
    -- how long without news is unusual; null = learnt from the poll log once there is enough of it
    silent_after_seconds integer check (silent_after_seconds > 0),
    -- the open incidents staff were told about (one alert per incident, not per poll)
    failing_alert_at timestamptz,
    silent_alert_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index sources_due on sources (next_poll_at) where status = 'active';
create trigger sources_touch before update on sources for each row execute function touch_updated_at();

-- One row per poll: what it found, and what was wrong (which record or line, and why).
create table source_polls (
    id bigint generated always as identity primary key,
    source_id bigint not null references sources (id) on delete cascade,
    started_at timestamptz not null,
    finished_at timestamptz not null default now(),
    outcome text not null check (outcome in ('ok', 'not-modified', 'failed')),
    pages integer not null default 0,
    new integer not null default 0,
    changed integer not null default 0,
    unchanged integer not null default 0,
    rejected integer not null default 0,
    error text,
    -- the first problems ([{where, reason}]) and notes (e.g. an encoding guessed)
    problems jsonb not null default '[]',
    notes jsonb not null default '[]'
);
create index source_polls_source on source_polls (source_id, started_at desc);
