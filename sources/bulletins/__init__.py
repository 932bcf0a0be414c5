"""Comms' room: a bulletin is an event (decision 31). Compose, audience, cost, approval by a second person,
scheduled sending with pause and cancel, and the delivery report; pages and JSON twins.
"""
