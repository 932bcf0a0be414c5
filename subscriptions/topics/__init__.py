"""The topic catalogue the council manages: what residents may choose to hear about, named in English and Welsh
(catalogue.py), and the ways an administrator changes it: the staff pages (pages.py), `tellme topics` (cli.py) and
/api/topics (api.py), each change in the audit log.
"""
