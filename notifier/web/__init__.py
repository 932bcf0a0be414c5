"""The web kit every page uses: rendering GOV.UK pages in English and Welsh, server-side sessions, CSRF, the
input guard, the client's address behind proxies and the per-address throttle.
"""
