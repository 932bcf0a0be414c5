"""Case officers' room: case updates pushed by case systems or posted from /staff/cases, stage templates and their
wording, reporters' consent and assisted sign-up, evidence requests and their reminders.
"""
