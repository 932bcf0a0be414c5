-- Bin schedules that run out, and schedules that serve a collection round (issue 14 item 10).
--
-- A schedule feed (ukbcd, ical) says the last collection it lists; once that date has passed the feed lists nothing
-- more to collect (a council's yearly calendar ran out) and sources.feeds.health raises one staff alert, closed when
-- new dates appear. `last_collection_on` is kept through "not modified" answers, so the alert still comes when
-- the server keeps saying nothing changed while the last date passes.
alter table sources
    add column last_collection_on date,
    add column ended_alert_at timestamptz;
comment on column sources.last_collection_on is
    'a schedule feed''s last collection date as of its last successful poll (null: not a schedule, or not known)';
comment on column sources.ended_alert_at is
    'when the open "no collections after …" alert was raised (null: none open)';

-- A round's schedule names the properties it serves in attributes.uprns (a list of UPRNs): bin reminders find the
-- newest schedule for a subscription's UPRN through this index as well as events_bins_uprn.
create index events_bins_uprns on events using gin ((attributes -> 'uprns')) where topic = 'bins';
