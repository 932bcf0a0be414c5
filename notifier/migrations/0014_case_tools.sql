-- Case officers' tools (issue 6): the message each case stage starts from, requests for evidence with their
-- reminder and the officer's alert, and the consent a member of staff records for an assisted sign-up.

-- The words an officer starts from when moving a case to a stage, as an admin changed them at /staff/case-templates
-- (a stage without a row uses the wording in sources/case_messages.py).
-- Placeholders: ((reference)) ((stage)) ((note)) and, for need_info only, ((due_date)); ((note)) is required
-- (it is where the officer's own words go). Checked by sources/case_messages.py before saving.
create table case_stage_templates (
    stage text primary key check (
        stage in ('received', 'assessing', 'action_scheduled', 'need_info', 'resolved', 'closed')
    ),
    body text not null check (length(body) between 1 and 2000 and body like '%((note))%'),
    updated_at timestamptz not null default now(),
    updated_by text not null default 'Tell Me' check (length(updated_by) between 1 and 320)
);

-- "We need something from you": one row per request for evidence (a need_info update with a due date, from an
-- officer's page or a case system). Open until the case moves on (a newer version of the case), the officer asks
-- again, or dismisses it. At remind_at (the morning after the due date) a reminder goes to the case's subscribers
-- if the case has not moved; at alert_at (set when reminded) the officer is alerted if it still has not.
create table evidence_requests (
    id bigint generated always as identity primary key,
    case_source text not null check (length(case_source) between 1 and 100),
    case_reference text not null check (length(case_reference) between 1 and 100),
    -- the need_info version that asked: anything newer for the case means it moved
    event_id bigint not null references events (id) on delete cascade,
    due_on date not null,
    remind_at timestamptz not null,
    -- who asked: a member of staff (kept if the account goes) or a case system's token, by name at the time
    requested_by text not null check (length(requested_by) between 1 and 320),
    staff_id bigint references staff (id) on delete set null,
    requested_at timestamptz not null default now(),
    reminded_at timestamptz,
    reminders integer not null default 0 check (reminders >= 0),  -- messages queued by the reminder
    alert_at timestamptz,
    alerted_at timestamptz,
    closed_at timestamptz,
    closed_reason text check (closed_reason in ('moved', 'asked-again', 'dismissed')),
    check ((closed_at is null) = (closed_reason is null)),
    check (alert_at is null or reminded_at is not null)
);
create index evidence_requests_case on evidence_requests (case_source, case_reference);
create index evidence_requests_to_remind on evidence_requests (remind_at) where closed_at is null and reminded_at is null;
create index evidence_requests_to_alert on evidence_requests (alert_at)
    where closed_at is null and alerted_at is null and alert_at is not null;

-- Consent recorded by staff for an assisted sign-up (a caller subscribed on their behalf): which member of staff,
-- who agreed (the resident, or someone acting for them, as the officer wrote it) and how. `wording` holds what
-- they were told; `given_at` when they agreed; `via` says 'Tell Me staff'.
alter table consents
    add column staff_id bigint references staff (id) on delete set null,
    add column agreed_by text check (length(agreed_by) between 1 and 200),
    add column method text check (method in ('phone', 'in-person', 'in-writing'));
