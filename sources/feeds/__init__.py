"""Feeds Tell Me polls: the source registry, the poller (I/O only here and in events.ingest), safe fetching (public
addresses only, egress.py), cursors, health and alerts, encrypted secret headers, the `tellme sources` CLI and one
pure adapter per format in adapters/.
"""
