-- Council sign-in (OpenID Connect) binds a staff account to the provider's (issuer, subject), and only where an
-- administrator allowed it (`tellme staff allow-oidc EMAIL`, or `tellme staff add --oidc`) for an account that
-- exists already: a matching email alone, which some providers let people choose, never takes over an account.
-- Accounts bound before this migration have no issuer; their first sign-in fills in the configured one.
alter table staff
    add column oidc_issuer text,
    add column oidc_link_allowed_at timestamptz;
alter table staff drop constraint staff_oidc_subject_key;
create unique index staff_oidc_identity on staff (oidc_issuer, oidc_subject) where oidc_subject is not null;
comment on column staff.oidc_link_allowed_at is
    'an administrator allowed the next council sign-in with this verified email to bind the account (used up then)';
