-- Every status as Notify means it (issue 12).
--
-- `resends`: Notify's technical-failure on an email or a text means "send it again" (letters: never). The same row
-- goes back to `retry` and is sent as a new Notify notification, with a new reference that still names the row
-- (`<id>` for the first send, `<id>.2`, `<id>.3` for the resends: notifier/outbox/references.py). This counts the
-- resends, so the reference of the send in flight is known and a late receipt for an older send is told apart.
-- `looked_up_at`: a message `sent` with no receipt for hours is looked up at Notify by its id (the sweeper,
-- notifier/receipts/lookups.py); this says when it was last asked, so each is asked at most once a day.
-- `returned_at`: Notify's returned-letter callback (the letter came back undelivered) for a letter we sent.
alter table notifications
    add column resends smallint not null default 0 check (resends >= 0),
    add column looked_up_at timestamptz,
    add column returned_at timestamptz;

-- what the look-ups walk: messages Notify accepted and has given no final word on (small: most get a receipt in
-- minutes), oldest first
create index notifications_awaiting_receipt on notifications (sent_at) where status = 'sent' and completed_at is null;

-- returned-letter callbacks are stored like the others, once per letter (kind, notify id, no status)
alter table notify_callbacks drop constraint notify_callbacks_kind_check;
alter table notify_callbacks add constraint notify_callbacks_kind_check
    check (kind in ('status', 'inbound-sms', 'returned-letter'));
