"""Residents and their contact points, subscriptions and their states, signing up (`signup.place`: who an address may
join), one-time links and codes, checks on typed addresses, forgetting unconfirmed sign-ups, and
`POST /api/subscriptions`.
"""
