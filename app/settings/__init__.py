"""Agency settings: non-secret metadata stored as key → JSON in the ``settings`` table.

Writes are :mod:`.operations` (which refuse anything that looks like a credential, see
:mod:`.secret_filter`), reads :mod:`.queries`. Secrets (SMTP password, API keys, the
Flask secret key …) live only in instance config or the environment.
"""
