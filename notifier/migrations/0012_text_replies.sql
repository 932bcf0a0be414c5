-- Text replies: what a STOP changed (so START can put it back), texts kept for staff, and the one reply we send.

-- A STOP text ends the number's text-only subscriptions and takes texts off the others. Each change is kept here
-- until a START from the same number puts it back ('ended': the status it had; 'removed-texts': add 'sms' again).
create table text_stops (
    id bigint generated always as identity primary key,
    contact_point_id bigint not null references contact_points (id) on delete cascade,
    subscription_id bigint not null references subscriptions (id) on delete cascade,
    action text not null check (action in ('ended', 'removed-texts')),
    previous_status text check (previous_status in ('pending', 'active', 'paused')),
    stopped_at timestamptz not null default now(),
    restored_at timestamptz,
    check ((action = 'ended') = (previous_status is not null))
);
create index text_stops_open on text_stops (contact_point_id) where restored_at is null;

-- Any other text a resident sends is kept for staff to read and answer: marked here, cleared when dealt with.
alter table notify_callbacks
    add column for_staff boolean not null default false,
    add column staff_done_at timestamptz;
create index notify_callbacks_for_staff on notify_callbacks (received_at) where for_staff and staff_done_at is null;

-- 'reply': the one text confirming a STOP or START. It goes to a number that has just been suppressed by its
-- STOP, so the senders let this purpose (and only this one) through a 'stop-reply' suppression.
alter table notifications drop constraint notifications_purpose_check;
alter table notifications add constraint notifications_purpose_check check (
    purpose in ('event', 'digest', 'confirmation', 'sign-in', 'notice', 'bulletin', 'reminder', 'reply')
);
