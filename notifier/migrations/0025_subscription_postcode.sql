-- A place is named by its postcode (issue 14 item 5): a near subscription keeps the postcode the resident gave, so
-- pages and messages say "within 500 m of M32 0TH" and "about 150 m from M32 0TH" rather than "the place you chose".
-- Subscriptions made before this are named by the postcode whose centre they were made at (the sign-up pages and the
-- API place a postcode at its Code-Point Open centre); one made at a point no postcode has keeps no name.
alter table subscriptions add column postcode text
    check (postcode is null or (kind = 'near' and postcode ~ '^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$'));

update subscriptions s set postcode = p.postcode
from postcodes p
where s.kind = 'near' and s.postcode is null and p.lat = s.centre_lat and p.lng = s.centre_lng;
