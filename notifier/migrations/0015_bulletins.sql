-- Bulletins: news the comms team writes and sends to an area (issue 6). A bulletin is composed, checked (the
-- rendered messages, the audience per channel, the cost), approved by a second person when its audience is large,
-- sent now or at a set time, and can be paused or cancelled while it goes out. Sending records it as an event
-- (kind 'bulletin.published', source 'bulletins') and writes one outbox row per contact point and channel, so
-- delivery, digests, quiet hours, unsubscribe links and Notify's receipts are the pipeline's own.
--
-- The area:
--   council  every active subscription (not case ones) whose topics match
--   wards    ward GSS codes; a subscription is in a ward when it would hear of something happening there:
--            an area subscription naming the ward or its district, a 'near' circle containing one of the
--            ward's postcodes, an address subscription whose UPRN's postcode is in the ward
--   radius   a postcode's position and a radius: 'near' circles that overlap it, area subscriptions for a ward
--            or district with a postcode inside it, address subscriptions whose postcode is inside it
--   list     uploaded postcodes and UPRNs: as for a ward, with those postcodes (and the UPRNs' postcodes)
create table bulletins (
    id bigint generated always as identity primary key,
    title text not null check (length(title) between 1 and 150),
    message text not null check (length(message) between 1 and 5000),
    -- residents' topics this bulletin is for: a subscription with no topics, or one of these (or a sub-topic of
    -- one, e.g. bulletins/roads for bulletins), hears it
    topics text[] not null check (cardinality(topics) between 1 and 20),
    area_kind text not null check (area_kind in ('council', 'wards', 'radius', 'list')),
    ward_codes text[] not null default '{}',
    centre_postcode text,
    centre_lat double precision check (centre_lat between -90 and 90),
    centre_lng double precision check (centre_lng between -180 and 180),
    radius_m integer check (radius_m between 50 and 20000),
    list_postcodes text[] not null default '{}',
    list_uprns text[] not null default '{}',
    channels text[] not null check (channels <@ array['email', 'sms', 'letter'] and cardinality(channels) > 0),
    urgency text not null default 'normal' check (urgency in ('normal', 'urgent')),
    --   draft → awaiting_approval (audience over the threshold) → scheduled (a time set, or approved) → sending
    --   sending ⇄ paused; anything before the messages are all out may be cancelled
    status text not null default 'draft' check (
        status in ('draft', 'awaiting_approval', 'scheduled', 'sending', 'paused', 'cancelled')
    ),
    -- when it is to go (null: as soon as it may); set when it is submitted
    send_at timestamptz,
    -- the audience (people) counted when it was submitted, and whether that needed approval
    audience integer,
    needs_approval boolean not null default false,
    created_by_kind text not null check (created_by_kind in ('staff', 'token')),
    created_by_id bigint not null,
    created_by_name text not null,
    approved_by_kind text check (approved_by_kind in ('staff', 'token')),
    approved_by_id bigint,
    approved_by_name text,
    approved_at timestamptz,
    event_id bigint unique references events (id) on delete set null,
    sent_at timestamptz,
    cancelled_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check (area_kind <> 'wards' or cardinality(ward_codes) between 1 and 20),
    check (area_kind <> 'radius' or (centre_lat is not null and centre_lng is not null and radius_m is not null)),
    check (area_kind <> 'list' or cardinality(list_postcodes) + cardinality(list_uprns) > 0),
    -- nobody approves their own bulletin
    check (approved_by_id is null or (approved_by_kind, approved_by_id) <> (created_by_kind, created_by_id))
);
create index bulletins_due on bulletins (send_at) where status = 'scheduled';
create index bulletins_created on bulletins (created_at desc);
create trigger bulletins_touch before update on bulletins for each row execute function touch_updated_at();

-- "which postcodes are in this ward?" for ward bulletins
create index postcodes_ward_code on postcodes (ward_code);
