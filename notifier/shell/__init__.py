"""The composition roots: the `tellme` CLI, the web app factory and its own routes (health, front door, the
OpenAPI document), `tellme dev` with its embedded servers and demo, and fetching GOV.UK Frontend. Everything may be
used from here; nothing imports the shell.
"""
