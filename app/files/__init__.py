"""Files served through the app: which stored key may be read (:mod:`.queries`). Storing
files is the shared infrastructure in :mod:`app.storage`."""
