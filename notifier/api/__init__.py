"""The API kit: bearer tokens (hashed, expiring, bound to sources), role guards, JSON errors and bodies."""
