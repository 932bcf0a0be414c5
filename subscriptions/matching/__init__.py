"""Who hears about an event: `fan_out` (one SQL statement writing one outbox row per resident per channel), digests
and bin-day reminders.
"""
