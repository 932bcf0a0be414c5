"""The service overview for comms and admins: subscribers, messages, failures, sources and the calls saved, as
server-side SVG charts with tables. It reads every domain, so it sits above them.
"""
