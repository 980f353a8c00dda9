"""Upkeep: a periodic clean-up run that removes what nothing needs any more
(:mod:`.operations`, run by :mod:`.jobs`)."""
