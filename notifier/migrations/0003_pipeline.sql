-- The pipeline: residents and their contact points, subscriptions, events, the notifications outbox,
-- digests and the log of what Notify told us. PostgreSQL is the truth (architecture decision 1); Redis
-- only wakes workers. Core PostgreSQL only: radius matching uses the built-in `box` type with GiST.

-- A person, known only by the contact points they gave us. No name, no account, no password.
create table residents (
    id bigint generated always as identity primary key,
    language text not null default 'en' check (language in ('en', 'cy')),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create trigger residents_touch before update on residents for each row execute function touch_updated_at();

-- Where we may send: an email address, a mobile number or (for assisted sign-up) a postal address.
-- `address` is canonical (email lower-cased; mobile in E.164 digits without '+'; postal lines as JSON text).
create table contact_points (
    id bigint generated always as identity primary key,
    resident_id bigint not null references residents (id) on delete cascade,
    channel text not null check (channel in ('email', 'sms', 'letter')),
    address text not null check (length(address) between 3 and 2000),
    verified_at timestamptz,
    -- set when Notify reports permanent-failure, or the resident texts STOP: nothing more is sent here
    suppressed_at timestamptz,
    suppressed_reason text check (suppressed_reason in ('permanent-failure', 'stop-reply', 'staff', 'complaint')),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check ((suppressed_at is null) = (suppressed_reason is null)),
    unique (channel, address)
);
create index contact_points_resident on contact_points (resident_id);
create trigger contact_points_touch before update on contact_points for each row execute function touch_updated_at();

-- What a resident wants to hear about, and how. One row = one thing they asked for.
--   near:    centre + radius (50 m – 5 km); `bbox` is the geodesic bounding box, so a GiST index finds
--            candidates with `bbox @> box(point(lng, lat), point(lng, lat))` before the exact distance check
--   area:    ward / district GSS codes; the event carries the codes of its location
--   address: a UPRN (bin days, anything affecting my address)
--   case:    a case reference within one source
--   topic:   the whole council area, filtered only by topic
-- Every kind also filters by `topics` (empty = every topic) and `exclusions` (e.g. application types).
create table subscriptions (
    id bigint generated always as identity primary key,
    resident_id bigint not null references residents (id) on delete cascade,
    status text not null default 'pending' check (status in ('pending', 'active', 'paused', 'ended')),
    kind text not null check (kind in ('near', 'area', 'address', 'case', 'topic')),
    topics text[] not null default '{}',
    exclusions jsonb not null default '{}',
    centre_lat double precision check (centre_lat between -90 and 90),
    centre_lng double precision check (centre_lng between -180 and 180),
    radius_m integer check (radius_m between 50 and 5000),
    bbox box,
    area_codes text[],
    uprn text check (uprn ~ '^[0-9]{1,12}$'),
    case_source text,
    case_reference text,
    -- which of the resident's channels this subscription uses
    channels text[] not null check (channels <@ array['email', 'sms', 'letter'] and cardinality(channels) > 0),
    frequency text not null default 'immediate' check (frequency in ('immediate', 'daily', 'weekly')),
    -- when a daily digest (or Monday's weekly one) goes out, Europe/London wall-clock time
    digest_time time not null default '08:00',
    -- texts are held during quiet hours (Europe/London wall-clock times); null = no quiet hours
    quiet_start time,
    quiet_end time,
    -- bin reminders: evening before or morning of, at the resident's time
    remind_at text check (remind_at in ('evening-before', 'morning-of')),
    remind_time time,
    ended_reason text check (
        ended_reason in ('unsubscribed', 'unsubscribed-all', 'stop-reply', 'permanent-failure', 'staff', 'unconfirmed',
                         'deleted')
    ),
    ended_by text check (ended_by in ('resident', 'staff', 'system')),
    ended_at timestamptz,
    confirmed_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check ((status = 'ended') = (ended_at is not null)),
    check ((quiet_start is null) = (quiet_end is null)),
    check (kind <> 'near' or (centre_lat is not null and centre_lng is not null and radius_m is not null
                               and bbox is not null)),
    check (kind <> 'area' or cardinality(area_codes) > 0),
    check (kind <> 'address' or uprn is not null),
    check (kind <> 'case' or (case_source is not null and case_reference is not null))
);
create index subscriptions_near on subscriptions using gist (bbox) where status = 'active' and kind = 'near';
create index subscriptions_area on subscriptions using gin (area_codes) where status = 'active' and kind = 'area';
create index subscriptions_address on subscriptions (uprn) where status = 'active' and kind = 'address';
create index subscriptions_case on subscriptions (case_source, case_reference) where status = 'active' and kind = 'case';
create index subscriptions_topic on subscriptions using gin (topics) where status = 'active' and kind = 'topic';
create index subscriptions_resident on subscriptions (resident_id);
-- unconfirmed sign-ups are deleted after 7 days
create index subscriptions_pending on subscriptions (created_at) where status = 'pending';
create trigger subscriptions_touch before update on subscriptions for each row execute function touch_updated_at();

-- A piece of news. Each (source, external_key) is one thing in the world (an application, a case, a
-- property's bin schedule); each change to it that residents should hear about is a new version.
create table events (
    id bigint generated always as identity primary key,
    source text not null,
    external_key text not null,
    version integer not null default 1 check (version >= 1),
    -- hash of the meaningful fields: an unchanged record makes no new version
    fingerprint text not null,
    kind text not null check (kind ~ '^[a-z]+(\.[a-z_]+)+$'),
    topic text not null check (topic ~ '^[a-z]+(/[a-z0-9-]+)?$'),
    title text not null check (length(title) between 1 and 500),
    summary text not null default '',
    -- what changed since the previous version, in words residents read ("status: validated → decided")
    changes jsonb not null default '[]',
    lat double precision check (lat between -90 and 90),
    lng double precision check (lng between -180 and 180),
    area_codes text[] not null default '{}',
    uprn text,
    case_reference text,
    -- the council's own page for this thing (the event page on our side is /e/{id} and never moves)
    url text,
    -- source-specific fields a filter or a template may use (application type, comment-by date, …)
    attributes jsonb not null default '{}',
    urgency text not null default 'normal' check (urgency in ('normal', 'urgent')),
    occurred_at timestamptz not null,
    created_at timestamptz not null default now(),
    matched_at timestamptz,
    matched_count integer,
    check ((lat is null) = (lng is null)),
    unique (source, external_key, version)
);
create index events_created on events (created_at);
create index events_location on events using gist (box(point(lng, lat), point(lng, lat))) where lat is not null;

-- A digest: several events for one contact point on one channel, sent together.
create table digests (
    id bigint generated always as identity primary key,
    contact_point_id bigint not null references contact_points (id) on delete cascade,
    channel text not null check (channel in ('email', 'sms')),
    frequency text not null check (frequency in ('daily', 'weekly')),
    -- when it is due, computed in Europe/London and stored in UTC
    due_at timestamptz not null,
    status text not null default 'open' check (status in ('open', 'closed', 'empty', 'failed')),
    created_at timestamptz not null default now(),
    closed_at timestamptz
);
-- one open digest per contact point, channel and frequency
create unique index digests_one_open on digests (contact_point_id, channel, frequency) where status = 'open';
create index digests_due on digests (due_at) where status = 'open';

-- The outbox. A row is written in the same transaction as the news that caused it, before any job is
-- queued; the job claims it (pending/retry → sending) so running twice sends once.
--   pending   ready to send (after not_before)      held     waiting for its digest to close
--   digested  went out inside a digest message (the digest's own row carries the Notify status)
--   sending   claimed by a worker                    retry    failed in a way worth trying again
--   unknown   may have reached Notify: look it up by reference before any resend
--   sent      Notify accepted it (notify_id set)     failed   Notify refused it, or retries ran out
--   delivered / permanent-failure / temporary-failure / technical-failure   Notify's final word
--   cancelled the subscription ended, the contact was suppressed, or staff cancelled a send
create table notifications (
    id uuid primary key default gen_random_uuid(),
    event_id bigint references events (id) on delete cascade,
    digest_id bigint references digests (id) on delete set null,
    contact_point_id bigint not null references contact_points (id) on delete cascade,
    -- the subscription this message answers, for its unsubscribe link (null for confirmations etc.)
    subscription_id bigint references subscriptions (id) on delete set null,
    channel text not null check (channel in ('email', 'sms', 'letter')),
    purpose text not null default 'event' check (
        purpose in ('event', 'digest', 'confirmation', 'sign-in', 'notice', 'bulletin', 'reminder')
    ),
    -- the message for purposes that are not an event (confirmation links, codes): built when queued
    template_id uuid,
    personalisation jsonb,
    status text not null default 'pending' check (
        status in ('pending', 'held', 'digested', 'sending', 'retry', 'unknown', 'sent', 'failed', 'cancelled', 'delivered',
                   'permanent-failure', 'temporary-failure', 'technical-failure')
    ),
    urgency text not null default 'normal' check (urgency in ('normal', 'urgent')),
    -- claimed first: urgent news and the messages a resident is waiting for right now (a confirmation link, a
    -- sign-in code) never queue behind a bulletin to half a million people
    priority smallint generated always as (
        case when urgency = 'urgent' or purpose in ('confirmation', 'sign-in') then 0 else 1 end
    ) stored,
    attempts integer not null default 0 check (attempts >= 0),
    not_before timestamptz not null default now(),
    notify_id uuid unique,
    last_error text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    sent_at timestamptz,
    completed_at timestamptz,
    check (purpose <> 'event' or event_id is not null),
    check (purpose = 'event' or template_id is not null)
);
-- exactly one message per resident per event per channel, however many subscriptions overlap
create unique index notifications_once on notifications (event_id, contact_point_id, channel)
    where event_id is not null;
-- what the senders and the sweeper look for
create index notifications_ready on notifications (priority, not_before) where status in ('pending', 'retry');
create index notifications_in_flight on notifications (updated_at) where status in ('sending', 'unknown');
create index notifications_held on notifications (digest_id) where status = 'held';
create index notifications_contact on notifications (contact_point_id, created_at);
create index notifications_event on notifications (event_id);
create trigger notifications_touch before update on notifications for each row execute function touch_updated_at();

-- Everything Notify POSTs to us, stored before it is acted on (answer within 5 s, process after).
-- Delivery receipts are idempotent on (notify_id, status); callbacks may arrive twice or out of order.
create table notify_callbacks (
    id bigint generated always as identity primary key,
    kind text not null check (kind in ('status', 'inbound-sms')),
    notify_id uuid not null,
    reference text,
    status text,
    payload jsonb not null,
    received_at timestamptz not null default now(),
    processed_at timestamptz,
    outcome text
);
create unique index notify_callbacks_once on notify_callbacks (kind, notify_id, coalesce(status, ''));
create index notify_callbacks_unprocessed on notify_callbacks (received_at) where processed_at is null;
