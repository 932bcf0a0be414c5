-- Ask by text (issue 15, decision 60): a number Tell Me held nothing for that texts a command, or a message for staff,
-- gets a resident of its own holding only that number, unverified, so the answer can go through the outbox like any
-- other (the daily limit and the loop protection count per contact point). `from_text` marks such a resident: the
-- hourly housekeeping forgets it 7 days after it was made (subscriptions/residents/housekeeping.py), and only it, so a
-- staff member's address (staff_addresses.py: unverified, no subscriptions either) is never taken for one. Only adds.
alter table residents add column from_text boolean not null default false;
