-- The council's own Notify templates, one per channel, found by name (`tellme notify link`): Notify makes up their
-- ids, so Tell Me stores them here. Messages on a channel whose template is not `linked` wait in the outbox; they
-- are neither sent nor failed, and linking again releases them.
create table notify_templates (
    channel text primary key check (channel in ('email', 'sms', 'letter')),
    name text not null,
    notify_id uuid,
    version integer,
    state text not null check (state in ('linked', 'missing', 'different')),
    problem text,
    checked_at timestamptz not null default now(),
    linked_at timestamptz,
    check ((state = 'linked') = (notify_id is not null and problem is null))
);
comment on column notify_templates.state is
    'linked: found by name and it uses exactly the placeholders Tell Me sends; missing: no template of that name; '
    'different: found but Notify refuses it or its type or placeholders differ (see problem)';
