-- Where a source may fetch from beyond public web addresses (sources/egress.py), each set only by an
-- administrator with `tellme sources add|set --allow-internal / --allow-file` and written to the audit log.
-- Existing sources start with neither: a feed on this network or in a local file fails, saying which flag an
-- administrator must give, rather than keeping a reach nobody chose on purpose.
alter table sources
    add column allow_internal boolean not null default false,
    add column allow_file boolean not null default false;
comment on column sources.allow_internal is
    'may reach loopback, private, link-local, shared (CGNAT) and other non-public addresses and cloud metadata '
    'services (set by an administrator: tellme sources set NAME --allow-internal)';
comment on column sources.allow_file is
    'may read its own file:// URL on the worker''s machine (set by an administrator: --allow-file)';
