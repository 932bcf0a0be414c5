"""Sending: claim a ready outbox row, take a slot from the shared Notify limiter, build the message from the template
registry and send it with our id as Notify's reference; every outcome (sent, retry, failed, unknown → look it
up) is recorded. `delivery.Sender.send` is the heart of it.
"""
