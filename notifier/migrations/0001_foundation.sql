-- The foundation: a trigger helper later tables use, and the workers' heartbeats.

-- Keeps updated_at honest on any table that declares the trigger.
create or replace function touch_updated_at() returns trigger
language plpgsql as $$
begin
    new.updated_at = now();
    return new;
end;
$$;

-- Each worker process writes its row every health-check interval; /healthz and the service overview
-- read it, so "is anything sending?" is answered from the database, not by guessing.
create table worker_heartbeats (
    worker_id text primary key,
    hostname text not null,
    pid integer not null check (pid > 0),
    started_at timestamptz not null,
    last_seen_at timestamptz not null default now()
);

create index worker_heartbeats_last_seen on worker_heartbeats (last_seen_at);
