"""Signing in: credentials under backoff, first-run setup and ending sessions
(:mod:`.operations`), sessions stored on the server with Flask-Login's user loader
(:mod:`.sessions`), session reads (:mod:`.queries`) and the known-device cookie
(:mod:`.devices`)."""
