-- The outbox stays small (issue 13 item 9). A finished message leaves `notifications` TELLME_OUTBOX_KEEP_DAYS (35)
-- after it finished, once what it said has been forgotten (0022), and is kept from then on only as a count here, in
-- the same statement that deletes it (notifier/outbox/archive.py, from the hourly housekeeping job): a row is either
-- in the outbox or counted, never both, so running twice counts nothing twice.
--
-- One row per London day the messages were created (as the overview counts them), channel, purpose, status, the
-- event they carried (0: none; a bulletin's report and a case page still add up their old messages) and, for failed
-- ones, the reason as the overview groups failures (the first 160 characters of last_error, already cleared of
-- addresses by 0022's retention); nothing about a person.
create table notification_counts (
    day date not null,
    channel text not null,
    purpose text not null,
    status text not null,
    event_id bigint not null default 0,
    reason text not null default '',
    messages bigint not null check (messages > 0)
);
create unique index notification_counts_key on notification_counts (day, channel, purpose, status, event_id, reason);
-- a bulletin's report and a case page read one event's counts
create index notification_counts_event on notification_counts (event_id) where event_id <> 0;
