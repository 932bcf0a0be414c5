-- Secret request headers (a feed's API key) are now encrypted at rest (sources/secrets.py). No data changes here:
-- a header stored in plain text before this still works and is sealed at the next poll or `tellme sources set`.
comment on column sources.secret_headers is
    'request headers such as API keys: {"Header-Name": {"aesgcm": "<base64 nonce + ciphertext>"}}, each value '
    'sealed with AES-256-GCM under a key derived (HKDF-SHA256, purpose source-headers) from TELLME_SECRET_KEY and '
    'bound to the source and header names; a plain string value was stored before encryption. Read only to make '
    'the request; never listed, printed or returned.';
