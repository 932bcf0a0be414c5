"""Residents managing what they get without a password: sign in by link or code, change, pause or end a
subscription, download or delete their data, sign out.
"""
