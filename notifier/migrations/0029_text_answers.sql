-- Ask by text (issue 15): each automatic answer to a resident's text (BINS, HELP, a case reference, the
-- once-a-day acknowledgement), one per received text. It is what the per-number daily limit and the acknowledgement
-- count (by `answered_at`, when the resident sent the text), what the overview counts as contacts avoided, and what
-- staff see beside the text at /staff/replies. It holds no words and no number: the text stays in notify_callbacks
-- (and goes with it), the reply in the outbox.
create table text_answers (
    id bigint generated always as identity primary key,
    callback_id bigint not null unique references notify_callbacks (id) on delete cascade,
    contact_point_id bigint not null references contact_points (id) on delete cascade,
    answer text not null check (answer in ('bins', 'bins-unknown', 'case', 'help', 'not-followed', 'acknowledged')),
    -- the reply in the outbox; null when none was sent because the number had its day's answers already
    notification_id uuid,
    answered_at timestamptz not null
);
create index text_answers_contact on text_answers (contact_point_id, answered_at);
create index text_answers_answered on text_answers (answered_at);
