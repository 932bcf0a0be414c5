"""The normalised Event, recording its versions (new / changed / unchanged, what changed), placing it on the map and
the push endpoint `POST /api/events`.
"""
