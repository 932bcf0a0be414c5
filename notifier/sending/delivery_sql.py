"""The delivery engine's SQL (notifier/delivery.py). Every state change is guarded by the state it expects, so a
late writer (a slow worker, the sweeper, a callback) never overwrites a newer truth."""


# Claimed rows come back with what sending needs: recipient, language, suppression, subscription state, and
# when quiet hours end if `now` (SQL for the claim's moment) falls inside them.
def _claim_returning(now: str) -> str:
    return f"""
returning n.id, n.event_id, n.contact_point_id, n.subscription_id, n.channel, n.purpose, n.template_id,
          n.personalisation, n.attempts, c.address, r.language, c.suppressed_at is not null as suppressed,
          (select s.status from subscriptions s where s.id = n.subscription_id) as subscription_status,
          (select case
                      -- codes the resident asked for, and reminders at the time they chose, are not held
                      when n.channel = 'sms' and n.urgency <> 'urgent'
                           and n.purpose not in ('confirmation', 'sign-in', 'reminder')
                           and s.quiet_start is not null
                           and (case when s.quiet_start < s.quiet_end
                                     then l.t >= s.quiet_start and l.t < s.quiet_end
                                     else l.t >= s.quiet_start or l.t < s.quiet_end end)
                      then (case when date_trunc('day', l.local) + s.quiet_end > l.local
                                 then date_trunc('day', l.local) + s.quiet_end
                                 else date_trunc('day', l.local) + interval '1 day' + s.quiet_end
                            end) at time zone 'Europe/London'
                  end
           from subscriptions s,
                (select {now} at time zone 'Europe/London' as local,
                        ({now} at time zone 'Europe/London')::time as t) l
           where s.id = n.subscription_id) as quiet_until
"""


# $2: the moment to claim at (null: the database's clock), so a test can claim at a chosen time of day
CLAIM_ONE = """
with ready as (
    select id from notifications
    where id = $1 and status in ('pending', 'retry') and not_before <= coalesce($2::timestamptz, now())
    for update skip locked
)
update notifications n set status = 'sending', attempts = n.attempts + 1
from ready, contact_points c, residents r
where n.id = ready.id and c.id = n.contact_point_id and r.id = c.resident_id
""" + _claim_returning('coalesce($2::timestamptz, now())')

CLAIM_READY = """
with ready as (
    select id from notifications
    where status in ('pending', 'retry') and not_before <= now() and not (channel = any($2::text[]))
    order by priority, not_before
    limit $1
    for update skip locked
)
update notifications n set status = 'sending', attempts = n.attempts + 1
from ready, contact_points c, residents r
where n.id = ready.id and c.id = n.contact_point_id and r.id = c.resident_id
""" + _claim_returning('now()')

RELEASE = """
update notifications set status = 'retry', attempts = greatest(attempts - 1, 0), not_before = now()
where id = any($1::uuid[]) and status = 'sending'
"""

RECORD_SENT = """
update notifications set status = 'sent', notify_id = $2, sent_at = now(), last_error = null
where id = $1 and status in ('sending', 'unknown')
"""

# found at Notify by reference: its status, or 'sent' while Notify is still working on it
RECORD_FOUND = """
update notifications
set status = $3, notify_id = $2, sent_at = coalesce(sent_at, now()),
    completed_at = case when $3 = 'sent' then completed_at else now() end
where id = $1 and status in ('sending', 'unknown')
"""

MARK_FINAL = """
update notifications set status = $2, last_error = $3, completed_at = now()
where id = $1 and status = 'sending'
"""

MARK_FINAL_FROM = """
update notifications set status = $2, last_error = $3, completed_at = now()
where id = $1 and status = any($4::text[])
"""

MARK_UNKNOWN = """
update notifications set status = 'unknown', last_error = $2 where id = $1 and status = 'sending'
"""

MARK_RETRY = """
update notifications set status = 'retry', not_before = now() + make_interval(secs => $2), last_error = $3
where id = $1 and status in ('sending', 'unknown')
"""

# Notify did not take it (rate limit): try again after the pause; the attempt does not count
MARK_LATER_UNCOUNTED = """
update notifications
set status = 'retry', not_before = now() + make_interval(secs => $2), last_error = $3,
    attempts = greatest(attempts - 1, 0)
where id = $1 and status = 'sending'
"""

# the daily limit: not before a given time (00:00 UTC); the attempt does not count
MARK_LATER = """
update notifications
set status = 'retry', not_before = $2, last_error = $3, attempts = greatest(attempts - 1, 0)
where id = $1 and status = 'sending'
"""

LOAD_EVENT = """
select kind, topic, title, summary, changes, attributes, url, occurred_at, urgency, case_reference
from events where id = $1
"""

LOAD_IN_FLIGHT = """
select attempts, last_error from notifications
where id = $1 and status in ('sending', 'unknown') and updated_at <= now() - make_interval(secs => $2)
"""

# just before the POST: is this row still ours? (a sender that waited past STUCK_AFTER may have lost it to the
# sweeper, and another worker may have claimed it since; touching updated_at also tells the sweeper we are alive)
STILL_OURS = """
update notifications set updated_at = now()
where id = $1 and status = 'sending' and attempts = $2
"""

# a parked channel's ready rows move to when it reopens, so claims stop walking past them in the ready index
DEFER_CHANNEL = """
update notifications set not_before = $2
where channel = $1 and status in ('pending', 'retry') and not_before < $2
"""

FIND_STUCK = """
(select id, status from notifications
 where status = 'unknown' and updated_at <= now() - make_interval(secs => $1) order by updated_at limit $3)
union all
(select id, status from notifications
 where status = 'sending' and updated_at <= now() - make_interval(secs => $2) order by updated_at limit $3)
"""
