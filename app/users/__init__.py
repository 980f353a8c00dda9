"""Users: accounts and roles (:mod:`.operations`, :mod:`.queries`, :mod:`.cli`) and how
passwords are hashed (:mod:`.passwords`). Signing in is :mod:`app.auth`."""
