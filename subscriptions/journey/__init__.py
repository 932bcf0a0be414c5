"""The resident sign-up journeys: things near me, bin reminders, track my case; the shared contact, quiet-hours and
check-your-answers steps; confirming by link or code.
"""
