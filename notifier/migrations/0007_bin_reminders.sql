-- Bin collection reminders (subscriptions.remind_at / remind_time on address subscriptions): one row per
-- reminder queued, so each (subscription, collection date, channel) is reminded once however often the cron
-- runs. The message itself is an ordinary outbox row (purpose 'reminder', event_id null, template built when
-- queued). A collection that moves before its reminder is sent cancels that outbox row and drops this one.
create table bin_reminders (
    subscription_id bigint not null references subscriptions (id) on delete cascade,
    collection_date date not null,
    channel text not null check (channel in ('email', 'sms')),
    -- inserted in the same statement as its outbox row, hence checked at commit
    notification_id uuid not null unique references notifications (id) on delete cascade
        deferrable initially deferred,
    -- the schedule event the reminder was built from (its link points there)
    event_id bigint references events (id) on delete set null,
    -- what the message names, and when it is due: a change to either before sending replaces the message
    bin_types text[] not null check (cardinality(bin_types) > 0),
    due_at timestamptz not null,
    created_at timestamptz not null default now(),
    primary key (subscription_id, collection_date, channel)
);
create index bin_reminders_upcoming on bin_reminders (collection_date);

-- the newest bin schedule of a property, found per subscription without scanning every event
create index events_bins_uprn on events (uprn, id) where topic = 'bins' and uprn is not null;
