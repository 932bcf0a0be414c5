"""The outbox: the only writer of `notifications` rows, and the doors into and out of it.

`rows.py` writes every row (one built message, many from a CTE, an event's fan-out fragments); `states.py` and
`delivery_states.py` make every change of status, each UPDATE naming the states it expects to leave; `contacts.py`
stops sending to an address; `references.py` makes the reference each send carries to Notify (`<id>`, then `<id>.2`,
`<id>.3` for a row sent again) and leads a reference back to its row; `queue.py` wakes the senders (the only arq use
outside workers/); `links.py` and `tokens.py` make the permanent links every message carries; `retention.py` forgets
what a finished message said once the retention period has passed (its status stays), and `archive.py` moves the row
out into daily counts once TELLME_OUTBOX_KEEP_DAYS has (`notification_counts`). The delivery core below the
domain: it imports nothing from sources/ or subscriptions/. A domain statement that must stay one statement composes
a fragment from here.

The states (migration 0003's check) and every transition, with who makes it:

    (new)        → pending    a message built when queued, an event's immediate news, a bin reminder (rows)
    (new)        → held       news for a daily or weekly subscriber, in its open digest (rows.event_rows)
    pending/retry → sending   claimed by a sender once not_before has passed, naming its worker (`claimed_by`,
                              cleared by every change out of `sending`; delivery_states.claim_*)
    sending      → unknown    taken back by the sweeper: its worker's heartbeat lapsed (at once if the request to
                              Notify had not begun, `posted_at`), or claimed STUCK_AFTER ago (delivery_states.take_back)
    sending      → retry      released by a stopping worker, rate limited, daily limit, channel parked, quiet
                              hours (attempt uncounted); connection failed (counted, the next rung of the ladder)
    sending      → unknown    no answer from Notify, or a 5xx: look it up by reference before any resend
    unknown      → retry      not found at Notify (the next rung)
    sending/unknown → sent    Notify accepted it, or holds it (found by reference) with no final word yet
    sending/unknown → delivered / permanent-failure / temporary-failure / technical-failure   found at Notify
    sending/unknown/sent → retry   Notify's technical-failure (a receipt, a look-up, reconciling) on an email or
                              a text, up to TELLME_NOTIFY_TECHNICAL_FAILURE_RESENDS times: sent again as a new
                              Notify notification, resends + 1, notify_id cleared (delivery_states.resend)
    sent         → failed     looked up at Notify, which no longer holds it: outcome unknown
    sent         → cancelled / failed   looked up: a letter cancelled, or refused, at Notify
                              (delivery_states.settle_looked_up; the look-ups are notifier/receipts/lookups.py)
    sending      → cancelled  the contact was suppressed or the subscription ended or paused meanwhile
    sending      → failed     a message we cannot build or address, or Notify refused it (400/403)
    sending/unknown → failed  the retry ladder ran out (delivery_states.give_up)
    any but Notify's final word → delivered / permanent-failure / temporary-failure / technical-failure
                              Notify's receipt or looked-up answer about the row's current send (its notify id, or
                              the reference of its latest send: a word on an earlier send of a row sent again
                              changes nothing); the first final word stays (states.record_receipt)
    pending/held/retry → cancelled   subscription ended, address suppressed, address given in a newer sign-up
                              or moved to a resident of its own (states.cancel_for_*, contacts)
    pending/retry → held      a bulletin paused (rows in no digest; states.hold_event)
    held         → pending    the bulletin resumed (states.release_event)
    pending/retry/held → cancelled   the bulletin cancelled (states.cancel_event)
    held         → digested   went out inside its digest's own message, queued pending (states.mark_digested)
    held         → cancelled  no longer wanted when its digest closed (states.cancel_held)
    held         → failed     its digest could not be built (states.fail_held)
    pending/retry → cancelled a bin reminder overtaken: the collection, bins or time changed (states.cancel_queued)

Nothing moves a row out of Notify's final word or out of `digested`; `failed` and `cancelled` change only when a
receipt says Notify has the message after all, and `sent` waits for that receipt, or a look-up. A returned letter
(Notify's returned-letter callback) sets `returned_at` and leaves the status as it was (states.record_returned_letter).
"""
