"""What Notify tells us back: delivery receipts (a permanent failure stops sending to that address) and texts from
residents (STOP, START, anything else kept for staff).
"""
