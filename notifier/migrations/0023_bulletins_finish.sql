-- Bulletins finish, and approvers hear (issue 14 item 6).
--
-- `sent`: every message of the bulletin has left Tell Me — delivered, failed, cancelled, gone out inside a digest, or
-- handed to GOV.UK Notify and waiting for its receipt (the report says how many are still "on the way"). The worker's
-- cron and the progress page settle it (sources/bulletins/finish.py), once, audited as `bulletin.sent`;
-- `finished_at` is when. Nothing follows `sent`: Notify's receipts still land on its messages, so its report keeps
-- up, and "Sent with failures" is read from them.
--   draft → awaiting_approval → scheduled → sending ⇄ paused → sent; awaiting_approval → draft (sent back);
--   anything before `sent` may be cancelled
alter table bulletins drop constraint bulletins_status_check;
alter table bulletins add constraint bulletins_status_check check (
    status in ('draft', 'awaiting_approval', 'scheduled', 'sending', 'paused', 'sent', 'cancelled')
);
alter table bulletins add column finished_at timestamptz;

-- An approver sent it back to its author instead of approving it: why (shown on the bulletin's page and emailed to
-- the author), who and when. The latest send-back stays; the audit log keeps every one.
alter table bulletins
    add column sent_back_reason text check (length(sent_back_reason) between 1 and 1000),
    add column sent_back_by_name text,
    add column sent_back_at timestamptz,
    add check ((sent_back_reason is null) = (sent_back_at is null));

-- "Sent with failures" on the bulletins list: whether an event has any failed message, without reading all of a
-- large bulletin's rows (failures are few, so this index is small).
create index notifications_failed_event on notifications (event_id)
    where status in ('failed', 'permanent-failure', 'temporary-failure', 'technical-failure');
