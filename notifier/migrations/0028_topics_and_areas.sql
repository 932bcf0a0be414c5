-- The topic catalogue a council manages, and the names of wards and districts (issue 14 item 1).
--
-- topics: what residents may choose to hear about, by name in English and Welsh, with a hint, a group (for order and
-- for staff) and whether residents may choose it. Matching never reads this table: subscriptions and events carry
-- topic keys, so renaming a topic changes only what people read, and hiding one (offered = false) stops offering it
-- at sign-up and on the manage pages while every subscription that has it keeps it and still hears of it.
-- subscriptions/topics/ reads and changes it (the admin page, `tellme topics`, /api/topics), each change audited.
create table topics (
    key text primary key
        check (key ~ '^[a-z]+(/[a-z0-9-]+)?$' and length(key) <= 40 and split_part(key, '/', 1) <> 'staff'),
    name_en text not null check (length(name_en) between 1 and 80),
    name_cy text not null default '' check (length(name_cy) <= 80),  -- '': Welsh readers see the English name
    hint_en text not null default '' check (length(hint_en) <= 200),
    hint_cy text not null default '' check (length(hint_cy) <= 200),
    group_key text not null check (group_key ~ '^[a-z]+$'),
    offered boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    -- a case is someone's own business: its updates go only to the people following it, so no resident chooses it
    constraint topics_cases_stay_internal check (not (offered and group_key = 'cases'))
);
comment on column topics.offered is 'residents may choose it (sign-up, manage); false: hidden, existing subscriptions keep it';

-- What Tell Me ships with, kept as a function so the tests (and anyone comparing) can lay the defaults again.
create function default_topics()
returns table (key text, name_en text, name_cy text, hint_en text, hint_cy text, group_key text, offered boolean)
language sql immutable as $$
values
    ('planning', 'Planning applications', 'Ceisiadau cynllunio',
     'New applications, changes to them and decisions', 'Ceisiadau newydd, newidiadau iddynt a phenderfyniadau',
     'planning', true),
    ('licensing', 'Licence applications', 'Ceisiadau am drwyddedau',
     'Pubs, shops, takeaways and events', 'Tafarndai, siopau, siopau bwyd parod a digwyddiadau', 'licensing', true),
    ('roadworks', 'Roadworks and road closures', 'Gwaith ffordd a ffyrdd ar gau',
     'Works on the road, closures and diversions', 'Gwaith ar y ffordd, ffyrdd ar gau a dargyfeiriadau', 'roads',
     true),
    ('consultations', 'Consultations', 'Ymgynghoriadau',
     'When the council asks what you think', 'Pan fydd y cyngor yn gofyn am eich barn', 'consultations', true),
    ('bulletins', 'Council news', 'Newyddion y cyngor',
     'News and changes to services from the council', 'Newyddion a newidiadau i wasanaethau gan y cyngor', 'news',
     true),
    ('bins', 'Bin collections', 'Casgliadau biniau',
     'Residents choose these for their address, with bin day reminders',
     'Mae preswylwyr yn dewis y rhain ar gyfer eu cyfeiriad, gyda nodiadau atgoffa diwrnod biniau', 'bins', false),
    ('cases', 'Case updates', 'Diweddariadau achosion',
     'Only the people following a case hear of it', 'Dim ond y bobl sy’n dilyn achos sy’n clywed amdano', 'cases',
     false)
$$;

insert into topics (key, name_en, name_cy, hint_en, hint_cy, group_key, offered) select * from default_topics();

-- Topic keys already in use that the defaults do not name (an event pushed by a system, a bulletin's topic) are kept,
-- hidden, named after their key, for an administrator to name and offer: nothing in use is left without a name.
insert into topics (key, name_en, group_key, offered)
select used.key, initcap(replace(used.key, '-', ' ')), 'other', false
from (
    select distinct split_part(t.topic, '/', 1) as key from subscriptions s cross join unnest(s.topics) as t(topic)
    union
    select distinct split_part(b.topic, '/', 1) from bulletins cross join unnest(bulletins.topics) as b(topic)
    union
    select distinct split_part(topic, '/', 1) from events
) as used
where used.key ~ '^[a-z]+$' and length(used.key) <= 40 and used.key <> 'staff'
on conflict (key) do nothing;

-- Wards, districts and other areas by their GSS code: the names people read instead of "Ward E05015247". Filled by
-- `tellme postcodes import --names FILE` and `tellme postcodes names FILE` (ONS's names-and-codes files) and by the
-- shipped names for the sample postcodes; a code with no row here is shown as the code.
create table areas (
    code text primary key check (code ~ '^[A-Z][0-9]{8}$'),
    name text not null check (length(name) between 1 and 120),
    name_cy text not null default '' check (length(name_cy) <= 120),  -- '': Welsh readers see `name`
    updated_at timestamptz not null default now()
);
