"""The outbox: the notifications table's rows and the doors into and out of it — the queue door that wakes the
senders (the only arq use outside workers/), the permanent links and signed tokens every message carries, and
stopping sending to an address. The delivery core below the domain: it imports nothing from sources/ or
subscriptions/.
"""
