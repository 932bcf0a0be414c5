-- Retention (issue 12): GOV.UK Notify keeps a message for 7 days, and so, now, do we. TELLME_NOTIFICATION_RETENTION_DAYS
-- after an outbox row finished (notifier/outbox/states.py FINISHED), the hourly housekeeping job
-- (notifier/outbox/retention.py) empties its personalisation, takes any address out of its last_error and marks it
-- here; Notify's receipt for it loses the recipient it names. Status, channel, purpose, event, times and counts stay:
-- they are what the overview, a case's messages and a bulletin's report read.
alter table notifications add column personal_data_removed_at timestamptz;

-- The finished rows still holding something to forget, oldest first: an event's rows (the bulk of the outbox) hold no
-- personalisation and, delivered, no error, so they are never in it. A row leaves it when cleared. The status list is
-- FINISHED word for word, so the planner can prove the job's query implies it. `cancelled` by an ended subscription
-- has no completed_at: its last change (updated_at) is when it finished.
create index notifications_to_forget on notifications ((coalesce(completed_at, updated_at)))
    where personal_data_removed_at is null
      and status in ('delivered', 'permanent-failure', 'temporary-failure', 'technical-failure', 'failed', 'cancelled',
                     'digested')
      and (personalisation is not null or last_error is not null);

-- Notify's delivery receipts that still name their recipient (`to`, and the exact original body kept beside a payload
-- that needed cleaning), once processed.
create index notify_callbacks_to_forget on notify_callbacks (received_at)
    where kind = 'status' and processed_at is not null and payload ?| array['to', 'original_json'];
